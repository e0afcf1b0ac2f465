//! Convolution and max-pooling: GPU/CPU parity, finite-difference gradient
//! checks of the CPU reference, and hand-computed cases.

mod common;

use common::{assert_close, both, check, rand_vec, Tol, SUMS};
use gpurec::backend::Shaped;
use gpurec::{Backend, Cpu};

type T = <Cpu as Backend>::Tensor;

// ---- parity ------------------------------------------------------------

/// One 2-D convolution case: (n, c_in, c_out, h, w, kh, kw, stride, padding).
#[derive(Clone, Copy, Debug)]
struct Case2 {
    n: usize,
    ci: usize,
    co: usize,
    h: usize,
    w: usize,
    kh: usize,
    kw: usize,
    s: (usize, usize),
    p: (usize, usize),
}

#[allow(clippy::too_many_arguments)]
const fn c2(
    n: usize,
    ci: usize,
    co: usize,
    h: usize,
    w: usize,
    kh: usize,
    kw: usize,
    s: (usize, usize),
    p: (usize, usize),
) -> Case2 {
    Case2 { n, ci, co, h, w, kh, kw, s, p }
}

const CASES_2D: &[Case2] = &[
    c2(1, 1, 1, 1, 1, 1, 1, (1, 1), (0, 0)),
    c2(2, 3, 4, 5, 7, 3, 2, (1, 2), (1, 0)),
    c2(2, 2, 3, 6, 6, 3, 3, (2, 2), (1, 1)),
    // Caser horizontal filters: kernels h × d over an L × d image.
    c2(3, 1, 4, 10, 16, 3, 16, (1, 1), (0, 0)),
    // Caser vertical filters: L × 1.
    c2(2, 1, 4, 5, 13, 5, 1, (1, 1), (0, 0)),
    // n·c_out·ho·wo = 257 and n·c_in·h·w = 257: one element past a workgroup.
    c2(1, 1, 1, 1, 257, 1, 1, (1, 1), (0, 0)),
    c2(1, 257, 1, 1, 1, 1, 1, (1, 1), (0, 0)),
    // Kernel wider than the input, covered by padding; stride past the kernel.
    c2(2, 2, 3, 2, 3, 5, 4, (1, 1), (2, 2)),
    c2(1, 3, 2, 13, 11, 2, 3, (5, 3), (0, 1)),
    // Empty batch and no output channels.
    c2(0, 2, 3, 4, 4, 2, 2, (1, 1), (1, 1)),
    c2(2, 2, 0, 4, 4, 2, 2, (1, 1), (0, 0)),
];

/// One 1-D convolution case: (n, c_in, c_out, l, k, stride, padding).
const CASES_1D: &[(usize, usize, usize, usize, usize, usize, usize)] = &[
    (1, 1, 1, 1, 1, 1, 0),
    (2, 3, 5, 7, 3, 1, 1),
    (3, 2, 7, 13, 4, 2, 2),
    (1, 1, 1, 257, 1, 1, 0),
    (1, 1, 257, 1, 1, 1, 0),
    (2, 13, 3, 11, 5, 3, 0),
    (2, 2, 2, 2, 5, 1, 2),
    (1, 2, 3, 13, 2, 5, 0),
    (0, 2, 3, 5, 3, 1, 1),
];

fn out_len(l: usize, k: usize, s: usize, p: usize) -> usize {
    (l + 2 * p - k) / s + 1
}

