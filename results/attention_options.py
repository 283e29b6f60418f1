"""Lesson 08's options table: every entry of `ATTENTION_OPTIONS` (stem × input size × CBAM) trained as the baseline
recipe is, on PneumoniaMNIST, one seed at a time; `runs.csv` and `summary.csv` are rewritten after each seed so an
interrupted grid keeps what it finished.

    python results/attention_options.py OUT_DIR [--seeds 0 1 2] [--store runs/store] [--device auto] [--data-dir DIR]
"""
import argparse, time
from pathlib import Path
import pandas as pd
from imbalance_course.attention import option_recipes
from imbalance_course.recipes import compare, summarize, write_csv

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument('out'); p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
p.add_argument('--store', default='runs/store'); p.add_argument('--device', default='auto'); p.add_argument('--data-dir')
a = p.parse_args()
runs, t0 = [], time.time()
for s in a.seeds:
    r, _ = compare(option_recipes(), seeds=[s], store=a.store, out=None, progress=False, device=a.device, data_dir=a.data_dir, download=False)
    runs.append(r); all_runs = pd.concat(runs, ignore_index=True)
    write_csv(all_runs, Path(a.out)/'runs.csv'); write_csv(summarize(all_runs), Path(a.out)/'summary.csv')
    print(f"seed {s} done, {time.time() - t0:.0f} s", flush=True)
