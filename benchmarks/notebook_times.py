"""How long each lesson takes to run top to bottom, in its full mode, on this machine — and the course total.

Each notebook in `nbs/` is executed in a fresh kernel from `nbs/` (as a learner runs it), with the run store in
`runs/store` reused: a lesson whose runs are stored only evaluates them; one whose runs are missing trains them, and
its time says so. The notebooks on disk are not changed (outputs are discarded). `--only 10 11` times some lessons.

`--empty-store` times each lesson's *first* run, as on a fresh clone (column `first_run_minutes`), and then its second
run, with what the first stored (`minutes`): `runs/store` must be empty (or absent) when it starts, and what each lesson stored
is deleted after its timings, so every lesson starts from an empty store.
`--fast` times the fast mode (`IMBALANCE_COURSE_FAST=1`: fewer epochs, less data, a temporary store).

    python benchmarks/notebook_times.py [--only NN ...] [--empty-store] [--fast] [--timeout 3600] [--csv FILE]
"""
import argparse, os, shutil, sys, time
from pathlib import Path
import nbformat, pandas as pd
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NBS = Path(__file__).resolve().parents[1]/'nbs'
STORE = NBS.parent/'runs'/'store'


DIFFERS = 'These runs differ from the text'  # what `differs_from_text` prints


def time_notebook(path: Path, timeout: int) -> tuple:
    "Seconds to execute `path` in a fresh kernel with `nbs/` as working folder; 'ok' or the error's first line; the lesson's claims this machine's runs did not reproduce."
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name='python3', resources={'metadata': {'path': str(NBS)}})
    t0 = time.perf_counter()
    try: client.execute(); status = 'ok'
    except CellExecutionError as e: status = 'failed: ' + (str(e).strip().splitlines() or ['?'])[-1][:120]
    except TimeoutError: status = f'timed out after {timeout} s'
    said = [line.split(': ', 1)[-1] for c in nb.cells for o in c.get('outputs', []) for line in o.get('text', '').splitlines() if line.startswith(DIFFERS)]
    return time.perf_counter() - t0, status, ' | '.join(said)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--only', nargs='*', help='lesson number prefixes to time, e.g. 10 11 (default: every lesson)')
    p.add_argument('--timeout', type=int, default=3600, help='seconds allowed per cell'); p.add_argument('--csv')
    p.add_argument('--empty-store', action='store_true', help='every lesson starts from an empty runs/store (its runs are deleted after it)')
    p.add_argument('--fast', action='store_true', help='time the fast mode (IMBALANCE_COURSE_FAST=1)')
    a = p.parse_args()
    if a.empty_store and STORE.exists() and any(STORE.iterdir()):
        sys.exit(f"error: --empty-store deletes what each lesson stores, and {STORE} already holds runs: "
                 "move it aside (or time a fresh clone) and run again")
    os.environ.pop('IMBALANCE_COURSE_FAST', None); os.environ.pop('IN_TEST', None)  # the full mode, as a learner runs it
    if a.fast: os.environ['IMBALANCE_COURSE_FAST'] = '1'
    paths = [q for q in sorted(NBS.glob('[0-9]*.ipynb')) if not a.only or any(q.name.startswith(o) for o in a.only)]
    rows = []
    for q in paths:
        s, status, differs = time_notebook(q, a.timeout)
        row = {'lesson': q.stem, 'minutes': round(s / 60, 1), 'status': status, 'claims_not_reproduced': differs}
        if a.empty_store:  # the first run, then the second, with what the first stored: `minutes` is always "with the store"
            s2, status2, _ = time_notebook(q, a.timeout) if status == 'ok' else (float('nan'), 'not run', '')
            row = {'lesson': q.stem, 'minutes': round(s2 / 60, 1), 'status': status2, 'first_run_minutes': round(s / 60, 1), 'first_run_status': status,
                   'claims_not_reproduced': differs}
            shutil.rmtree(STORE, ignore_errors=True)
        rows.append(row)
        print(f"{q.stem:22s} {s / 60:6.1f} min  {status}" + (f"  [claims not reproduced: {differs}]" if differs else '') + (f"; again, with its runs stored: {row['minutes']:.1f} min  {row['status']}" if a.empty_store else ''), flush=True)
    df = pd.DataFrame(rows)
    print(df.to_string(index=False)); print(f"total: {df.minutes.sum():.1f} min for {len(df)} notebooks")
    if a.csv: df.to_csv(a.csv, index=False); print('wrote', a.csv)


if __name__ == '__main__': main()