#[test]
fn conv2d_parity() {
    let gpu = common::gpu();
    for (ci, c) in CASES_2D.iter().enumerate() {
        let seed = 100 * ci as u64;
        let (ho, wo) = (out_len(c.h, c.kh, c.s.0, c.p.0), out_len(c.w, c.kw, c.s.1, c.p.1));
        let xs = [c.n, c.ci, c.h, c.w];
        let ws = [c.co, c.ci, c.kh, c.kw];
        let ys = [c.n, c.co, ho, wo];
        let xd = rand_vec(seed, xs.iter().product());
        let wd = rand_vec(seed + 1, ws.iter().product());
        let bd = rand_vec(seed + 2, c.co);
        let dyd = rand_vec(seed + 3, ys.iter().product());
        let cx = Cpu.tensor(&xd, &xs).unwrap();
        let cw = Cpu.tensor(&wd, &ws).unwrap();
        let cb = Cpu.tensor(&bd, &[c.co]).unwrap();
        let cdy = Cpu.tensor(&dyd, &ys).unwrap();
        let y = Cpu.conv2d(&cx, &cw, Some(&cb), c.s, c.p);
        let y0 = Cpu.conv2d(&cx, &cw, None, c.s, c.p);
        let dx = Cpu.conv2d_backward_input(&cdy, &cw, (c.h, c.w), c.s, c.p);
        let (dw, db) = Cpu.conv2d_backward_weight(&cx, &cdy, (c.kh, c.kw), c.s, c.p);
        assert_eq!(y.dims(), ys, "{c:?}");
        assert_eq!(dx.dims(), xs, "{c:?}");
        assert_eq!(dw.dims(), ws, "{c:?}");
        assert_eq!(db.dims(), [c.co], "{c:?}");
        let Some(gpu) = &gpu else { continue };
        let (_, gx) = both(gpu, &xd, &xs);
        let (_, gw) = both(gpu, &wd, &ws);
        let (_, gb) = both(gpu, &bd, &[c.co]);
        let (_, gdy) = both(gpu, &dyd, &ys);
        let what = |op: &str| format!("{op} {c:?}");
        check(&what("conv2d"), gpu, &gpu.conv2d(&gx, &gw, Some(&gb), c.s, c.p), &y, SUMS);
        check(&what("conv2d no bias"), gpu, &gpu.conv2d(&gx, &gw, None, c.s, c.p), &y0, SUMS);
        let gdx = gpu.conv2d_backward_input(&gdy, &gw, (c.h, c.w), c.s, c.p);
        check(&what("conv2d_backward_input"), gpu, &gdx, &dx, SUMS);
        let (gdw, gdb) = gpu.conv2d_backward_weight(&gx, &gdy, (c.kh, c.kw), c.s, c.p);
        check(&what("conv2d_backward_weight dw"), gpu, &gdw, &dw, SUMS);
        check(&what("conv2d_backward_weight db"), gpu, &gdb, &db, SUMS);
    }
}

#[test]
fn conv1d_parity() {
    let gpu = common::gpu();
    for (ci_, &(n, ci, co, l, k, s, p)) in CASES_1D.iter().enumerate() {
        let case = (n, ci, co, l, k, s, p);
        let seed = 7000 + 100 * ci_ as u64;
        let lo = out_len(l, k, s, p);
        let (xs, ws, ys) = ([n, ci, l], [co, ci, k], [n, co, lo]);
        let xd = rand_vec(seed, xs.iter().product());
        let wd = rand_vec(seed + 1, ws.iter().product());
        let bd = rand_vec(seed + 2, co);
        let dyd = rand_vec(seed + 3, ys.iter().product());
        let cx = Cpu.tensor(&xd, &xs).unwrap();
        let cw = Cpu.tensor(&wd, &ws).unwrap();
        let cb = Cpu.tensor(&bd, &[co]).unwrap();
        let cdy = Cpu.tensor(&dyd, &ys).unwrap();
        let y = Cpu.conv1d(&cx, &cw, Some(&cb), s, p);
        let y0 = Cpu.conv1d(&cx, &cw, None, s, p);
        let dx = Cpu.conv1d_backward_input(&cdy, &cw, l, s, p);
        let (dw, db) = Cpu.conv1d_backward_weight(&cx, &cdy, k, s, p);
        assert_eq!(y.dims(), ys, "{case:?}");
        assert_eq!(dx.dims(), xs, "{case:?}");
        assert_eq!(dw.dims(), ws, "{case:?}");
        assert_eq!(db.dims(), [co], "{case:?}");
        // conv1d is conv2d over h = 1.
        let as4 = |t: &T, s: &[usize]| Cpu.reshape(t, &[s[0], s[1], 1, s[2]]);
        let y2 = Cpu.conv2d(&as4(&cx, &xs), &as4(&cw, &ws), Some(&cb), (1, s), (0, p));
        assert_eq!(Cpu.read(&y).unwrap(), Cpu.read(&y2).unwrap(), "conv1d vs conv2d {case:?}");
        let Some(gpu) = &gpu else { continue };
        let (_, gx) = both(gpu, &xd, &xs);
        let (_, gw) = both(gpu, &wd, &ws);
        let (_, gb) = both(gpu, &bd, &[co]);
        let (_, gdy) = both(gpu, &dyd, &ys);
        let what = |op: &str| format!("{op} {case:?}");
        check(&what("conv1d"), gpu, &gpu.conv1d(&gx, &gw, Some(&gb), s, p), &y, SUMS);
        check(&what("conv1d no bias"), gpu, &gpu.conv1d(&gx, &gw, None, s, p), &y0, SUMS);
        check(&what("conv1d_backward_input"), gpu, &gpu.conv1d_backward_input(&gdy, &gw, l, s, p), &dx, SUMS);
        let (gdw, gdb) = gpu.conv1d_backward_weight(&gx, &gdy, k, s, p);
        check(&what("conv1d_backward_weight dw"), gpu, &gdw, &dw, SUMS);
        check(&what("conv1d_backward_weight db"), gpu, &gdb, &db, SUMS);
    }
}

