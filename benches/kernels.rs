//! Kernel benchmarks: every op on the GPU backend (when an adapter exists)
//! and on the CPU reference backend, as criterion groups named after the op
//! with bench ids `<backend>/<shape>`, e.g. `matmul/gpu/256x256x256`.
//!
//! Each timed sample (criterion's `iter_custom`) records `iters` ops, flushing
//! every few so that dropped outputs do not pile up in the buffer pool, and
//! then waits for the device (`Gpu::sync`; the CPU backend is synchronous):
//! the time covers recording, submission and execution of ops queued back to
//! back, as in a training step. Throughput is reported next to the time:
//! elements/s is FLOP/s for `matmul`, `spmm_csr` and `spd_inverse` (n³), cells/s for the LSTM,
//! parameters/s for Adam, users/s for `rank_metrics` and dispatches/s for
//! `dispatch`; bytes/s counts the nominal memory traffic (each operand read
//! once, each output written once).
//!
//! Sizes: by default a reduced set that finishes in a few minutes even on a
//! software adapter; `GPUREC_BENCH_FULL=1` adds the big shapes (4096³ matmul,
//! the 65536×64×64 and 8192×256×1024 recommender shapes, 10M-parameter Adam,
//! the 10k×10k graph). On a software adapter (lavapipe, llvmpipe, WARP) the
//! reduced set is kept unless `GPUREC_BENCH_FULL=force`. See benches/README.md.
//!
//! Run: `cargo bench --bench kernels` or e.g. `cargo bench --bench kernels -- matmul/gpu`.

use std::cell::{Cell, OnceCell};
use std::collections::HashSet;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, SamplingMode, Throughput};
use gpurec::backend::{AucCounts, LayerNormStep, LstmStep, Pattern};
use gpurec::gpu::GpuStats;
use gpurec::sparse::CsrHost;
use gpurec::{Act, AdamConfig, Backend, BinaryOp, Cpu, Gpu};
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Ops recorded between submissions are capped so that the outputs they drop
/// (which the buffer pool parks until the next submission) stay below this.
const PARKED_BYTES: usize = 256 << 20;
/// Length of the dependent chain in the dispatch-overhead bench.
const CHAIN: usize = 1000;
/// Length of the tensor the chain works on.
const CHAIN_LEN: usize = 256;

/// A backend the benches can time.
trait Timed: Backend {
    /// The backend part of bench ids.
    const LABEL: &'static str;
    /// Blocks until all work recorded so far has finished.
    fn finish(&self);
    /// Device work counters, where the backend keeps them.
    fn counters(&self) -> Option<GpuStats>;
}

impl Timed for Gpu {
    const LABEL: &'static str = "gpu";
    fn finish(&self) {
        self.sync().expect("GPU work failed");
    }
    fn counters(&self) -> Option<GpuStats> {
        Some(self.stats())
    }
}

impl Timed for Cpu {
    const LABEL: &'static str = "cpu";
    fn finish(&self) {}
    fn counters(&self) -> Option<GpuStats> {
        None
    }
}

/// Which shapes run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tier {
    /// Software adapter: the reduced set with smaller matmuls.
    Software,
    /// The reduced set.
    Reduced,
    /// Everything, `GPUREC_BENCH_FULL=1`.
    Full,
}

/// What the benches run on.
struct Ctx {
    gpu: Option<Gpu>,
    tier: Tier,
}

impl Ctx {
    fn new() -> Self {
        let full_env = std::env::var("GPUREC_BENCH_FULL").unwrap_or_default();
        let gpu = match Gpu::new() {
            Ok(g) => {
                eprintln!("kernels: GPU backend on {}", g.describe());
                if g.is_software() {
                    eprintln!(
                        "kernels: NOTE: software adapter — timings on a software adapter say nothing about GPU speed"
                    );
                }
                Some(g)
            }
            Err(e) => {
                eprintln!("kernels: no GPU context ({e}); benchmarking the CPU backend only");
                None
            }
        };
        let software = gpu.as_ref().is_some_and(Gpu::is_software);
        let tier = match (full_env.as_str(), software) {
            ("force", _) | ("1", false) => Tier::Full,
            ("1", true) => {
                eprintln!(
                    "kernels: GPUREC_BENCH_FULL=1 ignored on a software adapter (set it to `force` to run the big shapes anyway)"
                );
                Tier::Software
            }
            (_, true) => Tier::Software,
            _ => Tier::Reduced,
        };
        eprintln!("kernels: shape set {tier:?} (see benches/README.md)");
        Ctx { gpu, tier }
    }

    fn full(&self) -> bool {
        self.tier == Tier::Full
    }
}

/// A group with equal iteration counts per sample, so that a slow op costs
/// only `sample_size` calls in all (linear sampling needs 55 at 10 samples).
fn group<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut g = c.benchmark_group(name);
    g.sampling_mode(SamplingMode::Flat);
    g
}

/// How many ops producing `out_bytes` each may be recorded before a flush.
fn flush_every(out_bytes: usize) -> u64 {
    (PARKED_BYTES / out_bytes.max(1)).clamp(1, 1024) as u64
}

/// Seeded uniform values in [-1, 1).
fn rand_vec(seed: u64, n: usize) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| rng.random_range(-1.0f32..1.0)).collect()
}

