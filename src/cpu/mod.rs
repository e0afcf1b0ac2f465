//! The ndarray backend: the reference every GPU kernel is tested against,
//! and a fallback when no adapter is present.
//!
//! Each op is a plain function in the module named after its family; the
//! `Backend` impl below only forwards. Reductions run in a fixed order so the
//! same inputs give the same bits. Large ops (matmul, Adam, convolutions,
//! ranking) split their outputs across rayon's thread pool (`cpu::parallel`;
//! `GPUREC_THREADS` via [`threads_from_env`], or `RAYON_NUM_THREADS`, sets its
//! size) without changing any element's order of terms, so the bits do not
//! depend on the number of threads either.

pub mod conv;
pub mod conv_rows_max;
pub mod dense;
pub mod embedding;
pub(crate) mod fastmath;
pub mod gru;
pub mod layer_norm;
pub mod linalg;
pub mod loss;
pub mod lstm;
pub mod masked_softmax;
pub(crate) mod matmul_sparse;
pub mod metrics;
pub mod optim;
pub(crate) mod parallel;
pub mod random;
pub mod sparse;
pub mod topk;

use ndarray::{ArcArray, ArcArray1, IxDyn};

use crate::backend::*;
use crate::error::{Error, Result};

/// A CPU tensor: a shared, copy-on-write ndarray.
pub type CpuTensor = ArcArray<f32, IxDyn>;
/// CPU indices.
pub type CpuIndex = ArcArray1<u32>;

impl Shaped for CpuTensor {
    fn dims(&self) -> &[usize] {
        self.shape()
    }
}

impl Indexed for CpuIndex {
    fn count(&self) -> usize {
        self.len()
    }
}

/// The CPU backend.
#[derive(Clone, Copy, Debug, Default)]
pub struct Cpu;

/// Builds a CPU tensor from a vector and a shape.
pub fn from_vec(data: Vec<f32>, shape: &[usize]) -> CpuTensor {
    ArcArray::from_shape_vec(IxDyn(shape), data).expect("data length matches shape")
}

/// Tells the C allocator to keep freed memory for reuse rather than hand it
/// back to the system after every tensor; returns whether it was applied
/// (glibc on Linux; elsewhere nothing is changed and the result is false).
///
/// The CPU backend allocates each op's output afresh. glibc serves blocks
/// above a dynamic threshold (128 KiB at first) with their own mappings and
/// trims the heap's top once 2 × that is free, so a step over 943 × 1,682
/// rows (6.3 MB a tensor) maps and zero-fills its pages again every time: on
/// a 2-core VM that was a third of a Mult-VAE epoch. With every block up to
/// 32 MiB (glibc's largest threshold) from the heap and 1 GiB of free heap
/// kept, the pages stay resident between ops and steps; the process keeps
/// its peak size. Results are unchanged (only where the bytes live). The
/// `gpurec` binary and the benches call it first; an application that
/// embeds gpurec and trains on the CPU backend can call it too (it affects
/// the whole process) or set `GLIBC_TUNABLES` to the same effect.
pub fn keep_freed_memory() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only sets allocator parameters; it is safe to call at any time.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20) == 1 && libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30) == 1
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

/// Builds the CPU backend's thread pool (rayon's global pool) with the
/// calling thread as one of its workers, sized from the environment:
/// `GPUREC_THREADS=N` runs it on N threads (results are the same bits on any
/// count); unset, rayon's default applies (one thread per core, or
/// `RAYON_NUM_THREADS`). Returns the count `GPUREC_THREADS` set.
///
/// Call it first, from the thread that will run the CPU ops (the binary
/// does, from `main`). The calling thread joining the pool is what makes
/// the ops' small parallel loops pay: a thread outside the pool hands each
/// loop to the pool and sleeps until it is done, so every loop waits for a
/// sleeping worker to wake and then wakes the caller — on a VM 100–150 µs a
/// loop, measured. A worker instead starts on its own pieces at once and
/// lets the others steal the rest as they wake. An application that builds
/// rayon's global pool itself need not call it, and should build it with
/// `use_current_thread()` for the same reason.
pub fn threads_from_env() -> crate::Result<Option<usize>> {
    let threads = match std::env::var("GPUREC_THREADS") {
        Err(_) => None,
        Ok(value) => Some(value.trim().parse().ok().filter(|&n: &usize| n > 0).ok_or_else(|| {
            crate::Error::Invalid(format!("GPUREC_THREADS={value:?}: expected a thread count of 1 or more"))
        })?),
    };
    let mut pool = rayon::ThreadPoolBuilder::new().use_current_thread();
    if let Some(n) = threads {
        pool = pool.num_threads(n);
    }
    match (pool.build_global(), threads) {
        (Ok(()), _) => Ok(threads),
        (Err(e), Some(n)) => Err(crate::Error::Invalid(format!("GPUREC_THREADS={n}: {e}"))),
        // Already built (by the application): its pool, its size.
        (Err(_), None) => Ok(None),
    }
}

