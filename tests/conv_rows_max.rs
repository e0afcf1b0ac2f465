//! `conv_rows_max`, Caser's horizontal convolution with its bias, ReLU and
//! max-pooling fused: the CPU op against the same network built from the
//! unfused ops (conv2d, ReLU, maxpool2d and their backward), finite
//! differences for its gradients, and GPU/CPU parity on shapes of 1, primes
//! and just past a workgroup.

mod common;

use common::{assert_close, check, check_fd, dot, rand_vec, EXACTISH, SUMS};
use gpurec::backend::{Act, Backend, BinaryOp};
use gpurec::Cpu;

/// (images n, rows L, width d, filter height h, filters c)
const CASES: &[(usize, usize, usize, usize, usize)] = &[
    (1, 1, 1, 1, 1),
    (2, 5, 7, 3, 2),
    (3, 10, 13, 1, 9),
    (7, 10, 64, 5, 16),
    (5, 4, 3, 4, 17),
    (1, 13, 5, 7, 3),
    (65, 3, 2, 2, 4),
];

fn inputs(seed: u64, (n, l, d, h, c): (usize, usize, usize, usize, usize)) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    (rand_vec(seed, n * l * d), rand_vec(seed + 1, h * c * d), rand_vec(seed + 2, c))
}

/// `w` `[h·c, d]` (row u·c + o) as a conv2d kernel `[c, 1, h, d]`.
fn as_kernel(w: &[f32], h: usize, c: usize, d: usize) -> Vec<f32> {
    let mut out = vec![0f32; w.len()];
    for o in 0..c {
        for u in 0..h {
            out[(o * h + u) * d..][..d].copy_from_slice(&w[(u * c + o) * d..][..d]);
        }
    }
    out
}

/// The unfused network on the CPU: `(y [n, c], dx, dw [h·c, d], db)` for upstream `dy`.
fn unfused(
    case: (usize, usize, usize, usize, usize),
    x: &[f32],
    w: &[f32],
    bias: &[f32],
    dy: &[f32],
) -> (Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>) {
    let (n, l, d, h, c) = case;
    let p = l - h + 1;
    let b = Cpu;
    let xt = b.tensor(x, &[n, 1, l, d]).unwrap();
    let kt = b.tensor(&as_kernel(w, h, c, d), &[c, 1, h, d]).unwrap();
    let bt = b.tensor(bias, &[c]).unwrap();
    let conv = b.activate(&b.conv2d(&xt, &kt, Some(&bt), (1, 1), (0, 0)), Act::Relu); // [n, c, P, 1]
    let (y, arg) = b.maxpool2d(&conv, (p, 1), (1, 1));
    let dconv = b.maxpool2d_backward(&b.tensor(dy, &[n, c, 1, 1]).unwrap(), &arg, &[n, c, p, 1], (p, 1), (1, 1));
    let dconv = b.activate_backward(&conv, &dconv, Act::Relu);
    let dx = b.conv2d_backward_input(&dconv, &kt, (l, d), (1, 1), (0, 0));
    let (dk, db) = b.conv2d_backward_weight(&xt, &dconv, (h, d), (1, 1), (0, 0));
    // dk [c, 1, h, d] back to rows u·c + o.
    let dk = b.read(&dk).unwrap();
    let mut dw = vec![0f32; dk.len()];
    for o in 0..c {
        for u in 0..h {
            dw[(u * c + o) * d..][..d].copy_from_slice(&dk[(o * h + u) * d..][..d]);
        }
    }
    (b.read(&y).unwrap(), b.read(&dx).unwrap(), dw, b.read(&db).unwrap())
}

