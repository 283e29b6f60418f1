"""Throughput of the course's `fit` against a bare hand-written PyTorch loop.

Both train the same ResNet18 (same initial weights) on the same in-memory PneumoniaMNIST tensors for the same
number of steps, with the same AdamW + one-cycle schedule and batch order rule. `fit` runs as users run it
(callbacks dispatch, NaN guard, history, progress bar), without a validation split, since the bare loop has none.
The two are timed alternately, `--reps` times each, and the best time of each is kept (least disturbed by
whatever else the machine does). The LAST line printed is `ratio: X` = fit images/s over bare images/s.

    python benchmarks/loop_throughput.py [--epochs 2] [--reps 3] [--data-dir DIR]
"""
import argparse, time
import torch, torch.nn as nn
from imbalance_course.data import load_dataset, set_seed
from imbalance_course.models import create_model
from imbalance_course.train import fit, to_input


def bare_loop(train, epochs, bs, lr, wd, seed):
    "The loop a practitioner would write by hand: same optimiser, schedule and batches as `fit`."
    set_seed(seed); model = create_model()
    steps = len(train) // bs
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=wd)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps)
    loss_fn = nn.CrossEntropyLoss()
    t0 = time.perf_counter()
    model.train()
    for _ in range(epochs):
        for idx in torch.randperm(len(train))[:steps * bs].view(steps, bs):
            loss = loss_fn(model(to_input(train.x[idx])), train.y[idx])
            loss.backward(); opt.step(); sched.step(); opt.zero_grad(set_to_none=True)
    return epochs * steps * bs / (time.perf_counter() - t0)


def course_fit(train, epochs, bs, lr, wd, seed):
    "The course's `fit` on the same data and schedule."
    set_seed(seed); model = create_model()
    t0 = time.perf_counter()
    fit(model, train, None, epochs=epochs, bs=bs, lr=lr, wd=wd, seed=seed, progress=True)
    return epochs * (len(train) // bs) * bs / (time.perf_counter() - t0)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--epochs', type=int, default=2); p.add_argument('--reps', type=int, default=3)
    p.add_argument('--bs', type=int, default=128); p.add_argument('--data-dir')
    a = p.parse_args()
    train = load_dataset('pneumoniamnist', data_dir=a.data_dir).train
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {len(train)} images, bs {a.bs}, "
          f"{a.epochs} epochs x {len(train) // a.bs} steps per run, {a.reps} reps each")
    kw = dict(train=train, epochs=a.epochs, bs=a.bs, lr=2e-3, wd=0.01, seed=0)
    bare, ours = [], []
    for r in range(a.reps):
        bare.append(bare_loop(**kw)); ours.append(course_fit(**kw))
        print(f"rep {r + 1}: bare {bare[-1]:.1f} img/s, fit {ours[-1]:.1f} img/s")
    print(f"bare loop: {max(bare):.1f} images/s (best of {a.reps})")
    print(f"fit:       {max(ours):.1f} images/s (best of {a.reps})")
    print(f"ratio: {max(ours) / max(bare):.3f}")


if __name__ == '__main__': main()