/// The host's physical memory in bytes (Linux: `MemTotal` of /proc/meminfo;
/// unbounded where it is not known).
pub(crate) fn host_memory_bytes() -> u64 {
    let total = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
        let line = m.lines().find(|l| l.starts_with("MemTotal:"))?;
        line.split_whitespace().nth(1)?.parse::<u64>().ok()
    });
    total.map_or(u64::MAX, |kib| kib.saturating_mul(1024))
}

impl Backend for Cpu {
    type Tensor = CpuTensor;
    type Index = CpuIndex;

    fn describe(&self) -> String {
        "cpu (ndarray)".into()
    }

    fn check_fits(&self, what: &dyn Fn() -> String, bytes: u64) -> Result<()> {
        let limit = host_memory_bytes() / 2;
        if bytes > limit {
            return Err(Error::TooLarge { what: what(), bytes, limit, limit_name: "tensor (half the host's memory)" });
        }
        Ok(())
    }

    fn tensor(&self, data: &[f32], shape: &[usize]) -> Result<CpuTensor> {
        let n: usize = shape.iter().product();
        if n != data.len() {
            return Err(Error::Invalid(format!("{} values for shape {shape:?}", data.len())));
        }
        Ok(from_vec(data.to_vec(), shape))
    }
    fn index(&self, data: &[u32]) -> Result<CpuIndex> {
        Ok(ArcArray1::from(data.to_vec()))
    }
    fn zeros(&self, shape: &[usize]) -> CpuTensor {
        ArcArray::zeros(IxDyn(shape))
    }
    fn full(&self, shape: &[usize], value: f32) -> CpuTensor {
        ArcArray::from_elem(IxDyn(shape), value)
    }
    fn reshape(&self, t: &CpuTensor, shape: &[usize]) -> CpuTensor {
        assert_eq!(t.len(), shape.iter().product::<usize>(), "reshape {:?} -> {shape:?}", t.shape());
        if t.is_standard_layout() {
            // Shares the data (copy-on-write), like the GPU backend's reshape.
            return t.clone().into_shape_with_order(IxDyn(shape)).expect("contiguous");
        }
        from_vec(t.iter().copied().collect(), shape)
    }
    fn assign(&self, dst: &mut CpuTensor, src: &CpuTensor) {
        assert_eq!(dst.len(), src.len(), "assign: {:?} <- {:?}", dst.shape(), src.shape());
        *dst = self.reshape(src, dst.shape());
    }
    fn concat_rows(&self, a: &CpuTensor, b: &CpuTensor) -> CpuTensor {
        assert!(
            a.ndim() == 2 && b.ndim() == 2 && a.shape()[1] == b.shape()[1],
            "concat_rows: {:?} and {:?}",
            a.shape(),
            b.shape()
        );
        ndarray::concatenate(ndarray::Axis(0), &[a.view(), b.view()]).unwrap().into_shared()
    }
    fn slice_rows(&self, t: &CpuTensor, start: usize, len: usize) -> CpuTensor {
        assert!(t.ndim() == 2 && start + len <= t.shape()[0], "slice_rows: {start}+{len} of {:?}", t.shape());
        t.slice(ndarray::s![start..start + len, ..]).to_owned().into_dyn().into_shared()
    }
    fn read(&self, t: &CpuTensor) -> Result<Vec<f32>> {
        Ok(t.iter().copied().collect())
    }
    fn read_index(&self, i: &CpuIndex) -> Result<Vec<u32>> {
        Ok(i.to_vec())
    }
    fn flush(&self) -> Result<()> {
        Ok(())
    }

