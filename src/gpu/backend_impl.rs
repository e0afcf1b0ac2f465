//! `Backend` for the wgpu context: each method forwards to the op's function
//! in `gpu::ops::<family>`, which records its dispatches.

use super::ops::{
    conv, dense, embedding, gru, layer_norm, linalg, loss, lstm, masked_softmax, metrics, optim, random, sparse, topk,
};
use super::{Gpu, GpuIndex, GpuTensor};
use crate::backend::*;
use crate::error::{Error, Result};

impl Shaped for GpuTensor {
    fn dims(&self) -> &[usize] {
        &self.shape
    }
}

impl Indexed for GpuIndex {
    fn count(&self) -> usize {
        self.len
    }
}

impl Backend for Gpu {
    type Tensor = GpuTensor;
    type Index = GpuIndex;

    fn check_fits(&self, what: &dyn Fn() -> String, bytes: u64) -> Result<()> {
        Gpu::check_fits(self, what, bytes)
    }

    fn describe(&self) -> String {
        let i = self.adapter_info();
        format!("{} ({:?}, {:?})", i.name, i.backend, i.device_type)
    }

    fn tensor(&self, data: &[f32], shape: &[usize]) -> Result<GpuTensor> {
        let n: usize = shape.iter().product();
        if n != data.len() {
            return Err(Error::Invalid(format!("{} values for shape {shape:?}", data.len())));
        }
        let buf = self.try_alloc(&|| format!("tensor {shape:?}"), n as u64 * 4)?;
        self.write_bytes(buf.raw(), bytemuck::cast_slice(data));
        Ok(GpuTensor { buf: buf.into(), shape: shape.to_vec() })
    }
    fn index(&self, data: &[u32]) -> Result<GpuIndex> {
        let buf = self.try_alloc(&|| format!("index [{}]", data.len()), data.len() as u64 * 4)?;
        self.write_bytes(buf.raw(), bytemuck::cast_slice(data));
        Ok(GpuIndex { buf: buf.into(), len: data.len() })
    }
    fn zeros(&self, shape: &[usize]) -> GpuTensor {
        let t = self.empty(shape);
        self.clear(t.raw(), t.bytes());
        t
    }
    fn full(&self, shape: &[usize], value: f32) -> GpuTensor {
        dense::fill(self, shape, value)
    }
    fn reshape(&self, t: &GpuTensor, shape: &[usize]) -> GpuTensor {
        assert_eq!(t.len(), shape.iter().product::<usize>(), "reshape {:?} -> {shape:?}", t.shape);
        GpuTensor { buf: t.buf.clone(), shape: shape.to_vec() }
    }
    fn assign(&self, dst: &mut GpuTensor, src: &GpuTensor) {
        assert_eq!(dst.len(), src.len(), "assign: {:?} <- {:?}", dst.shape, src.shape);
        let fresh = self.empty(&dst.shape);
        self.copy(src.raw(), fresh.raw(), src.bytes());
        *dst = fresh;
    }
    fn concat_rows(&self, a: &GpuTensor, b: &GpuTensor) -> GpuTensor {
        assert!(
            a.shape.len() == 2 && b.shape.len() == 2 && a.shape[1] == b.shape[1],
            "concat_rows: {:?} and {:?}",
            a.shape,
            b.shape
        );
        let out = self.empty(&[a.shape[0] + b.shape[0], a.shape[1]]);
        self.copy_at(a.raw(), 0, out.raw(), 0, a.bytes());
        self.copy_at(b.raw(), 0, out.raw(), a.bytes(), b.bytes());
        out
    }
    fn slice_rows(&self, t: &GpuTensor, start: usize, len: usize) -> GpuTensor {
        assert!(t.shape.len() == 2 && start + len <= t.shape[0], "slice_rows: {start}+{len} of {:?}", t.shape);
        let d = t.shape[1];
        let out = self.empty(&[len, d]);
        self.copy_at(t.raw(), (start * d * 4) as u64, out.raw(), 0, out.bytes());
        out
    }
    fn read(&self, t: &GpuTensor) -> Result<Vec<f32>> {
        let bytes = self.read_bytes(t.raw(), t.bytes())?;
        Ok(bytemuck::pod_collect_to_vec(&bytes))
    }
    fn read_index(&self, i: &GpuIndex) -> Result<Vec<u32>> {
        let bytes = self.read_bytes(i.raw(), i.len as u64 * 4)?;
        Ok(bytemuck::pod_collect_to_vec(&bytes))
    }
    fn read_async<'a>(&'a self, t: &'a GpuTensor) -> futures::future::LocalBoxFuture<'a, Result<Vec<f32>>> {
        Box::pin(Gpu::read_async(self, t))
    }
    fn read_index_async<'a>(&'a self, i: &'a GpuIndex) -> futures::future::LocalBoxFuture<'a, Result<Vec<u32>>> {
        Box::pin(async move {
            let bytes = self.read_bytes_async(i.raw(), i.len as u64 * 4).await?;
            Ok(bytemuck::pod_collect_to_vec(&bytes))
        })
    }
    fn flush(&self) -> Result<()> {
        Gpu::flush(self)
    }

