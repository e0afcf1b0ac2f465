//! Fused GRU cell: GPU vs CPU parity (with and without mask, empty input),
//! mask semantics, and a finite-difference check of the CPU backward.
mod common;

use common::{assert_close, both, check, check_fd, rand_vec, EXACTISH};
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
            let (cx, gx) = both(&gpu, &scaled(seed, n * 3 * h, 2.0), &[n, 3 * h]);
            let (cgh, ggh) = both(&gpu, &scaled(seed + 1, n * 3 * h, 2.0), &[n, 3 * h]);
            let (chp, ghp) = both(&gpu, &rand_vec(seed + 2, n * h), &[n, h]);
            let m = mask_vec(seed + 3, n);
            let (cm, gm) = both(&gpu, &m, &[n]);
            let (cmask, gmask) = if masked { (Some(&cm), Some(&gm)) } else { (None, None) };

            let cs = Cpu.gru_cell(&cx, &cgh, &chp, cmask);
            let gs = gpu.gru_cell(&gx, &ggh, &ghp, gmask);
            check(&what("h"), &gpu, &gs.h, &cs.h, EXACTISH);
            check(&what("gates"), &gpu, &gs.gates, &cs.gates, EXACTISH);

            let (cdh, gdh) = both(&gpu, &rand_vec(seed + 4, n * h), &[n, h]);
            let cgr = Cpu.gru_cell_backward(&cs, &cgh, &chp, &cdh, cmask);
            let ggr = gpu.gru_cell_backward(&gs, &ggh, &ghp, &gdh, gmask);
            check(&what("dgx"), &gpu, &ggr.dgx, &cgr.dgx, EXACTISH);
            check(&what("dgh"), &gpu, &ggr.dgh, &cgr.dgh, EXACTISH);
            check(&what("dh_prev"), &gpu, &ggr.dh_prev, &cgr.dh_prev, EXACTISH);
        }
    }
    gpu.flush().unwrap();
}

#[test]
fn mask_passes_state_and_gradients_through() {
    let (n, h) = (6, 3);
    let gx = Cpu.tensor(&scaled(1, n * 3 * h, 2.0), &[n, 3 * h]).unwrap();
    let gh = Cpu.tensor(&scaled(2, n * 3 * h, 2.0), &[n, 3 * h]).unwrap();
    let h_prev = Cpu.tensor(&rand_vec(3, n * h), &[n, h]).unwrap();
    let m = [1.0, 0.0, 1.0, 0.0, 0.0, 1.0];
    let mask = Cpu.tensor(&m, &[n]).unwrap();
    let dh = Cpu.tensor(&rand_vec(4, n * h), &[n, h]).unwrap();

    let plain = Cpu.gru_cell(&gx, &gh, &h_prev, None);
    let step = Cpu.gru_cell(&gx, &gh, &h_prev, Some(&mask));
    let grads = Cpu.gru_cell_backward(&step, &gh, &h_prev, &dh, Some(&mask));
    let plain_grads = Cpu.gru_cell_backward(&plain, &gh, &h_prev, &dh, None);
    let rd = |t| Cpu.read(t).unwrap();
    let (hs, hp, ph) = (rd(&step.h), rd(&h_prev), rd(&plain.h));
    let (dgx, dgh, dhp) = (rd(&grads.dgx), rd(&grads.dgh), rd(&grads.dh_prev));
    let (pdgx, pdgh, pdhp) = (rd(&plain_grads.dgx), rd(&plain_grads.dgh), rd(&plain_grads.dh_prev));
    let dhv = rd(&dh);
    assert_eq!(rd(&step.gates), rd(&plain.gates), "gates are saved for every row");
    for (r, &keep) in m.iter().enumerate() {
        let row = r * h..(r + 1) * h;
        let grow = r * 3 * h..(r + 1) * 3 * h;
        if keep == 0.0 {
            assert_eq!(hs[row.clone()], hp[row.clone()], "row {r}: h");
            assert!(dgx[grow.clone()].iter().all(|&v| v == 0.0), "row {r}: dgx");
            assert!(dgh[grow].iter().all(|&v| v == 0.0), "row {r}: dgh");
            assert_eq!(dhp[row.clone()], dhv[row], "row {r}: dh_prev");
        } else {
            assert_ne!(hs[row.clone()], hp[row.clone()], "row {r}: h moves");
            assert_eq!(hs[row.clone()], ph[row.clone()], "row {r}: h");
            assert_eq!(dgx[grow.clone()], pdgx[grow.clone()], "row {r}: dgx");
            assert_eq!(dgh[grow.clone()], pdgh[grow], "row {r}: dgh");
            assert_eq!(dhp[row.clone()], pdhp[row], "row {r}: dh_prev");
        }
    }
}

