"""Sphinx configuration for the imbalance_course website (Sphinx + myst-nb + furo; no Quarto).

Build with ONE command from the repository root:  sphinx-build -b html -d docs/_build/doctrees docs _docs

At config time this file turns the notebooks in `nbs/` into clean copies that Sphinx renders with
their saved outputs (nothing is executed):
  - nbs/index.ipynb            -> docs/index.ipynb          (home page; git-ignored via docs/.gitignore)
  - nbs/[0-9]*.ipynb           -> docs/lessons/*.ipynb      (lessons, in name order; git-ignored)
  - imbalance_course/**/*.py   -> docs/lessons/api/*.rst    (one automodule page per module)
  - docs/_static/vendor/vega-embed.js: Vega, Vega-Lite and vega-embed in one file, from the vl-convert-python
    package (git-ignored); pages showing a kernel-free chart (lesson 10's threshold explorer, lesson 11's CAM gallery)
    load it from the site. The notebooks save those charts as Vega-Lite outputs (JupyterLab draws them); here they
    become `imbalance_course.thresholds.embed_html`'s HTML
nbdev directives (`#| ...`) are stripped, `#| hide` / `#| include: false` cells and cells left
empty are dropped, widget outputs (e.g. tqdm bars) are removed and long streams are trimmed.
Set IMBALANCE_COURSE_DOCS_NBS to build from another notebook folder (used to try the site out).
"""
import ast, configparser, copy, os, re, sys
from pathlib import Path

import nbformat

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))

cfg = configparser.ConfigParser(delimiters=['='])
cfg.read(ROOT/'settings.ini', encoding='utf-8')
cfg = cfg['DEFAULT']
LIB = cfg.get('lib_name', 'imbalance_course')
NBS = Path(os.environ.get('IMBALANCE_COURSE_DOCS_NBS') or ROOT/cfg.get('nbs_path', 'nbs'))
OUT = DOCS/'lessons'  # generated; git-ignored

# ---------------------------------------------------------------------------------------------
# Notebook clean-up
# ---------------------------------------------------------------------------------------------
WIDGET_MIME = 'application/vnd.jupyter.widget-view+json'
VEGALITE_MIME = 'application/vnd.vegalite.v5+json'  # the course's kernel-free charts, as the notebooks save them (JupyterLab draws them)
TQDM_TEXT = re.compile(r'\d+%\||it/s\]|s/it\]|\d+/\d+ \[')  # a progress bar's text fallback
DIRECTIVE = re.compile(r'^\s*#\|\s?(.*)$')
MAX_STREAM_LINES = {'stdout': 40, 'stderr': 20}


def _directives(lines):
    "nbdev/Quarto directives of a cell as {key: value-string}"
    res = {}
    for l in lines:
        m = DIRECTIVE.match(l)
        if not m: continue
        body = m.group(1).strip()
        if not body: continue
        k, _, v = body.partition(':') if ':' in body.split()[0] else (body.split()[0], '', ' '.join(body.split()[1:]))
        res[k.strip()] = v.strip()
    return res


def _falsy(v): return v.strip().lower() in ('false', 'no', '0')


def _collapse_cr(text):
    "Keep what a terminal would show: the text after the last carriage return on each line"
    return '\n'.join(l.rstrip('\r').split('\r')[-1] for l in text.split('\n'))


def _trim(text, n):
    lines = text.splitlines()
    if len(lines) <= n: return text
    head, tail = n//3, n - n//3 - 1
    return '\n'.join(lines[:head] + [f'... ({len(lines)-head-tail} lines omitted in the docs) ...'] + lines[-tail:]) + '\n'