    fn matmul(
        &self,
        a: &GpuTensor,
        b: &GpuTensor,
        ta: bool,
        tb: bool,
        bias: Option<&GpuTensor>,
        act: Act,
    ) -> GpuTensor {
        dense::matmul(self, a, b, ta, tb, bias, act)
    }
    fn binary(&self, op: BinaryOp, a: &GpuTensor, b: &GpuTensor) -> GpuTensor {
        dense::binary(self, op, a, b)
    }
    fn unary(&self, op: UnaryOp, x: &GpuTensor) -> GpuTensor {
        dense::unary(self, op, x)
    }
    fn scale(&self, x: &GpuTensor, alpha: f32, beta: f32) -> GpuTensor {
        dense::scale(self, x, alpha, beta)
    }
    fn activate(&self, x: &GpuTensor, act: Act) -> GpuTensor {
        dense::activate(self, x, act)
    }
    fn activate_backward(&self, y: &GpuTensor, dy: &GpuTensor, act: Act) -> GpuTensor {
        dense::activate_backward(self, y, dy, act)
    }
    fn reduce_rows(&self, x: &GpuTensor, op: Reduce) -> GpuTensor {
        dense::reduce_rows(self, x, op)
    }
    fn reduce_cols(&self, x: &GpuTensor, op: Reduce) -> GpuTensor {
        dense::reduce_cols(self, x, op)
    }
    fn softmax(&self, x: &GpuTensor) -> GpuTensor {
        dense::softmax(self, x, false)
    }
    fn log_softmax(&self, x: &GpuTensor) -> GpuTensor {
        dense::softmax(self, x, true)
    }
    fn softmax_backward(&self, y: &GpuTensor, dy: &GpuTensor) -> GpuTensor {
        dense::softmax_backward(self, y, dy, false)
    }
    fn log_softmax_backward(&self, y: &GpuTensor, dy: &GpuTensor) -> GpuTensor {
        dense::softmax_backward(self, y, dy, true)
    }
    fn transpose(&self, x: &GpuTensor) -> GpuTensor {
        dense::transpose(self, x)
    }
    fn dot_rows(&self, a: &GpuTensor, b: &GpuTensor) -> GpuTensor {
        dense::dot_rows(self, a, b)
    }
    fn spd_inverse(&self, a: &GpuTensor) -> GpuTensor {
        linalg::spd_inverse(self, a)
    }

    fn gather_rows(&self, table: &GpuTensor, idx: &GpuIndex) -> GpuTensor {
        embedding::gather_rows(self, table, idx)
    }
    fn scatter_add_rows(&self, dy: &GpuTensor, groups: &RowGroups<Self>) -> GpuTensor {
        embedding::scatter_add_rows(self, dy, groups)
    }

    fn spmm_csr(&self, a: &Csr<Self>, x: &GpuTensor) -> GpuTensor {
        sparse::spmm_csr(self, a, x)
    }
    fn spmm_csr_rows(&self, a: &Csr<Self>, rows: &GpuIndex, x: &GpuTensor) -> GpuTensor {
        sparse::spmm_csr_rows(self, a, rows, x)
    }
    fn csr_rows_dense(&self, a: &Csr<Self>, rows: &GpuIndex) -> GpuTensor {
        sparse::csr_rows_dense(self, a, rows)
    }
    fn gram(&self, x: &Csr<Self>, xt: &Csr<Self>) -> GpuTensor {
        sparse::gram(self, x, xt, None)
    }

