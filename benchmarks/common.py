"Shared by the benchmark scripts: their command line, PneumoniaMNIST's training split, and one timed epoch of the loop."
import argparse
import torch
from imbalance_course.data import load_dataset, set_seed
from imbalance_course.models import create_model
from imbalance_course.train import fit


def setup(doc: str):
    "Parse `--reps`, `--data-dir` and `--csv` (a file for the script's table), load PneumoniaMNIST's training split and print the machine's line; return `(args, train)`."
    p = argparse.ArgumentParser(description=doc.splitlines()[0])
    p.add_argument('--reps', type=int, default=2); p.add_argument('--data-dir'); p.add_argument('--csv')
    a = p.parse_args()
    train = load_dataset('pneumoniamnist', data_dir=a.data_dir).train
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, PneumoniaMNIST train {len(train)} images, best of {a.reps}")
    return a, train


def epoch_ips(train, sampler=None, cbs=(), bs=128, loss_fn=None, model=None):
    "Images/s of one epoch of `fit` (`model`, default ResNet18; no validation) with `sampler`, callbacks `cbs` and `loss_fn`, from the epoch time the loop records (its `before_epoch` work included)."
    set_seed(0)
    n = len(sampler) if sampler is not None else len(train)
    tr = fit(model if model is not None else create_model(), getattr(sampler, 'train', train), None, epochs=1, bs=bs, sampler=sampler, cbs=list(cbs), loss_fn=loss_fn, progress=False)
    return (n // bs) * bs / tr.history[0]['seconds']


def write_table(df, csv):
    "Write a benchmark's table `df` to `csv` (no index) when the command line named a file."
    if csv: df.to_csv(csv, index=False); print('wrote', csv)
