"""Lesson 11's cost: milliseconds per class activation map, for each torchcam method, on 28 px images.

Grad-CAM, Grad-CAM++ and LayerCAM need one forward and one backward pass per batch; Smooth Grad-CAM++ repeats that
for each noisy copy (4 by default); Score-CAM runs one forward pass per channel of the explained layer. Untrained
ResNet18 (maps from `layer2`, 128 channels) and lesson 08's ResNet-22 with its light stem (`layer4`), 256
PneumoniaMNIST training images, batches of 64, best of `--reps`.

    python benchmarks/cam.py [--reps 2] [--data-dir DIR] [--csv FILE]
"""
import time
import pandas as pd, torch
from common import setup, write_table
import imbalance_course.attention  # registers resnet22
from imbalance_course.attention import cam_layer
from imbalance_course.cam import METHODS, cam_maps
from imbalance_course.models import create_model


def main():
    args, train = setup(__doc__)
    x, rows = train.x[:256], []
    for arch in ('resnet18', 'resnet22'):
        torch.manual_seed(0); model = create_model(arch).eval()
        for method in METHODS:
            best = min(_timed(model, x, method) for _ in range(args.reps))
            rows.append({'network': arch, 'layer': cam_layer(model), 'method': method, 'ms per map': round(1000 * best / len(x), 2)})
            print(f"{arch:9s} {method:16s} {rows[-1]['ms per map']:8.2f} ms per map", flush=True)
    df = pd.DataFrame(rows)
    print(df.to_string(index=False))
    write_table(df, args.csv)


def _timed(model, x, method):
    t0 = time.perf_counter(); cam_maps(model, x, method, target=1); return time.perf_counter() - t0


if __name__ == '__main__': main()