fn upload<B: Backend>(b: &B, seed: u64, shape: &[usize]) -> B::Tensor {
    b.tensor(&rand_vec(seed, shape.iter().product()), shape).expect("upload")
}

/// Builds a bench's inputs on a backend.
type Setup<'a, B, S> = Box<dyn FnOnce(&B) -> S + 'a>;
/// Runs one op of a bench on its inputs.
type Run<'a, B, S> = Box<dyn FnMut(&B, &mut S) + 'a>;

/// One timed op of a bench.
struct Op<'a, B: Timed, S> {
    /// Bench id below the group: `<backend>/<shape>`.
    shape: String,
    throughput: Throughput,
    /// Ops recorded between flushes (see [`flush_every`]).
    flush_every: u64,
    /// Builds the inputs, once and only when the filter selects the bench,
    /// outside the timed region.
    setup: Setup<'a, B, S>,
    /// One op; its outputs are dropped right away.
    run: Run<'a, B, S>,
}

/// Registers `op` as `<B::LABEL>/<shape>` in `group`: each sample records
/// `iters` ops (flushing every `flush_every`) and then waits for the device.
fn bench<B: Timed, S>(group: &mut BenchmarkGroup<'_, WallTime>, backend: &B, op: Op<'_, B, S>) {
    let Op { shape, throughput, flush_every, setup, mut run } = op;
    let mut setup = Some(setup);
    let mut state: Option<S> = None;
    group.throughput(throughput);
    group.bench_function(BenchmarkId::new(B::LABEL, shape), |bencher| {
        let s = state.get_or_insert_with(|| {
            let s = (setup.take().expect("setup runs once"))(backend);
            backend.finish(); // uploads land outside the timed region
            s
        });
        bencher.iter_custom(|iters| {
            let start = Instant::now();
            for i in 1..=iters {
                run(backend, s);
                if i % flush_every == 0 {
                    backend.flush().expect("flush");
                }
            }
            backend.finish();
            start.elapsed()
        });
    });
}

// ---- matmul ---------------------------------------------------------------

fn matmul_op<'a, B: Timed>(m: usize, k: usize, n: usize) -> Op<'a, B, (B::Tensor, B::Tensor)> {
    Op {
        shape: format!("{m}x{k}x{n}"),
        throughput: Throughput::Elements(2 * (m * k * n) as u64),
        flush_every: flush_every(m * n * 4),
        setup: Box::new(move |b: &B| (upload(b, 1, &[m, k]), upload(b, 2, &[k, n]))),
        run: Box::new(|b: &B, (x, y)| {
            black_box(b.matmul(x, y, false, false, None, Act::Identity));
        }),
    }
}

fn bench_matmul(c: &mut Criterion, ctx: &Ctx) {
    // (m, k, n, also on the CPU backend). Lavapipe manages well under
    // 1 GFLOP/s on two cores, so the software set stops at 512³ (1024³ took
    // 7 s a call there).
    let mut shapes: Vec<(usize, usize, usize, bool)> = vec![(256, 256, 256, true), (512, 512, 512, true)];
    if ctx.tier != Tier::Software {
        shapes.push((1024, 1024, 1024, true));
        shapes.push((2048, 2048, 2048, true));
    }
    match ctx.tier {
        Tier::Full => {
            // 137 GFLOP a call: seconds per call on the CPU backend, so GPU only.
            shapes.push((4096, 4096, 4096, false));
            // Recommender shapes: a tower layer over a large batch, and a
            // wide projection (e.g. to item logits).
            shapes.push((65536, 64, 64, true));
            shapes.push((8192, 256, 1024, true));
        }
        Tier::Reduced => {
            shapes.push((8192, 64, 64, true));
            shapes.push((1024, 256, 1024, true));
        }
        Tier::Software => {
            shapes.push((8192, 64, 64, true));
            shapes.push((256, 256, 1024, true));
        }
    }
    let mut g = group(c, "matmul");
    for (m, k, n, on_cpu) in shapes {
        if let Some(gpu) = &ctx.gpu {
            bench(&mut g, gpu, matmul_op(m, k, n));
        }
        if on_cpu {
            bench(&mut g, &Cpu, matmul_op(m, k, n));
        }
    }
    g.finish();
}

// ---- spd_inverse ----------------------------------------------------------

/// The inverse of A = MᵀM/n + ½I (κ ≲ 4), built on the backend in setup.
/// FLOPs are counted as n³: the CPU's Cholesky route (in f64) and the GPU's
/// symmetric blocked sweep (in f32, plus O(64n²) on the diagonal tiles)
/// both do that many.
fn spd_inverse_op<'a, B: Timed>(n: usize) -> Op<'a, B, B::Tensor> {
    Op {
        shape: format!("{n}"),
        throughput: Throughput::Elements((n * n * n) as u64),
        flush_every: flush_every(n * n * 4),
        setup: Box::new(move |b: &B| {
            let m = upload(b, 13, &[n, n]);
            let gram = b.scale(&b.matmul(&m, &m, true, false, None, Act::Identity), 1.0 / n as f32, 0.0);
            let half_eye: Vec<f32> = (0..n * n).map(|k| if k / n == k % n { 0.5 } else { 0.0 }).collect();
            b.binary(BinaryOp::Add, &gram, &b.tensor(&half_eye, &[n, n]).expect("upload"))
        }),
        run: Box::new(|b: &B, a| {
            black_box(b.spd_inverse(a));
        }),
    }
}

