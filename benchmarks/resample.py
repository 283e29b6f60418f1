"""Lesson 04's costs: SMOTE on pixels vs on CNN features, and the loop's speed with each sampler vs none.

1. SMOTE on the PneumoniaMNIST training split: on flattened pixels (784 numbers per image), and in feature space
   (the ResNet18 body's 512 features: extracting them, then SMOTE), best of `--reps`.
2. The loop's images/s (`fit`, one epoch, no validation) with each registered sampler vs the plain loop, timed
   alternately, best of `--reps` each; also the time a sampler takes to draw one epoch of indices, as a share of
   the epoch. The target: no sampler slows an epoch by more than 5%.

    python benchmarks/resample.py [--reps 2] [--data-dir DIR]
"""
import time
from imblearn.over_sampling import SMOTE
from common import epoch_ips, setup
from imbalance_course.data import set_seed
from imbalance_course.models import create_model
from imbalance_course.recipes import RECIPES, build
from imbalance_course.resample import RESAMPLE_RECIPES, oversample, smote_pixels
from imbalance_course.train import features


def best(f, reps):
    "Best wall time of `reps` calls of `f`."
    ts = []
    for _ in range(reps): t0 = time.perf_counter(); f(); ts.append(time.perf_counter() - t0)
    return min(ts)


def smote_times(train, reps):
    set_seed(0); model = create_model()
    t_pix = best(lambda: smote_pixels(train, SMOTE(random_state=0)), reps)
    t_feat = best(lambda: features(model, train), reps)
    f = features(model, train).numpy()
    t_fsm = best(lambda: oversample(f, train.y.numpy(), SMOTE(random_state=0)), reps)
    print(f"SMOTE on pixels ({train.x[0].numel()} per image): {t_pix:.3f} s")
    print(f"SMOTE on features ({f.shape[1]} per image): {t_fsm:.3f} s, plus {t_feat:.2f} s to compute the features")


def main():
    a, train = setup(__doc__)
    smote_times(train, a.reps)
    names = [n for n in RESAMPLE_RECIPES if RECIPES[n].sampler and RECIPES[n].sampler.get('space') != 'features']
    samplers = {n: build('sampler', RECIPES[n].sampler, train=train, seed=0) for n in names}
    worst = 1.
    for n, s in samplers.items():
        plain, ips = [], []
        for _ in range(a.reps):  # alternate, so that a slow spell of the machine hits both
            plain.append(epoch_ips(train)); ips.append(epoch_ips(train, s))
        draw = best(lambda: list(s), a.reps)
        ratio = max(ips) / max(plain); worst = min(worst, ratio)
        print(f"{n:>16}: {len(s):5d} images/epoch, {max(ips):6.1f} images/s vs plain {max(plain):6.1f}, ratio {ratio:.3f}; "
              f"drawing an epoch's indices takes {draw * 1e3:.1f} ms = {draw / (len(s) / max(ips)):.2%} of the epoch")
    print(f"worst ratio: {worst:.3f}")


if __name__ == '__main__': main()