/// Max-pooling cases: (n, c, h, w, kernel, stride).
type PoolCase = (usize, usize, usize, usize, (usize, usize), (usize, usize));
const CASES_POOL: &[PoolCase] = &[
    (1, 1, 1, 1, (1, 1), (1, 1)),
    (2, 3, 5, 7, (2, 3), (1, 2)),
    (2, 2, 7, 9, (3, 3), (1, 2)),
    (1, 257, 1, 3, (1, 3), (1, 3)),
    (1, 1, 1, 257, (1, 1), (1, 1)),
    // Caser-style max over the whole sequence.
    (4, 8, 1, 10, (1, 10), (1, 1)),
    (3, 2, 13, 5, (13, 2), (2, 5)),
    (0, 3, 4, 4, (2, 2), (2, 2)),
];

#[test]
fn maxpool_parity() {
    let gpu = common::gpu();
    for (ci, &(n, c, h, w, k, s)) in CASES_POOL.iter().enumerate() {
        let case = (n, c, h, w, k, s);
        for ties in [false, true] {
            let seed = 9000 + 10 * ci as u64 + ties as u64;
            let xs = [n, c, h, w];
            let ys = [n, c, (h - k.0) / s.0 + 1, (w - k.1) / s.1 + 1];
            let mut xd = rand_vec(seed, xs.iter().product());
            if ties {
                // Three distinct values: most windows hold ties.
                xd.iter_mut().for_each(|v| *v = (*v * 1.5).round());
            }
            let dyd = rand_vec(seed + 5, ys.iter().product());
            let cx = Cpu.tensor(&xd, &xs).unwrap();
            let cdy = Cpu.tensor(&dyd, &ys).unwrap();
            let (y, arg) = Cpu.maxpool2d(&cx, k, s);
            assert_eq!(y.dims(), ys, "{case:?}");
            let args = Cpu.read_index(&arg).unwrap();
            assert_eq!(args.len(), ys.iter().product::<usize>());
            let dx = Cpu.maxpool2d_backward(&cdy, &arg, &xs, k, s);
            assert_eq!(dx.dims(), xs);
            // Each dy lands once: the gather preserves the total.
            let total: f32 = dyd.iter().sum();
            let got: f32 = Cpu.read(&dx).unwrap().iter().sum();
            assert!((total - got).abs() <= 1e-4 * (1.0 + total.abs()), "{case:?}: Σdx {got} vs Σdy {total}");
            let Some(gpu) = &gpu else { continue };
            let (_, gx) = both(gpu, &xd, &xs);
            let (_, gdy) = both(gpu, &dyd, &ys);
            let (gy, garg) = gpu.maxpool2d(&gx, k, s);
            let what = |op: &str| format!("{op} {case:?} ties={ties}");
            check(&what("maxpool2d"), gpu, &gy, &y, Tol { abs: 0.0, rel: 0.0 });
            assert_eq!(gpu.read_index(&garg).unwrap(), args, "{}", what("maxpool2d argmax"));
            let gdx = gpu.maxpool2d_backward(&gdy, &garg, &xs, k, s);
            check(&what("maxpool2d_backward"), gpu, &gdx, &dx, SUMS);
        }
    }
}

