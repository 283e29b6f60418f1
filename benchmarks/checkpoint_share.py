"""Share of training time spent writing checkpoints, on BreastMNIST (546 training images: 4 steps per epoch, the
worst case for per-epoch checkpoints), with a checkpoint after every epoch and with the default interval.

Both runs train the same ResNet18 for the same epochs with validation and an `out` folder, as the CLI does. The
share is checkpoint seconds / (epoch seconds + checkpoint seconds). The LAST line printed is
`share at default interval: X%` (the target is under 10%).

    python benchmarks/checkpoint_share.py [--epochs 30] [--data-dir DIR]
"""
import argparse, tempfile
import torch
from imbalance_course.data import load_dataset, set_seed
from imbalance_course.models import create_model
from imbalance_course.train import Trainer


def share(data, epochs, ckpt_every):
    "Train with checkpoints every `ckpt_every` seconds; return (training seconds, checkpoint seconds, checkpoints written)."
    class Count:
        n = 0
    with tempfile.TemporaryDirectory() as d:
        set_seed(0); t = Trainer(create_model(), data.train, data.val, epochs=epochs, out=d, ckpt_every=ckpt_every, progress=False)
        save = t.save
        def counted(): Count.n += 1; save()
        t.save = counted
        t.fit()
    train_s = sum(r['seconds'] for r in t.history)
    return train_s, t.ckpt_seconds, Count.n


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--epochs', type=int, default=30); p.add_argument('--data-dir')
    a = p.parse_args()
    data = load_dataset('breastmnist', data_dir=a.data_dir)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, BreastMNIST {len(data.train)} training images, {a.epochs} epochs")
    for label, every in (('every epoch', 0), ('default interval (30 s)', 30)):
        tr, ck, n = share(data, a.epochs, every)
        print(f"{label}: {n} checkpoints, {ck:.1f} s writing vs {tr:.1f} s training+validation: "
              f"{100 * ck / (tr + ck):.1f}% of the time, {ck / max(n, 1):.2f} s per checkpoint")
    print(f"share at default interval: {100 * ck / (tr + ck):.1f}%")


if __name__ == '__main__': main()
