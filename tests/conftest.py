"""Shared fixtures: the real PneumoniaMNIST file. CI sets IMBALANCE_COURSE_DATA to ../shared/data; on a fresh clone
the file is looked for in ../shared/data, then in the course's data folder, where it is downloaded if missing."""
import os
from pathlib import Path
import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope='session')
def data_dir() -> Path:
    "A folder holding pneumoniamnist.npz: $IMBALANCE_COURSE_DATA, else ../shared/data, else the data folder (downloading)."
    from imbalance_course.data import DATA_ENV, fetch_medmnist, get_data_dir
    shared = REPO.parent/'shared'/'data'
    if not os.environ.get(DATA_ENV) and (shared/'pneumoniamnist.npz').exists(): return shared.resolve()
    try: return fetch_medmnist('pneumoniamnist', data_dir=get_data_dir()).parent.resolve()
    except FileNotFoundError as e: pytest.fail(str(e))
