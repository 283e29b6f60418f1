"""The docs website: build it with Sphinx (as `sphinx-build -b html -d docs/_build/doctrees docs _docs` does), serve it on
127.0.0.1 and look at it in headless Chromium through selenium.

Needs Debian's `chromium` and `chromium-driver` (`apt-get install chromium chromium-driver`).
Set IMBALANCE_COURSE_DOCS_SHOTS=<folder> to save screenshots of the home page and every lesson.
"""
import ast, functools, http.server, json, os, re, subprocess, sys, threading, time
from pathlib import Path

import pytest
from conftest import (chart_scores, chromium, click_report, explorer_counts, gallery_caption, gallery_image, missing_browser, report_status,
                      set_vega_slider, vega_texts)

ROOT = Path(__file__).resolve().parents[1]
NBS = Path(os.environ.get('IMBALANCE_COURSE_DOCS_NBS') or ROOT/'nbs')  # the same override docs/conf.py honours
LIB = ROOT/'imbalance_course'
TIMEOUT = 20


def lessons(): return sorted(p.stem for p in NBS.glob('[0-9]*.ipynb'))
def guides(): return sorted(p.stem for p in NBS.glob('[a-z]*.ipynb') if p.stem != 'index')  # pages that are no lesson (docs/conf.py)


def has_figure(stem):
    nb = json.loads((NBS/f'{stem}.ipynb').read_text(encoding='utf-8'))
    return any(mime.startswith('image/') for c in nb['cells'] for o in c.get('outputs', []) for mime in o.get('data', {}))


def exported(path):
    "Names in a module's `__all__` (nbdev writes one), read without importing the module"
    for node in ast.parse(path.read_text(encoding='utf-8')).body:
        if isinstance(node, ast.Assign) and any(getattr(t, 'id', None) == '__all__' for t in node.targets):
            return [ast.literal_eval(e) for e in node.value.elts]
    return []


def api_modules():
    return {'.'.join(p.relative_to(ROOT).with_suffix('').parts): p for p in sorted(LIB.rglob('*.py'))
            if not any(part.startswith('_') for part in p.relative_to(LIB).parts)}


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    "Build the site into a temporary folder and serve it over HTTP; yields the base URL"
    out = tmp_path_factory.mktemp('site')/'html'
    t0 = time.time()
    doctrees = out.parent/'doctrees'  # outside the site folder, as in README's command
    res = subprocess.run([sys.executable, '-m', 'sphinx', '-b', 'html', '-q', '-d', str(doctrees), 'docs', str(out)], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, f'sphinx-build failed:\n{res.stdout[-3000:]}\n{res.stderr[-5000:]}'
    assert not (out/'.doctrees').exists() and doctrees.is_dir()
    errors = [l for l in res.stderr.splitlines() if 'ERROR' in l or 'CRITICAL' in l]
    assert not errors, 'sphinx-build reported errors:\n' + '\n'.join(errors)
    print(f'\nsphinx build: {time.time()-t0:.1f}s, {len(res.stderr.splitlines())} warning lines')
    handler = functools.partial(_QuietHandler, directory=str(out))
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f'http://127.0.0.1:{server.server_address[1]}/'
    server.shutdown(); server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args): pass


@pytest.fixture(scope='module')
def browser():
    if missing := missing_browser():
        pytest.fail(f'{", ".join(missing)} not found: the docs test needs a headless browser; '
                    f'install it with `apt-get install chromium chromium-driver`', pytrace=False)
    with chromium() as drv: yield drv


def wait_for(drv, cond, what):
    from selenium.webdriver.support.ui import WebDriverWait
    try: return WebDriverWait(drv, TIMEOUT).until(lambda d: cond(d))
    except Exception as e: raise AssertionError(f'timed out after {TIMEOUT}s waiting for {what} on {drv.current_url}') from e


