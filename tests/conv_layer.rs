//! The `Conv2d`, `Conv1d` and `MaxPool2d` layers: backward passes against
//! central finite differences (CPU), a Caser-shaped stack (horizontal h×d
//! filters max-pooled over time, vertical L×1 filters) on GPU against CPU,
//! and GPU determinism.

mod common;

use common::*;
use gpurec::backend::Shaped;
use gpurec::layers::conv::{Conv1d, Conv2d, ConvGrads, MaxPool2d};
use gpurec::{Backend, Cpu};

// Gradients are checked with `common::check_fd` (step EPS = 1e-2). Convolutions
// are linear, so the only error is f32 rounding of the forward; through
// max-pooling the step must also not move a window's argmax (the seeds below
// keep window gaps wide).

type C = <Cpu as Backend>::Tensor;

fn read(t: &C) -> Vec<f32> {
    Cpu.read(t).unwrap()
}

/// One 2-D layer case: x `[n, c_in, h, w]`, weight `[c_out, c_in, kh, kw]`.
#[derive(Clone, Copy, Debug)]
struct Case2 {
    x: [usize; 4],
    w: [usize; 4],
    stride: (usize, usize),
    padding: (usize, usize),
}

fn conv2d<B: Backend>(b: &B, c: &Case2, w: &[f32], bias: &[f32]) -> Conv2d<B> {
    Conv2d::from_weights(b, w, bias, c.w, c.stride, c.padding).unwrap()
}

#[test]
fn conv2d_backward_matches_finite_differences() {
    let cases = [
        Case2 { x: [2, 2, 5, 4], w: [3, 2, 3, 2], stride: (1, 2), padding: (1, 0) },
        // Caser horizontal (h × d) and vertical (L × 1) filters over an L × d image.
        Case2 { x: [2, 1, 5, 4], w: [3, 1, 2, 4], stride: (1, 1), padding: (0, 0) },
        Case2 { x: [2, 1, 5, 4], w: [2, 1, 5, 1], stride: (1, 1), padding: (0, 0) },
        Case2 { x: [1, 1, 1, 1], w: [1, 1, 1, 1], stride: (1, 1), padding: (0, 0) },
    ];
    for (i, c) in cases.iter().enumerate() {
        let seed = 10 * i as u64;
        let xd = rand_vec(seed, c.x.iter().product());
        let wd = rand_vec(seed + 1, c.w.iter().product());
        let bd = rand_vec(seed + 2, c.w[0]);
        let layer = conv2d(&Cpu, c, &wd, &bd);
        let x = Cpu.tensor(&xd, &c.x).unwrap();
        let y = layer.forward(&Cpu, &x);
        let r = rand_vec(seed + 3, y.numel());
        let (dx, ConvGrads { dw, db }) = layer.backward(&Cpu, &x, &Cpu.tensor(&r, y.dims()).unwrap());
        assert_eq!((dx.dims(), dw.dims(), db.dims()), (&c.x[..], &c.w[..], &c.w[..1]), "{c:?}");
        let loss = |xd: &[f32], wd: &[f32], bd: &[f32]| {
            dot(&read(&conv2d(&Cpu, c, wd, bd).forward(&Cpu, &Cpu.tensor(xd, &c.x).unwrap())), &r)
        };
        let what = |p: &str| format!("{p} {c:?}");
        check_fd(&what("dx"), &xd, &read(&dx), false, &|v| loss(v, &wd, &bd));
        check_fd(&what("dW"), &wd, &read(&dw), false, &|v| loss(&xd, v, &bd));
        check_fd(&what("db"), &bd, &read(&db), false, &|v| loss(&xd, &wd, v));
    }
}

