#!/usr/bin/env python3
"""Seconds per training epoch of RecBole models on this machine's CPU.

The reference `gpurec bench` is compared with on the same cores, at RecBole's
own defaults (its model YAMLs; batch 2,048 of users for the autoencoders,
which on ML-100K is one optimiser step per epoch), on ML-100K split per user
8:1:1 at random, as shared/PROTOCOLS.md describes. Validation is switched off
so only training is timed.

Usage: scripts/reference/recbole_epoch.py ML100K_DIR MODEL [MODEL...] [--epochs E] [--threads T]
       [--sequential] [--set KEY=VALUE ...]
--sequential splits each user's interactions in time order, leave-one-out,
with the cross-entropy loss and no sampled negatives (RecBole's sequential
setting, as gpurec's next-item models train); --set overrides one config
value, e.g. MAX_ITEM_LIST_LENGTH=10 for Caser's window of 10.
--fit trains as `run_recbole` does instead (validation every epoch, early
stopping on NDCG@10 with RecBole's patience of 10, the best epoch's test
metrics) and prints the seconds from the ratings file to the test metrics.
Needs recbole and torch (pip install torch recbole "setuptools<70"); not part
of the test suite. RecBole 1.2.1 predates NumPy 2, so the NumPy aliases it
uses are restored first, and so is the SciPy method its graph models use.
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

import scipy.sparse as sp  # noqa: E402

if not hasattr(sp.dok_matrix, "_update"):
    # RecBole's graph models (NGCF, LightGCN) fill their adjacency with the
    # private dok_matrix._update that SciPy 1.15 removed; the entries live in _dict.
    sp.dok_matrix._update = lambda self, entries: self._dict.update(entries)

import torch  # noqa: E402
_torch_load = torch.load


def _load_own_checkpoint(*args, **kwargs):
    # RecBole reloads the best epoch's checkpoint it wrote itself in this
    # run; torch >= 2.6 refuses its pickled config unless told it is trusted.
    kwargs.setdefault("weights_only", False)
    return _torch_load(*args, **kwargs)


torch.load = _load_own_checkpoint

from recbole.config import Config  # noqa: E402
from recbole.data import create_dataset, data_preparation  # noqa: E402
from recbole.utils import get_model, get_trainer, init_seed  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("models", nargs="+")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--sequential", action="store_true")
    ap.add_argument("--fit", action="store_true")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
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
        if args.sequential:
            cfg["eval_args"] = {"split": {"LS": "valid_and_test"}, "group_by": "user", "order": "TO", "mode": "full"}
            cfg["loss_type"] = "CE"
            cfg["train_neg_sample_args"] = None
        for item in args.set:
            key, value = item.split("=", 1)
            cfg[key] = int(value) if value.lstrip("-").isdigit() else value
        if args.fit:
            cfg.update({"epochs": 300, "valid_metric": "NDCG@10", "metrics": ["NDCG", "Recall", "Hit", "MRR"], "topk": [10]})
        t_start = time.perf_counter()
        config = Config(model=name, dataset="ml-100k", config_dict=cfg)
        init_seed(config["seed"], config["reproducibility"])
        dataset = create_dataset(config)
        train, _valid, _test = data_preparation(config, dataset)
        model = get_model(config["model"])(config, train.dataset).to(config["device"])
        trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, model)
        if args.fit:
            epochs_run, train_epoch = [0], trainer._train_epoch

            def counted(*a, **k):
                epochs_run[0] += 1
                return train_epoch(*a, **k)

            trainer._train_epoch = counted
            trainer.fit(train, _valid, saved=True, show_progress=False)
            test = trainer.evaluate(_test, load_best_model=True, show_progress=False)
            seconds = time.perf_counter() - t_start
            print(f"recbole {name} fit: {epochs_run[0]} epochs (best {epochs_run[0] - trainer.cur_step}), valid NDCG@10 {trainer.best_valid_score:.4f}, "
                  f"test NDCG@10 {test['ndcg@10']:.4f} Recall@10 {test['recall@10']:.4f} Hit@10 {test['hit@10']:.4f}; "
                  f"{seconds:.1f} s from the ratings file to the test metrics ({args.threads} threads)", flush=True)
            continue
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