    fn conv1d(
        &self,
        x: &GpuTensor,
        w: &GpuTensor,
        bias: Option<&GpuTensor>,
        stride: usize,
        padding: usize,
    ) -> GpuTensor {
        conv::conv1d(self, x, w, bias, stride, padding)
    }
    fn conv1d_backward_input(
        &self,
        dy: &GpuTensor,
        w: &GpuTensor,
        l: usize,
        stride: usize,
        padding: usize,
    ) -> GpuTensor {
        conv::conv1d_backward_input(self, dy, w, l, stride, padding)
    }
    fn conv1d_backward_weight(
        &self,
        x: &GpuTensor,
        dy: &GpuTensor,
        k: usize,
        stride: usize,
        padding: usize,
    ) -> (GpuTensor, GpuTensor) {
        conv::conv1d_backward_weight(self, x, dy, k, stride, padding)
    }
    fn conv2d(
        &self,
        x: &GpuTensor,
        w: &GpuTensor,
        bias: Option<&GpuTensor>,
        stride: (usize, usize),
        padding: (usize, usize),
    ) -> GpuTensor {
        conv::conv2d(self, x, w, bias, stride, padding)
    }
    fn conv2d_backward_input(
        &self,
        dy: &GpuTensor,
        w: &GpuTensor,
        hw: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
    ) -> GpuTensor {
        conv::conv2d_backward_input(self, dy, w, hw, stride, padding)
    }
    fn conv2d_backward_weight(
        &self,
        x: &GpuTensor,
        dy: &GpuTensor,
        khw: (usize, usize),
        stride: (usize, usize),
        padding: (usize, usize),
    ) -> (GpuTensor, GpuTensor) {
        conv::conv2d_backward_weight(self, x, dy, khw, stride, padding)
    }
    fn maxpool2d(&self, x: &GpuTensor, kernel: (usize, usize), stride: (usize, usize)) -> (GpuTensor, GpuIndex) {
        conv::maxpool2d(self, x, kernel, stride)
    }
    fn maxpool2d_backward(
        &self,
        dy: &GpuTensor,
        argmax: &GpuIndex,
        input_shape: &[usize],
        kernel: (usize, usize),
        stride: (usize, usize),
    ) -> GpuTensor {
        conv::maxpool2d_backward(self, dy, argmax, input_shape, kernel, stride)
    }
    fn conv_rows_max(&self, x: &GpuTensor, w: &GpuTensor, bias: &GpuTensor, window: usize) -> (GpuTensor, GpuIndex) {
        conv::conv_rows_max(self, x, w, bias, window)
    }
    fn conv_rows_max_backward(
        &self,
        x: &GpuTensor,
        w: &GpuTensor,
        y: &GpuTensor,
        argmax: &GpuIndex,
        dy: &GpuTensor,
        window: usize,
        acc: Option<&GpuTensor>,
    ) -> (GpuTensor, GpuTensor, GpuTensor) {
        conv::conv_rows_max_backward(self, x, w, y, argmax, dy, window, acc)
    }

    fn lstm_cell(
        &self,
        gates: &GpuTensor,
        h_prev: &GpuTensor,
        c_prev: &GpuTensor,
        mask: Option<&GpuTensor>,
    ) -> LstmStep<Self> {
        lstm::lstm_cell(self, gates, h_prev, c_prev, mask)
    }
    fn lstm_cell_backward(
        &self,
        step: &LstmStep<Self>,
        c_prev: &GpuTensor,
        dh: &GpuTensor,
        dc: &GpuTensor,
        mask: Option<&GpuTensor>,
    ) -> LstmGrads<Self> {
        lstm::lstm_cell_backward(self, step, c_prev, dh, dc, mask)
    }
    fn gru_cell(&self, gx: &GpuTensor, gh: &GpuTensor, h_prev: &GpuTensor, mask: Option<&GpuTensor>) -> GruStep<Self> {
        gru::gru_cell(self, gx, gh, h_prev, mask)
    }
    fn gru_cell_backward(
        &self,
        step: &GruStep<Self>,
        gh: &GpuTensor,
        h_prev: &GpuTensor,
        dh: &GpuTensor,
        mask: Option<&GpuTensor>,
    ) -> GruGrads<Self> {
        gru::gru_cell_backward(self, step, gh, h_prev, dh, mask)
    }

    fn layer_norm(&self, x: &GpuTensor, gamma: &GpuTensor, beta: &GpuTensor, eps: f32) -> LayerNormStep<Self> {
        layer_norm::layer_norm(self, x, gamma, beta, eps)
    }
    fn layer_norm_backward(
        &self,
        step: &LayerNormStep<Self>,
        x: &GpuTensor,
        gamma: &GpuTensor,
        dy: &GpuTensor,
    ) -> LayerNormGrads<Self> {
        layer_norm::layer_norm_backward(self, step, x, gamma, dy)
    }

    fn masked_softmax(&self, x: &GpuTensor, key_mask: Option<&GpuTensor>, causal: bool) -> GpuTensor {
        masked_softmax::masked_softmax(self, x, key_mask, causal)
    }

    fn adam(
        &self,
        p: &mut GpuTensor,
        g: &GpuTensor,
        m: &mut GpuTensor,
        v: &mut GpuTensor,
        cfg: &AdamConfig,
        step: u32,
    ) {
        optim::adam(self, p, g, m, v, cfg, step)
    }
    fn adam_rows(
        &self,
        p: &mut GpuTensor,
        rows: &GpuIndex,
        g: &GpuTensor,
        m: &mut GpuTensor,
        v: &mut GpuTensor,
        cfg: &AdamConfig,
        step: u32,
    ) {
        optim::adam_rows(self, p, rows, g, m, v, cfg, step)
    }
    fn adagrad(&self, p: &mut GpuTensor, g: &GpuTensor, accum: &mut GpuTensor, lr: f32, eps: f32, weight_decay: f32) {
        optim::adagrad(self, p, g, accum, lr, eps, weight_decay)
    }
    fn sgd(
        &self,
        p: &mut GpuTensor,
        g: &GpuTensor,
        velocity: &mut GpuTensor,
        lr: f32,
        momentum: f32,
        weight_decay: f32,
    ) {
        optim::sgd(self, p, g, velocity, lr, momentum, weight_decay)
    }