#[test]
fn conv1d_backward_matches_finite_differences() {
    // (x [n, c_in, l], weight [c_out, c_in, k], stride, padding)
    for (i, (xs, ws, s, p)) in [([2, 3, 7], [2, 3, 3], 2, 1), ([1, 1, 5], [3, 1, 5], 1, 0)].into_iter().enumerate() {
        let seed = 500 + 10 * i as u64;
        let xd = rand_vec(seed, xs.iter().product());
        let wd = rand_vec(seed + 1, ws.iter().product());
        let bd = rand_vec(seed + 2, ws[0]);
        let make = |wd: &[f32], bd: &[f32]| Conv1d::from_weights(&Cpu, wd, bd, ws, s, p).unwrap();
        let x = Cpu.tensor(&xd, &xs).unwrap();
        let y = make(&wd, &bd).forward(&Cpu, &x);
        let r = rand_vec(seed + 3, y.numel());
        let (dx, g) = make(&wd, &bd).backward(&Cpu, &x, &Cpu.tensor(&r, y.dims()).unwrap());
        let loss = |xd: &[f32], wd: &[f32], bd: &[f32]| {
            dot(&read(&make(wd, bd).forward(&Cpu, &Cpu.tensor(xd, &xs).unwrap())), &r)
        };
        let what = |q: &str| format!("{q} x={xs:?} w={ws:?} s={s} p={p}");
        check_fd(&what("dx"), &xd, &read(&dx), false, &|v| loss(v, &wd, &bd));
        check_fd(&what("dW"), &wd, &read(&g.dw), false, &|v| loss(&xd, v, &bd));
        check_fd(&what("db"), &bd, &read(&g.db), false, &|v| loss(&xd, &wd, v));
    }
}

// ---- a Caser-shaped stack ------------------------------------------------

/// Caser's convolutional part over an embedding image `[n, 1, L, d]`:
/// horizontal filters of height `hz` and full width, max-pooled over the
/// `L − hz + 1` positions, and vertical `L × 1` filters.
#[derive(Clone, Copy, Debug)]
struct Caser {
    n: usize,
    l: usize,
    d: usize,
    hz: usize,
    c_h: usize,
    c_v: usize,
}

/// Seeded parameters and loss weights of a [`Caser`] case.
struct CaserData {
    x: Vec<f32>,
    wh: Vec<f32>,
    bh: Vec<f32>,
    wv: Vec<f32>,
    bv: Vec<f32>,
    rh: Vec<f32>,
    rv: Vec<f32>,
}

/// Every output and gradient of one forward and backward.
struct CaserOut<B: Backend> {
    pooled: B::Tensor,
    vertical: B::Tensor,
    dx: B::Tensor,
    horizontal: ConvGrads<B>,
    vert: ConvGrads<B>,
}

impl Caser {
    fn data(&self, seed: u64) -> CaserData {
        let (n, l, d) = (self.n, self.l, self.d);
        CaserData {
            x: rand_vec(seed, n * l * d),
            wh: rand_vec(seed + 1, self.c_h * self.hz * d),
            bh: rand_vec(seed + 2, self.c_h),
            wv: rand_vec(seed + 3, self.c_v * l),
            bv: rand_vec(seed + 4, self.c_v),
            rh: rand_vec(seed + 5, n * self.c_h),
            rv: rand_vec(seed + 6, n * self.c_v * d),
        }
    }

    fn layers<B: Backend>(&self, b: &B, p: &CaserData) -> (Conv2d<B>, MaxPool2d, Conv2d<B>) {
        let horizontal = Conv2d::from_weights(b, &p.wh, &p.bh, [self.c_h, 1, self.hz, self.d], (1, 1), (0, 0));
        let vertical = Conv2d::from_weights(b, &p.wv, &p.bv, [self.c_v, 1, self.l, 1], (1, 1), (0, 0));
        (horizontal.unwrap(), MaxPool2d::new((self.l - self.hz + 1, 1)), vertical.unwrap())
    }

