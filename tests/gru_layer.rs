//! The `Gru` layer: backpropagation through time against central finite
//! differences (CPU, with and without padding), the forward against
//! PyTorch's GRU equations written out by hand, GPU against CPU, GPU
//! determinism, and a small GRU learning to recall the first element of a
//! padded sequence.

mod common;

use common::*;
use gpurec::backend::Shaped;
use gpurec::layers::gru::{Gru, GruSaved, GruWeightGrads};
use gpurec::layers::{Adam, Param};
use gpurec::{Act, AdamConfig, Backend, Cpu, Reduce};

/// One sequence problem: T steps of n rows, `input` wide, `hidden` states.
#[derive(Clone, Copy, Debug)]
struct Shape {
    t: usize,
    n: usize,
    input: usize,
    hidden: usize,
}

/// Seeded data for one case: weights, inputs, masks and the loss weights
/// (`r[t]` on each h_t, `rh` on the final state).
struct Case {
    s: Shape,
    w_ih: Vec<f32>,
    w_hh: Vec<f32>,
    b_ih: Vec<f32>,
    b_hh: Vec<f32>,
    xs: Vec<f32>,
    masks: Option<Vec<f32>>,
    r: Vec<f32>,
    rh: Vec<f32>,
}

fn scaled(seed: u64, n: usize, s: f32) -> Vec<f32> {
    rand_vec(seed, n).into_iter().map(|v| v * s).collect()
}

/// The four parameters, in the order of [`Gru::parameters`].
type Weights<'a> = [&'a [f32]; 4];

impl Case {
    /// With `masked`, row 1 is left-padded at step 0 and the last row is
    /// right-padded at the last step (both kinds a batch of sequences holds).
    fn new(s: Shape, seed: u64, masked: bool) -> Self {
        let g = 3 * s.hidden;
        let masks = masked.then(|| {
            let mut m = vec![1.0; s.t * s.n];
            if s.n > 1 {
                m[1] = 0.0;
            }
            m[(s.t - 1) * s.n + s.n - 1] = 0.0;
            m
        });
        Self {
            s,
            w_ih: scaled(seed, g * s.input, 0.6),
            w_hh: scaled(seed + 1, g * s.hidden, 0.6),
            b_ih: scaled(seed + 2, g, 0.5),
            b_hh: scaled(seed + 3, g, 0.5),
            xs: rand_vec(seed + 4, s.t * s.n * s.input),
            masks,
            r: rand_vec(seed + 5, s.t * s.n * s.hidden),
            rh: rand_vec(seed + 6, s.n * s.hidden),
        }
    }

    fn weights(&self) -> Weights<'_> {
        [&self.w_ih, &self.w_hh, &self.b_ih, &self.b_hh]
    }

    fn layer<B: Backend>(&self, b: &B, w: Weights) -> Gru<B> {
        Gru::from_weights(b, w[0], w[1], w[2], w[3], self.s.input, self.s.hidden).unwrap()
    }

    /// Forward and backward on `b` with `dhs = r`, `dh_last = rh`.
    fn run<B: Backend>(&self, b: &B) -> (Vec<B::Tensor>, B::Tensor, GruWeightGrads<B>) {
        let Shape { t, n, input, hidden } = self.s;
        let gru = self.layer(b, self.weights());
        let xs = b.tensor(&self.xs, &[t, n, input]).unwrap();
        let masks = self.masks.as_ref().map(|m| b.tensor(m, &[t, n]).unwrap());
        let (hs, saved) = gru.forward(b, &xs, masks.as_ref());
        let step = n * hidden;
        let dhs: Vec<_> = (0..t).map(|k| b.tensor(&self.r[k * step..(k + 1) * step], &[n, hidden]).unwrap()).collect();
        let dh_last = b.tensor(&self.rh, &[n, hidden]).unwrap();
        let (dxs, grads) = gru.backward(b, &saved, Some(&dhs), Some(&dh_last));
        (hs, dxs, grads)
    }

    /// L = Σ_t h_t·r_t + h_{T−1}·rh, accumulated in f64.
    fn loss(&self, w: Weights, xs: &[f32]) -> f64 {
        let Shape { t, n, input, .. } = self.s;
        let gru = self.layer(&Cpu, w);
        let masks = self.masks.as_ref().map(|m| Cpu.tensor(m, &[t, n]).unwrap());
        let (hs, saved) = gru.forward(&Cpu, &Cpu.tensor(xs, &[t, n, input]).unwrap(), masks.as_ref());
        let h: Vec<f32> = hs.iter().flat_map(read).collect();
        dot(&h, &self.r) + dot(&read(saved.h_last()), &self.rh)
    }
}

fn read(t: &<Cpu as Backend>::Tensor) -> Vec<f32> {
    Cpu.read(t).unwrap()
}

