#!/usr/bin/env python3
"""Seconds per Mult-VAE training epoch in plain PyTorch on this machine's CPU.

The baseline `gpurec bench --model multvae` is compared with, run on the same
cores: RecBole's MultiVAE model (recbole/model/general_recommender/multivae.py:
a batch's dense 0/1 rows scattered from the users' histories, F.normalize,
dropout, a tanh encoder to [mu; log var], z = mu + eps * std, a tanh decoder,
log-softmax likelihood plus the annealed KL, Adam) without RecBole's data
loader, trainer and logging around it, so the time is a lower bound of
RecBole's epoch. The widths are gpurec's defaults (600 hidden, z of 32,
dropout 0.6), so both run the same arithmetic.

Usage: scripts/reference/multvae_torch.py ML100K_DIR [--batch-size N] [--epochs E] [--threads T]
Prints one line per batch size: "torch multvae batch N: S s/epoch (steps per epoch)".
Needs torch (pip install torch); not part of the test suite.
"""
import argparse
import random
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def load_train(path, seed=2024):
    """Each user's interactions, 80 % of them drawn at random (the size of gpurec's training part)."""
    by_user = {}
    with open(f"{path}/u.data") as f:
        for line in f:
            u, i, _r, _t = line.split("\t")
            by_user.setdefault(int(u), []).append(int(i))
    users = sorted(by_user)
    items = sorted({i for v in by_user.values() for i in v})
    item_id = {i: k for k, i in enumerate(items)}
    rng = random.Random(seed)
    hist = []
    for u in users:
        v = [item_id[i] for i in by_user[u]]
        rng.shuffle(v)
        hist.append(sorted(v[: max(1, int(0.8 * len(v)))]))
    return hist, len(items)


def mlp(dims):
    layers = []
    for k, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
        layers.append(nn.Linear(a, b))
        if k + 2 < len(dims):
            layers.append(nn.Tanh())
    return nn.Sequential(*layers)


class MultVae(nn.Module):
    def __init__(self, n_items, hidden=600, latent=32, dropout=0.6):
        super().__init__()
        self.latent, self.dropout = latent, dropout
        self.encoder = mlp([n_items, hidden, 2 * latent])
        self.decoder = mlp([latent, hidden, n_items])

    def forward(self, x):
        h = F.dropout(F.normalize(x), self.dropout, training=self.training)
        h = self.encoder(h)
        mu, logvar = h[:, : self.latent], h[:, self.latent :]
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar) if self.training else mu
        return self.decoder(z), mu, logvar


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--batch-size", type=int, nargs="+", default=[943, 64])
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    hist, n_items = load_train(args.data)
    n_users = len(hist)
    # RecBole's history_item_id / history_item_value, padded per user.
    width = max(len(h) for h in hist)
    hist_id = torch.zeros(n_users, width, dtype=torch.long)
    hist_val = torch.zeros(n_users, width)
    for u, h in enumerate(hist):
        hist_id[u, : len(h)] = torch.tensor(h)
        hist_val[u, : len(h)] = 1.0
    for bs in args.batch_size:
        model = MultVae(n_items)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        model.train()
        step, times = 0, []
        for epoch in range(args.epochs + 1):
            t0 = time.perf_counter()
            perm = torch.randperm(n_users)
            for s in range(0, n_users, bs):
                users = perm[s : s + bs]
                # RecBole's get_rating_matrix: scatter the batch's histories into dense rows.
                x = torch.zeros(len(users), n_items)
                rows = torch.arange(len(users)).repeat_interleave(width)
                x.index_put_((rows, hist_id[users].flatten()), hist_val[users].flatten())
                step += 1
                beta = min(0.3, step / 2000)
                logits, mu, logvar = model(x)
                kl = -0.5 * torch.mean(torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1)) * beta
                ce = -(F.log_softmax(logits, 1) * x).sum(1).mean()
                loss = ce + kl
                opt.zero_grad()
                loss.backward()
                opt.step()
            float(loss)
            if epoch > 0:  # the first epoch warms up allocators and kernels
                times.append(time.perf_counter() - t0)
        steps = (n_users + bs - 1) // bs
        print(f"torch multvae batch {bs}: {min(times):.3f} s/epoch best, {sum(times)/len(times):.3f} mean of {len(times)} ({steps} steps/epoch, {args.threads} threads, torch {torch.__version__})")


if __name__ == "__main__":
    main()