#[test]
fn matches_the_unfused_network_on_the_cpu() {
    for (i, &case) in CASES.iter().enumerate() {
        let (n, l, d, h, c) = case;
        let (x, w, bias) = inputs(10 * i as u64, case);
        let dy = rand_vec(10 * i as u64 + 3, n * c);
        let (want_y, want_dx, want_dw, want_db) = unfused(case, &x, &w, &bias, &dy);
        let b = Cpu;
        let (xt, wt, bt) =
            (b.tensor(&x, &[n * l, d]).unwrap(), b.tensor(&w, &[h * c, d]).unwrap(), b.tensor(&bias, &[1, c]).unwrap());
        let (y, arg) = b.conv_rows_max(&xt, &wt, &bt, l);
        let what = |t: &str| format!("case {i} {case:?} {t}");
        // The same terms in the same order (u, then k) as conv2d's.
        assert_close(&what("y"), &b.read(&y).unwrap(), &want_y, EXACTISH);
        let args = b.read_index(&arg).unwrap();
        assert!(args.iter().all(|&a| (a as usize) < l - h + 1), "{}", what("argmax range"));
        let dyt = b.tensor(&dy, &[n, c]).unwrap();
        let (dx, dw, db) = b.conv_rows_max_backward(&xt, &wt, &y, &arg, &dyt, l, None);
        assert_close(&what("dx"), &b.read(&dx).unwrap(), &want_dx, SUMS);
        assert_close(&what("dw"), &b.read(&dw).unwrap(), &want_dw, SUMS);
        assert_close(&what("db"), &b.read(&db).unwrap(), &want_db, SUMS);
        // With an accumulator: acc + dx.
        let acc = rand_vec(10 * i as u64 + 4, n * l * d);
        let (dx2, _, _) =
            b.conv_rows_max_backward(&xt, &wt, &y, &arg, &dyt, l, Some(&b.tensor(&acc, &[n * l, d]).unwrap()));
        let summed = b.read(&b.binary(BinaryOp::Add, &dx, &b.tensor(&acc, &[n * l, d]).unwrap())).unwrap();
        assert_close(&what("dx + acc"), &b.read(&dx2).unwrap(), &summed, EXACTISH);
    }
}

#[test]
fn argmax_is_the_first_maximum_and_non_positive_maxima_pass_no_gradient() {
    // One image of 4 rows of width 1, one filter of height 1 with weight 1:
    // the convolution is the image itself, plus the bias.
    let b = Cpu;
    let w = b.tensor(&[1.0], &[1, 1]).unwrap();
    let x = b.tensor(&[0.5, 2.0, 2.0, -1.0], &[4, 1]).unwrap();
    let (y, arg) = b.conv_rows_max(&x, &w, &b.tensor(&[0.25], &[1]).unwrap(), 4);
    assert_eq!(b.read(&y).unwrap(), vec![2.25]);
    assert_eq!(b.read_index(&arg).unwrap(), vec![1], "ties keep the lowest position");
    let dy = b.tensor(&[3.0], &[1, 1]).unwrap();
    let (dx, dw, db) = b.conv_rows_max_backward(&x, &w, &y, &arg, &dy, 4, None);
    assert_eq!(b.read(&dx).unwrap(), vec![0.0, 3.0, 0.0, 0.0]);
    assert_eq!((b.read(&dw).unwrap(), b.read(&db).unwrap()), (vec![6.0], vec![3.0]));
    // Every position negative: y = 0 and nothing flows back.
    let (y, arg) = b.conv_rows_max(&x, &w, &b.tensor(&[-5.0], &[1]).unwrap(), 4);
    assert_eq!(b.read(&y).unwrap(), vec![0.0]);
    let (dx, dw, db) = b.conv_rows_max_backward(&x, &w, &y, &arg, &dy, 4, None);
    assert!(b.read(&dx).unwrap().iter().chain(&b.read(&dw).unwrap()).chain(&b.read(&db).unwrap()).all(|&v| v == 0.0));
}

#[test]
fn gradients_match_finite_differences() {
    for (i, &case) in [(2, 5, 3, 2, 3), (1, 4, 2, 4, 2), (3, 3, 4, 1, 5)].iter().enumerate() {
        let (n, l, d, h, c) = case;
        let (x, w, mut bias) = inputs(100 + i as u64, case);
        // Biases large enough that most maxima are positive (a gradient to check).
        bias.iter_mut().for_each(|v| *v += 1.5);
        let r = rand_vec(110 + i as u64, n * c);
        let b = Cpu;
        let t = |v: &[f32], s: &[usize]| b.tensor(v, s).unwrap();
        let loss = |x: &[f32], w: &[f32], bias: &[f32]| {
            dot(&b.read(&b.conv_rows_max(&t(x, &[n * l, d]), &t(w, &[h * c, d]), &t(bias, &[c]), l).0).unwrap(), &r)
        };
        let (xt, wt) = (t(&x, &[n * l, d]), t(&w, &[h * c, d]));
        let (y, arg) = b.conv_rows_max(&xt, &wt, &t(&bias, &[c]), l);
        let (dx, dw, db) = b.conv_rows_max_backward(&xt, &wt, &y, &arg, &t(&r, &[n, c]), l, None);
        let what = |g: &str| format!("conv_rows_max {g} case {case:?}");
        check_fd(&what("dx"), &x, &b.read(&dx).unwrap(), true, &|v| loss(v, &w, &bias));
        check_fd(&what("dw"), &w, &b.read(&dw).unwrap(), true, &|v| loss(&x, v, &bias));
        check_fd(&what("db"), &bias, &b.read(&db).unwrap(), true, &|v| loss(&x, &w, v));
    }
}