def _clean_outputs(outputs, filter_words=()):
    res = []
    for o in outputs:
        o = copy.deepcopy(o)
        if o.get('output_type') == 'stream':
            if res and res[-1].get('output_type') == 'stream' and res[-1].get('name') == o.get('name'):
                res[-1]['text'] += o.get('text', '')  # merge consecutive chunks (tqdm writes many)
                continue
            res.append(o)
        elif o.get('output_type') in ('display_data', 'execute_result'):
            data = o.get('data', {})
            if (spec := data.get(VEGALITE_MIME)) and isinstance(spec, dict) and (spec.get('usermeta') or {}).get(LIB):
                from imbalance_course.thresholds import embed_html  # the chart as page HTML, drawn by the site's own Vega bundle
                o['data'], o['metadata'] = {'text/html': embed_html(spec)}, {}
                res.append(o); continue
            if WIDGET_MIME in data:  # a live widget: its state is not saved, its text fallback is stale
                data.pop(WIDGET_MIME)
                plain = data.pop('text/plain', '')
                plain = ''.join(plain) if isinstance(plain, list) else plain
                if not data and plain.strip() and not TQDM_TEXT.search(plain):
                    data['text/markdown'] = '*(interactive widget: open the notebook in Jupyter to use it)*'
            if not data: continue
            res.append(o)
        else:
            res.append(o)
    for o in res:
        if o.get('output_type') != 'stream': continue
        text = _collapse_cr(''.join(o['text']) if isinstance(o['text'], list) else o['text'])
        if filter_words: text = '\n'.join(l for l in text.split('\n') if not any(w in l for w in filter_words))
        o['text'] = _trim(text, MAX_STREAM_LINES.get(o.get('name'), 40))
    return [o for o in res if o.get('output_type') != 'stream' or o['text'].strip()]


def _fix_links(src, here, lessons, home=False):
    "Point `[..](NN_x.ipynb)` links at the rendered copies; unlink lessons that do not exist yet"
    def repl(m):
        text, target = m.group(1), m.group(2)
        name = target.split('#')[0]
        if name == 'index.ipynb': return f'[{text}]({"" if home else "../"}index.ipynb)'
        if name in lessons: return f'[{text}]({"lessons/" if home else ""}{target})'
        return text
    return re.sub(r'\[([^\]]+)\]\((?:\./)?(?:nbs/)?([^)\s]+\.ipynb(?:#[^)\s]*)?)\)', repl, src)


def _frontmatter_title(src):
    m = re.search(r'^title:\s*["\']?(.+?)["\']?\s*$', src, re.M)
    return m.group(1) if m else None


def clean_nb(path, lessons=(), home=False):
    "A copy of the notebook at `path` ready for the docs (directives, hidden cells, widgets removed)"
    nb = nbformat.read(path, as_version=4)
    nb.metadata.pop('widgets', None)
    nb.metadata.setdefault('language_info', {'name': 'python', 'pygments_lexer': 'ipython3'})  # nbdev_clean drops it
    cells = []
    for cell in nb.cells:
        src = cell.source
        if cell.cell_type == 'raw':
            if src.lstrip().startswith('---') and (t := _frontmatter_title(src)):
                cells.append(nbformat.v4.new_markdown_cell(f'# {t}'))
            continue
        lines = src.splitlines()
        d = _directives(lines)
        if 'hide' in d or _falsy(d.get('include', 'true')): continue
        lines = [l for l in lines if not DIRECTIVE.match(l) and not l.rstrip().endswith('#|hide_line')]
        src = '\n'.join(lines).strip('\n')
        if cell.cell_type == 'markdown':
            if not src.strip(): continue
            cells.append(nbformat.v4.new_markdown_cell(_fix_links(src, path, lessons, home)))
            continue
        outputs = [] if _falsy(d.get('output', 'true')) else _clean_outputs(cell.get('outputs', []),
                                                                             d.get('filter_stream', '').split())
        hide_input = _falsy(d.get('echo', 'true'))
        if not src.strip() or (hide_input and not outputs): continue
        new = nbformat.v4.new_code_cell(src, outputs=outputs, execution_count=cell.get('execution_count'))
        if hide_input: new.metadata['tags'] = ['remove-input']
        elif d.get('code-fold', '').lower() in ('true', 'yes'):  # Quarto/nbdev folded code, e.g. exercise solutions
            new.metadata['tags'] = ['hide-cell']  # code and output fold together
            summary = d.get('code-summary', '').strip('\'"') or 'Show code'
            new.metadata['mystnb'] = {'code_prompt_show': summary, 'code_prompt_hide': summary}
        cells.append(new)
    if not any(c.cell_type == 'markdown' and re.match(r'#\s', c.source) for c in cells[:3]):
        cells.insert(0, nbformat.v4.new_markdown_cell(f'# {path.stem}'))
    if not home: _number_and_link(cells, path)
    for i, c in enumerate(cells): c['id'] = f'cell-{i}'
    nb.cells = cells
    nb.nbformat_minor = max(nb.nbformat_minor, 5)
    return nb