fn bench_spd_inverse(c: &mut Criterion, ctx: &Ctx) {
    // EASE's item–item inverse; ML-100K has 1682 items.
    let mut g = group(c, "spd_inverse");
    for n in [256, 1024] {
        if let Some(gpu) = &ctx.gpu {
            bench(&mut g, gpu, spd_inverse_op(n));
        }
        bench(&mut g, &Cpu, spd_inverse_op(n));
    }
    g.finish();
}

// ---- spmm_csr -------------------------------------------------------------

/// Index in `[0, n)` with probability roughly ∝ `(k + 1)^-s` (inverse CDF of
/// the continuous power law on `[1, n + 1)`), for `0 < s < 1`.
fn zipf(rng: &mut ChaCha8Rng, n: usize, s: f64) -> usize {
    let u: f64 = rng.random();
    let a = 1.0 - s;
    let x = (((n as f64 + 1.0).powf(a) - 1.0) * u + 1.0).powf(1.0 / a);
    (x as usize).saturating_sub(1).min(n - 1)
}

/// A seeded user–item graph with `nnz` distinct edges whose user and item
/// degrees follow power laws (items more skewed than users), ids shuffled so
/// the hubs are spread over the matrix, and LightGCN's symmetric
/// normalisation `1 / sqrt(deg(u) · deg(i))` as values.
fn power_law_graph(users: usize, items: usize, nnz: usize, seed: u64) -> CsrHost {
    assert!(nnz <= users * items / 2, "graph too dense for rejection sampling");
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut uperm: Vec<u32> = (0..users as u32).collect();
    let mut iperm: Vec<u32> = (0..items as u32).collect();
    uperm.shuffle(&mut rng);
    iperm.shuffle(&mut rng);
    let mut seen = HashSet::with_capacity(nnz);
    let mut edges = Vec::with_capacity(nnz);
    while edges.len() < nnz {
        let u = uperm[zipf(&mut rng, users, 0.6)];
        let i = iperm[zipf(&mut rng, items, 0.8)];
        if seen.insert((u, i)) {
            edges.push((u, i));
        }
    }
    let mut du = vec![0u32; users];
    let mut di = vec![0u32; items];
    for &(u, i) in &edges {
        du[u as usize] += 1;
        di[i as usize] += 1;
    }
    let triplets: Vec<(u32, u32, f32)> = edges
        .iter()
        .map(|&(u, i)| {
            let norm = (du[u as usize] as f64 * di[i as usize] as f64).sqrt();
            (u, i, (1.0 / norm) as f32)
        })
        .collect();
    let csr = CsrHost::from_triplets(users, items, &triplets);
    eprintln!(
        "spmm_csr: graph {users}x{items}, nnz {}, mean row degree {:.1}, max row degree {}, max column degree {}",
        csr.nnz(),
        csr.nnz() as f64 / users as f64,
        du.iter().max().unwrap_or(&0),
        di.iter().max().unwrap_or(&0),
    );
    csr
}

fn spmm_op<'a, B: Timed>(
    graph: &'a OnceCell<CsrHost>,
    (users, items, nnz, d): (usize, usize, usize, usize),
) -> Op<'a, B, (gpurec::backend::Csr<B>, B::Tensor)> {
    // FLOPs: one multiply-add per stored entry and column of X. Bytes: the
    // CSR arrays, one row of X gathered per entry, the output written once.
    let flops = 2 * nnz * d;
    let bytes = 4 * (users + 1) + 8 * nnz + 4 * nnz * d + 4 * users * d;
    Op {
        shape: format!("{users}x{items}_nnz{nnz}_d{d}"),
        throughput: Throughput::ElementsAndBytes { elements: flops as u64, bytes: bytes as u64 },
        flush_every: flush_every(users * d * 4),
        setup: Box::new(move |b: &B| {
            let host = graph.get_or_init(|| power_law_graph(users, items, nnz, 7));
            (b.csr(host).expect("upload csr"), upload(b, 3, &[items, d]))
        }),
        run: Box::new(|b: &B, (a, x)| {
            black_box(b.spmm_csr(a, x));
        }),
    }
}

fn bench_spmm(c: &mut Criterion, ctx: &Ctx) {
    // (users, items, nnz, d): a LightGCN propagation step over the graph.
    let shape = if ctx.full() { (10_000, 10_000, 500_000, 64) } else { (4_000, 4_000, 100_000, 64) };
    let graph = OnceCell::new();
    let mut g = group(c, "spmm_csr");
    if let Some(gpu) = &ctx.gpu {
        bench(&mut g, gpu, spmm_op(&graph, shape));
    }
    bench(&mut g, &Cpu, spmm_op(&graph, shape));
    g.finish();
}

// ---- EASE / ItemKNN ops: spmm_csr_rows, gram, keep_top_k, transpose --------

/// ML-100K's shape: 943 users × 1682 items, ~85k interactions (the real set
/// has 100k ratings; 85k is what remains after the usual rating ≥ 4 filter
/// plus duplicates), from the seeded power-law generator.
const ML100K: (usize, usize, usize) = (943, 1682, 85_000);

fn ml100k_graph(cell: &OnceCell<CsrHost>) -> &CsrHost {
    cell.get_or_init(|| power_law_graph(ML100K.0, ML100K.1, ML100K.2, 11))
}

