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


# The kernel-free threshold explorer (lesson 10's Vega-Lite chart), read and driven as a learner uses it: on the docs site
# (`root` '.threshold-explorer') and in JupyterLab (`root` '.jp-RenderedVegaLite').
EXPLORER = '.threshold-explorer'


def vega_texts(browser, mark, root=EXPLORER) -> list:
    "[aria-label, text] of the SVG text marks named `mark` in the chart under `root`, e.g. the confusion counts."
    return browser.execute_script(f'''return Array.from(document.querySelectorAll('{root} g[class*={mark}] text'))
                                          .map(t => [t.getAttribute("aria-label") || "", t.textContent])''')


def set_vega_slider(browser, name, value, root=EXPLORER):
    "Move the chart's slider bound to parameter `name` to `value`, as dragging it would (an input event)."
    browser.execute_script(f'''const i = document.querySelector('{root} input[name="{name}"]');
        i.value = "{value}"; i.dispatchEvent(new Event("input", {{bubbles: true}}));''')


def explorer_counts(browser, split, root=EXPLORER) -> dict:
    "The confusion counts the chart shows for `split` as {'tp': .., 'fp': .., 'fn': .., 'tn': ..}, read from the cells' labels."
    import re
    res = {}
    for label, txt in vega_texts(browser, f'confusion_{split}', root):
        actual, predicted = re.search(r'actual: (\w+)', label).group(1), re.search(r'predicted: (\w+)', label).group(1)
        res[('t' if actual == predicted else 'f') + ('p' if predicted == 'positive' else 'n')] = int(txt)
    return res


def report_status(browser, root=EXPLORER) -> str:
    "The line beside the chart's \"report on test\" button (a text mark named `report_status`)."
    return ' '.join(t for _, t in vega_texts(browser, 'report_status', root))


def click_report(browser, root=EXPLORER):
    "Click the chart's \"report on test\" button (a Vega mark, so a real mouse click), as a learner does."
    from selenium.webdriver.common.action_chains import ActionChains
    button = browser.find_elements('css selector', f'{root} g[class*=report_button] .mark-rect path')
    assert button, 'no "report on test" button: its settings are reported already, or the chart has no test scores'
    browser.execute_script('arguments[0].scrollIntoView({block: "center", behavior: "instant"})', button[0])  # the site scrolls smoothly: jump
    ActionChains(browser).move_to_element(button[0]).click().perform()


def gallery_image(browser, root='.cam-gallery') -> str:
    "The data URL of the image lesson 11's CAM gallery shows ('' if none)."
    return browser.execute_script(f'''const i = document.querySelector('{root} g[class*=cam_image] image'); return i ? i.getAttribute("href") || "" : "";''')


def gallery_caption(browser, root='.cam-gallery') -> str:
    "The caption under the gallery's image, or its 'no images' line."
    return ' '.join(t for m in ('cam_caption', 'cam_none') for _, t in vega_texts(browser, m, root))


def chart_scores(spec:dict) -> dict:
    "The explorer chart's embedded scores (its CSV dataset `scores`) as `Scores` per split, as the browser reads them."
    from imbalance_course.thresholds import Scores
    lines = spec['datasets']['scores'].splitlines()
    assert lines[0] == 'split,targ,score', lines[0]
    rows = [l.split(',') for l in lines[1:]]
    return {sp: Scores([int(r[1]) for r in rows if r[0] == sp], [float(r[2]) for r in rows if r[0] == sp], sp) for sp in dict.fromkeys(r[0] for r in rows)}