#[test]
fn backward_matches_finite_differences() {
    let cases = [
        (Shape { t: 4, n: 3, input: 3, hidden: 2 }, true),
        (Shape { t: 4, n: 3, input: 3, hidden: 2 }, false),
        (Shape { t: 3, n: 2, input: 2, hidden: 3 }, true),
        (Shape { t: 1, n: 2, input: 2, hidden: 2 }, false),
    ];
    for (i, (s, masked)) in cases.into_iter().enumerate() {
        let c = Case::new(s, 100 * i as u64, masked);
        let (_, dxs, g) = c.run(&Cpu);
        assert_eq!(dxs.dims(), [s.t, s.n, s.input]);
        let what = |p: &str| format!("{p} {s:?} masked={masked}");
        let [w_ih, w_hh, b_ih, b_hh] = c.weights();
        check_fd(&what("dxs"), &c.xs, &read(&dxs), false, &|x| c.loss(c.weights(), x));
        check_fd(&what("dW_ih"), w_ih, &read(&g.dw_ih), false, &|w| c.loss([w, w_hh, b_ih, b_hh], &c.xs));
        check_fd(&what("dW_hh"), w_hh, &read(&g.dw_hh), false, &|w| c.loss([w_ih, w, b_ih, b_hh], &c.xs));
        check_fd(&what("db_ih"), b_ih, &read(&g.db_ih), false, &|w| c.loss([w_ih, w_hh, w, b_hh], &c.xs));
        check_fd(&what("db_hh"), b_hh, &read(&g.db_hh), false, &|w| c.loss([w_ih, w_hh, b_ih, w], &c.xs));
    }
}

/// PyTorch's `nn.GRU` equations (torch.nn.GRU docs), in f64, for one row:
/// W_ih = [W_ir; W_iz; W_in], W_hh = [W_hr; W_hz; W_hn], likewise the biases;
/// r = σ(W_ir x + b_ir + W_hr h + b_hr), z = σ(W_iz x + b_iz + W_hz h + b_hz),
/// n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), h' = (1 − z) ⊙ n + z ⊙ h.
fn torch_gru_step(c: &Case, x: &[f32], h: &[f64]) -> Vec<f64> {
    let (input, hid) = (c.s.input, c.s.hidden);
    let sig = |v: f64| 1.0 / (1.0 + (-v).exp());
    let wx = |gate: usize, j: usize| -> f64 {
        let row = gate * hid + j;
        (0..input).map(|k| c.w_ih[row * input + k] as f64 * x[k] as f64).sum::<f64>() + c.b_ih[row] as f64
    };
    let wh = |gate: usize, j: usize| -> f64 {
        let row = gate * hid + j;
        (0..hid).map(|k| c.w_hh[row * hid + k] as f64 * h[k]).sum::<f64>() + c.b_hh[row] as f64
    };
    (0..hid)
        .map(|j| {
            let r = sig(wx(0, j) + wh(0, j));
            let z = sig(wx(1, j) + wh(1, j));
            let n = (wx(2, j) + r * wh(2, j)).tanh();
            (1.0 - z) * n + z * h[j]
        })
        .collect()
}

/// The layer's forward against [`torch_gru_step`] over three steps (so both
/// h_{−1} = 0, where b_hh's n part is still scaled by r, and a non-zero
/// h_{t−1} are covered), with a left-padded row.
#[test]
fn forward_matches_pytorch_equations() {
    let s = Shape { t: 3, n: 2, input: 3, hidden: 2 };
    let c = Case::new(s, 42, true);
    let (hs, _, _) = c.run(&Cpu);
    let mask = c.masks.as_ref().unwrap();
    let tol = Tol { abs: 1e-6, rel: 1e-5 };
    for row in 0..s.n {
        let mut h = vec![0f64; s.hidden];
        for (t, ht) in hs.iter().enumerate() {
            let x = &c.xs[(t * s.n + row) * s.input..(t * s.n + row + 1) * s.input];
            if mask[t * s.n + row] != 0.0 {
                h = torch_gru_step(&c, x, &h);
            }
            let got = &read(ht)[row * s.hidden..(row + 1) * s.hidden];
            let want: Vec<f32> = h.iter().map(|&v| v as f32).collect();
            assert_close(&format!("h[{t}] row {row}"), got, &want, tol);
        }
    }
}