#[test]
fn gpu_is_deterministic() {
    let Some(gpu) = common::gpu() else { return };
    let c = CASES_2D[2];
    let xs = [c.n, c.ci, c.h, c.w];
    let ws = [c.co, c.ci, c.kh, c.kw];
    let x = gpu.tensor(&rand_vec(1, xs.iter().product()), &xs).unwrap();
    let w = gpu.tensor(&rand_vec(2, ws.iter().product()), &ws).unwrap();
    let y1 = gpu.read(&gpu.conv2d(&x, &w, None, c.s, c.p)).unwrap();
    let y2 = gpu.read(&gpu.conv2d(&x, &w, None, c.s, c.p)).unwrap();
    let dy = gpu.conv2d(&x, &w, None, c.s, c.p);
    let (dw1, _) = gpu.conv2d_backward_weight(&x, &dy, (c.kh, c.kw), c.s, c.p);
    let (dw2, _) = gpu.conv2d_backward_weight(&x, &dy, (c.kh, c.kw), c.s, c.p);
    let bits = |v: Vec<f32>| v.into_iter().map(f32::to_bits).collect::<Vec<_>>();
    assert_eq!(bits(y1), bits(y2));
    assert_eq!(bits(gpu.read(&dw1).unwrap()), bits(gpu.read(&dw2).unwrap()));
}

// ---- finite differences ------------------------------------------------

const FD_EPS: f32 = 1e-2;
const FD_TOL: Tol = Tol { abs: 1e-2, rel: 1e-2 };

/// `Σ t · r`, accumulated in f64.
fn weighted_sum(t: &T, r: &[f32]) -> f64 {
    let v = Cpu.read(t).unwrap();
    assert_eq!(v.len(), r.len());
    v.iter().zip(r).map(|(&a, &b)| a as f64 * b as f64).sum()
}

/// Central differences of `loss` with respect to each element of `data`.
fn numeric_grad(data: &[f32], loss: impl Fn(&[f32]) -> f64) -> Vec<f32> {
    let mut d = data.to_vec();
    (0..data.len())
        .map(|i| {
            d[i] = data[i] + FD_EPS;
            let up = loss(&d);
            d[i] = data[i] - FD_EPS;
            let down = loss(&d);
            d[i] = data[i];
            ((up - down) / (2.0 * FD_EPS as f64)) as f32
        })
        .collect()
}

fn fd_conv2d(c: Case2, seed: u64) {
    let (ho, wo) = (out_len(c.h, c.kh, c.s.0, c.p.0), out_len(c.w, c.kw, c.s.1, c.p.1));
    let (xs, ws, ys) = ([c.n, c.ci, c.h, c.w], [c.co, c.ci, c.kh, c.kw], [c.n, c.co, ho, wo]);
    let xd = rand_vec(seed, xs.iter().product());
    let wd = rand_vec(seed + 1, ws.iter().product());
    let bd = rand_vec(seed + 2, c.co);
    let r = rand_vec(seed + 3, ys.iter().product());
    let t = |d: &[f32], s: &[usize]| Cpu.tensor(d, s).unwrap();
    let loss = |x: &[f32], w: &[f32], b: &[f32]| {
        weighted_sum(&Cpu.conv2d(&t(x, &xs), &t(w, &ws), Some(&t(b, &[c.co])), c.s, c.p), &r)
    };
    let dy = t(&r, &ys);
    let dx = Cpu.conv2d_backward_input(&dy, &t(&wd, &ws), (c.h, c.w), c.s, c.p);
    let (dw, db) = Cpu.conv2d_backward_weight(&t(&xd, &xs), &dy, (c.kh, c.kw), c.s, c.p);
    let what = |g: &str| format!("conv2d {g} {c:?}");
    assert_close(&what("dx"), &Cpu.read(&dx).unwrap(), &numeric_grad(&xd, |x| loss(x, &wd, &bd)), FD_TOL);
    assert_close(&what("dw"), &Cpu.read(&dw).unwrap(), &numeric_grad(&wd, |w| loss(&xd, w, &bd)), FD_TOL);
    assert_close(&what("db"), &Cpu.read(&db).unwrap(), &numeric_grad(&bd, |b| loss(&xd, &wd, b)), FD_TOL);
}