def shot(drv, name):
    d = os.environ.get('IMBALANCE_COURSE_DOCS_SHOTS')
    if not d: return
    Path(d).mkdir(parents=True, exist_ok=True)
    h = drv.execute_script('return document.documentElement.scrollHeight')
    drv.set_window_size(1280, min(max(h, 800), 6000))
    drv.save_screenshot(str(Path(d)/f'{name}.png'))
    drv.set_window_size(1280, 1000)


def text(drv): return drv.execute_script('return document.body.innerText')


def test_home_page(browser, site):
    browser.get(site + 'index.html')
    assert 'imbalance_course' in browser.title
    h1 = browser.find_element('css selector', 'article h1').text
    assert 'imbalance_course' in h1, h1
    assert '#|' not in text(browser)
    shot(browser, 'home')


def test_lesson_list_in_order(browser, site):
    expected = lessons()
    assert expected, f'no lesson notebooks (nbs/[0-9]*.ipynb) in {NBS}'
    browser.get(site + 'index.html')
    hrefs = [a.get_attribute('href') for a in browser.find_elements('css selector', '.sidebar-tree a.reference.internal')]
    listed = [m.group(1) for h in hrefs if (m := re.search(r'/lessons/([^/]+)\.html$', h))]
    assert listed == expected + guides(), f'sidebar lists {listed}, nbs/ has the lessons {expected}, then the guides {guides()}'


def test_lessons_render(browser, site):
    for stem in lessons():
        browser.get(site + f'lessons/{stem}.html')
        assert browser.find_elements('css selector', 'article h1'), f'{stem}: page has no title'
        body = text(browser)
        assert 'Traceback (most recent call last)' not in body, f'{stem}: a Python traceback is shown'
        code = browser.execute_script('return Array.from(document.querySelectorAll("div.cell_input pre"))'
                                      '.map(e => e.textContent).join("\\n")')
        assert not re.search(r'^\s*#\|', code, re.M), f'{stem}: an nbdev directive (#|) is shown'
        assert 'default_exp' not in code, f'{stem}: the #| default_exp cell is shown'
        shot(browser, stem)


def uses_math(stem):
    "Whether a lesson's markdown holds TeX math ($...$ or $$...$$) outside code (a shell's `$R` in a fenced block is no math)"
    nb = json.loads((NBS/f'{stem}.ipynb').read_text(encoding='utf-8'))
    prose = lambda src: re.sub(r'`[^`]*`', '', re.sub(r'```.*?```', '', src, flags=re.S))
    return any(re.search(r'\$[^$\s][^$]*\$', prose(''.join(c['source']))) for c in nb['cells'] if c['cell_type'] == 'markdown')


def test_math_is_typeset_from_the_site_itself(browser, site):
    "Every lesson with TeX math shows it typeset by MathJax, and no page loads anything from another host (no CDN)"
    stems = [s for s in lessons() if uses_math(s)]
    assert stems, 'no lesson uses TeX math: expected some in the metrics and losses lessons'
    host = re.match(r'https?://[^/]+', site).group(0)
    for stem in ['index', *stems]:
        browser.get(site + ('index.html' if stem == 'index' else f'lessons/{stem}.html'))
        if stem != 'index':
            wait_for(browser, lambda d: d.execute_script('return document.querySelectorAll("mjx-container").length'), f'typeset math in {stem}')
            raw = browser.execute_script('return Array.from(document.querySelectorAll("div.math, span.math")).map(e => e.innerText).join(" ")')
            assert '\\frac' not in raw and '\\begin' not in raw, f'{stem}: TeX source is shown instead of typeset math'
        loaded = browser.execute_script('return performance.getEntriesByType("resource").map(e => e.name)')
        outside = [u for u in loaded if not u.startswith(host) and not u.startswith('data:')]
        assert not outside, f'{stem}: loads {outside[:3]} from outside the site; serve it from _static instead'


