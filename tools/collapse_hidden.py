"""Collapse the source of every `#| hide` cell in JupyterLab (cell metadata `jupyter.source_hidden`), so that a learner
reads the lesson, not its test and import cells; the site hides them anyway. Run after adding hidden cells:

    python tools/collapse_hidden.py [nbs/*.ipynb]

`nbdev_clean` keeps the key (settings.ini: allowed_cell_metadata_keys = jupyter); tests/test_package.py checks every notebook.
"""
import json, sys
from pathlib import Path


def hidden(cell) -> bool: return cell['cell_type'] == 'code' and ''.join(cell['source']).lstrip().startswith('#| hide')


def collapse(path:Path) -> int:
    "Mark the `#| hide` cells of notebook `path` collapsed (and no other); rewrite it only if that changes anything. The number changed."
    nb, n = json.loads(path.read_text(encoding='utf-8')), 0
    for c in nb['cells']:
        want = hidden(c)
        has = c.get('metadata', {}).get('jupyter', {}).get('source_hidden', False)
        if want == has: continue
        n += 1
        if want: c.setdefault('metadata', {}).setdefault('jupyter', {})['source_hidden'] = True
        else:
            c['metadata']['jupyter'].pop('source_hidden')
            if not c['metadata']['jupyter']: c['metadata'].pop('jupyter')
    if n: path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n', encoding='utf-8')
    return n


if __name__ == '__main__':
    paths = [Path(p) for p in sys.argv[1:]] or sorted(Path(__file__).parents[1].glob('nbs/*.ipynb'))
    for p in paths:
        if (n := collapse(p)): print(f'{p}: {n} cell(s) changed')