type RowsState<B> = (gpurec::backend::Csr<B>, <B as Backend>::Index, <B as Backend>::Tensor);

fn spmm_csr_rows_op<'a, B: Timed>(graph: &'a OnceCell<CsrHost>, users: usize) -> Op<'a, B, RowsState<B>> {
    // Scores X[users] · B for EASE: B is [items, items]. The first `users`
    // rows hold about users/943 of the entries: FLOPs and bytes use that
    // share of nnz (the exact count is printed at setup).
    let (_, items, nnz) = ML100K;
    let sel_nnz = nnz * users / ML100K.0;
    let flops = 2 * sel_nnz * items;
    let bytes = 4 * users + 8 * sel_nnz + 4 * sel_nnz * items + 4 * users * items;
    Op {
        shape: format!("ml100k-like_users{users}_d{items}"),
        throughput: Throughput::ElementsAndBytes { elements: flops as u64, bytes: bytes as u64 },
        flush_every: flush_every(users * items * 4),
        setup: Box::new(move |b: &B| {
            let host = ml100k_graph(graph);
            let rows: Vec<u32> = (0..users as u32).collect();
            let sel: usize = rows.iter().map(|&r| host.row(r as usize).len()).sum();
            eprintln!("spmm_csr_rows: {users} users hold {sel} entries");
            (b.csr(host).expect("upload csr"), b.index(&rows).expect("upload rows"), upload(b, 12, &[items, items]))
        }),
        run: Box::new(|b: &B, (a, rows, x)| {
            black_box(b.spmm_csr_rows(a, rows, x));
        }),
    }
}

type DenseRowsState<B> = (gpurec::backend::Csr<B>, <B as Backend>::Index);

fn csr_rows_dense_op<'a, B: Timed>(graph: &'a OnceCell<CsrHost>, users: usize) -> Op<'a, B, DenseRowsState<B>> {
    // A Mult-DAE/VAE batch: `users` rows of the users × items matrix as dense
    // rows. Bytes: the dense output plus the selected rows' entries (read
    // about log2(degree) times each by the binary searches, counted once).
    let (_, items, nnz) = ML100K;
    let sel_nnz = nnz * users / ML100K.0;
    let bytes = 4 * users + 8 * sel_nnz + 4 * users * items;
    Op {
        shape: format!("ml100k-like_users{users}_items{items}"),
        throughput: Throughput::Bytes(bytes as u64),
        flush_every: flush_every(users * items * 4),
        setup: Box::new(move |b: &B| {
            let host = ml100k_graph(graph);
            let rows: Vec<u32> = (0..users as u32).collect();
            (b.csr(host).expect("upload csr"), b.index(&rows).expect("upload rows"))
        }),
        run: Box::new(|b: &B, (a, rows)| {
            black_box(b.csr_rows_dense(a, rows));
        }),
    }
}

fn gram_op<'a, B: Timed>(
    graph: &'a OnceCell<CsrHost>,
) -> Op<'a, B, (gpurec::backend::Csr<B>, gpurec::backend::Csr<B>)> {
    // Nominal FLOPs of the GPU kernel, 2·nnz·items (the CPU reference does
    // only the Σ deg(u)² products of stored pairs, far fewer); bytes: D
    // written, gathered once per entry of Xᵀ, G written, the CSR arrays.
    let (users, items, nnz) = ML100K;
    let flops = 2 * nnz * items;
    let bytes = 4 * users * items + 4 * nnz * items + 4 * items * items + 16 * nnz;
    Op {
        shape: "ml100k-like".into(),
        throughput: Throughput::ElementsAndBytes { elements: flops as u64, bytes: bytes as u64 },
        flush_every: flush_every(items * items * 4),
        setup: Box::new(move |b: &B| {
            let host = ml100k_graph(graph);
            (b.csr(host).expect("upload x"), b.csr(&host.transpose()).expect("upload xt"))
        }),
        run: Box::new(|b: &B, (x, xt)| {
            black_box(b.gram(x, xt));
        }),
    }
}

fn keep_top_k_op<'a, B: Timed>(n: usize, m: usize, k: usize) -> Op<'a, B, B::Tensor> {
    // Bytes: the GPU kernel's five reads of each row and one write.
    Op {
        shape: format!("{n}x{m}/k{k}"),
        throughput: Throughput::ElementsAndBytes { elements: (n * m) as u64, bytes: (24 * n * m) as u64 },
        flush_every: flush_every(n * m * 4),
        setup: Box::new(move |b: &B| upload(b, 13, &[n, m])),
        run: Box::new(move |b: &B, x| {
            black_box(b.keep_top_k(x, k));
        }),
    }
}

fn transpose_op<'a, B: Timed>(n: usize, m: usize) -> Op<'a, B, B::Tensor> {
    Op {
        shape: format!("{n}x{m}"),
        throughput: Throughput::ElementsAndBytes { elements: (n * m) as u64, bytes: (8 * n * m) as u64 },
        flush_every: flush_every(n * m * 4),
        setup: Box::new(move |b: &B| upload(b, 14, &[n, m])),
        run: Box::new(|b: &B, x| {
            black_box(b.transpose(x));
        }),
    }
}

