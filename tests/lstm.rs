//! Fused LSTM cell: GPU vs CPU parity (with and without mask, empty input)
//! and a finite-difference check of the CPU backward.
mod common;

use common::{assert_close, both, check, rand_vec, Tol, EXACTISH};
use gpurec::backend::Shaped;
use gpurec::{Backend, Cpu};

/// (n, h) pairs: 1, primes, n·h just past 64 and 256, and empty.
const SHAPES: &[(usize, usize)] =
    &[(1, 1), (2, 7), (13, 5), (5, 13), (1, 65), (257, 1), (1, 257), (3, 86), (0, 5), (4, 0)];

fn scaled(seed: u64, n: usize, s: f32) -> Vec<f32> {
    rand_vec(seed, n).into_iter().map(|v| v * s).collect()
}

/// A 0/1 mask with roughly one row in three padded (row 0 always kept).
fn mask_vec(seed: u64, n: usize) -> Vec<f32> {
    rand_vec(seed, n).iter().enumerate().map(|(r, &v)| if r > 0 && v < -0.33 { 0.0 } else { 1.0 }).collect()
}

#[test]
fn gpu_matches_cpu() {
    let Some(gpu) = common::gpu() else { return };
    for &(n, h) in SHAPES {
        for masked in [false, true] {
            let seed = (n * 1000 + h) as u64 * 2 + masked as u64;
            let what = |t: &str| format!("{t} n={n} h={h} masked={masked}");
            let (cg, gg) = both(&gpu, &scaled(seed, n * 4 * h, 3.0), &[n, 4 * h]);
            let (ch, gh) = both(&gpu, &rand_vec(seed + 1, n * h), &[n, h]);
            let (cc, gc) = both(&gpu, &scaled(seed + 2, n * h, 2.0), &[n, h]);
            let m = mask_vec(seed + 3, n);
            let (cm, gm) = both(&gpu, &m, &[n]);
            let (cmask, gmask) = if masked { (Some(&cm), Some(&gm)) } else { (None, None) };

            let cs = Cpu.lstm_cell(&cg, &ch, &cc, cmask);
            let gs = gpu.lstm_cell(&gg, &gh, &gc, gmask);
            check(&what("h"), &gpu, &gs.h, &cs.h, EXACTISH);
            check(&what("c"), &gpu, &gs.c, &cs.c, EXACTISH);
            check(&what("gates"), &gpu, &gs.gates, &cs.gates, EXACTISH);

            let (cdh, gdh) = both(&gpu, &rand_vec(seed + 4, n * h), &[n, h]);
            let (cdc, gdc) = both(&gpu, &rand_vec(seed + 5, n * h), &[n, h]);
            let cgr = Cpu.lstm_cell_backward(&cs, &cc, &cdh, &cdc, cmask);
            let ggr = gpu.lstm_cell_backward(&gs, &gc, &gdh, &gdc, gmask);
            check(&what("dgates"), &gpu, &ggr.dgates, &cgr.dgates, EXACTISH);
            check(&what("dc_prev"), &gpu, &ggr.dc_prev, &cgr.dc_prev, EXACTISH);
            check(&what("dh_skip"), &gpu, &ggr.dh_skip, &cgr.dh_skip, EXACTISH);
        }
    }
    gpu.flush().unwrap();
}

#[test]
fn mask_passes_state_and_gradients_through() {
    let (n, h) = (6, 3);
    let gates = Cpu.tensor(&scaled(1, n * 4 * h, 3.0), &[n, 4 * h]).unwrap();
    let h_prev = Cpu.tensor(&rand_vec(2, n * h), &[n, h]).unwrap();
    let c_prev = Cpu.tensor(&rand_vec(3, n * h), &[n, h]).unwrap();
    let m = [1.0, 0.0, 1.0, 0.0, 0.0, 1.0];
    let mask = Cpu.tensor(&m, &[n]).unwrap();
    let dh = Cpu.tensor(&rand_vec(4, n * h), &[n, h]).unwrap();
    let dc = Cpu.tensor(&rand_vec(5, n * h), &[n, h]).unwrap();

    let plain = Cpu.lstm_cell(&gates, &h_prev, &c_prev, None);
    let step = Cpu.lstm_cell(&gates, &h_prev, &c_prev, Some(&mask));
    let grads = Cpu.lstm_cell_backward(&step, &c_prev, &dh, &dc, Some(&mask));
    let plain_grads = Cpu.lstm_cell_backward(&plain, &c_prev, &dh, &dc, None);
    let rd = |t| Cpu.read(t).unwrap();
    let (hs, cs, hp, cp) = (rd(&step.h), rd(&step.c), rd(&h_prev), rd(&c_prev));
    let (ph, pc) = (rd(&plain.h), rd(&plain.c));
    let (dg, dcp, dhs) = (rd(&grads.dgates), rd(&grads.dc_prev), rd(&grads.dh_skip));
    let (pdg, pdcp) = (rd(&plain_grads.dgates), rd(&plain_grads.dc_prev));
    let (dhv, dcv) = (rd(&dh), rd(&dc));
    assert_eq!(rd(&step.gates), rd(&plain.gates), "gates are saved for every row");
    assert!(rd(&plain_grads.dh_skip).iter().all(|&v| v == 0.0), "dh_skip is zero without a mask");
    for (r, &keep) in m.iter().enumerate() {
        let row = r * h..(r + 1) * h;
        let grow = r * 4 * h..(r + 1) * 4 * h;
        if keep == 0.0 {
            assert_eq!(hs[row.clone()], hp[row.clone()], "row {r}: h");
            assert_eq!(cs[row.clone()], cp[row.clone()], "row {r}: c");
            assert!(dg[grow].iter().all(|&v| v == 0.0), "row {r}: dgates");
            assert_eq!(dcp[row.clone()], dcv[row.clone()], "row {r}: dc_prev");
            assert_eq!(dhs[row.clone()], dhv[row], "row {r}: dh_skip");
        } else {
            assert_eq!(hs[row.clone()], ph[row.clone()], "row {r}: h");
            assert_eq!(cs[row.clone()], pc[row.clone()], "row {r}: c");
            assert_eq!(dg[grow.clone()], pdg[grow], "row {r}: dgates");
            assert_eq!(dcp[row.clone()], pdcp[row.clone()], "row {r}: dc_prev");
            assert!(dhs[row].iter().all(|&v| v == 0.0), "row {r}: dh_skip");
        }
    }
}

