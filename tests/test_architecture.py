"""The package's layout: every module imports only modules of earlier lessons (so there is no import cycle, static or at
run time), and no module holds much more than 400 lines of hand-written code."""
import ast, re
from pathlib import Path

PKG = Path(__file__).resolve().parents[1]/'imbalance_course'
NBS = PKG.parent/'nbs'
MAX_CODE_LINES = 430  # "about 400": non-blank, non-comment lines, the generated `__all__` left out


def modules() -> dict:
    "Module name -> its source, for every generated module of the package."
    return {p.stem: p.read_text() for p in sorted(PKG.glob('*.py')) if p.stem not in ('__init__', '_modidx')}


def notebook_of(src: str) -> str:
    "The notebook a generated module comes from (nbdev's header)."
    m = re.search(r'File to edit: \.\./nbs/(\S+?)\.ipynb', src)
    assert m, 'every module is generated from a notebook'
    return m.group(1)


def lesson_rank(nb: str) -> tuple:
    "Lessons in name order, then the pages that are no lesson (helpers, writing a technique): these may import any lesson."
    return (0, nb) if nb[0].isdigit() else (1, nb)


def imported(src: str, names: set) -> set:
    "Course modules `src` imports: `from .x import`, `import imbalance_course.x`, `import_module('imbalance_course.x')`, and the CLI's `_course('x')`."
    out = set()
    for node in ast.walk(ast.parse(src)):
        if isinstance(node, ast.ImportFrom):
            mod = ('.' * node.level) + (node.module or '')
            for prefix in ('.', 'imbalance_course.'):
                if mod.startswith(prefix): out.add(mod[len(prefix):].split('.')[0])
            if mod in ('.', 'imbalance_course'): out |= {a.name for a in node.names}
        elif isinstance(node, ast.Import):
            out |= {a.name.split('.')[1] for a in node.names if a.name.startswith('imbalance_course.')}
        elif isinstance(node, ast.Call):
            fn = getattr(node.func, 'attr', getattr(node.func, 'id', ''))
            arg = node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else None
            if fn == 'import_module' and str(arg).startswith('imbalance_course.'): out.add(arg.split('.')[1])
            if fn == '_course': out.add(arg or 'recipes')  # the CLI's lazy import; its default is `recipes`
    return out & names


def test_imports_follow_the_lessons():
    mods = modules()
    rank = {m: lesson_rank(notebook_of(s)) for m, s in mods.items()}
    bad = [f"{m} ({notebook_of(s)}) imports {t} ({notebook_of(mods[t])})"
           for m, s in mods.items() for t in sorted(imported(s, set(mods)) - {m}) if rank[t] >= rank[m]]
    assert not bad, 'a module imports a later lesson\'s module: ' + '; '.join(bad)


def code_lines(src: str) -> int:
    src = re.sub(r'__all__ = \[[^\]]*\]', '', src)
    return sum(1 for line in src.splitlines() if line.strip() and not line.lstrip().startswith('#'))


def test_modules_stay_small():
    big = {m: code_lines(s) for m, s in modules().items() if code_lines(s) > MAX_CODE_LINES}
    assert not big, f"modules over {MAX_CODE_LINES} lines of code: {big}; split the lesson's notebook (see issue 29)"


def test_the_checks_see_imports():
    "The import reader finds each form the package uses."
    src = "from .data import x\nimport imbalance_course.train\ndef f():\n    from imbalance_course.store import y\n    _course('comparison'); _course(); importlib.import_module('imbalance_course.cam')\n"
    assert imported(src, {'data', 'train', 'store', 'comparison', 'cam', 'metrics', 'recipes'}) == {'data', 'train', 'store', 'comparison', 'cam', 'recipes'}
