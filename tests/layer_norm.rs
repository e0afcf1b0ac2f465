//! Layer norm over the last axis: GPU vs CPU parity on odd shapes (d = 1,
//! primes, just past the workgroup size; 1 or a prime number of rows; a
//! 3-D input), the forward against its definition, determinism, and a
//! finite-difference check of dx, dgamma and dbeta on the CPU backend.
mod common;

use common::{assert_close, both, check, check_fd, rand_vec, EXACTISH, SUMS};
use gpurec::backend::Shaped;
use gpurec::{Backend, Cpu};

const EPS: f32 = 1e-5;

/// Input shapes: d = 1, primes, 256 and just past it; rows 1, primes, none.
const SHAPES: &[&[usize]] =
    &[&[1, 1], &[7, 1], &[1, 7], &[13, 5], &[5, 13], &[3, 64], &[2, 256], &[3, 257], &[1, 600], &[2, 3, 11], &[0, 5]];

fn scaled(seed: u64, n: usize, s: f32, shift: f32) -> Vec<f32> {
    rand_vec(seed, n).into_iter().map(|v| v * s + shift).collect()
}

#[test]
fn gpu_matches_cpu() {
    let Some(gpu) = common::gpu() else { return };
    for (k, &shape) in SHAPES.iter().enumerate() {
        let d = *shape.last().unwrap();
        let n: usize = shape.iter().product();
        let seed = 100 * k as u64;
        let what = |t: &str| format!("{t} {shape:?}");
        let (cx, gx) = both(&gpu, &scaled(seed, n, 3.0, 0.5), shape);
        let (cg, gg) = both(&gpu, &scaled(seed + 1, d, 1.0, 1.0), &[d]);
        let (cb, gb) = both(&gpu, &rand_vec(seed + 2, d), &[d]);
        let cs = Cpu.layer_norm(&cx, &cg, &cb, EPS);
        let gs = gpu.layer_norm(&gx, &gg, &gb, EPS);
        check(&what("y"), &gpu, &gs.y, &cs.y, EXACTISH);
        check(&what("stats"), &gpu, &gs.stats, &cs.stats, EXACTISH);

        let (cdy, gdy) = both(&gpu, &rand_vec(seed + 3, n), shape);
        let cgr = Cpu.layer_norm_backward(&cs, &cx, &cg, &cdy);
        let ggr = gpu.layer_norm_backward(&gs, &gx, &gg, &gdy);
        check(&what("dx"), &gpu, &ggr.dx, &cgr.dx, SUMS);
        check(&what("dgamma"), &gpu, &ggr.dgamma, &cgr.dgamma, SUMS);
        check(&what("dbeta"), &gpu, &ggr.dbeta, &cgr.dbeta, SUMS);
        if n == 0 {
            assert_eq!(gpu.read(&ggr.dgamma).unwrap(), vec![0.0; d], "no rows: zero dgamma");
        }
    }
    gpu.flush().unwrap();
}

#[test]
fn gpu_is_deterministic() {
    let Some(gpu) = common::gpu() else { return };
    let shape = [37, 259];
    let n = 37 * 259;
    let x = gpu.tensor(&scaled(7, n, 2.0, 0.0), &shape).unwrap();
    let g = gpu.tensor(&scaled(8, 259, 1.0, 1.0), &[259]).unwrap();
    let b = gpu.tensor(&rand_vec(9, 259), &[259]).unwrap();
    let dy = gpu.tensor(&rand_vec(10, n), &shape).unwrap();
    let run = || {
        let s = gpu.layer_norm(&x, &g, &b, EPS);
        let gr = gpu.layer_norm_backward(&s, &x, &g, &dy);
        [
            gpu.read(&s.y).unwrap(),
            gpu.read(&gr.dx).unwrap(),
            gpu.read(&gr.dgamma).unwrap(),
            gpu.read(&gr.dbeta).unwrap(),
        ]
    };
    let (a, b2) = (run(), run());
    for (u, v) in a.iter().zip(&b2) {
        assert!(u.iter().zip(v).all(|(p, q)| p.to_bits() == q.to_bits()), "bitwise equal reruns");
    }
}

