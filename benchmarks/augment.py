"""Lesson 05's cost: the loop's images/s with each augmentation policy vs none, and the batched transform alone.

1. `augment_batch` on one batch of 128 PneumoniaMNIST images vs the same X-ray policy applied image by image with
   torchvision's `functional.affine` (ms per batch, best of `--reps` × 20 calls).
2. One epoch of `fit` (ResNet18, batch 128, no validation) with the `Augment` callback of each policy, alternated
   with the plain loop, best of `--reps` each; the ratio is the policy's images/s over the plain loop's. The
   target: the xray policy costs at most 15% of an epoch on 2 cores.

    python benchmarks/augment.py [--reps 2] [--data-dir DIR]
"""
import time
import torch
import torchvision.transforms.v2.functional as TF
from common import epoch_ips, setup
from imbalance_course.augment import POLICIES, Augment, augment_batch
from imbalance_course.train import to_input


def ms_per_call(f, reps, n=20):
    "Best over `reps` of the mean time of `n` calls of `f`, in ms."
    f(); best = float('inf')
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(n): f()
        best = min(best, (time.perf_counter() - t0) / n * 1000)
    return best


def per_image(x, p):
    "The X-ray policy's geometry, one torchvision call per image (what a Dataset transform does)."
    out = []
    for im in x:
        a = (torch.rand(1).item() * 2 - 1) * p.degrees
        s = p.scale[0] + torch.rand(1).item() * (p.scale[1] - p.scale[0])
        t = [(torch.rand(1).item() * 2 - 1) * p.translate * x.shape[-1] for _ in range(2)]
        out.append(TF.affine(im, angle=a, translate=t, scale=s, shear=[0., 0.], interpolation=TF.InterpolationMode.BILINEAR))
    return torch.stack(out)


def main():
    a, train = setup(__doc__)
    xb = to_input(train.x[:128])
    b = ms_per_call(lambda: augment_batch(xb, POLICIES['xray']), a.reps)
    i = ms_per_call(lambda: per_image(xb, POLICIES['xray']), a.reps, n=5)
    print(f"xray policy on 128 images: batched {b:.2f} ms, image by image {i:.1f} ms ({i / b:.0f}x)")
    results = {}
    for name in ('xray', 'ultrasound', 'dermoscopy'):
        plain, aug = [], []
        for _ in range(a.reps):  # alternate, so that a slow spell of the machine hits both
            plain.append(epoch_ips(train))
            aug.append(epoch_ips(train, cbs=[Augment(POLICIES[name])]))
        results[name] = max(aug) / max(plain)
        print(f"{name:>10}: {max(aug):6.0f} img/s vs {max(plain):6.0f} plain -> ratio {results[name]:.3f} "
              f"(cost {100 * (1 - results[name]):+.1f}% of an epoch)")
    ok = results['xray'] >= 0.85
    print(f"target (xray costs <= 15% of an epoch): {'met' if ok else 'NOT met'}")


if __name__ == '__main__': main()
