#!/usr/bin/env python3
"""PyTorch baselines on the GPU, run in the same command as gpurec's benches.

`scripts/device run` calls this on a lent GPU machine (PyTorch is installed
there) so that gpurec's figures can be quoted as ratios against PyTorch and
cuBLAS measured in the same run, on the same GPU:

- fp32 GEMM through cuBLAS (TF32 off) on the shapes of `benches/kernels.rs`'s
  `matmul` group (m x k x n);
- a BPR-MF epoch as RecBole trains it (nn.Embedding tables, dense Adam, a
  uniform negative per pair, log-sigmoid loss), eager PyTorch with the data on
  the GPU, on a data set of gpurec's embedded synthetic shape (1000 users,
  1500 items, 59703 interactions, dim 64, batch 2048) — the work of
  `gpurec bench --data synthetic --model bpr`;
- full-ranking top-20 with the training items masked, for 1000 x 1500 (the
  synthetic set) and 100k users x 50k items (issue 14's target shape), users
  in chunks of 8192.

Prints one line per figure, "torch <what>: <value>", and exits 0 when CUDA is
absent (it says so). Not part of the test suite.
"""
import sys
import time


def timed(fn, reps, sync):
    fn()
    sync()
    t = time.perf_counter()
    for _ in range(reps):
        fn()
    sync()
    return (time.perf_counter() - t) / reps


def main():
    try:
        import torch
    except ImportError:
        print("torch: not installed, no PyTorch baseline")
        return
    if not torch.cuda.is_available():
        print("torch: CUDA not available, no PyTorch baseline")
        return
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    dev = torch.device("cuda")
    sync = torch.cuda.synchronize
    print(f"torch {torch.__version__} on {torch.cuda.get_device_name(0)}")

    # GEMM, the matmul group's shapes (m x k x n).
    for m, k, n in [(256, 256, 256), (512, 512, 512), (1024, 1024, 1024), (2048, 2048, 2048),
                    (4096, 4096, 4096), (8192, 64, 64), (65536, 64, 64), (1024, 256, 1024),
                    (8192, 256, 1024)]:
        a = torch.randn(m, k, device=dev)
        b = torch.randn(k, n, device=dev)
        reps = max(3, min(200, int(2e11 / (2 * m * k * n))))
        s = timed(lambda: a @ b, reps, sync)
        print(f"torch matmul {m}x{k}x{n}: {s * 1e6:.1f} us, {2 * m * k * n / s / 1e12:.2f} TFLOP/s")

    # BPR-MF epoch, RecBole's loop in eager PyTorch.
    g = torch.Generator(device=dev).manual_seed(2024)
    n_users, n_items, nnz, dim, batch = 1000, 1500, 59703, 64, 2048
    users = torch.randint(0, n_users, (nnz,), device=dev, generator=g)
    items = torch.randint(0, n_items, (nnz,), device=dev, generator=g)
    ue = torch.nn.Embedding(n_users, dim).to(dev)
    ie = torch.nn.Embedding(n_items, dim).to(dev)
    torch.nn.init.xavier_normal_(ue.weight)
    torch.nn.init.xavier_normal_(ie.weight)
    opt = torch.optim.Adam(list(ue.parameters()) + list(ie.parameters()), lr=1e-3)

    def epoch():
        perm = torch.randperm(nnz, device=dev, generator=g)
        last = None
        for s in range(0, nnz, batch):
            idx = perm[s:s + batch]
            u, p = users[idx], items[idx]
            q = torch.randint(0, n_items, (len(idx),), device=dev, generator=g)
            eu = ue(u)
            loss = -torch.nn.functional.logsigmoid((eu * ie(p)).sum(-1) - (eu * ie(q)).sum(-1)).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            last = loss
        return last.item()

    epoch()
    sync()
    t = time.perf_counter()
    for _ in range(5):
        epoch()
    sync()
    print(f"torch bpr epoch (1000x1500, 59703 pairs, batch 2048): {(time.perf_counter() - t) / 5 * 1e3:.2f} ms")

    # Full-ranking top-20 with the training items masked.
    for nu, ni, per_user in [(1000, 1500, 60), (100_000, 50_000, 50)]:
        U = torch.randn(nu, dim, device=dev)
        V = torch.randn(ni, dim, device=dev)
        seen_u = torch.arange(nu, device=dev).repeat_interleave(per_user)
        seen_i = torch.randint(0, ni, (nu * per_user,), device=dev, generator=g)

        def rank():
            out = []
            for s in range(0, nu, 8192):
                e = min(nu, s + 8192)
                sc = U[s:e] @ V.T
                sel = (seen_u >= s) & (seen_u < e)
                sc[seen_u[sel] - s, seen_i[sel]] = float("-inf")
                out.append(torch.topk(sc, 20, dim=1).indices)
            return torch.cat(out)

        s = timed(rank, 5 if nu > 10_000 else 50, sync)
        print(f"torch full-ranking top-20 {nu}x{ni}: {s * 1e3:.3f} ms, {nu * ni / s / 1e9:.2f} G scores/s")


if __name__ == "__main__":
    sys.exit(main())