fn bench_item_ops(c: &mut Criterion, ctx: &Ctx) {
    let graph = OnceCell::new();
    let items = ML100K.1;
    let mut g = group(c, "spmm_csr_rows");
    if let Some(gpu) = &ctx.gpu {
        bench(&mut g, gpu, spmm_csr_rows_op(&graph, 256));
    }
    bench(&mut g, &Cpu, spmm_csr_rows_op(&graph, 256));
    g.finish();
    let mut g = group(c, "csr_rows_dense");
    if let Some(gpu) = &ctx.gpu {
        bench(&mut g, gpu, csr_rows_dense_op(&graph, 64));
    }
    bench(&mut g, &Cpu, csr_rows_dense_op(&graph, 64));
    g.finish();
    let mut g = group(c, "gram");
    if let Some(gpu) = &ctx.gpu {
        bench(&mut g, gpu, gram_op(&graph));
    }
    bench(&mut g, &Cpu, gram_op(&graph));
    g.finish();
    let mut g = group(c, "keep_top_k");
    if let Some(gpu) = &ctx.gpu {
        bench(&mut g, gpu, keep_top_k_op(items, items, 250));
    }
    bench(&mut g, &Cpu, keep_top_k_op(items, items, 250));
    g.finish();
    let mut g = group(c, "transpose");
    if let Some(gpu) = &ctx.gpu {
        bench(&mut g, gpu, transpose_op(items, items));
    }
    bench(&mut g, &Cpu, transpose_op(items, items));
    g.finish();
}

// ---- LSTM -----------------------------------------------------------------

/// Nominal traffic per (row, hidden unit) of the unmasked forward: gates (4)
/// and `c_prev` read, `h`, `c` and the activated gates (4) written.
const LSTM_FWD_FLOATS: usize = 11;
/// Of the unmasked backward: saved gates (4), `c_prev`, `dh`, `dc` read;
/// `dgates` (4), `dc_prev`, `dh_skip` written.
const LSTM_BWD_FLOATS: usize = 13;

type LstmFwdState<B> = (<B as Backend>::Tensor, <B as Backend>::Tensor, <B as Backend>::Tensor);

fn lstm_fwd_op<'a, B: Timed>(n: usize, h: usize) -> Op<'a, B, LstmFwdState<B>> {
    Op {
        shape: format!("n{n}_h{h}"),
        throughput: Throughput::ElementsAndBytes {
            elements: (n * h) as u64,
            bytes: (4 * LSTM_FWD_FLOATS * n * h) as u64,
        },
        flush_every: flush_every(4 * 6 * n * h),
        setup: Box::new(move |b: &B| (upload(b, 4, &[n, 4 * h]), upload(b, 5, &[n, h]), upload(b, 6, &[n, h]))),
        run: Box::new(|b: &B, (gates, h_prev, c_prev)| {
            black_box(b.lstm_cell(gates, h_prev, c_prev, None));
        }),
    }
}

/// The saved step, `c_prev`, `dh`, `dc`.
type LstmBwdState<B> = (LstmStep<B>, <B as Backend>::Tensor, <B as Backend>::Tensor, <B as Backend>::Tensor);

fn lstm_bwd_op<'a, B: Timed>(n: usize, h: usize) -> Op<'a, B, LstmBwdState<B>> {
    Op {
        shape: format!("n{n}_h{h}"),
        throughput: Throughput::ElementsAndBytes {
            elements: (n * h) as u64,
            bytes: (4 * LSTM_BWD_FLOATS * n * h) as u64,
        },
        flush_every: flush_every(4 * 6 * n * h),
        setup: Box::new(move |b: &B| {
            let gates = upload(b, 4, &[n, 4 * h]);
            let h_prev = upload(b, 5, &[n, h]);
            let c_prev = upload(b, 6, &[n, h]);
            let step = b.lstm_cell(&gates, &h_prev, &c_prev, None);
            (step, c_prev, upload(b, 7, &[n, h]), upload(b, 8, &[n, h]))
        }),
        run: Box::new(|b: &B, (step, c_prev, dh, dc)| {
            black_box(b.lstm_cell_backward(step, c_prev, dh, dc, None));
        }),
    }
}

fn bench_lstm(c: &mut Criterion, ctx: &Ctx) {
    let mut shapes = vec![(2048, 128)];
    if ctx.full() {
        shapes.push((16384, 256));
    }
    let mut g = group(c, "lstm_cell");
    for &(n, h) in &shapes {
        if let Some(gpu) = &ctx.gpu {
            bench(&mut g, gpu, lstm_fwd_op(n, h));
        }
        bench(&mut g, &Cpu, lstm_fwd_op(n, h));
    }
    g.finish();
    let mut g = group(c, "lstm_cell_backward");
    for &(n, h) in &shapes {
        if let Some(gpu) = &ctx.gpu {
            bench(&mut g, gpu, lstm_bwd_op(n, h));
        }
        bench(&mut g, &Cpu, lstm_bwd_op(n, h));
    }
    g.finish();
}

// ---- conv_rows_max (Caser's horizontal convolution) ------------------------

/// Multiply-adds of the forward over n images of L rows (width d) with c
/// filters of height h: only the L − h + 1 valid positions.
fn conv_rows_max_macs(n: usize, l: usize, d: usize, h: usize, c: usize) -> usize {
    n * (l - h + 1) * h * d * c
}