/// A padded position carries the state through unchanged, and the input
/// there gets no gradient.
#[test]
fn padding_carries_the_state() {
    let s = Shape { t: 3, n: 3, input: 2, hidden: 2 };
    let c = Case::new(s, 7, true);
    let (hs, dxs, _) = c.run(&Cpu);
    let (h0, h2) = (read(&hs[0]), read(&hs[2]));
    let h1 = read(&hs[1]);
    // Row 1 is padded at step 0: its state is still zero.
    assert_eq!(h0[2..4], [0.0, 0.0]);
    // The last row is padded at the last step: h_2 = h_1 there.
    assert_eq!(h2[4..6], h1[4..6]);
    let dx = read(&dxs);
    let row = |t: usize, r: usize| &dx[(t * s.n + r) * s.input..(t * s.n + r + 1) * s.input];
    assert!(row(0, 1).iter().chain(row(2, 2)).all(|&v| v == 0.0), "padded inputs get no gradient");
    assert!(row(1, 1).iter().any(|&v| v != 0.0), "real inputs do");
}

#[test]
fn backward_without_step_gradients() {
    // Only dh_last: the same as passing zero dhs.
    let s = Shape { t: 3, n: 2, input: 2, hidden: 3 };
    let c = Case::new(s, 11, true);
    let gru = c.layer(&Cpu, c.weights());
    let xs = Cpu.tensor(&c.xs, &[s.t, s.n, s.input]).unwrap();
    let masks = Cpu.tensor(c.masks.as_ref().unwrap(), &[s.t, s.n]).unwrap();
    let (_, saved) = gru.forward(&Cpu, &xs, Some(&masks));
    let dh = Cpu.tensor(&c.rh, &[s.n, s.hidden]).unwrap();
    let zeros: Vec<_> = (0..s.t).map(|_| Cpu.zeros(&[s.n, s.hidden])).collect();
    let (a, ga) = gru.backward(&Cpu, &saved, None, Some(&dh));
    let (b, gb) = gru.backward(&Cpu, &saved, Some(&zeros), Some(&dh));
    assert_eq!(read(&a), read(&b));
    assert_eq!(read(&ga.dw_ih), read(&gb.dw_ih));
    assert_eq!(read(&ga.dw_hh), read(&gb.dw_hh));
    assert_eq!(read(&ga.db_ih), read(&gb.db_ih));
    assert_eq!(read(&ga.db_hh), read(&gb.db_hh));
}

#[test]
fn shapes_and_parameter_order() {
    let mut gru = Gru::new(&Cpu, 5, 4, 3).unwrap();
    assert_eq!((gru.input_size(), gru.hidden_size()), (5, 4));
    let dims: Vec<Vec<usize>> = gru.parameters().iter().map(|p| p.dims().to_vec()).collect();
    assert_eq!(dims, [vec![12, 5], vec![12, 4], vec![12], vec![12]]);
    assert_eq!(gru.parameters_mut().len(), 4);
    // U(−1/√h, 1/√h), and the two biases drawn from different seeds.
    let k = 0.5;
    let values: Vec<Vec<f32>> = gru.parameters().iter().map(|p| read(p)).collect();
    assert!(values.iter().flatten().all(|v| v.abs() <= k), "init within ±1/√h");
    assert_ne!(values[2], values[3], "b_ih and b_hh are drawn separately");
    let again = Gru::new(&Cpu, 5, 4, 3).unwrap();
    assert_eq!(read(&again.w_hh.value), values[1], "seeded");
}

/// Shapes for the GPU: 1s, primes, and widths past a 64-wide workgroup.
const GPU_SHAPES: &[(Shape, bool)] = &[
    (Shape { t: 1, n: 1, input: 1, hidden: 1 }, false),
    (Shape { t: 3, n: 7, input: 5, hidden: 13 }, true),
    (Shape { t: 4, n: 2, input: 13, hidden: 3 }, false),
    (Shape { t: 2, n: 65, input: 3, hidden: 17 }, true),
];

#[test]
fn gru_layer_matches_cpu() {
    let Some(gpu) = common::gpu() else { return };
    for (i, &(s, masked)) in GPU_SHAPES.iter().enumerate() {
        let c = Case::new(s, 1000 + i as u64, masked);
        let (chs, cdx, cg) = c.run(&Cpu);
        let (ghs, gdx, gg) = c.run(&gpu);
        let what = |p: &str| format!("{p} {s:?} masked={masked}");
        for (t, (g, w)) in ghs.iter().zip(&chs).enumerate() {
            check(&what(&format!("h[{t}]")), &gpu, g, w, SUMS);
        }
        check(&what("dxs"), &gpu, &gdx, &cdx, SUMS);
        check(&what("dW_ih"), &gpu, &gg.dw_ih, &cg.dw_ih, SUMS);
        check(&what("dW_hh"), &gpu, &gg.dw_hh, &cg.dw_hh, SUMS);
        check(&what("db_ih"), &gpu, &gg.db_ih, &cg.db_ih, SUMS);
        check(&what("db_hh"), &gpu, &gg.db_hh, &cg.db_hh, SUMS);
    }
}