def lesson_number(path): return path.stem.split('_')[0]


def _number_and_link(cells, path):
    "Prefix the lesson's title with its number (as in the course map) and add a link to download the notebook"
    i = next(i for i, c in enumerate(cells) if c.cell_type == 'markdown' and re.match(r'#\s', c.source))
    title, _, rest = cells[i].source.partition('\n')
    cells[i].source = f'# {lesson_number(path)} · {title[2:].strip()}' + (f'\n{rest}' if rest else '')
    link = os.path.relpath(path.resolve(), OUT.resolve()).replace(os.sep, '/')
    cells.insert(i + 1, nbformat.v4.new_markdown_cell(
        f'{{download}}`Download this lesson as a notebook <{link}>` (open it in JupyterLab and run it top to bottom)'))


def _write(path, text):
    "Write only when the content changed, so Sphinx's incremental build stays incremental"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding='utf-8') != text: path.write_text(text, encoding='utf-8')


def lesson_paths(): return sorted(NBS.glob('[0-9]*.ipynb'), key=lambda p: p.name)
def guide_paths(): return sorted(p for p in NBS.glob('[a-z]*.ipynb') if p.name != 'index.ipynb')  # pages that are no lesson: writing a technique, the helpers


def api_modules():
    "Dotted names of the library's modules (all .py files except private ones such as _modidx)"
    lib = ROOT/cfg.get('lib_path', LIB)
    mods = []
    for p in sorted(lib.rglob('*.py')):
        rel = p.relative_to(ROOT).with_suffix('')
        if any(part.startswith('_') for part in rel.parts[1:]) or '.ipynb_checkpoints' in rel.parts: continue
        mods.append('.'.join(rel.parts))
    return mods


def _exported_constants(path):
    "(name, short) for the module-level assignments listed in `__all__`; autodoc skips undocumented data"
    tree = ast.parse(path.read_text(encoding='utf-8'))
    allv = next((ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign)
                 and any(getattr(t, 'id', None) == '__all__' for t in n.targets)), [])
    res = []
    for n in tree.body:
        targets = n.targets if isinstance(n, ast.Assign) else [n.target] if isinstance(n, ast.AnnAssign) else []
        for t in targets:
            if getattr(t, 'id', None) in allv and t.id != '__all__' and n.value is not None:
                res.append((t.id, len(ast.get_source_segment(path.read_text(encoding='utf-8'), n.value) or '') <= 80))
    return res


def api_page(mod):
    "reST for one module: automodule (functions, classes) plus autodata for exported constants"
    path = ROOT/(mod.replace('.', '/') + '.py')
    txt = (f'{mod}\n{"=" * len(mod)}\n\n.. automodule:: {mod}\n   :members:\n   :undoc-members:\n'
           f'   :show-inheritance:\n   :member-order: bysource\n')
    consts = _exported_constants(path)
    if consts:
        txt += '\nConstants\n---------\n'
        for name, short in consts:
            txt += f'\n.. autodata:: {mod}.{name}\n' + ('' if short else '   :no-value:\n')
    return txt


def prepare_sources():
    "Generate docs/index.ipynb, docs/lessons/*.ipynb and docs/lessons/api/*.rst from the repository"
    lessons, guides = lesson_paths(), guide_paths()
    names = {p.name for p in lessons + guides}
    keep = set()
    for p in lessons + guides:
        dest = OUT/p.name
        _write(dest, nbformat.writes(clean_nb(p, names)))
        keep.add(dest)
    mods = api_modules()
    for m in mods:
        dest = OUT/'api'/f'{m}.rst'
        _write(dest, api_page(m))
        keep.add(dest)
    for f in list(OUT.rglob('*')) if OUT.exists() else []:  # remove copies of deleted notebooks/modules
        if f.is_file() and f not in keep: f.unlink()

    home = clean_nb(NBS/'index.ipynb', names, home=True) if (NBS/'index.ipynb').exists() else \
        nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f'# {LIB}\n\n> {cfg.get("description", "")}')])
    toc = '```{toctree}\n:hidden:\n:caption: %s\n:maxdepth: %d\n\n%s\n```'
    tocs = [toc % (cap, 1, '\n'.join(entries)) for cap, entries in
            [('Lessons', [f'lessons/{p.stem}' for p in lessons]), ('Guides', [f'lessons/{p.stem}' for p in guides]),
             ('API reference', [f'lessons/api/{m}' for m in mods])]
            if entries]
    if tocs: home.cells.append(nbformat.v4.new_markdown_cell('\n\n'.join(tocs)))
    for i, c in enumerate(home.cells): c['id'] = f'cell-{i}'
    _write(DOCS/'index.ipynb', nbformat.writes(home))


