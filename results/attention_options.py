"""Lesson 08's options table: entries of `ATTENTION_OPTIONS` (stem × input size × CBAM) trained as the baseline
recipe is, one seed at a time; `runs.csv` and `summary.csv` are rewritten after each seed so an interrupted grid
keeps what it finished.

    python results/attention_options.py OUT_DIR [--seeds 0 1 2] [--dataset pneumoniamnist] [--epochs 10]
        [--options NAME ...] [--store runs/store] [--device auto] [--data-dir DIR]

The lesson's tables: `results/attention_options` (all options, PneumoniaMNIST, seeds 0-4, on a lent H200 GPU) and
`results/attention_options_br` (three options, BreastMNIST, 30 epochs, seeds 0-4, CPU).
"""
import argparse, time
from pathlib import Path
import pandas as pd
from imbalance_course.attention import ATTENTION_OPTIONS, option_recipes
from imbalance_course.recipes import compare, summarize, write_csv

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument('out'); p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
p.add_argument('--dataset', default='pneumoniamnist'); p.add_argument('--epochs', type=int, default=10)
p.add_argument('--options', nargs='+', choices=list(ATTENTION_OPTIONS), default=list(ATTENTION_OPTIONS))
p.add_argument('--store', default='runs/store'); p.add_argument('--device', default='auto'); p.add_argument('--data-dir')
a = p.parse_args()
recipes = [r for r in option_recipes(a.dataset, epochs=a.epochs) if r.name in a.options]
runs, t0 = [], time.time()
for s in a.seeds:
    r, _ = compare(recipes, seeds=[s], store=a.store, out=None, progress=False, device=a.device, data_dir=a.data_dir, download=False)
    runs.append(r); all_runs = pd.concat(runs, ignore_index=True)
    write_csv(all_runs, Path(a.out)/'runs.csv'); write_csv(summarize(all_runs), Path(a.out)/'summary.csv')
    print(f"seed {s} done, {time.time() - t0:.0f} s", flush=True)