/// Central differences of `L = Σ h·rh + c·rc` (accumulated in f64) against
/// the CPU backward with `dh = rh`, `dc = rc`, for gates, c_prev and h_prev.
#[test]
fn backward_matches_finite_differences() {
    const EPS: f32 = 1e-2;
    let tol = Tol { abs: 1e-3, rel: 1e-2 };
    for (n, h, masked) in [(3usize, 4usize, false), (5, 3, true), (1, 1, false)] {
        let gates = scaled(10 + n as u64, n * 4 * h, 2.0);
        let h_prev = rand_vec(20 + n as u64, n * h);
        let c_prev = scaled(30 + n as u64, n * h, 1.5);
        let rh = rand_vec(40 + n as u64, n * h);
        let rc = rand_vec(50 + n as u64, n * h);
        let m: Vec<f32> = (0..n).map(|r| if masked && r % 2 == 1 { 0.0 } else { 1.0 }).collect();
        let mask = Cpu.tensor(&m, &[n]).unwrap();
        let mask = masked.then_some(&mask);

        let loss = |g: &[f32], hp: &[f32], cp: &[f32]| -> f64 {
            let step = Cpu.lstm_cell(
                &Cpu.tensor(g, &[n, 4 * h]).unwrap(),
                &Cpu.tensor(hp, &[n, h]).unwrap(),
                &Cpu.tensor(cp, &[n, h]).unwrap(),
                mask,
            );
            let (hs, cs) = (Cpu.read(&step.h).unwrap(), Cpu.read(&step.c).unwrap());
            (0..n * h).map(|k| hs[k] as f64 * rh[k] as f64 + cs[k] as f64 * rc[k] as f64).sum()
        };
        let fd = |which: usize, k: usize| -> f32 {
            let mut args = [gates.clone(), h_prev.clone(), c_prev.clone()];
            args[which][k] += EPS;
            let up = loss(&args[0], &args[1], &args[2]);
            args[which][k] -= 2.0 * EPS;
            let down = loss(&args[0], &args[1], &args[2]);
            ((up - down) / (2.0 * EPS as f64)) as f32
        };

        let cp_t = Cpu.tensor(&c_prev, &[n, h]).unwrap();
        let step = Cpu.lstm_cell(
            &Cpu.tensor(&gates, &[n, 4 * h]).unwrap(),
            &Cpu.tensor(&h_prev, &[n, h]).unwrap(),
            &cp_t,
            mask,
        );
        let grads = Cpu.lstm_cell_backward(
            &step,
            &cp_t,
            &Cpu.tensor(&rh, &[n, h]).unwrap(),
            &Cpu.tensor(&rc, &[n, h]).unwrap(),
            mask,
        );
        assert_eq!(grads.dgates.dims(), &[n, 4 * h]);
        let what = |t: &str| format!("{t} n={n} h={h} masked={masked}");
        let num_gates: Vec<f32> = (0..n * 4 * h).map(|k| fd(0, k)).collect();
        let num_h: Vec<f32> = (0..n * h).map(|k| fd(1, k)).collect();
        let num_c: Vec<f32> = (0..n * h).map(|k| fd(2, k)).collect();
        assert_close(&what("dgates"), &Cpu.read(&grads.dgates).unwrap(), &num_gates, tol);
        assert_close(&what("dh_skip"), &Cpu.read(&grads.dh_skip).unwrap(), &num_h, tol);
        assert_close(&what("dc_prev"), &Cpu.read(&grads.dc_prev).unwrap(), &num_c, tol);
    }
}

#[test]
#[should_panic(expected = "lstm_cell: c_prev must be [2, 3]")]
fn shape_mismatch_panics() {
    let g = Cpu.zeros(&[2, 12]);
    let _ = Cpu.lstm_cell(&g, &Cpu.zeros(&[2, 3]), &Cpu.zeros(&[2, 4]), None);
}

#[test]
#[should_panic(expected = "lstm_cell: gates must be [n, 4h]")]
fn gates_not_multiple_of_four_panics() {
    let _ = Cpu.lstm_cell(&Cpu.zeros(&[2, 6]), &Cpu.zeros(&[2, 1]), &Cpu.zeros(&[2, 1]), None);
}
