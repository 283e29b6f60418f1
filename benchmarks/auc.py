"""Lesson 07's cost: one training epoch with each AUC loss vs plain cross-entropy, in images/s.

AUC reshaping in its default mode scores the whole training split before every epoch to set θ (a forward pass
over N images, in eval mode); `update='batch'` sets θ from each batch instead, for free. The pairwise surrogate
builds a positives × negatives matrix per batch. One epoch of `fit` (ResNet18, batch 128, no validation) on
PneumoniaMNIST's training split per loss, the losses alternated, best of `--reps` each; the ratio is the loss's
images/s over cross-entropy's.

    python benchmarks/auc.py [--reps 2] [--data-dir DIR]
"""
from common import epoch_ips, setup
from imbalance_course.auc import AUCReshape, pairwise_auc_loss
from imbalance_course.train import ce_loss

LOSSES = {'cross-entropy': lambda: ce_loss, 'auc_reshape (θ per epoch)': lambda: AUCReshape(),
          'auc_reshape (θ per batch)': lambda: AUCReshape(update='batch'), 'pairwise_auc': lambda: pairwise_auc_loss}


def main():
    args, train = setup(__doc__)
    best = {k: 0. for k in LOSSES}
    for _ in range(args.reps):
        for k, make in LOSSES.items(): best[k] = max(best[k], epoch_ips(train, loss_fn=make()))
    base = best['cross-entropy']
    for k, ips in best.items(): print(f"{k:28s} {ips:7.1f} images/s  ({ips / base:.2f} x cross-entropy)")


if __name__ == '__main__': main()