    /// Forward, and backward of `L = Σ pooled·rh + Σ vertical·rv`.
    fn run<B: Backend>(&self, b: &B, p: &CaserData) -> CaserOut<B> {
        let (conv_h, pool, conv_v) = self.layers(b, p);
        let x = b.tensor(&p.x, &[self.n, 1, self.l, self.d]).unwrap();
        let h = conv_h.forward(b, &x);
        assert_eq!(h.dims(), [self.n, self.c_h, self.l - self.hz + 1, 1]);
        let (pooled, saved) = pool.forward(b, &h);
        assert_eq!(pooled.dims(), [self.n, self.c_h, 1, 1]);
        let vertical = conv_v.forward(b, &x);
        assert_eq!(vertical.dims(), [self.n, self.c_v, 1, self.d]);

        let dpooled = b.tensor(&p.rh, pooled.dims()).unwrap();
        let dh = pool.backward(b, &saved, &dpooled);
        let (dx_h, horizontal) = conv_h.backward(b, &x, &dh);
        let (dx_v, vert) = conv_v.backward(b, &x, &b.tensor(&p.rv, vertical.dims()).unwrap());
        let dx = b.binary(gpurec::BinaryOp::Add, &dx_h, &dx_v);
        CaserOut { pooled, vertical, dx, horizontal, vert }
    }

    fn loss(&self, p: &CaserData) -> f64 {
        let out = self.run(&Cpu, p);
        dot(&read(&out.pooled), &p.rh) + dot(&read(&out.vertical), &p.rv)
    }
}

#[test]
fn caser_stack_backward_matches_finite_differences() {
    let s = Caser { n: 2, l: 5, d: 4, hz: 2, c_h: 3, c_v: 2 };
    let p = s.data(42);
    let out = s.run(&Cpu, &p);
    type Field = fn(&mut CaserData) -> &mut Vec<f32>;
    let fields: [(&str, Field, Vec<f32>); 5] = [
        ("dx", |p| &mut p.x, read(&out.dx)),
        ("dW horizontal", |p| &mut p.wh, read(&out.horizontal.dw)),
        ("db horizontal", |p| &mut p.bh, read(&out.horizontal.db)),
        ("dW vertical", |p| &mut p.wv, read(&out.vert.dw)),
        ("db vertical", |p| &mut p.bv, read(&out.vert.db)),
    ];
    for (what, field, analytic) in fields {
        let mut q = s.data(42);
        let at = field(&mut q).clone();
        check_fd(&format!("{what} {s:?}"), &at, &analytic, false, &|v| {
            let mut q = s.data(42);
            *field(&mut q) = v.to_vec();
            s.loss(&q)
        });
    }
}

/// Caser shapes with 1s and primes; the last has n·c·L·d past 256.
const CASER_SHAPES: &[Caser] = &[
    Caser { n: 1, l: 1, d: 1, hz: 1, c_h: 1, c_v: 1 },
    Caser { n: 3, l: 5, d: 13, hz: 3, c_h: 4, c_v: 2 },
    Caser { n: 7, l: 5, d: 8, hz: 1, c_h: 16, c_v: 4 },
    Caser { n: 2, l: 9, d: 17, hz: 4, c_h: 3, c_v: 5 },
];

#[test]
fn caser_stack_matches_cpu() {
    let Some(gpu) = common::gpu() else { return };
    for (i, s) in CASER_SHAPES.iter().enumerate() {
        let p = s.data(900 + i as u64);
        let (want, got) = (s.run(&Cpu, &p), s.run(&gpu, &p));
        let what = |q: &str| format!("{q} {s:?}");
        check(&what("pooled"), &gpu, &got.pooled, &want.pooled, SUMS);
        check(&what("vertical"), &gpu, &got.vertical, &want.vertical, SUMS);
        check(&what("dx"), &gpu, &got.dx, &want.dx, SUMS);
        check(&what("dW horizontal"), &gpu, &got.horizontal.dw, &want.horizontal.dw, SUMS);
        check(&what("db horizontal"), &gpu, &got.horizontal.db, &want.horizontal.db, SUMS);
        check(&what("dW vertical"), &gpu, &got.vert.dw, &want.vert.dw, SUMS);
        check(&what("db vertical"), &gpu, &got.vert.db, &want.vert.db, SUMS);
    }
}