#[test]
fn gpu_matches_cpu() {
    let Some(gpu) = common::gpu() else { return };
    for (i, &case) in CASES.iter().enumerate() {
        let (n, l, d, h, c) = case;
        let (x, w, bias) = inputs(200 + 10 * i as u64, case);
        let dy = rand_vec(203 + 10 * i as u64, n * c);
        let acc = rand_vec(204 + 10 * i as u64, n * l * d);
        let (xc, xg) = common::both(&gpu, &x, &[n * l, d]);
        let (wc, wg) = common::both(&gpu, &w, &[h * c, d]);
        let (bc, bg) = common::both(&gpu, &bias, &[1, c]);
        let (dyc, dyg) = common::both(&gpu, &dy, &[n, c]);
        let (ac, ag) = common::both(&gpu, &acc, &[n * l, d]);
        let (yc, argc) = Cpu.conv_rows_max(&xc, &wc, &bc, l);
        let (yg, argg) = gpu.conv_rows_max(&xg, &wg, &bg, l);
        let what = |t: &str| format!("case {i} {case:?} {t}");
        check(&what("y"), &gpu, &yg, &yc, SUMS);
        assert_eq!(gpu.read_index(&argg).unwrap(), Cpu.read_index(&argc).unwrap(), "{}", what("argmax"));
        // The backward from the same forward outputs on both sides.
        let yg_from_cpu = gpu.tensor(&Cpu.read(&yc).unwrap(), &[n, c]).unwrap();
        for with_acc in [false, true] {
            let (dxc, dwc, dbc) = Cpu.conv_rows_max_backward(&xc, &wc, &yc, &argc, &dyc, l, with_acc.then_some(&ac));
            let (dxg, dwg, dbg) =
                gpu.conv_rows_max_backward(&xg, &wg, &yg_from_cpu, &argg, &dyg, l, with_acc.then_some(&ag));
            check(&what(&format!("dx (acc {with_acc})")), &gpu, &dxg, &dxc, SUMS);
            check(&what("dw"), &gpu, &dwg, &dwc, SUMS);
            check(&what("db"), &gpu, &dbg, &dbc, SUMS);
        }
    }
}

#[test]
fn gpu_is_deterministic() {
    let Some(gpu) = common::gpu() else { return };
    let case = (65, 10, 64, 5, 16);
    let (n, l, d, h, c) = case;
    let (x, w, bias) = inputs(300, case);
    let run = || {
        let (x, w, bias) = (
            gpu.tensor(&x, &[n * l, d]).unwrap(),
            gpu.tensor(&w, &[h * c, d]).unwrap(),
            gpu.tensor(&bias, &[c]).unwrap(),
        );
        let (y, arg) = gpu.conv_rows_max(&x, &w, &bias, l);
        let (dx, dw, db) = gpu.conv_rows_max_backward(&x, &w, &y, &arg, &y, l, None);
        [gpu.read(&y).unwrap(), gpu.read(&dx).unwrap(), gpu.read(&dw).unwrap(), gpu.read(&db).unwrap()]
    };
    let bits = |v: [Vec<f32>; 4]| v.map(|t| t.into_iter().map(f32::to_bits).collect::<Vec<_>>());
    assert_eq!(bits(run()), bits(run()));
}

#[test]
#[should_panic(expected = "filters of height 4 over images of 3 rows")]
fn filters_taller_than_the_image_panic() {
    let b = Cpu;
    let _ = b.conv_rows_max(
        &b.tensor(&[0.0; 6], &[3, 2]).unwrap(),
        &b.tensor(&[0.0; 8], &[4, 2]).unwrap(),
        &b.tensor(&[0.0], &[1]).unwrap(),
        3,
    );
}

#[test]
#[should_panic(expected = "conv_rows_max_backward: dy [2, 1] for y [1, 1]")]
fn a_backward_with_the_wrong_upstream_shape_panics() {
    let b = Cpu;
    let (x, w) = (b.tensor(&[0.0; 6], &[3, 2]).unwrap(), b.tensor(&[0.0; 2], &[1, 2]).unwrap());
    let (y, arg) = b.conv_rows_max(&x, &w, &b.tensor(&[0.0], &[1]).unwrap(), 3);
    let _ = b.conv_rows_max_backward(&x, &w, &y, &arg, &b.tensor(&[0.0; 2], &[2, 1]).unwrap(), 3, None);
}
