"""Shared fixtures: the real PneumoniaMNIST file. CI sets IMBALANCE_COURSE_DATA to ../shared/data; on a fresh clone
the file is looked for in ../shared/data, then in the course's data folder, where it is downloaded if missing."""
import contextlib, os, shutil, tempfile
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


CHROMIUM, CHROMEDRIVER = '/usr/bin/chromium', '/usr/bin/chromedriver'


def missing_browser() -> list:
    "The headless-browser files that are not installed (Debian's `chromium` and `chromium-driver`)."
    return [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]


@contextlib.contextmanager
def chromium(width=1280, height=1000):
    "A headless Chromium driven by selenium, with its own throw-away profile; quit and removed on exit."
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    profile = tempfile.mkdtemp(prefix='test-chromium-')
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
              '--disable-background-networking', '--disable-component-update', '--disable-sync',
              '--disable-dev-shm-usage', f'--user-data-dir={profile}', f'--window-size={width},{height}']:
        opts.add_argument(a)
    drv = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    drv.set_page_load_timeout(60)
    try: yield drv
    finally:
        drv.quit()
        shutil.rmtree(profile, ignore_errors=True)
