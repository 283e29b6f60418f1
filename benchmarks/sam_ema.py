"""Lesson 09's cost: one training epoch of ResNet18 with each optimiser technique, in images/s, seconds and overhead.

SAM takes a second forward and backward pass per step (the gradient at the perturbed weights), so its epoch should
cost about twice the plain one; an EMA of the weights adds one averaging pass over the weights per step. One epoch of
`fit` (batch 128, no validation) on PneumoniaMNIST's training split per technique, best of `--reps`; the epoch time
is the loop's own.

    python benchmarks/sam_ema.py [--reps 2] [--data-dir DIR] [--csv FILE]
"""
import pandas as pd
from common import epoch_ips, setup, write_table
from imbalance_course.sam_ema import EMA, SAM

TECHNIQUES = {'plain AdamW (baseline)': lambda: [], 'EMA (decay 0.99)': lambda: [EMA(0.99)], 'SAM (rho 0.05)': lambda: [SAM(0.05)],
              'ASAM (rho 0.5)': lambda: [SAM(0.5, adaptive=True)], 'SAM + EMA': lambda: [SAM(0.05), EMA(0.99)]}


def main():
    args, train = setup(__doc__)
    rows = []
    for name, cbs in TECHNIQUES.items():
        ips = max(epoch_ips(train, cbs=cbs()) for _ in range(args.reps))
        rows.append({'technique': name, 'images/s': round(ips, 1), 'epoch (s)': round(len(train) / ips, 1)})
        print(f"{name:24s} {ips:8.1f} images/s  {len(train) / ips:6.1f} s per epoch", flush=True)
    df = pd.DataFrame(rows)
    df['overhead'] = (df['images/s'][0] / df['images/s'] - 1).round(3)  # extra time per image over the plain loop
    print(df.to_string(index=False))
    write_table(df, args.csv)


if __name__ == '__main__': main()