/// The image, the filters (row u·c + o) and the bias.
type ConvRowsState<B> = (<B as Backend>::Tensor, <B as Backend>::Tensor, <B as Backend>::Tensor);

fn conv_rows_max_op<'a, B: Timed>(n: usize, l: usize, d: usize, h: usize, c: usize) -> Op<'a, B, ConvRowsState<B>> {
    Op {
        shape: format!("n{n}_L{l}_d{d}_h{h}_c{c}"),
        throughput: Throughput::ElementsAndBytes {
            elements: 2 * conv_rows_max_macs(n, l, d, h, c) as u64,
            bytes: (4 * (n * l * d + h * c * d + 2 * n * c)) as u64,
        },
        flush_every: flush_every(8 * n * c),
        setup: Box::new(move |b: &B| (upload(b, 9, &[n * l, d]), upload(b, 10, &[h * c, d]), upload(b, 11, &[1, c]))),
        run: Box::new(move |b: &B, (x, w, bias)| {
            black_box(b.conv_rows_max(x, w, bias, l));
        }),
    }
}

/// The forward's inputs and outputs and an upstream gradient.
type ConvRowsBwdState<B> = (
    <B as Backend>::Tensor,
    <B as Backend>::Tensor,
    <B as Backend>::Tensor,
    <B as Backend>::Index,
    <B as Backend>::Tensor,
);

fn conv_rows_max_bwd_op<'a, B: Timed>(
    n: usize,
    l: usize,
    d: usize,
    h: usize,
    c: usize,
) -> Op<'a, B, ConvRowsBwdState<B>> {
    Op {
        shape: format!("n{n}_L{l}_d{d}_h{h}_c{c}"),
        // dX and dW: n·c·h·d multiply-adds each (one position per pooled maximum).
        throughput: Throughput::ElementsAndBytes {
            elements: 4 * (n * c * h * d) as u64,
            bytes: (4 * (2 * n * l * d + 2 * h * c * d + 3 * n * c)) as u64,
        },
        flush_every: flush_every(4 * n * l * d),
        setup: Box::new(move |b: &B| {
            let (x, w) = (upload(b, 9, &[n * l, d]), upload(b, 10, &[h * c, d]));
            let (y, arg) = b.conv_rows_max(&x, &w, &upload(b, 11, &[1, c]), l);
            (x, w, y, arg, upload(b, 12, &[n, c]))
        }),
        run: Box::new(move |b: &B, (x, w, y, arg, dy)| {
            black_box(b.conv_rows_max_backward(x, w, y, arg, dy, l, None));
        }),
    }
}

fn bench_conv_rows_max(c: &mut Criterion, ctx: &Ctx) {
    // Caser's default (512 windows of 10, d = 64, 16 filters) at height 5, the costliest.
    let shapes = [(512, 10, 64, 5, 16)];
    let mut g = group(c, "conv_rows_max");
    for &(n, l, d, h, k) in &shapes {
        if let Some(gpu) = &ctx.gpu {
            bench(&mut g, gpu, conv_rows_max_op(n, l, d, h, k));
        }
        bench(&mut g, &Cpu, conv_rows_max_op(n, l, d, h, k));
    }
    g.finish();
    let mut g = group(c, "conv_rows_max_backward");
    for &(n, l, d, h, k) in &shapes {
        if let Some(gpu) = &ctx.gpu {
            bench(&mut g, gpu, conv_rows_max_bwd_op(n, l, d, h, k));
        }
        bench(&mut g, &Cpu, conv_rows_max_bwd_op(n, l, d, h, k));
    }
    g.finish();
}

// ---- layer norm -----------------------------------------------------------

/// The forward input, scale and shift.
type LayerNormFwdState<B> = (<B as Backend>::Tensor, <B as Backend>::Tensor, <B as Backend>::Tensor);

/// Nominal traffic of the forward: `x` read twice (the two statistics) and
/// once more for the output, `y` written: 4 floats per element.
fn layer_norm_fwd_op<'a, B: Timed>(rows: usize, d: usize) -> Op<'a, B, LayerNormFwdState<B>> {
    Op {
        shape: format!("rows{rows}_d{d}"),
        throughput: Throughput::ElementsAndBytes { elements: (rows * d) as u64, bytes: (4 * 4 * rows * d) as u64 },
        flush_every: flush_every(4 * rows * d),
        setup: Box::new(move |b: &B| (upload(b, 11, &[rows, d]), upload(b, 12, &[d]), upload(b, 13, &[d]))),
        run: Box::new(|b: &B, (x, gamma, beta)| {
            black_box(b.layer_norm(x, gamma, beta, 1e-12));
        }),
    }
}

/// The saved step, `x`, `gamma`, `dy`.
type LayerNormBwdState<B> = (LayerNormStep<B>, <B as Backend>::Tensor, <B as Backend>::Tensor, <B as Backend>::Tensor);

/// Nominal traffic of the backward: `x` and `dy` read by both kernels, `dx` written.
fn layer_norm_bwd_op<'a, B: Timed>(rows: usize, d: usize) -> Op<'a, B, LayerNormBwdState<B>> {
    Op {
        shape: format!("rows{rows}_d{d}"),
        throughput: Throughput::ElementsAndBytes { elements: (rows * d) as u64, bytes: (4 * 5 * rows * d) as u64 },
        flush_every: flush_every(4 * rows * d),
        setup: Box::new(move |b: &B| {
            let (x, gamma) = (upload(b, 11, &[rows, d]), upload(b, 12, &[d]));
            let step = b.layer_norm(&x, &gamma, &upload(b, 13, &[d]), 1e-12);
            (step, x, gamma, upload(b, 14, &[rows, d]))
        }),
        run: Box::new(|b: &B, (step, x, gamma, dy)| {
            black_box(b.layer_norm_backward(step, x, gamma, dy));
        }),
    }
}