#[test]
fn conv2d_gradients_match_finite_differences() {
    fd_conv2d(c2(2, 2, 3, 5, 6, 3, 2, (2, 1), (1, 1)), 11);
    fd_conv2d(c2(1, 3, 2, 4, 4, 2, 2, (1, 1), (0, 0)), 12);
    fd_conv2d(c2(2, 1, 2, 6, 5, 3, 5, (1, 1), (0, 0)), 13);
    fd_conv2d(c2(1, 2, 2, 3, 7, 4, 3, (3, 2), (2, 1)), 14);
}

#[test]
fn conv1d_gradients_match_finite_differences() {
    for (i, &(n, ci, co, l, k, s, p)) in
        [(2, 3, 2, 7, 3, 2, 1), (1, 2, 3, 9, 4, 1, 0), (2, 1, 2, 5, 3, 3, 2)].iter().enumerate()
    {
        let seed = 50 + 10 * i as u64;
        let (xs, ws, ys) = ([n, ci, l], [co, ci, k], [n, co, out_len(l, k, s, p)]);
        let xd = rand_vec(seed, xs.iter().product());
        let wd = rand_vec(seed + 1, ws.iter().product());
        let bd = rand_vec(seed + 2, co);
        let r = rand_vec(seed + 3, ys.iter().product());
        let t = |d: &[f32], s: &[usize]| Cpu.tensor(d, s).unwrap();
        let loss = |x: &[f32], w: &[f32], b: &[f32]| {
            weighted_sum(&Cpu.conv1d(&t(x, &xs), &t(w, &ws), Some(&t(b, &[co])), s, p), &r)
        };
        let dy = t(&r, &ys);
        let dx = Cpu.conv1d_backward_input(&dy, &t(&wd, &ws), l, s, p);
        let (dw, db) = Cpu.conv1d_backward_weight(&t(&xd, &xs), &dy, k, s, p);
        let what = |g: &str| format!("conv1d {g} case {i}");
        assert_close(&what("dx"), &Cpu.read(&dx).unwrap(), &numeric_grad(&xd, |x| loss(x, &wd, &bd)), FD_TOL);
        assert_close(&what("dw"), &Cpu.read(&dw).unwrap(), &numeric_grad(&wd, |w| loss(&xd, w, &bd)), FD_TOL);
        assert_close(&what("db"), &Cpu.read(&db).unwrap(), &numeric_grad(&bd, |b| loss(&xd, &wd, b)), FD_TOL);
    }
}

#[test]
fn maxpool_gradient_matches_finite_differences() {
    for (i, &(n, c, h, w, k, s)) in
        [(2, 2, 5, 7, (2, 3), (1, 2)), (1, 3, 6, 6, (3, 3), (1, 1)), (2, 1, 1, 9, (1, 4), (1, 2))].iter().enumerate()
    {
        let seed = 300 + i as u64;
        let xs = [n, c, h, w];
        let ys = [n, c, (h - k.0) / s.0 + 1, (w - k.1) / s.1 + 1];
        // Distinct values 0.05 apart (more than 2·eps), in random order: no ties,
        // and a perturbation never changes a window's argmax.
        let len: usize = xs.iter().product();
        let keys = rand_vec(seed, len);
        let mut order: Vec<usize> = (0..len).collect();
        order.sort_by(|&a, &b| keys[a].total_cmp(&keys[b]));
        let mut xd = vec![0f32; len];
        for (rank, &pos) in order.iter().enumerate() {
            xd[pos] = rank as f32 * 0.05 - 1.0;
        }
        let r = rand_vec(seed + 1, ys.iter().product());
        let loss = |x: &[f32]| weighted_sum(&Cpu.maxpool2d(&Cpu.tensor(x, &xs).unwrap(), k, s).0, &r);
        let (_, arg) = Cpu.maxpool2d(&Cpu.tensor(&xd, &xs).unwrap(), k, s);
        let dx = Cpu.maxpool2d_backward(&Cpu.tensor(&r, &ys).unwrap(), &arg, &xs, k, s);
        assert_close(&format!("maxpool dx case {i}"), &Cpu.read(&dx).unwrap(), &numeric_grad(&xd, loss), FD_TOL);
    }
}

