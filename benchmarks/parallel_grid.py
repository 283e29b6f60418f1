"""`compare --workers`: wall time of one grid trained one run at a time and with N runs at once, on one machine.

The grid: 12 runs of the synthetic set (2,000 training images, 28 px) — 3 recipes (baseline, focal, over) × 4 seeds, 2 epochs —
each time into an empty temporary run store. `workers=1` trains in this process with all CPU threads; `workers=N`
spawns N processes with cores/N threads each. On a GPU the workers share it. Prints seconds, runs per minute and the
speed-up over one worker; `--csv` writes them.

    python benchmarks/parallel_grid.py [--workers 1 2] [--epochs 2] [--device auto] [--csv FILE]
"""
import argparse, os, tempfile, time
import pandas as pd
import imbalance_course.losses, imbalance_course.resample  # noqa: F401 — the recipes
from imbalance_course.comparison import compare
from imbalance_course.recipes import get_recipe
from imbalance_course.train import environment


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--workers', type=int, nargs='+', default=[1, 2])
    p.add_argument('--epochs', type=int, default=2)
    p.add_argument('--device', default='auto')
    p.add_argument('--csv')
    args = p.parse_args()
    recipes = [get_recipe(n).replace(dataset='synthetic', epochs=args.epochs) for n in ('baseline', 'focal', 'over')]
    env = environment(args.device)
    print(f"{env.get('gpu') or env['cpu']}, {os.cpu_count()} cores, torch {env['torch']}", flush=True)
    rows = []
    for w in args.workers:
        with tempfile.TemporaryDirectory() as store:
            t0 = time.perf_counter()
            runs, _ = compare(recipes, seeds=[0, 1, 2, 3], store=store, out=None, workers=w, progress=False, device=args.device)
            secs = time.perf_counter() - t0
        rows.append({'workers': w, 'runs': len(runs), 'seconds': round(secs, 1), 'runs/min': round(60 * len(runs) / secs, 2)})
        print(f"workers {w}: {len(runs)} runs in {secs:.1f} s ({60 * len(runs) / secs:.2f} runs/min)", flush=True)
    df = pd.DataFrame(rows)
    df['speed-up'] = (df.seconds.iloc[0] / df.seconds).round(2)
    print(df.to_string(index=False))
    if args.csv: df.to_csv(args.csv, index=False)


if __name__ == '__main__': main()
