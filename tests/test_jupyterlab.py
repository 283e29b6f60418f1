"""The learner's path: lessons 10 and 11 in a real JupyterLab, driven in headless Chromium through selenium.

The test starts its own `jupyter lab` on 127.0.0.1 (a free port, a random token, `--expose-app-in-browser` so that the
page's `jupyterapp` can run commands), on copies of the two lessons in a temporary folder (the repository's notebooks are
never saved over), in the fast mode. Before running anything it checks lesson 10's kernel-free explorer as the notebook saved it
and lesson 11's CAM gallery (JupyterLab draws their Vega-Lite outputs itself). It runs all cells, checks that none errors, types a threshold into the explorer's slider
(whose tracks are checked to be long enough for a mouse) and checks the table against what the kernel computes, presses "report on test", and switches the CAM
browser's method. The server is stopped by its PID at the end. Skipped, with the reason, where Chromium is missing.
"""
import json, os, re, secrets, socket, subprocess, sys, time, urllib.request
from pathlib import Path

import pytest
from conftest import chart_scores, chromium, click_report, explorer_counts, gallery_caption, gallery_image, missing_browser, report_status, set_vega_slider

ROOT = Path(__file__).resolve().parents[1]
LESSONS = ('10_thresholds', '11_cam')
RUN_TIMEOUT = 600  # seconds for one lesson's "run all" in the fast mode (about a minute on 2 cores)

pytestmark = pytest.mark.skipif(bool(missing_browser()), reason=f'{", ".join(missing_browser())} not found: the JupyterLab test needs '
                                                               'a headless browser (`apt-get install chromium chromium-driver`)')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


