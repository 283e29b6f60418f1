"""Lesson 08's cost: one training epoch of each network option of `ATTENTION_OPTIONS`, in images/s and seconds.

The options differ in the stem (NYU's / torchvision's 7×7 stride-2 conv + max-pool, or one 3×3 stride-1 conv), the
input size (28 px, or 64 px upsampled inside the network) and CBAM attention. One epoch of `fit` (batch 128, no
validation) on PneumoniaMNIST's training split per option, best of `--reps`; the epoch time is the loop's own.

    python benchmarks/attention.py [--reps 1] [--data-dir DIR] [--csv FILE]
"""
import pandas as pd
from common import epoch_ips, setup, write_table
from imbalance_course.attention import ATTENTION_OPTIONS
from imbalance_course.models import create_model


def main():
    args, train = setup(__doc__)
    rows = []
    for name, spec in ATTENTION_OPTIONS.items():
        ips = max(epoch_ips(train, model=create_model(**spec)) for _ in range(args.reps))
        rows.append({'option': name, 'images/s': round(ips, 1), 'epoch (s)': round(len(train) / ips, 1)})
        print(f"{name:36s} {ips:8.1f} images/s  {len(train) / ips:6.1f} s per epoch", flush=True)
    write_table(pd.DataFrame(rows), args.csv)


if __name__ == '__main__': main()