def test_lesson_figure_displayed(browser, site):
    names = lessons()
    cands = (['03a_train'] if '03a_train' in names else []) + [s for s in names if s.startswith('03') and has_figure(s)]
    cands += [s for s in names if has_figure(s)]
    assert cands, 'no lesson with a saved figure (expected in 03a_train, the baseline-training lesson)'
    stem = cands[0]
    assert has_figure(stem), f'nbs/{stem}.ipynb has no saved figure output (image/png) to show in the docs'
    browser.get(site + f'lessons/{stem}.html')
    js = '''return Array.from(document.querySelectorAll("article img"))
              .filter(i => i.complete && i.naturalWidth > 0 && i.offsetWidth > 0 && i.offsetHeight > 0).length'''
    n = wait_for(browser, lambda d: d.execute_script(js), f'a displayed figure in lesson {stem}')
    imgs = [i for i in browser.find_elements('css selector', 'article img') if i.is_displayed()]
    assert n >= 1 and imgs, f'{stem}: no figure displayed'


def test_search(browser, site):
    browser.get(site + 'search.html?q=sensitivity')
    n = wait_for(browser, lambda d: len(d.find_elements('css selector', '#search-results ul.search li')),
                 'search results for "sensitivity"')
    assert n >= 1
    shot(browser, 'search')


def test_api_reference(browser, site):
    mods = api_modules()
    assert mods, f'no modules in {LIB}'
    for mod, path in mods.items():
        browser.get(site + f'lessons/api/{mod}.html')
        assert mod in browser.find_element('css selector', 'article h1').text
        ids = {e.get_attribute('id') for e in browser.find_elements('css selector', 'dt.sig')}
        missing = [n for n in exported(path) if f'{mod}.{n}' not in ids]
        assert not missing, f'{mod}: no API entry for {missing} (did autodoc fail to import the module?)'
    if (LIB/'data.py').exists() and 'load_dataset' in exported(LIB/'data.py'):
        browser.get(site + 'lessons/api/imbalance_course.data.html')
        sig = browser.find_element('id', 'imbalance_course.data.load_dataset').text
        assert sig.startswith('load_dataset('), sig  # short names (add_module_names = False)
        shot(browser, 'api_data')


def test_trainer_parameters_have_their_own_comments(browser, site):
    "Every Trainer parameter is listed once with the comment written beside it in the notebook, and no torch docstring leaks in."
    from imbalance_course.train import Trainer
    import inspect
    browser.get(site + 'lessons/api/imbalance_course.train.html')
    entry = browser.find_element('xpath', "//dt[@id='imbalance_course.train.Trainer']/following-sibling::dd[1]").text
    src = inspect.getsource(Trainer.__init__)
    for name in list(inspect.signature(Trainer.__init__).parameters)[1:]:
        comment = re.search(rf'\b{name}\b[^#\n]*# (.*)', src).group(1).strip()
        comment = re.sub(r'`([^`]*)`', r'\1', comment).split(' (')[0][:30]
        assert re.search(rf'{name} (–|--|-) {re.escape(comment)}', entry), (name, comment)
    assert 'Base class for all neural network modules' not in text(browser)


def test_lesson_pages_number_titles_fold_solutions_and_offer_downloads(browser, site):
    stem = '03a_train' if '03a_train' in lessons() else lessons()[0]
    browser.get(site + f'lessons/{stem}.html')
    assert browser.find_element('css selector', 'article h1').text.startswith(stem.split('_')[0] + ' · ')
    link = browser.find_element('css selector', 'a.download')
    assert link.get_attribute('href').endswith(f'{stem}.ipynb')
    assert browser.find_elements('css selector', 'button.copybtn'), 'no copy buttons on code cells'
    folded = browser.find_elements('css selector', 'div.cell.tag_hide-cell')
    assert folded and not any(c.find_element('css selector', 'div.cell_output').is_displayed()
                              for c in folded if c.find_elements('css selector', 'div.cell_output')), 'solution outputs are not folded'
    assert 'class imbalance' in browser.title