    fn matmul(
        &self,
        a: &CpuTensor,
        b: &CpuTensor,
        ta: bool,
        tb: bool,
        bias: Option<&CpuTensor>,
        act: Act,
    ) -> CpuTensor {
        dense::matmul(a, b, ta, tb, bias, act)
    }
    fn binary(&self, op: BinaryOp, a: &CpuTensor, b: &CpuTensor) -> CpuTensor {
        dense::binary(op, a, b)
    }
    fn unary(&self, op: UnaryOp, x: &CpuTensor) -> CpuTensor {
        dense::unary(op, x)
    }
    fn scale(&self, x: &CpuTensor, alpha: f32, beta: f32) -> CpuTensor {
        x.map(|&v| alpha * v + beta).into_shared()
    }
    fn activate(&self, x: &CpuTensor, act: Act) -> CpuTensor {
        x.map(|&v| dense::act_forward(v, act)).into_shared()
    }
    fn activate_backward(&self, y: &CpuTensor, dy: &CpuTensor, act: Act) -> CpuTensor {
        dense::activate_backward(y, dy, act)
    }
    fn reduce_rows(&self, x: &CpuTensor, op: Reduce) -> CpuTensor {
        dense::reduce_rows(x, op)
    }
    fn reduce_cols(&self, x: &CpuTensor, op: Reduce) -> CpuTensor {
        dense::reduce_cols(x, op)
    }
    fn softmax(&self, x: &CpuTensor) -> CpuTensor {
        dense::softmax(x, false)
    }
    fn log_softmax(&self, x: &CpuTensor) -> CpuTensor {
        dense::softmax(x, true)
    }
    fn softmax_backward(&self, y: &CpuTensor, dy: &CpuTensor) -> CpuTensor {
        dense::softmax_backward(y, dy, false)
    }
    fn log_softmax_backward(&self, y: &CpuTensor, dy: &CpuTensor) -> CpuTensor {
        dense::softmax_backward(y, dy, true)
    }
    fn transpose(&self, x: &CpuTensor) -> CpuTensor {
        dense::transpose(x)
    }
    fn dot_rows(&self, a: &CpuTensor, b: &CpuTensor) -> CpuTensor {
        dense::dot_rows(a, b)
    }
    fn spd_inverse(&self, a: &CpuTensor) -> CpuTensor {
        linalg::spd_inverse(a)
    }

    fn gather_rows(&self, table: &CpuTensor, idx: &CpuIndex) -> CpuTensor {
        embedding::gather_rows(table, idx)
    }
    fn scatter_add_rows(&self, dy: &CpuTensor, groups: &RowGroups<Self>) -> CpuTensor {
        embedding::scatter_add_rows(dy, &groups.offsets, &groups.order)
    }

    fn spmm_csr(&self, a: &Csr<Self>, x: &CpuTensor) -> CpuTensor {
        sparse::spmm_csr(a, x)
    }
    fn spmm_csr_rows(&self, a: &Csr<Self>, rows: &CpuIndex, x: &CpuTensor) -> CpuTensor {
        sparse::spmm_csr_rows(a, rows, x)
    }
    fn csr_rows_dense(&self, a: &Csr<Self>, rows: &CpuIndex) -> CpuTensor {
        sparse::csr_rows_dense(a, rows)
    }
    fn gram(&self, x: &Csr<Self>, xt: &Csr<Self>) -> CpuTensor {
        sparse::gram(x, xt)
    }