/// The cell against the equations written out for one element.
#[test]
fn forward_matches_the_equations() {
    let (gx, gh, hp) = ([0.3f32, -0.7, 1.1], [-0.4f32, 0.9, 0.8], [0.25f32]);
    let s = Cpu.gru_cell(
        &Cpu.tensor(&gx, &[1, 3]).unwrap(),
        &Cpu.tensor(&gh, &[1, 3]).unwrap(),
        &Cpu.tensor(&hp, &[1, 1]).unwrap(),
        None,
    );
    let sig = |x: f64| 1.0 / (1.0 + (-x).exp());
    let r = sig(0.3 - 0.4);
    let z = sig(-0.7 + 0.9);
    let n = (1.1 + r * 0.8f64).tanh();
    let h = (1.0 - z) * n + z * 0.25;
    let tol = common::Tol { abs: 1e-6, rel: 1e-6 };
    assert_close("gates", &Cpu.read(&s.gates).unwrap(), &[r as f32, z as f32, n as f32], tol);
    assert_close("h", &Cpu.read(&s.h).unwrap(), &[h as f32], tol);
}

/// Central differences of `L = Σ h·rh` (accumulated in f64) against the CPU
/// backward with `dh = rh`, for gx, gh and h_prev (h_prev's gradient through
/// the cell alone is the direct part `dh_prev`, since gh is held fixed).
#[test]
fn backward_matches_finite_differences() {
    for (n, h, masked) in [(3usize, 4usize, false), (5, 3, true), (1, 1, false)] {
        let gx = scaled(10 + n as u64, n * 3 * h, 2.0);
        let gh = scaled(20 + n as u64, n * 3 * h, 2.0);
        let h_prev = rand_vec(30 + n as u64, n * h);
        let rh = rand_vec(40 + n as u64, n * h);
        let m: Vec<f32> = (0..n).map(|r| if masked && r % 2 == 1 { 0.0 } else { 1.0 }).collect();
        let mask = Cpu.tensor(&m, &[n]).unwrap();
        let mask = masked.then_some(&mask);

        let loss = |x: &[f32], g: &[f32], hp: &[f32]| -> f64 {
            let step = Cpu.gru_cell(
                &Cpu.tensor(x, &[n, 3 * h]).unwrap(),
                &Cpu.tensor(g, &[n, 3 * h]).unwrap(),
                &Cpu.tensor(hp, &[n, h]).unwrap(),
                mask,
            );
            common::dot(&Cpu.read(&step.h).unwrap(), &rh)
        };

        let (gh_t, hp_t) = (Cpu.tensor(&gh, &[n, 3 * h]).unwrap(), Cpu.tensor(&h_prev, &[n, h]).unwrap());
        let step = Cpu.gru_cell(&Cpu.tensor(&gx, &[n, 3 * h]).unwrap(), &gh_t, &hp_t, mask);
        let grads = Cpu.gru_cell_backward(&step, &gh_t, &hp_t, &Cpu.tensor(&rh, &[n, h]).unwrap(), mask);
        assert_eq!(grads.dgx.dims(), &[n, 3 * h]);
        assert_eq!(grads.dgh.dims(), &[n, 3 * h]);
        let what = |t: &str| format!("{t} n={n} h={h} masked={masked}");
        let rd = |t| Cpu.read(t).unwrap();
        check_fd(&what("dgx"), &gx, &rd(&grads.dgx), false, &|x| loss(x, &gh, &h_prev));
        check_fd(&what("dgh"), &gh, &rd(&grads.dgh), false, &|g| loss(&gx, g, &h_prev));
        check_fd(&what("dh_prev"), &h_prev, &rd(&grads.dh_prev), false, &|hp| loss(&gx, &gh, hp));
    }
}

#[test]
#[should_panic(expected = "gru_cell: h_prev must be [2, 3]")]
fn shape_mismatch_panics() {
    let g = Cpu.zeros(&[2, 9]);
    let _ = Cpu.gru_cell(&g, &g, &Cpu.zeros(&[2, 4]), None);
}

#[test]
#[should_panic(expected = "gru_cell: gh must be [2, 9]")]
fn gh_shape_mismatch_panics() {
    let _ = Cpu.gru_cell(&Cpu.zeros(&[2, 9]), &Cpu.zeros(&[2, 12]), &Cpu.zeros(&[2, 3]), None);
}

#[test]
#[should_panic(expected = "gru_cell: gx must be [n, 3h]")]
fn gates_not_multiple_of_three_panics() {
    let _ = Cpu.gru_cell(&Cpu.zeros(&[2, 8]), &Cpu.zeros(&[2, 8]), &Cpu.zeros(&[2, 2]), None);
}