/// SASRec's shape: 256 sequences × 50 positions of width 64.
fn bench_layer_norm(c: &mut Criterion, ctx: &Ctx) {
    let mut shapes = vec![(256 * 50, 64)];
    if ctx.full() {
        shapes.push((4096, 1024));
    }
    let mut g = group(c, "layer_norm");
    for &(rows, d) in &shapes {
        if let Some(gpu) = &ctx.gpu {
            bench(&mut g, gpu, layer_norm_fwd_op(rows, d));
        }
        bench(&mut g, &Cpu, layer_norm_fwd_op(rows, d));
    }
    g.finish();
    let mut g = group(c, "layer_norm_backward");
    for &(rows, d) in &shapes {
        if let Some(gpu) = &ctx.gpu {
            bench(&mut g, gpu, layer_norm_bwd_op(rows, d));
        }
        bench(&mut g, &Cpu, layer_norm_bwd_op(rows, d));
    }
    g.finish();
}

/// The scores and the key mask.
type MaskedSoftmaxState<B> = (<B as Backend>::Tensor, <B as Backend>::Tensor);

/// Nominal traffic: scores read twice (max, then the sum and output), output written.
fn masked_softmax_op<'a, B: Timed>(seqs: usize, heads: usize, l: usize) -> Op<'a, B, MaskedSoftmaxState<B>> {
    let n = seqs * heads;
    Op {
        shape: format!("n{n}_l{l}"),
        throughput: Throughput::ElementsAndBytes { elements: (n * l * l) as u64, bytes: (4 * 3 * n * l * l) as u64 },
        flush_every: flush_every(4 * n * l * l),
        setup: Box::new(move |b: &B| (upload(b, 15, &[n, l, l]), b.full(&[seqs, l], 1.0))),
        run: Box::new(|b: &B, (x, mask)| {
            black_box(b.masked_softmax(x, Some(mask), true));
        }),
    }
}

/// SASRec's attention: 256 sequences × 2 heads × 50 positions.
fn bench_masked_softmax(c: &mut Criterion, ctx: &Ctx) {
    let mut g = group(c, "masked_softmax");
    if let Some(gpu) = &ctx.gpu {
        bench(&mut g, gpu, masked_softmax_op(256, 2, 50));
    }
    bench(&mut g, &Cpu, masked_softmax_op(256, 2, 50));
    g.finish();
}

// ---- Adam -----------------------------------------------------------------

/// Parameters, gradient, first and second moments, step counter.
type AdamState<B> =
    (<B as Backend>::Tensor, <B as Backend>::Tensor, <B as Backend>::Tensor, <B as Backend>::Tensor, u32);

fn adam_op<'a, B: Timed>(params: usize) -> Op<'a, B, AdamState<B>> {
    let cfg = AdamConfig::default();
    Op {
        shape: format!("{params}"),
        // p, g, m, v read; p, m, v written in place.
        throughput: Throughput::ElementsAndBytes { elements: params as u64, bytes: (7 * 4 * params) as u64 },
        // In place: nothing is parked, so only the recorder's own limit applies.
        flush_every: 1024,
        setup: Box::new(move |b: &B| {
            (upload(b, 9, &[params]), upload(b, 10, &[params]), b.zeros(&[params]), b.zeros(&[params]), 0)
        }),
        run: Box::new(move |b: &B, (p, grad, m, v, step)| {
            *step += 1;
            b.adam(p, grad, m, v, &cfg, *step);
        }),
    }
}

fn bench_adam(c: &mut Criterion, ctx: &Ctx) {
    let params = if ctx.full() { 10_000_000 } else { 1_000_000 };
    let mut g = group(c, "adam");
    if let Some(gpu) = &ctx.gpu {
        bench(&mut g, gpu, adam_op(params));
    }
    bench(&mut g, &Cpu, adam_op(params));
    g.finish();
}

// ---- rank_metrics ---------------------------------------------------------

/// Inputs of one evaluation batch: top-`k` lists, targets, AUC counts and the coverage table.
type RankInputs<B> =
    (<B as Backend>::Index, Pattern<B>, <B as Backend>::Index, <B as Backend>::Index, <B as Backend>::Tensor);