def test_course_map_names_match_lesson_titles():
    home = json.loads((NBS/'index.ipynb').read_text(encoding='utf-8'))
    table = next(''.join(c['source']) for c in home['cells'] if '## Lesson map' in ''.join(c['source']))
    links = dict((m.group(2), m.group(1)) for m in re.finditer(r'\[([^\]]+)\]\((\w+)\.ipynb\)', table))
    for stem in lessons():
        nb = json.loads((NBS/f'{stem}.ipynb').read_text(encoding='utf-8'))
        title = ''.join(nb['cells'][0]['source']).splitlines()[0].lstrip('# ').strip()
        assert links.get(stem) == title, f'course map calls {stem} {links.get(stem)!r}, its title is {title!r}'


def test_wide_tables_scroll_in_their_own_box_on_a_phone(browser, site):
    "At phone width no page scrolls sideways: wide DataFrames and markdown tables scroll inside their own box."
    browser.set_window_size(400, 900)
    try:
        for stem in lessons():
            browser.get(site + f'lessons/{stem}.html')
            sw, iw = browser.execute_script('return [document.documentElement.scrollWidth, window.innerWidth]')
            assert sw <= iw, f'{stem}: the page is {sw}px wide in a {iw}px window'
    finally: browser.set_window_size(1280, 1000)


def _explorer_page(browser, site, lesson='10_'):
    "Open the lesson page with the threshold explorer; wait for its chart; return the scores it embeds as `Scores` per split"
    stems = [s for s in lessons() if s.startswith(lesson)]
    assert stems, f'no lesson {lesson}* notebook in nbs/: a threshold explorer lives there'
    browser.get(site + f'lessons/{stems[0]}.html')
    wait_for(browser, lambda d: d.execute_script('return document.querySelectorAll(".threshold-explorer g[class*=confusion_val] text").length') == 4,
             'the explorer chart (drawn by vega-embed from the site)')
    src = browser.execute_script('return Array.from(document.scripts).map(s => s.textContent).find(t => t.includes("threshold-explorer")) || ""')
    spec = json.loads(re.search(r'spec = (\{.*\});', src).group(1))
    return chart_scores(spec)


def test_threshold_explorer_works_without_a_kernel(browser, site):
    """Lesson 10's explorer runs on the static page: the threshold slider moves validation's counts to what Python computes;
    test shows nothing until "report on test", then the counts at the reported threshold, fixed until the next report, counted."""
    from imbalance_course.thresholds import at_threshold, counts_at
    scores = _explorer_page(browser, site)
    assert set(scores) == {'val', 'test'}, scores.keys()
    loaded = browser.execute_script('return performance.getEntriesByType("resource").map(e => e.name)')
    host = re.match(r'https?://[^/]+', site).group(0)
    assert all(u.startswith(host) or u.startswith('data:') for u in loaded), [u for u in loaded if not u.startswith(host)][:3]
    assert any('/_static/vendor/vega-embed.js' in u for u in loaded), 'the Vega bundle was not loaded from the site'
    wait_for(browser, lambda d: 'not looked at' in report_status(d), 'the "report on test" bar saying test is not looked at yet')
    assert explorer_counts(browser, 'test') == {}, 'test counts are shown before any report'
    for t in ('0.05', '0.5', '0.995'):
        set_vega_slider(browser, 'threshold', t)
        want = counts_at(scores['val'], float(t))
        wait_for(browser, lambda d: explorer_counts(d, 'val') == want, f'val counts {want} at threshold {t}')
        assert explorer_counts(browser, 'test') == {}, f'test counts appeared at threshold {t} without a report'
    set_vega_slider(browser, 'threshold', '0.5')
    click_report(browser)
    want = counts_at(scores['test'], 0.5)
    wait_for(browser, lambda d: explorer_counts(d, 'test') == want, f'test counts {want} reported at threshold 0.5')
    assert 'looked at 1 time' in report_status(browser) and 'these settings: reported' in report_status(browser), report_status(browser)
    assert not browser.find_elements('css selector', '.threshold-explorer g[class*=report_button] .mark-rect path'), 'the button stays on reported settings'
    set_vega_slider(browser, 'prevalence', '0.1'); set_vega_slider(browser, 'cost_ratio', '5'); set_vega_slider(browser, 'threshold', '0.995')
    wait_for(browser, lambda d: explorer_counts(d, 'val') == counts_at(scores['val'], 0.995), 'val counts at 0.995')
    assert explorer_counts(browser, 'test') == want, 'the reported test counts moved with the slider'
    click_report(browser)
    wait_for(browser, lambda d: 'looked at 2 times' in report_status(d), 'the second look counted')
    want = {sp: at_threshold(s, 0.995, 0.1, 5.) for sp, s in scores.items()}
    def table_ok(d):
        shown = {}
        for label, txt in vega_texts(d, 'metrics'):  # the table's text marks carry 'split: val; metric: ppv; value: 0.403'
            if m := re.match(r'split: (\w+); metric: (\w+);', label): shown[m.group(1), m.group(2)] = float(txt)
        exp = {(sp, k): round(want[sp][k], 3) for sp in want for k in ('sensitivity', 'specificity', 'ppv', 'npv', 'cost')}
        return shown.keys() == exp.keys() and all(abs(shown[k] - v) <= 0.0011 for k, v in exp.items())
    wait_for(browser, table_ok, 'sensitivity, specificity, PPV, NPV and cost as `at_threshold` computes them')
    shot(browser, 'threshold_explorer')