    fn mse_loss(&self, pred: &GpuTensor, target: &GpuTensor) -> (GpuTensor, GpuTensor) {
        loss::pointwise(self, loss::Kind::Mse, pred, target)
    }
    fn bce_with_logits(&self, logits: &GpuTensor, target: &GpuTensor) -> (GpuTensor, GpuTensor) {
        loss::pointwise(self, loss::Kind::Bce, logits, target)
    }
    fn bpr_loss(&self, pos: &GpuTensor, neg: &GpuTensor) -> (GpuTensor, GpuTensor) {
        loss::pointwise(self, loss::Kind::Bpr, pos, neg)
    }
    fn bpr_triples(
        &self,
        user: &GpuTensor,
        item: &GpuTensor,
        idx: &GpuIndex,
        reg: f32,
    ) -> (GpuTensor, GpuTensor, GpuTensor) {
        loss::bpr_triples(self, user, item, idx, reg)
    }
    fn mf_residuals(
        &self,
        factors: &GpuTensor,
        biases: &GpuTensor,
        idx: &GpuIndex,
        target: &GpuTensor,
    ) -> (GpuTensor, GpuTensor) {
        loss::mf_residuals(self, factors, biases, idx, target)
    }
    fn softmax_cross_entropy(&self, logits: &GpuTensor, target: &GpuIndex) -> (GpuTensor, GpuTensor) {
        loss::softmax_cross_entropy(self, logits, target)
    }

    fn dropout(&self, x: &GpuTensor, p: f32, seed: u64) -> GpuTensor {
        random::dropout(self, x, p, seed)
    }
    fn normal(&self, shape: &[usize], seed: u64) -> GpuTensor {
        random::normal(self, shape, seed)
    }
    fn random_ints(&self, n: usize, bound: u32, seed: u64) -> GpuIndex {
        random::random_ints(self, n, bound, seed)
    }
    fn rank_among(&self, scores: &GpuTensor, queries: &Pattern<Self>, among: Among<'_, Self>) -> GpuIndex {
        topk::rank_among(self, scores, queries, among)
    }
    fn topk_masked(&self, scores: &GpuTensor, k: usize, exclude: Option<&Pattern<Self>>) -> (GpuIndex, GpuTensor) {
        topk::topk_masked(self, scores, k, exclude)
    }
    fn keep_top_k(&self, x: &GpuTensor, k: usize) -> GpuTensor {
        topk::keep_top_k(self, x, k)
    }
    fn rank_metrics(
        &self,
        top: &GpuIndex,
        k: usize,
        targets: &Pattern<Self>,
        ks: &[usize],
        auc: Option<AucCounts<'_, Self>>,
        covered: Option<&mut GpuTensor>,
    ) -> GpuTensor {
        metrics::rank_metrics(self, top, k, targets, ks, auc, covered)
    }
}

impl Gpu {
    /// An output tensor of `shape` from the pool (contents undefined).
    pub(crate) fn empty(&self, shape: &[usize]) -> GpuTensor {
        let n: usize = shape.iter().product();
        let buf = self.alloc(&|| format!("tensor {shape:?}"), n as u64 * 4);
        GpuTensor { buf: buf.into(), shape: shape.to_vec() }
    }

    /// An output index vector of `len` from the pool (contents undefined).
    pub(crate) fn empty_index(&self, len: usize) -> GpuIndex {
        let buf = self.alloc(&|| format!("index [{len}]"), len as u64 * 4);
        GpuIndex { buf: buf.into(), len }
    }

    /// Makes `t`'s buffer exclusively owned (copying when shared), for in-place updates.
    pub(crate) fn make_mut(&self, t: &mut GpuTensor) {
        if std::sync::Arc::strong_count(&t.buf) > 1 {
            let fresh = self.empty(&t.shape);
            self.copy(t.raw(), fresh.raw(), t.bytes());
            *t = fresh;
        }
    }

    /// Async read-back of a tensor.
    pub async fn read_async(&self, t: &GpuTensor) -> Result<Vec<f32>> {
        let bytes = self.read_bytes_async(t.raw(), t.bytes()).await?;
        Ok(bytemuck::pod_collect_to_vec(&bytes))
    }
}