    fn conv1d(
        &self,
        x: &CpuTensor,
        w: &CpuTensor,
        bias: Option<&CpuTensor>,
        stride: usize,
        padding: usize,
    ) -> CpuTensor {
        conv::conv1d(x, w, bias, stride, padding)
    }
    fn conv1d_backward_input(
        &self,
        dy: &CpuTensor,
        w: &CpuTensor,
        l: usize,
        stride: usize,
        padding: usize,
    ) -> CpuTensor {
        conv::conv1d_backward_input(dy, w, l, stride, padding)
    }
    fn conv1d_backward_weight(
        &self,
        x: &CpuTensor,
        dy: &CpuTensor,
        k: usize,
        stride: usize,
        padding: usize,
    ) -> (CpuTensor, CpuTensor) {
        conv::conv1d_backward_weight(x, dy, k, stride, padding)
    }
    fn conv2d(
        &self,
        x: &CpuTensor,
        w: &CpuTensor,
        bias: Option<&CpuTensor>,
        stride: (usize, usize),
        padding: (usize, usize),
    ) -> CpuTensor {
        conv::conv2d(x, w, bias, stride, padding)
    }
    fn conv2d_backward_input(
        &self,
        dy: &CpuTensor,
        w: &CpuTensor,
        hw: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
    ) -> CpuTensor {
        conv::conv2d_backward_input(dy, w, hw, stride, padding)
    }
    fn conv2d_backward_weight(
        &self,
        x: &CpuTensor,
        dy: &CpuTensor,
        khw: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
    ) -> (CpuTensor, CpuTensor) {
        conv::conv2d_backward_weight(x, dy, khw, stride, padding)
    }
    fn maxpool2d(&self, x: &CpuTensor, kernel: (usize, usize), stride: (usize, usize)) -> (CpuTensor, CpuIndex) {
        conv::maxpool2d(x, kernel, stride)
    }
    fn maxpool2d_backward(
        &self,
        dy: &CpuTensor,
        argmax: &CpuIndex,
        input_shape: &[usize],
        kernel: (usize, usize),
        stride: (usize, usize),
    ) -> CpuTensor {
        conv::maxpool2d_backward(dy, argmax, input_shape, kernel, stride)
    }

    fn conv_rows_max(&self, x: &CpuTensor, w: &CpuTensor, bias: &CpuTensor, window: usize) -> (CpuTensor, CpuIndex) {
        conv_rows_max::conv_rows_max(x, w, bias, window)
    }
    fn conv_rows_max_backward(
        &self,
        x: &CpuTensor,
        w: &CpuTensor,
        y: &CpuTensor,
        argmax: &CpuIndex,
        dy: &CpuTensor,
        window: usize,
        acc: Option<&CpuTensor>,
    ) -> (CpuTensor, CpuTensor, CpuTensor) {
        conv_rows_max::conv_rows_max_backward(x, w, y, argmax, dy, window, acc)
    }

    fn lstm_cell(
        &self,
        gates: &CpuTensor,
        h_prev: &CpuTensor,
        c_prev: &CpuTensor,
        mask: Option<&CpuTensor>,
    ) -> LstmStep<Self> {
        lstm::lstm_cell(gates, h_prev, c_prev, mask)
    }
    fn lstm_cell_backward(
        &self,
        step: &LstmStep<Self>,
        c_prev: &CpuTensor,
        dh: &CpuTensor,
        dc: &CpuTensor,
        mask: Option<&CpuTensor>,
    ) -> LstmGrads<Self> {
        lstm::lstm_cell_backward(step, c_prev, dh, dc, mask)
    }
    fn gru_cell(&self, gx: &CpuTensor, gh: &CpuTensor, h_prev: &CpuTensor, mask: Option<&CpuTensor>) -> GruStep<Self> {
        gru::gru_cell(gx, gh, h_prev, mask)
    }
    fn gru_cell_backward(
        &self,
        step: &GruStep<Self>,
        gh: &CpuTensor,
        h_prev: &CpuTensor,
        dh: &CpuTensor,
        mask: Option<&CpuTensor>,
    ) -> GruGrads<Self> {
        gru::gru_cell_backward(step, gh, h_prev, dh, mask)
    }

    fn layer_norm(&self, x: &CpuTensor, gamma: &CpuTensor, beta: &CpuTensor, eps: f32) -> LayerNormStep<Self> {
        layer_norm::layer_norm(x, gamma, beta, eps)
    }
    fn layer_norm_backward(
        &self,
        step: &LayerNormStep<Self>,
        x: &CpuTensor,
        gamma: &CpuTensor,
        dy: &CpuTensor,
    ) -> LayerNormGrads<Self> {
        layer_norm::layer_norm_backward(step, x, gamma, dy)
    }

    fn masked_softmax(&self, x: &CpuTensor, key_mask: Option<&CpuTensor>, causal: bool) -> CpuTensor {
        masked_softmax::masked_softmax(x, key_mask, causal)
    }