def test_explorer_page_stays_light(browser, site):
    """The explorer's page and what it loads (the Vega bundle included) weigh less than 2 MB. MathJax is not counted: it is
    the site's one copy (about 1.2 MB), loaded by every lesson with math and cached after the first."""
    _explorer_page(browser, site)
    sizes = browser.execute_script('''return [...performance.getEntriesByType("navigation"), ...performance.getEntriesByType("resource")]
                                         .map(e => [e.name, e.decodedBodySize || 0])''')
    size = sum(n for url, n in sizes if '/_static/mathjax/' not in url)
    assert any('vega-embed.js' in url for url, _ in sizes) and 0 < size < 2_000_000, f'the explorer page loads {size / 1e6:.2f} MB'


def test_cam_gallery_browses_without_a_kernel(browser, site):
    "Lesson 11's precomputed CAM gallery (a Vega-Lite chart): the image slider, the method and the outcome selectors switch the image shown."
    stems = [s for s in lessons() if s.startswith('11_')]
    assert stems, 'no lesson 11 notebook (nbs/11_*.ipynb): the CAM gallery lives there'
    browser.get(site + f'lessons/{stems[0]}.html')
    g = '.cam-gallery'
    first = wait_for(browser, lambda d: gallery_image(d, g).startswith('data:image/jpeg') and gallery_image(d, g), 'the gallery showing its first overlay')
    first_cap = gallery_caption(browser, g)
    assert '(1 / ' in first_cap, first_cap
    set_vega_slider(browser, 'image', '2', g)
    wait_for(browser, lambda d: gallery_image(d, g) != first and '(2 / ' in gallery_caption(d, g), 'the second image after moving the image slider')
    before = gallery_image(browser, g)
    browser.execute_script(f'''const s = document.querySelector("{g} select[name=method]"); s.selectedIndex = 1; s.dispatchEvent(new Event("change"));''')
    wait_for(browser, lambda d: gallery_image(d, g) not in (before, ''), 'another method\'s map after switching the method')
    browser.execute_script(f'''const s = document.querySelector("{g} select[name=outcome]"); s.value = "TN"; s.dispatchEvent(new Event("change"));''')
    wait_for(browser, lambda d: gallery_caption(d, g).startswith('TN') or 'no images' in gallery_caption(d, g), 'a true negative after switching the outcome')
    shot(browser, 'cam_gallery')


def test_capstone_explorer_shows_the_deployed_network(browser, site):
    "Lesson 12's explorer draws on its page without a kernel, from BreastMNIST's validation and test scores (78 and 156 images)."
    scores = _explorer_page(browser, site, '12_')
    assert {k: len(v.targ) for k, v in scores.items()} == {'val': 78, 'test': 156}