#[test]
fn conv_layers_match_cpu() {
    let Some(gpu) = common::gpu() else { return };
    let c = Case2 { x: [2, 3, 7, 5], w: [5, 3, 3, 2], stride: (2, 1), padding: (1, 1) };
    let (xd, wd, bd) = (rand_vec(1, c.x.iter().product()), rand_vec(2, c.w.iter().product()), rand_vec(3, 5));
    let (cl, gl) = (conv2d(&Cpu, &c, &wd, &bd), conv2d(&gpu, &c, &wd, &bd));
    let (cx, gx) = both(&gpu, &xd, &c.x);
    let cy = cl.forward(&Cpu, &cx);
    check("conv2d forward", &gpu, &gl.forward(&gpu, &gx), &cy, SUMS);
    let (cdy, gdy) = both(&gpu, &rand_vec(4, cy.numel()), cy.dims());
    let ((cdx, cg), (gdx, gg)) = (cl.backward(&Cpu, &cx, &cdy), gl.backward(&gpu, &gx, &gdy));
    check("conv2d dx", &gpu, &gdx, &cdx, SUMS);
    check("conv2d dW", &gpu, &gg.dw, &cg.dw, SUMS);
    check("conv2d db", &gpu, &gg.db, &cg.db, SUMS);

    let (xs, ws) = ([2, 3, 13], [7, 3, 4]);
    let (xd, wd, bd) = (rand_vec(5, 78), rand_vec(6, 84), rand_vec(7, 7));
    let cl = Conv1d::from_weights(&Cpu, &wd, &bd, ws, 2, 1).unwrap();
    let gl = Conv1d::from_weights(&gpu, &wd, &bd, ws, 2, 1).unwrap();
    let (cx, gx) = both(&gpu, &xd, &xs);
    let cy = cl.forward(&Cpu, &cx);
    check("conv1d forward", &gpu, &gl.forward(&gpu, &gx), &cy, SUMS);
    let (cdy, gdy) = both(&gpu, &rand_vec(8, cy.numel()), cy.dims());
    let ((cdx, cg), (gdx, gg)) = (cl.backward(&Cpu, &cx, &cdy), gl.backward(&gpu, &gx, &gdy));
    check("conv1d dx", &gpu, &gdx, &cdx, SUMS);
    check("conv1d dW", &gpu, &gg.dw, &cg.dw, SUMS);
    check("conv1d db", &gpu, &gg.db, &cg.db, SUMS);
}

#[test]
fn caser_stack_gpu_is_deterministic() {
    let Some(gpu) = common::gpu() else { return };
    let s = CASER_SHAPES[3];
    let p = s.data(3);
    let bits = || {
        let o = s.run(&gpu, &p);
        [&o.pooled, &o.vertical, &o.dx, &o.horizontal.dw, &o.horizontal.db, &o.vert.dw, &o.vert.db]
            .iter()
            .flat_map(|t| gpu.read(t).unwrap())
            .map(f32::to_bits)
            .collect::<Vec<_>>()
    };
    assert_eq!(bits(), bits());
}

#[test]
fn layer_init_is_seeded_and_bounded() {
    let a = Conv2d::new(&Cpu, 2, 3, (3, 4), (1, 1), (0, 0), 9).unwrap();
    let b = Conv2d::new(&Cpu, 2, 3, (3, 4), (1, 1), (0, 0), 9).unwrap();
    let bound = 1.0 / (2.0f32 * 12.0).sqrt();
    for (pa, pb) in a.parameters().into_iter().zip(b.parameters()) {
        let (va, vb) = (read(pa), read(pb));
        assert_eq!(va, vb);
        assert!(va.iter().all(|v| v.abs() <= bound), "PyTorch's bound 1/√fan_in");
    }
    assert_eq!(a.weight.dims(), [3, 2, 3, 4]);
}