/// Each output row against mean/variance computed in f64.
#[test]
fn forward_matches_the_definition() {
    let (rows, d) = (4, 9);
    let x = scaled(1, rows * d, 2.0, 3.0);
    let g = scaled(2, d, 1.0, 1.0);
    let b = rand_vec(3, d);
    let s = Cpu.layer_norm(
        &Cpu.tensor(&x, &[rows, d]).unwrap(),
        &Cpu.tensor(&g, &[d]).unwrap(),
        &Cpu.tensor(&b, &[d]).unwrap(),
        EPS,
    );
    assert_eq!(s.stats.dims(), &[rows, 2]);
    let mut want = vec![0f32; rows * d];
    let mut stats = vec![0f32; rows * 2];
    for r in 0..rows {
        let row: Vec<f64> = x[r * d..(r + 1) * d].iter().map(|&v| v as f64).collect();
        let mean = row.iter().sum::<f64>() / d as f64;
        let var = row.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / d as f64;
        let rstd = 1.0 / (var + EPS as f64).sqrt();
        for j in 0..d {
            want[r * d + j] = ((row[j] - mean) * rstd * g[j] as f64 + b[j] as f64) as f32;
        }
        stats[2 * r] = mean as f32;
        stats[2 * r + 1] = rstd as f32;
    }
    let tol = common::Tol { abs: 1e-5, rel: 1e-5 };
    assert_close("y", &Cpu.read(&s.y).unwrap(), &want, tol);
    assert_close("stats", &Cpu.read(&s.stats).unwrap(), &stats, tol);
}

/// Central differences of `L = Σ y·r` (f64 accumulation) against the CPU
/// backward with `dy = r`, for x, gamma and beta.
#[test]
fn backward_matches_finite_differences() {
    for shape in [&[3usize, 4][..], &[1, 7], &[2, 2, 5], &[5, 1]] {
        let d = *shape.last().unwrap();
        let n: usize = shape.iter().product();
        let seed = n as u64;
        let x = scaled(seed, n, 2.0, 0.3);
        let g = scaled(seed + 1, d, 0.5, 1.0);
        let b = rand_vec(seed + 2, d);
        let r = rand_vec(seed + 3, n);
        let loss = |x: &[f32], g: &[f32], b: &[f32]| -> f64 {
            let s = Cpu.layer_norm(
                &Cpu.tensor(x, shape).unwrap(),
                &Cpu.tensor(g, &[d]).unwrap(),
                &Cpu.tensor(b, &[d]).unwrap(),
                EPS,
            );
            common::dot(&Cpu.read(&s.y).unwrap(), &r)
        };
        let (xt, gt) = (Cpu.tensor(&x, shape).unwrap(), Cpu.tensor(&g, &[d]).unwrap());
        let s = Cpu.layer_norm(&xt, &gt, &Cpu.tensor(&b, &[d]).unwrap(), EPS);
        let gr = Cpu.layer_norm_backward(&s, &xt, &gt, &Cpu.tensor(&r, shape).unwrap());
        assert_eq!(gr.dx.dims(), shape);
        assert_eq!(gr.dgamma.dims(), &[d]);
        let what = |t: &str| format!("{t} {shape:?}");
        let rd = |t| Cpu.read(t).unwrap();
        // d = 1: y ≡ beta, so x's gradient is 0 and a step must not move L.
        check_fd(&what("dx"), &x, &rd(&gr.dx), false, &|x| loss(x, &g, &b));
        check_fd(&what("dgamma"), &g, &rd(&gr.dgamma), false, &|g| loss(&x, g, &b));
        check_fd(&what("dbeta"), &b, &rd(&gr.dbeta), false, &|b| loss(&x, &g, b));
    }
}

#[test]
#[should_panic(expected = "layer_norm: gamma must be [4]")]
fn gamma_shape_mismatch_panics() {
    let _ = Cpu.layer_norm(&Cpu.zeros(&[2, 4]), &Cpu.zeros(&[3]), &Cpu.zeros(&[4]), EPS);
}

#[test]
#[should_panic(expected = "layer_norm_backward: dy must be [2, 4]")]
fn dy_shape_mismatch_panics() {
    let s = Cpu.layer_norm(&Cpu.zeros(&[2, 4]), &Cpu.full(&[4], 1.0), &Cpu.zeros(&[4]), EPS);
    let _ = Cpu.layer_norm_backward(&s, &Cpu.zeros(&[2, 4]), &Cpu.full(&[4], 1.0), &Cpu.zeros(&[4, 2]));
}

#[test]
#[should_panic(expected = "has an empty last axis")]
fn empty_last_axis_panics() {
    let _ = Cpu.layer_norm(&Cpu.zeros(&[2, 0]), &Cpu.zeros(&[0]), &Cpu.zeros(&[0]), EPS);
}
