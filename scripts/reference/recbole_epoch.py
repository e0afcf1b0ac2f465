#!/usr/bin/env python3
"""Seconds per training epoch of RecBole models on this machine's CPU.

The reference `gpurec bench` is compared with on the same cores, at RecBole's
own defaults (its model YAMLs; batch 2,048 of users for the autoencoders,
which on ML-100K is one optimiser step per epoch), on ML-100K split per user
8:1:1 at random, as shared/PROTOCOLS.md describes. Validation is switched off
so only training is timed.

Usage: scripts/reference/recbole_epoch.py ML100K_DIR MODEL [MODEL...] [--epochs E] [--threads T]
Needs recbole and torch (pip install torch recbole "setuptools<70"); not part
of the test suite. RecBole 1.2.1 predates NumPy 2, so the NumPy aliases it
uses are restored first.
"""
import argparse
import os
import re
import tempfile
import time

import numpy as np

for alias, target in [("bool8", np.bool_), ("float_", np.float64), ("complex_", np.complex128), ("unicode_", np.str_)]:
    if not hasattr(np, alias):
        setattr(np, alias, target)

import torch  # noqa: E402
from recbole.config import Config  # noqa: E402
from recbole.data import create_dataset, data_preparation  # noqa: E402
from recbole.utils import get_model, get_trainer, init_seed  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("models", nargs="+")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    args.data = os.path.abspath(args.data)
    root = tempfile.mkdtemp(prefix="recbole-")
    os.chdir(root)  # RecBole writes its logs and TensorBoard events under the working directory
    os.makedirs(f"{root}/ml-100k")
    with open(f"{args.data}/u.data") as src, open(f"{root}/ml-100k/ml-100k.inter", "w") as dst:
        dst.write("user_id:token\titem_id:token\trating:float\ttimestamp:float\n")
        dst.write(src.read())
    for name in args.models:
        cfg = {
            "data_path": root, "epochs": args.epochs, "gpu_id": "", "use_gpu": False, "worker": 0,
            "load_col": {"inter": ["user_id", "item_id", "rating", "timestamp"]},
            "eval_args": {"split": {"RS": [0.8, 0.1, 0.1]}, "group_by": "user", "order": "RO", "mode": "full"},
            "show_progress": False, "checkpoint_dir": f"{root}/saved", "seed": 2024,
        }
        config = Config(model=name, dataset="ml-100k", config_dict=cfg)
        init_seed(config["seed"], config["reproducibility"])
        dataset = create_dataset(config)
        train, _valid, _test = data_preparation(config, dataset)
        model = get_model(config["model"])(config, train.dataset).to(config["device"])
        trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, model)
        times = []
        for epoch in range(args.epochs + 1):
            t0 = time.perf_counter()
            trainer._train_epoch(train, epoch, show_progress=False)
            if epoch > 0:  # the first epoch warms up allocators and kernels
                times.append(time.perf_counter() - t0)
        steps = len(train)
        print(f"recbole {name}: {sum(times)/len(times):.3f} s/epoch mean of {len(times)} (best {min(times):.3f}; {steps} steps/epoch, {args.threads} threads, torch {torch.__version__})", flush=True)


if __name__ == "__main__":
    main()
