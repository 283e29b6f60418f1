"The package as users install it: metadata from settings.ini, the console script, the README's commands."
import configparser, re, subprocess, sys
from importlib.metadata import entry_points, version
from pathlib import Path
import imbalance_course
from conftest import REPO

CFG = configparser.ConfigParser(delimiters=['=']); CFG.read(REPO/'settings.ini'); CFG = CFG['DEFAULT']


def test_version_matches_settings():
    assert imbalance_course.__version__ == CFG['version'] == version('imbalance_course')


def test_pins_from_settings():
    reqs = CFG['requirements'].split()
    assert 'execnb==0.1.18' in reqs and 'fastcore<2' in reqs and any(r.startswith('nbdev>=2.4,<2.5') for r in reqs)
    assert 'torch' in reqs and 'torchvision' in reqs
    assert {'jupyterlab', 'sphinx', 'myst-nb'} <= set(CFG['dev_requirements'].split())


def test_setup_py_has_no_pkg_resources():
    import ast
    tree = ast.parse((REPO/'setup.py').read_text())
    mods = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    mods |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert 'setuptools' in mods and not any(m.split('.')[0] == 'pkg_resources' for m in mods)


def test_console_script():
    eps = {e.name: e.value for e in entry_points(group='console_scripts')}
    assert eps.get('imbalance-course') == 'imbalance_course.cli:main'


def test_modules_import():
    for m in ('data', 'metrics', 'models', 'train', 'recipes', 'cli'):
        __import__(f'imbalance_course.{m}')


def test_readme_has_exactly_two_setup_commands():
    text = (REPO/'README.md').read_text()
    block = re.search(r'## Set up.*?```(?:bash)?\n(.*?)```', text, re.S)
    assert block, 'README needs a "## Set up" section with one bash block'
    cmds = [l for l in block.group(1).splitlines() if l.strip() and not l.lstrip().startswith('#')]
    if cmds and cmds[0].startswith('python3 -m venv'): cmds = cmds[1:]  # the virtual environment first, then the two commands
    assert len(cmds) == 2 and 'imbalance-course train' in cmds[0] and 'pip install' in cmds[0]
    assert (REPO/'.ci'/'run').exists() and cmds[1].strip() in (REPO/'.ci'/'run').read_text() + 'bash .ci/run'


def test_index_notebook_install_command_matches_readme():
    text, home = (REPO/'README.md').read_text(), (REPO/'nbs'/'index.ipynb').read_text()
    assert 'imbalance-course train --dataset pneumoniamnist --epochs 10' in text
    assert 'imbalance-course train --dataset pneumoniamnist --epochs 10' in home


def test_hidden_cells_are_collapsed_in_jupyterlab():
    "Every `#| hide` cell (tests, imports) opens collapsed in JupyterLab, as it is hidden on the site: `python tools/collapse_hidden.py` sets it."
    import json
    assert 'jupyter' in CFG['allowed_cell_metadata_keys'].split()  # nbdev_clean keeps the key
    for p in sorted((REPO/'nbs').glob('*.ipynb')):
        for c in json.loads(p.read_text(encoding='utf-8'))['cells']:
            if c['cell_type'] == 'code' and ''.join(c['source']).lstrip().startswith('#| hide'):
                assert c['metadata'].get('jupyter', {}).get('source_hidden'), f"{p.name}, cell {c.get('id')}: run python tools/collapse_hidden.py"