prepare_sources()

# ---------------------------------------------------------------------------------------------
# Vega-Lite in the browser, served from the site itself (no CDN)
# ---------------------------------------------------------------------------------------------
VEGA_JS = DOCS/'_static'/'vendor'/'vega-embed.js'
VEGA_PAGES_MARK = 'vegaEmbed(el, spec'  # what `imbalance_course.thresholds.embed_html` writes


def vega_bundle():
    "Write Vega + Vega-Lite + vega-embed (the Vega-Lite version Altair writes) to `VEGA_JS`, once per version"
    try:
        import altair, vl_convert
    except ImportError as e:
        raise RuntimeError(f'{e.name} is missing: the docs need altair and vl-convert-python for the interactive charts; '
                           f'install them with `pip install -e ".[dev]"`') from e
    vl = '.'.join(altair.SCHEMA_VERSION.lstrip('v').split('.')[:2])
    stamp = f'/* vega-lite {vl}, vega {vl_convert.get_vega_version()}, vega-embed {vl_convert.get_vega_embed_version()} (from vl-convert-python) */'
    if VEGA_JS.exists() and VEGA_JS.read_text(encoding='utf-8').startswith(stamp): return
    VEGA_JS.parent.mkdir(parents=True, exist_ok=True)
    js = vl_convert.javascript_bundle(vl_version=vl)
    tmp = VEGA_JS.with_suffix('.tmp')
    tmp.write_text(stamp + '\n' + js, encoding='utf-8'); tmp.replace(VEGA_JS)


vega_bundle()

# ---------------------------------------------------------------------------------------------
# Sphinx settings
# ---------------------------------------------------------------------------------------------
project = cfg.get('title', LIB)
author = cfg.get('author', '')
copyright = cfg.get('copyright', '')
release = version = cfg.get('version', '')
root_doc = 'index'
extensions = ['myst_nb', 'sphinx.ext.autodoc', 'sphinx.ext.napoleon', 'sphinx.ext.viewcode', 'sphinx_copybutton',
              'sphinx.ext.mathjax', 'sphinx-mathjax-offline']  # MathJax served from the site itself: nothing loads from a CDN
exclude_patterns = ['_build', '**.ipynb_checkpoints', '.gitignore']
language = 'en'
default_role = 'literal'  # nbdev docstrings use `x` for code
smartquotes = False  # code-like text ('auto', --no-resume) stays as typed

nb_execution_mode = 'off'          # render the saved outputs, never execute
nb_merge_streams = True
nb_output_stderr = 'show'
myst_enable_extensions = ['dollarmath', 'amsmath', 'colon_fence', 'deflist']
myst_heading_anchors = 3
suppress_warnings = ['mystnb.unknown_mime_type', 'myst.header']

autodoc_member_order = 'bysource'
autodoc_preserve_defaults = True
# preserve_defaults swaps a documented function's defaults for their source text; the lessons register recipes at import
# time from their builders' defaults (hashed as JSON), so every lesson module is imported, and its recipes registered,
# before autodoc touches any function
import imbalance_course.recipes  # noqa: E402
imbalance_course.recipes.load_techniques()
autodoc_typehints = 'signature'
autodoc_mock_imports = []
autodoc_inherit_docstrings = False  # no torch docstrings on our nn.Module subclasses
add_module_names = False
copybutton_exclude = '.linenos, .gp, .go'  # copy code, not prompts or outputs
napoleon_google_docstring = napoleon_numpy_docstring = True

html_theme = 'furo'
html_title = 'imbalance_course: class imbalance in medical image classification'
html_short_title = project
html_static_path = ['_static']
html_css_files = ['custom.css']
html_show_sourcelink = False
# no furo "edit this page" buttons: the pages are generated copies, their sources are the notebooks in nbs/
html_theme_options = {'top_of_page_buttons': []}
html_copy_source = False


