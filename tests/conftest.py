"Shared fixtures: the real PneumoniaMNIST folder (CI sets IMBALANCE_COURSE_DATA to ../shared/data)."
import os
from pathlib import Path
import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope='session')
def data_dir() -> Path:
    "The folder holding pneumoniamnist.npz: $IMBALANCE_COURSE_DATA, else ../shared/data beside the repo."
    d = Path(os.environ.get('IMBALANCE_COURSE_DATA') or REPO.parent/'shared'/'data').resolve()
    if not (d/'pneumoniamnist.npz').exists():
        pytest.fail(f"pneumoniamnist.npz is not in {d}; set IMBALANCE_COURSE_DATA to the folder that holds it")
    return d