// ---- hand-computed -----------------------------------------------------

#[test]
fn conv1d_by_hand() {
    // x = [1, 2, 3, 4], w = [2, 1], bias 0.5.
    let x = [1.0, 2.0, 3.0, 4.0];
    let w = [2.0, 1.0];
    let cases: [(usize, usize, &[f32]); 2] = [
        // stride 1, no padding: [2+2, 4+3, 6+4] + 0.5
        (1, 0, &[4.5, 7.5, 10.5]),
        // stride 2, padding 1 over [0, 1, 2, 3, 4, 0]: [0+1, 4+3, 8+0] + 0.5
        (2, 1, &[1.5, 7.5, 8.5]),
    ];
    let gpu = common::gpu();
    for (s, p, want) in cases {
        let y = Cpu.conv1d(
            &Cpu.tensor(&x, &[1, 1, 4]).unwrap(),
            &Cpu.tensor(&w, &[1, 1, 2]).unwrap(),
            Some(&Cpu.tensor(&[0.5], &[1]).unwrap()),
            s,
            p,
        );
        assert_eq!(y.dims(), [1, 1, 3]);
        assert_eq!(Cpu.read(&y).unwrap(), want);
        if let Some(gpu) = &gpu {
            let y = gpu.conv1d(
                &gpu.tensor(&x, &[1, 1, 4]).unwrap(),
                &gpu.tensor(&w, &[1, 1, 2]).unwrap(),
                Some(&gpu.tensor(&[0.5], &[1]).unwrap()),
                s,
                p,
            );
            assert_eq!(gpu.read(&y).unwrap(), want);
        }
    }
    // Backward at stride 2, padding 1 with dy = [1, 10, 100]:
    // dx[v] = Σ dy[i]·w[k] over 2i + k − 1 = v → [1·1, 10·2, 10·1, 100·2];
    // dw[k] = Σ dy[i]·xpad[2i + k] → [10·2 + 100·4, 1·1 + 10·3]; db = 111.
    let dy = [1.0, 10.0, 100.0];
    let dx =
        Cpu.conv1d_backward_input(&Cpu.tensor(&dy, &[1, 1, 3]).unwrap(), &Cpu.tensor(&w, &[1, 1, 2]).unwrap(), 4, 2, 1);
    assert_eq!(Cpu.read(&dx).unwrap(), [1.0, 20.0, 10.0, 200.0]);
    let (dw, db) = Cpu.conv1d_backward_weight(
        &Cpu.tensor(&x, &[1, 1, 4]).unwrap(),
        &Cpu.tensor(&dy, &[1, 1, 3]).unwrap(),
        2,
        2,
        1,
    );
    assert_eq!(dw.dims(), [1, 1, 2]);
    assert_eq!(Cpu.read(&dw).unwrap(), [420.0, 31.0]);
    assert_eq!(Cpu.read(&db).unwrap(), [111.0]);
    if let Some(gpu) = &gpu {
        let gdy = gpu.tensor(&dy, &[1, 1, 3]).unwrap();
        let dx = gpu.conv1d_backward_input(&gdy, &gpu.tensor(&w, &[1, 1, 2]).unwrap(), 4, 2, 1);
        assert_eq!(gpu.read(&dx).unwrap(), [1.0, 20.0, 10.0, 200.0]);
        let (dw, db) = gpu.conv1d_backward_weight(&gpu.tensor(&x, &[1, 1, 4]).unwrap(), &gdy, 2, 2, 1);
        assert_eq!(gpu.read(&dw).unwrap(), [420.0, 31.0]);
        assert_eq!(gpu.read(&db).unwrap(), [111.0]);
    }
}