#[test]
fn gru_layer_gpu_is_deterministic() {
    let Some(gpu) = common::gpu() else { return };
    let c = Case::new(GPU_SHAPES[1].0, 77, true);
    let bits = || {
        let (hs, dx, g) = c.run(&gpu);
        let mut out: Vec<u32> = hs.iter().flat_map(|h| gpu.read(h).unwrap()).map(f32::to_bits).collect();
        for t in [&dx, &g.dw_ih, &g.dw_hh, &g.db_ih, &g.db_hh] {
            out.extend(gpu.read(t).unwrap().into_iter().map(f32::to_bits));
        }
        out
    };
    assert_eq!(bits(), bits());
}

// ---- learning ----------------------------------------------------------

/// A batch of ±1 sequences of lengths 2..=t, right-padded with zeros; the
/// label is whether the first element is +1. Returns (xs [t, n, 1], masks [t, n], labels [n]).
fn recall_batch(seed: u64, t: usize, n: usize) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let bits = rand_ints(seed, t * n, 2);
    let lens = rand_ints(seed + 1, n, t as u32 - 1);
    let mut xs = vec![0.0; t * n];
    let mut masks = vec![0.0; t * n];
    for r in 0..n {
        for k in 0..(lens[r] as usize + 2) {
            xs[k * n + r] = if bits[k * n + r] == 1 { 1.0 } else { -1.0 };
            masks[k * n + r] = 1.0;
        }
    }
    let labels = (0..n).map(|r| (xs[r] > 0.0) as u32 as f32).collect();
    (xs, masks, labels)
}

/// Adam steps of the recall task (as for the LSTM, with a wide margin over
/// what the CPU needs).
const RECALL_STEPS: usize = 100;

/// Trains a GRU + linear readout on [`recall_batch`] with BCE and Adam;
/// returns the accuracy on a fresh batch.
fn learn_to_recall<B: Backend>(b: &B, steps: usize) -> f32 {
    let (t, n, hidden) = (6, 64, 8);
    let mut gru = Gru::new(b, 1, hidden, 5).unwrap();
    let mut w_out = Param::new(b, &rand_vec(6, hidden), &[1, hidden]).unwrap();
    let mut b_out = Param::zeros(b, &[1]);
    let mut opt = Adam::new(AdamConfig { lr: 0.03, ..AdamConfig::default() });
    let forward = |gru: &Gru<B>, w_out: &Param<B>, b_out: &Param<B>, seed: u64| {
        let (xs, masks, labels) = recall_batch(seed, t, n);
        let (_, saved): (_, GruSaved<B>) =
            gru.forward(b, &b.tensor(&xs, &[t, n, 1]).unwrap(), Some(&b.tensor(&masks, &[t, n]).unwrap()));
        let logits = b.matmul(saved.h_last(), &w_out.value, false, true, Some(&b_out.value), Act::Identity);
        (saved, logits, labels)
    };
    for step in 0..steps {
        let (saved, logits, labels) = forward(&gru, &w_out, &b_out, 1000 + step as u64);
        let (_, dlogits) = b.bce_with_logits(&logits, &b.tensor(&labels, &[n, 1]).unwrap());
        let dw_out = b.matmul(&dlogits, saved.h_last(), true, false, None, Act::Identity);
        let db_out = b.reduce_cols(&dlogits, Reduce::Sum);
        let dh_last = b.matmul(&dlogits, &w_out.value, false, false, None, Act::Identity);
        let (_, grads) = gru.backward(b, &saved, None, Some(&dh_last));
        opt.next_step();
        gru.update(b, &grads, &opt);
        w_out.update(b, &dw_out, &opt);
        b_out.update(b, &db_out, &opt);
    }
    let (_, logits, labels) = forward(&gru, &w_out, &b_out, 7);
    let logits = b.read(&logits).unwrap();
    let right = logits.iter().zip(&labels).filter(|(&z, &y)| (z > 0.0) == (y > 0.5)).count();
    right as f32 / n as f32
}

/// Recalling the first element across up to five later steps (and padding)
/// needs the update gate to hold the state: a readout of the last input
/// alone is at chance.
#[test]
fn gru_learns_to_recall_the_first_element() {
    let started = std::time::Instant::now();
    let acc = learn_to_recall(&Cpu, RECALL_STEPS);
    eprintln!("recall accuracy {acc} in {:?}", started.elapsed());
    assert!(acc >= 0.95, "accuracy {acc} < 0.95");
}

/// The same training on the GPU: nothing is read back until the evaluation.
#[test]
fn gru_learns_to_recall_the_first_element_on_gpu() {
    let Some(gpu) = common::gpu() else { return };
    let started = std::time::Instant::now();
    let acc = learn_to_recall(&gpu, RECALL_STEPS);
    eprintln!("recall accuracy on {} {acc} in {:?}", gpu.describe(), started.elapsed());
    assert!(acc >= 0.95, "accuracy {acc} < 0.95");
}