# ---------------------------------------------------------------------------------------------
# Small extension: nbdev docments comments as parameter docs; keep myst-nb's files inside the build
# ---------------------------------------------------------------------------------------------
def _md_code(text):
    "Markdown `code` as reST ``code``, escaped where a letter touches it (`Callback`s); roles are left alone"
    def repl(m):
        if m.group(1) is None: return m.group(0)  # a role (:class:`X`) or an existing ``literal``
        pre = '\\ ' if m.start() and not text[m.start()-1].isspace() and text[m.start()-1] not in '([{"\'' else ''
        post = '\\ ' if m.end() < len(text) and text[m.end()].isalnum() else ''
        return f'{pre}``{m.group(1)}``{post}'
    return re.sub(r':[\w:+.-]+:`[^`]*`|``.*?``|`([^`]+)`', repl, text)


def param_comments(obj):
    """`{param: comment}` from nbdev-style comments in `obj`'s signature (a class: its `__init__`): a comment documents
    every parameter on its own line; one on the closing line with no parameter documents the return value"""
    import inspect, io, textwrap, tokenize
    f = obj.__init__ if inspect.isclass(obj) else obj
    try: src, params = textwrap.dedent(inspect.getsource(f)), set(inspect.signature(f).parameters)
    except (TypeError, OSError, ValueError): return {}
    names, res, depth, closed, prev = {}, {}, 0, False, None
    try:
        for tok in tokenize.generate_tokens(io.StringIO(src).readline):
            if tok.type == tokenize.OP and tok.string in '([{': depth += 1
            elif tok.type == tokenize.OP and tok.string in ')]}':
                depth -= 1; closed = closed or depth == 0
            elif tok.type == tokenize.NAME and depth == 1 and tok.string in params and prev in ('(', ',', '*', '**'):
                names.setdefault(tok.start[0], []).append(tok.string)
            elif tok.type == tokenize.COMMENT:
                text = tok.string.lstrip('#').strip()
                for n in names.get(tok.start[0], []) or (['return'] if closed else []): res.setdefault(n, text)
            elif tok.type == tokenize.NEWLINE and closed: break
            if tok.type not in (tokenize.NL, tokenize.COMMENT): prev = tok.string
    except (tokenize.TokenError, IndentationError): return {}
    return res


def _add_docments(app, what, name, obj, options, lines):
    "Append `x:int, # the thing` comments (nbdev docments) as `:param x: the thing` fields, one per parameter"
    if what in ('data', 'attribute'):  # a constant without a doc comment gets its type's docstring (dict, str...)
        import inspect
        if '\n'.join(lines).strip() == (inspect.cleandoc(type(obj).__doc__ or '')).strip(): lines.clear()
        return
    if what not in ('function', 'method', 'class'): return
    lines[:] = [_md_code(l) for l in lines]
    d = param_comments(obj)
    have = ' '.join(lines)
    extra = [f':param {k}: {_md_code(v)}' for k, v in d.items()
             if v and k not in ('return', 'self') and f':param {k}:' not in have]
    if d.get('return') and ':returns:' not in have: extra.append(f':returns: {_md_code(d["return"])}')
    if extra: lines.extend([''] + extra)


def _output_folder_in_build(app):
    "myst-nb writes images next to the output folder (repo root for `_docs`); move that inside the build"
    if getattr(app.env, 'mystnb_config', None) is None: return
    app.env.mystnb_config = app.env.mystnb_config.copy(
        output_folder=str(Path(app.doctreedir).resolve()/'jupyter_execute'))


def _vega_where_needed(app, pagename, templatename, context, doctree):
    "Load the Vega bundle (an ES module: its names stay out of the page's global scope) only on pages with a chart"
    if VEGA_PAGES_MARK in (context.get('body') or ''):
        app.add_js_file('vendor/vega-embed.js', type='module')


def setup(app):
    app.connect('autodoc-process-docstring', _add_docments)
    app.connect('html-page-context', _vega_where_needed)
    app.connect('builder-inited', _output_folder_in_build, priority=900)
    return {'parallel_read_safe': True}