@pytest.fixture(scope='module')
def lab(tmp_path_factory, data_dir):
    "A JupyterLab server on copies of the lessons; yields (base URL, token, notebook folder); stopped by its PID after the tests."
    work = tmp_path_factory.mktemp('lab')
    nbs = work/'nbs'; nbs.mkdir()
    for stem in LESSONS: (nbs/f'{stem}.ipynb').write_bytes((ROOT/'nbs'/f'{stem}.ipynb').read_bytes())
    (work/'results').symlink_to(ROOT/'results')  # the lessons read ../results
    port, token = _free_port(), secrets.token_hex(16)
    env = os.environ | {'IMBALANCE_COURSE_FAST': '1', 'IMBALANCE_COURSE_DATA': str(data_dir), 'JUPYTER_CONFIG_DIR': str(work/'config'),
                        'JUPYTER_RUNTIME_DIR': str(work/'runtime'), 'JUPYTERLAB_SETTINGS_DIR': str(work/'settings'),
                        'JUPYTERLAB_WORKSPACES_DIR': str(work/'workspaces')}
    news = work/'settings'/'@jupyterlab'/'apputils-extension'/'notification.jupyterlab-settings'
    news.parent.mkdir(parents=True); news.write_text('{"fetchNews": "false", "checkForUpdates": false}')  # no pop-up over the page
    log = open(work/'lab.log', 'w')
    proc = subprocess.Popen([sys.executable, '-m', 'jupyter', 'lab', '--no-browser', '--ip=127.0.0.1', f'--port={port}', '--port-retries=0',
                             f'--IdentityProvider.token={token}', f'--ServerApp.root_dir={nbs}', '--expose-app-in-browser',
                             '--LabApp.news_url=', '--ServerApp.open_browser=False'] + (['--allow-root'] if os.geteuid() == 0 else []),
                            cwd=nbs, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f'http://127.0.0.1:{port}'
    try:
        for _ in range(120):
            if proc.poll() is not None: break
            try:
                with urllib.request.urlopen(f'{url}/api/status?token={token}', timeout=2): break
            except OSError: time.sleep(0.5)
        if proc.poll() is not None: pytest.fail(f'jupyter lab exited with {proc.returncode}:\n{(work/"lab.log").read_text()[-3000:]}')
        yield url, token, nbs
    finally:
        proc.terminate()
        try: proc.wait(20)
        except subprocess.TimeoutExpired: proc.kill(); proc.wait()
        log.close()
    assert proc.poll() is not None, 'the JupyterLab server is still running'


@pytest.fixture(scope='module')
def browser():
    with chromium(1400, 1000) as drv:
        drv.set_script_timeout(60)
        yield drv


def _wait(drv, cond, what, timeout=60):
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait
    try: return WebDriverWait(drv, timeout, poll_frequency=0.25, ignored_exceptions=(StaleElementReferenceException,)).until(lambda d: cond(d))  # an output redrawn between two looks: look again
    except Exception as e:
        if d := os.environ.get('IMBALANCE_COURSE_DOCS_SHOTS'): Path(d).mkdir(parents=True, exist_ok=True); drv.save_screenshot(str(Path(d)/'jupyterlab_timeout.png'))
        raise AssertionError(f'timed out after {timeout}s waiting for {what}') from e


_PANEL = ('const app = window.jupyterapp, panel = app && (Array.from(app.shell.widgets("main")).find(w => w.context && w.sessionContext)'
          ' || app.shell.currentWidget);')  # the workspace's one notebook (a drawn Vega chart can leave no widget "current")


def _open(drv, lab, stem):
    "Open the lesson as saved (outputs of the full run) and wait for its kernel to be idle."
    url, token, _ = lab
    drv.get(f'{url}/lab/workspaces/{stem}/tree/{stem}.ipynb?reset&token={token}')  # a workspace of its own: the only open notebook
    _wait(drv, lambda d: d.execute_script(f'''{_PANEL} return !!(panel && panel.context && panel.context.isReady && panel.sessionContext
              && panel.sessionContext.session && panel.sessionContext.session.kernel && panel.sessionContext.session.kernel.status === "idle")'''),
          f'{stem} open with an idle kernel', timeout=120)


def _run_all(drv, stem):
    "Run all cells of the open lesson; return the errors (cell index, ename, evalue) and the code cells' count."
    t0 = time.time()
    drv.execute_script(f'''{_PANEL} window.ranAll = undefined;
        app.commands.execute("notebook:run-all-cells").then(ok => {{ window.ranAll = String(ok); }}, e => {{ window.ranAll = "failed: " + e; }});''')
    ran = _wait(drv, lambda d: d.execute_script('return window.ranAll'), f'"run all cells" of {stem} to finish', timeout=RUN_TIMEOUT)  # the last cell ran, or one failed
    _wait(drv, lambda d: d.execute_script(f'{_PANEL} return panel.sessionContext.session.kernel.status === "idle"'), f'{stem}\'s kernel to be idle')
    seconds = time.time() - t0
    errors, n, skipped = drv.execute_script(f'''{_PANEL} const cells = panel.content.widgets; const errs = [];
        cells.forEach((c, i) => {{ if (c.model.type !== "code") return;
            for (const o of c.model.outputs.toJSON()) if (o.output_type === "error") errs.push([i, o.ename, o.evalue]); }});
        const code = cells.filter(c => c.model.type === "code");
        return [errs, code.length, code.filter(c => c.model.executionCount === null && c.model.sharedModel.getSource().trim() !== "").length];''')
    if d := os.environ.get('IMBALANCE_COURSE_DOCS_SHOTS'): drv.save_screenshot(str(Path(d)/f'jupyterlab_{stem}.png'))
    print(f'\n{stem}: run all in {seconds:.0f} s ({ran!r}), {n} code cells, {skipped} not run, errors: {errors}')
    assert skipped == 0 or errors, f'{skipped} of {n} code cells of {stem} did not run, and none failed'
    return errors, n


def _kernel(drv, code):
    "Run `code` in the notebook's kernel (as the learner's session would) and return what it prints."
    return drv.execute_async_script(f'''const done = arguments[arguments.length - 1]; {_PANEL} let text = "";
        const fut = panel.sessionContext.session.kernel.requestExecute({{code: {json.dumps(code)}, silent: false, store_history: false}});
        fut.onIOPub = m => {{ if (m.header.msg_type === "stream") text += m.content.text;
                              if (m.header.msg_type === "error") text += "ERROR " + m.content.ename + ": " + m.content.evalue; }};
        fut.done.then(() => done(text), e => done("ERROR " + e));''')


def _saved_explorer_works(drv, path):
    """The kernel-free explorer as the notebook saved it: JupyterLab draws the Vega-Lite output itself (no kernel involved, the
    notebook not trusted); its slider moves validation's counts, and "report on test" shows test's, as `counts_at` counts them."""
    from imbalance_course.thresholds import VEGALITE_MIME, counts_at
    root = '.jp-RenderedVegaLite'
    spec = next(o['data'][VEGALITE_MIME] for c in json.loads(path.read_text())['cells'] for o in c.get('outputs', []) if VEGALITE_MIME in o.get('data', {}))
    scores = chart_scores(spec)
    t0 = next(p['value'] for p in spec['params'] if p['name'] == 'threshold')
    drv.execute_script(f'''{_PANEL} const i = panel.content.widgets.findIndex(c => c.model.type === "code"
        && c.model.outputs.toJSON().some(o => o.data && o.data["{VEGALITE_MIME}"])); panel.content.scrollToItem(i, "center");''')
    _wait(drv, lambda d: explorer_counts(d, 'val', root) == counts_at(scores['val'], t0), f'the saved explorer drawn, with validation at its threshold {t0}')
    assert explorer_counts(drv, 'test', root) == {} and 'not looked at' in report_status(drv, root), 'test shown before a report'
    pngs = drv.execute_script(f'''{_PANEL} return panel.content.widgets.filter(c => c.model.type === "code").flatMap(c => c.model.outputs.toJSON())
        .filter(o => o.data && o.data["{VEGALITE_MIME}"]).map(o => (o.data["image/png"] || "").length);''')
    assert pngs and max(pngs) < 100, f'JupyterLab stored a PNG copy of the chart in the notebook ({pngs} characters)'  # the 1-pixel stand-in stays
    set_vega_slider(drv, 'threshold', '0.5', root)
    _wait(drv, lambda d: explorer_counts(d, 'val', root) == counts_at(scores['val'], 0.5), 'validation counts at threshold 0.5')
    click_report(drv, root)
    _wait(drv, lambda d: explorer_counts(d, 'test', root) == counts_at(scores['test'], 0.5), 'test counts at the reported threshold 0.5')
    assert 'test looked at 1 time' in report_status(drv, root), report_status(drv, root)
    if d := os.environ.get('IMBALANCE_COURSE_DOCS_SHOTS'): Path(d).mkdir(parents=True, exist_ok=True); drv.save_screenshot(str(Path(d)/'jupyterlab_saved_explorer.png'))


def test_lesson_10_runs_and_its_explorer_follows_its_slider(browser, lab):
    from selenium.webdriver.common.by import By
    _open(browser, lab, '10_thresholds')
    _saved_explorer_works(browser, lab[2]/'10_thresholds.ipynb')  # before anything runs: the notebook as saved, not trusted
    errors, n = _run_all(browser, '10_thresholds')
    assert n > 20 and errors == [], f'cells that failed in JupyterLab: {errors}'
    sliders = _wait(browser, lambda d: [s for s in d.find_elements(By.CSS_SELECTOR, '.widget-slider')
                                         if s.find_element(By.CSS_SELECTOR, '.widget-label').text.strip() == 'threshold'], 'the explorer widget')
    slider = sliders[0]
    readout = slider.find_element(By.CSS_SELECTOR, '.widget-readout')
    for name in ('threshold', 'prevalence', 'cost of a miss / of a false alarm'):  # every slider's track is long enough for a mouse
        s = next(s for s in browser.find_elements(By.CSS_SELECTOR, '.widget-slider') if s.find_element(By.CSS_SELECTOR, '.widget-label').text.strip() == name)
        w = s.find_element(By.CSS_SELECTOR, '.noUi-base, .slider-container').size['width']
        assert w >= 150, f'the {name!r} slider track is {w}px wide'
    browser.execute_script('arguments[0].scrollIntoView({block: "center"})', slider)
    table = lambda d: d.find_elements(By.CSS_SELECTOR, 'table.threshold-metrics')[0].get_attribute('outerHTML')
    start = readout.text
    from selenium.webdriver.common.keys import Keys
    readout.click(); browser.execute_script('document.execCommand("selectAll")')  # the slider's editable readout, as a learner types into it
    readout.send_keys('0.25', Keys.ENTER)
    _wait(browser, lambda d: readout.text != start, f'the threshold (at {start}) to move after typing 0.25 into its readout')
    t = float(readout.text)
    assert t == 0.25, f'typing 0.25 set the threshold to {t}'
    want = json.loads(_kernel(browser, f'import json; print(json.dumps(explorer.at({t})[["tp", "fp", "fn", "tn"]].iloc[0].astype(int).tolist()))'))
    _wait(browser, lambda d: ''.join(f'<td>{v}</td>' for v in want) in table(d), f'the counts {want} that `at` gives at threshold {t}')
    looks = int(_kernel(browser, 'print(len(explorer.reports))'))
    browser.find_element(By.XPATH, '//button[normalize-space()="report on test"]').click()
    _wait(browser, lambda d: f'test looked at {looks + 1} times' in d.page_source, f'"test looked at {looks + 1} times"')
    got = json.loads(_kernel(browser, 'import json; print(json.dumps(explorer.reported.iloc[-1][["threshold", "tp", "fp", "fn", "tn"]].tolist()))'))
    assert got[0] == pytest.approx(t) and got[1:] == json.loads(_kernel(browser, f'import json; from imbalance_course.thresholds import counts_at; print(json.dumps(list(counts_at(explorer.test, {t}).values())))'))


def test_lesson_11_runs_and_its_cam_browser_switches_method(browser, lab):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select
    _open(browser, lab, '11_cam')
    root = '.jp-RenderedVegaLite'  # the gallery as the notebook saved it, drawn by JupyterLab without the kernel
    browser.execute_script(f'''{_PANEL} const i = panel.content.widgets.findIndex(c => c.model.type === "code"
        && c.model.outputs.toJSON().some(o => o.data && o.data["application/vnd.vegalite.v5+json"])); panel.content.scrollToItem(i, "center");''')
    saved = _wait(browser, lambda d: gallery_image(d, root).startswith('data:image/jpeg') and gallery_image(d, root), 'the saved CAM gallery drawn')
    set_vega_slider(browser, 'image', '2', root)
    _wait(browser, lambda d: gallery_image(d, root) not in (saved, '') and '(2 / ' in gallery_caption(d, root), 'the next image of the saved gallery')
    errors, n = _run_all(browser, '11_cam')
    assert n > 10 and errors == [], f'cells that failed in JupyterLab: {errors}'
    box = _wait(browser, lambda d: [e for e in d.find_elements(By.CSS_SELECTOR, '.widget-dropdown') if 'method' in e.text], 'the CAM browser')[0]
    img = lambda d: (d.find_elements(By.XPATH, '//div[contains(@class, "widget-dropdown")][.//label[normalize-space()="method"]]'
                                              '/ancestor::div[contains(@class, "widget-vbox")][1]//img') or [None])[0]
    first = _wait(browser, lambda d: img(d) is not None and img(d).get_attribute('src'), 'the CAM figure')
    select = Select(box.find_element(By.TAG_NAME, 'select'))
    other = next(o.text for o in select.options if o.text != select.first_selected_option.text)
    select.select_by_visible_text(other)
    _wait(browser, lambda d: img(d) is not None and img(d).get_attribute('src') not in (None, first), f'another picture after switching to {other}')