#[test]
fn maxpool_by_hand() {
    let gpu = common::gpu();
    // (x, shape, kernel, stride, y, argmax, dy, dx)
    type Hand = (
        &'static [f32],
        [usize; 4],
        (usize, usize),
        (usize, usize),
        &'static [f32],
        &'static [u32],
        &'static [f32],
        &'static [f32],
    );
    let cases: [Hand; 3] = [
        // Ties keep the first position: windows (3,3), (3,1), (1,4).
        (
            &[3.0, 3.0, 1.0, 4.0],
            [1, 1, 1, 4],
            (1, 2),
            (1, 1),
            &[3.0, 3.0, 4.0],
            &[0, 1, 3],
            &[1.0, 10.0, 100.0],
            &[1.0, 10.0, 0.0, 100.0],
        ),
        // One position wins two overlapping windows: its dx is the sum.
        (
            &[1.0, 5.0, 2.0, 0.0],
            [1, 1, 1, 4],
            (1, 2),
            (1, 1),
            &[5.0, 5.0, 2.0],
            &[1, 1, 2],
            &[1.0, 10.0, 100.0],
            &[0.0, 11.0, 100.0, 0.0],
        ),
        // 2 × 4 plane, 2 × 2 windows at column stride 2: {1,5,3,0} → 5 @1, {2,2,2,7} → 7 @7.
        (
            &[1.0, 5.0, 2.0, 2.0, 3.0, 0.0, 2.0, 7.0],
            [1, 1, 2, 4],
            (2, 2),
            (1, 2),
            &[5.0, 7.0],
            &[1, 7],
            &[1.0, 10.0],
            &[0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 10.0],
        ),
    ];
    for (x, xs, k, s, y, arg, dy, dx) in cases {
        let ys = [xs[0], xs[1], (xs[2] - k.0) / s.0 + 1, (xs[3] - k.1) / s.1 + 1];
        let (cy, carg) = Cpu.maxpool2d(&Cpu.tensor(x, &xs).unwrap(), k, s);
        assert_eq!(cy.dims(), ys);
        assert_eq!(Cpu.read(&cy).unwrap(), y);
        assert_eq!(Cpu.read_index(&carg).unwrap(), arg);
        let cdx = Cpu.maxpool2d_backward(&Cpu.tensor(dy, &ys).unwrap(), &carg, &xs, k, s);
        assert_eq!(Cpu.read(&cdx).unwrap(), dx);
        if let Some(gpu) = &gpu {
            let (gy, garg) = gpu.maxpool2d(&gpu.tensor(x, &xs).unwrap(), k, s);
            assert_eq!(gpu.read(&gy).unwrap(), y);
            assert_eq!(gpu.read_index(&garg).unwrap(), arg);
            let gdx = gpu.maxpool2d_backward(&gpu.tensor(dy, &ys).unwrap(), &garg, &xs, k, s);
            assert_eq!(gpu.read(&gdx).unwrap(), dx);
        }
    }
}

// ---- shape errors --------------------------------------------------------

#[test]
#[should_panic(expected = "conv2d")]
fn conv2d_channel_mismatch_panics() {
    let x = Cpu.zeros(&[1, 2, 4, 4]);
    let w = Cpu.zeros(&[3, 5, 2, 2]);
    let _ = Cpu.conv2d(&x, &w, None, (1, 1), (0, 0));
}

#[test]
#[should_panic(expected = "conv1d_backward_input")]
fn conv1d_backward_input_shape_mismatch_panics() {
    let dy = Cpu.zeros(&[1, 3, 4]);
    let w = Cpu.zeros(&[3, 2, 3]);
    // Length 7 with k = 3 gives 5 outputs, not 4.
    let _ = Cpu.conv1d_backward_input(&dy, &w, 7, 1, 0);
}

#[test]
#[should_panic(expected = "maxpool2d")]
fn maxpool_kernel_larger_than_input_panics() {
    let x = Cpu.zeros(&[1, 1, 2, 2]);
    let _ = Cpu.maxpool2d(&x, (3, 1), (1, 1));
}