    fn adam(
        &self,
        p: &mut CpuTensor,
        g: &CpuTensor,
        m: &mut CpuTensor,
        v: &mut CpuTensor,
        cfg: &AdamConfig,
        step: u32,
    ) {
        optim::adam(p, g, m, v, cfg, step)
    }
    fn adam_rows(
        &self,
        p: &mut CpuTensor,
        rows: &CpuIndex,
        g: &CpuTensor,
        m: &mut CpuTensor,
        v: &mut CpuTensor,
        cfg: &AdamConfig,
        step: u32,
    ) {
        optim::adam_rows(p, rows, g, m, v, cfg, step)
    }
    fn adagrad(&self, p: &mut CpuTensor, g: &CpuTensor, accum: &mut CpuTensor, lr: f32, eps: f32, weight_decay: f32) {
        optim::adagrad(p, g, accum, lr, eps, weight_decay)
    }
    fn sgd(
        &self,
        p: &mut CpuTensor,
        g: &CpuTensor,
        velocity: &mut CpuTensor,
        lr: f32,
        momentum: f32,
        weight_decay: f32,
    ) {
        optim::sgd(p, g, velocity, lr, momentum, weight_decay)
    }

    fn mse_loss(&self, pred: &CpuTensor, target: &CpuTensor) -> (CpuTensor, CpuTensor) {
        loss::mse_loss(pred, target)
    }
    fn bce_with_logits(&self, logits: &CpuTensor, target: &CpuTensor) -> (CpuTensor, CpuTensor) {
        loss::bce_with_logits(logits, target)
    }
    fn bpr_loss(&self, pos: &CpuTensor, neg: &CpuTensor) -> (CpuTensor, CpuTensor) {
        loss::bpr_loss(pos, neg)
    }
    fn bpr_triples(
        &self,
        user: &CpuTensor,
        item: &CpuTensor,
        idx: &CpuIndex,
        reg: f32,
    ) -> (CpuTensor, CpuTensor, CpuTensor) {
        loss::bpr_triples(user, item, idx, reg)
    }
    fn mf_residuals(
        &self,
        factors: &CpuTensor,
        biases: &CpuTensor,
        idx: &CpuIndex,
        target: &CpuTensor,
    ) -> (CpuTensor, CpuTensor) {
        loss::mf_residuals(factors, biases, idx, target)
    }
    fn softmax_cross_entropy(&self, logits: &CpuTensor, target: &CpuIndex) -> (CpuTensor, CpuTensor) {
        loss::softmax_cross_entropy(logits, target)
    }

    fn dropout(&self, x: &CpuTensor, p: f32, seed: u64) -> CpuTensor {
        random::dropout(x, p, seed)
    }
    fn normal(&self, shape: &[usize], seed: u64) -> CpuTensor {
        random::normal(shape, seed)
    }
    fn random_ints(&self, n: usize, bound: u32, seed: u64) -> CpuIndex {
        random::random_ints(n, bound, seed)
    }
    fn rank_among(&self, scores: &CpuTensor, queries: &Pattern<Self>, among: Among<'_, Self>) -> CpuIndex {
        topk::rank_among(scores, queries, among)
    }
    fn topk_masked(&self, scores: &CpuTensor, k: usize, exclude: Option<&Pattern<Self>>) -> (CpuIndex, CpuTensor) {
        topk::topk_masked(scores, k, exclude)
    }
    fn keep_top_k(&self, x: &CpuTensor, k: usize) -> CpuTensor {
        topk::keep_top_k(x, k)
    }
    fn rank_metrics(
        &self,
        top: &CpuIndex,
        k: usize,
        targets: &Pattern<Self>,
        ks: &[usize],
        auc: Option<AucCounts<'_, Self>>,
        covered: Option<&mut CpuTensor>,
    ) -> CpuTensor {
        metrics::rank_metrics(top, k, targets, ks, auc, covered)
    }
}

/// Asks the cache for `table[at..at + d]` (a hint: no effect on results).
#[inline(always)]
pub(crate) fn prefetch_row(table: &[f32], at: usize, d: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        for line in (0..d).step_by(16) {
            if let Some(x) = table.get(at + line) {
                // SAFETY: SSE is part of every x86_64 target, and a prefetch
                // only hints the cache (it never faults or reads into a value).
                unsafe { _mm_prefetch::<_MM_HINT_T0>((x as *const f32).cast()) };
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (table, at, d);
}