/// One batch of `n` users over `m` items, top-`k` lists and about 10 targets
/// each (half of them listed), metrics at K = 10 and `k` with AUC and coverage.
fn rank_metrics_op<'a, B: Timed>(n: usize, m: usize, k: usize) -> Op<'a, B, RankInputs<B>> {
    Op {
        shape: format!("{n}x{k}of{m}"),
        throughput: Throughput::Elements(n as u64),
        flush_every: flush_every(n * 13 * 4),
        setup: Box::new(move |b: &B| {
            let mut rng = ChaCha8Rng::seed_from_u64(12);
            let mut items: Vec<u32> = (0..m as u32).collect();
            let (mut top, mut trip) = (Vec::with_capacity(n * k), Vec::new());
            for u in 0..n as u32 {
                items.shuffle(&mut rng);
                top.extend_from_slice(&items[..k]);
                trip.extend(items[k / 2..k / 2 + 10].iter().map(|&c| (u, c, 1.0)));
            }
            let targets = CsrHost::from_triplets(n, m, &trip);
            let before: Vec<u32> = (0..targets.nnz()).map(|_| rng.random_range(0..m as u32 / 2)).collect();
            let negatives = vec![m as u32 - 10; n];
            (
                b.index(&top).expect("upload"),
                b.pattern(&targets).expect("upload"),
                b.index(&before).expect("upload"),
                b.index(&negatives).expect("upload"),
                b.zeros(&[2, m]),
            )
        }),
        run: Box::new(move |b: &B, (top, targets, before, negatives, covered)| {
            let auc = AucCounts { before, negatives };
            black_box(b.rank_metrics(top, k, targets, &[10, k], Some(auc), Some(covered)));
        }),
    }
}

fn bench_rank_metrics(c: &mut Criterion, ctx: &Ctx) {
    // An ML-100K evaluation batch: 943 users, 1682 items.
    let mut g = group(c, "rank_metrics");
    if let Some(gpu) = &ctx.gpu {
        bench(&mut g, gpu, rank_metrics_op(943, 1682, 20));
    }
    bench(&mut g, &Cpu, rank_metrics_op(943, 1682, 20));
    g.finish();
}

// ---- dispatch overhead ----------------------------------------------------

/// A chain of [`CHAIN`] dependent `scale` ops on a `[CHAIN_LEN]` tensor, then
/// one wait: the per-op cost when the work itself is negligible. On the GPU
/// the chain should be [`CHAIN`] dispatches in one submission; the counters
/// of the last sample are printed to show it.
fn dispatch_on<B: Timed>(group: &mut BenchmarkGroup<'_, WallTime>, b: &B) {
    let mut x0: Option<B::Tensor> = None;
    // Time, time spent recording (host side) and chain count of the last
    // sample (a measurement, not warm-up).
    let last = Cell::new((Duration::ZERO, Duration::ZERO, 0u64));
    // Counter deltas over the last sample and its chain count.
    let per_chain = Cell::new(None::<(GpuStats, u64)>);
    group.throughput(Throughput::Elements(CHAIN as u64));
    group.bench_function(BenchmarkId::new(B::LABEL, format!("scale{CHAIN_LEN}x{CHAIN}")), |bencher| {
        let x0 = x0.get_or_insert_with(|| {
            let x = upload(b, 11, &[CHAIN_LEN]);
            b.finish();
            x
        });
        bencher.iter_custom(|iters| {
            let before = b.counters();
            let mut recording = Duration::ZERO;
            let start = Instant::now();
            for _ in 0..iters {
                let t0 = Instant::now();
                let mut x = x0.clone();
                for _ in 0..CHAIN {
                    x = b.scale(&x, 1.0, 1e-3);
                }
                black_box(&x);
                recording += t0.elapsed();
                b.finish();
            }
            let elapsed = start.elapsed();
            if let (Some(before), Some(after)) = (before, b.counters()) {
                per_chain.set(Some((after - before, iters)));
            }
            last.set((elapsed, recording, iters));
            elapsed
        });
    });
    let (t, rec, chains) = last.get();
    if chains > 0 {
        let us = |d: Duration| d.as_secs_f64() * 1e6 / (chains * CHAIN as u64) as f64;
        let what = if b.counters().is_some() { "dispatch" } else { "op" };
        eprintln!(
            "dispatch/{}: {:.2} µs per {what}, sync included; {:.2} µs of it recording on the host \
             (last sample: {chains} chains of {CHAIN})",
            B::LABEL,
            us(t),
            us(rec)
        );
    }
    if let Some((d, chains)) = per_chain.get() {
        let per = |v: u64| v as f64 / chains as f64;
        eprintln!(
            "dispatch/{}: per chain of {CHAIN} ops: {} dispatches, {} submission(s), {} readbacks",
            B::LABEL,
            per(d.dispatches),
            per(d.submissions),
            per(d.readbacks)
        );
    }
}

fn bench_dispatch(c: &mut Criterion, ctx: &Ctx) {
    let mut g = group(c, "dispatch");
    if let Some(gpu) = &ctx.gpu {
        dispatch_on(&mut g, gpu);
    }
    dispatch_on(&mut g, &Cpu);
    g.finish();
}

fn main() {
    gpurec::cpu::keep_freed_memory();
    let ctx = Ctx::new();
    // Short sampling by default; `--sample-size`, `--warm-up-time` and
    // `--measurement-time` on the command line override it.
    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    bench_matmul(&mut c, &ctx);
    bench_spmm(&mut c, &ctx);
    bench_spd_inverse(&mut c, &ctx);
    bench_item_ops(&mut c, &ctx);
    bench_lstm(&mut c, &ctx);
    bench_conv_rows_max(&mut c, &ctx);
    bench_layer_norm(&mut c, &ctx);
    bench_masked_softmax(&mut c, &ctx);
    bench_adam(&mut c, &ctx);
    bench_rank_metrics(&mut c, &ctx);
    bench_dispatch(&mut c, &ctx);
    c.final_summary();
}
