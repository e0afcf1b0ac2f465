//! Optimizer updates, GPU against CPU over several steps.

mod common;

use common::*;
use gpurec::{AdamConfig, Backend, Cpu};

#[test]
fn adam_and_adamw_match_cpu_over_steps() {
    let Some(gpu) = gpu() else { return };
    for &n in SIZES {
        for cfg in [
            AdamConfig { lr: 0.01, ..Default::default() },
            AdamConfig { lr: 0.01, weight_decay: 0.1, ..Default::default() },
            AdamConfig { lr: 0.01, weight_decay: 0.1, decoupled: true, ..Default::default() },
        ] {
            let (mut pc, mut pg) = both(&gpu, &rand_vec(1, n), &[n]);
            let (mut mc, mut mg) = (Cpu.zeros(&[n]), gpu.zeros(&[n]));
            let (mut vc, mut vg) = (Cpu.zeros(&[n]), gpu.zeros(&[n]));
            for step in 1..=3 {
                let (gc, gg) = both(&gpu, &rand_vec(10 + step as u64, n), &[n]);
                Cpu.adam(&mut pc, &gc, &mut mc, &mut vc, &cfg, step);
                gpu.adam(&mut pg, &gg, &mut mg, &mut vg, &cfg, step);
            }
            check(&format!("adam p n={n} {cfg:?}"), &gpu, &pg, &pc, EXACTISH);
            check("adam m", &gpu, &mg, &mc, EXACTISH);
            check("adam v", &gpu, &vg, &vc, EXACTISH);
        }
    }
}

#[test]
fn adam_keeps_value_semantics_for_clones() {
    let Some(gpu) = gpu() else { return };
    let p = gpu.tensor(&[1.0, 2.0], &[2]).unwrap();
    let mut q = p.clone();
    let (mut m, mut v) = (gpu.zeros(&[2]), gpu.zeros(&[2]));
    gpu.adam(&mut q, &gpu.full(&[2], 1.0), &mut m, &mut v, &AdamConfig::default(), 1);
    assert_eq!(gpu.read(&p).unwrap(), vec![1.0, 2.0], "the clone was updated, not the original");
    assert_ne!(gpu.read(&q).unwrap(), vec![1.0, 2.0]);
}

#[test]
fn adam_rows_matches_cpu_and_leaves_other_rows() {
    let Some(gpu) = gpu() else { return };
    for &(rows, d) in &[(1, 1), (13, 7), (300, 3)] {
        let cfg = AdamConfig { lr: 0.05, ..Default::default() };
        let (mut pc, mut pg) = both(&gpu, &rand_vec(3, rows * d), &[rows, d]);
        let before = Cpu.read(&pc).unwrap();
        let (mut mc, mut mg) = (Cpu.zeros(&[rows, d]), gpu.zeros(&[rows, d]));
        let (mut vc, mut vg) = (Cpu.zeros(&[rows, d]), gpu.zeros(&[rows, d]));
        let touched: Vec<u32> = (0..rows as u32).step_by(2).collect();
        let (gc, gg) = both(&gpu, &rand_vec(4, touched.len() * d), &[touched.len(), d]);
        Cpu.adam_rows(&mut pc, &Cpu.index(&touched).unwrap(), &gc, &mut mc, &mut vc, &cfg, 1);
        gpu.adam_rows(&mut pg, &gpu.index(&touched).unwrap(), &gg, &mut mg, &mut vg, &cfg, 1);
        check("adam_rows", &gpu, &pg, &pc, EXACTISH);
        let after = gpu.read(&pg).unwrap();
        for r in (1..rows).step_by(2) {
            assert_eq!(&after[r * d..(r + 1) * d], &before[r * d..(r + 1) * d], "row {r} was not touched");
        }
    }
}

#[test]
fn sgd_matches_cpu() {
    let Some(gpu) = gpu() else { return };
    for &n in SIZES {
        let (mut pc, mut pg) = both(&gpu, &rand_vec(1, n), &[n]);
        let (mut vc, mut vg) = (Cpu.zeros(&[n]), gpu.zeros(&[n]));
        for step in 0..3 {
            let (gc, gg) = both(&gpu, &rand_vec(20 + step, n), &[n]);
            Cpu.sgd(&mut pc, &gc, &mut vc, 0.1, 0.9, 0.01);
            gpu.sgd(&mut pg, &gg, &mut vg, 0.1, 0.9, 0.01);
        }
        check(&format!("sgd n={n}"), &gpu, &pg, &pc, EXACTISH);
    }
}

#[test]
fn adam_minimises_a_quadratic() {
    // p* = 3: the update direction and bias correction are right if Adam gets there.
    let mut p = Cpu.tensor(&[0.0], &[1]).unwrap();
    let (mut m, mut v) = (Cpu.zeros(&[1]), Cpu.zeros(&[1]));
    let cfg = AdamConfig { lr: 0.1, ..Default::default() };
    for step in 1..=500 {
        let g = Cpu.scale(&p, 2.0, -6.0);
        Cpu.adam(&mut p, &g, &mut m, &mut v, &cfg, step);
    }
    assert!((p[[0]] - 3.0).abs() < 1e-2, "p = {}", p[[0]]);
}

#[test]
fn adagrad_matches_cpu() {
    let Some(gpu) = gpu() else { return };
    for &n in SIZES {
        let (mut pc, mut pg) = both(&gpu, &rand_vec(1, n), &[n]);
        let (mut sc, mut sg) = (Cpu.zeros(&[n]), gpu.zeros(&[n]));
        for step in 0..3 {
            let (gc, gg) = both(&gpu, &rand_vec(30 + step, n), &[n]);
            Cpu.adagrad(&mut pc, &gc, &mut sc, 0.1, 1e-10, 0.01);
            gpu.adagrad(&mut pg, &gg, &mut sg, 0.1, 1e-10, 0.01);
        }
        check(&format!("adagrad n={n}"), &gpu, &pg, &pc, EXACTISH);
        check("adagrad accum", &gpu, &sg, &sc, EXACTISH);
    }
}

#[test]
fn clip_grad_norm_scales_only_when_over() {
    use gpurec::optim::clip_grad_norm;
    type Clip<'a> = &'a dyn Fn(&[f32], &[f32], f32) -> (Vec<f32>, Vec<f32>, f32);
    let check_backend = |b: Clip| {
        // ‖(3, 4, 0, 12)‖ = 13.
        let (a, c, norm) = b(&[3.0, 4.0], &[0.0, 12.0], 6.5);
        assert!((norm - 13.0).abs() < 1e-5);
        assert_close("clipped a", &a, &[1.5, 2.0], EXACTISH);
        assert_close("clipped c", &c, &[0.0, 6.0], EXACTISH);
        let (a, _, _) = b(&[3.0, 4.0], &[0.0, 12.0], 100.0);
        assert_close("unclipped", &a, &[3.0, 4.0], Tol { abs: 1e-5, rel: 1e-6 });
    };
    check_backend(&|x, y, m| {
        let (mut a, mut c) = (Cpu.tensor(x, &[2]).unwrap(), Cpu.tensor(y, &[2]).unwrap());
        let n = clip_grad_norm(&Cpu, &mut [&mut a, &mut c], m);
        (Cpu.read(&a).unwrap(), Cpu.read(&c).unwrap(), Cpu.read(&n).unwrap()[0])
    });
    if let Some(gpu) = gpu() {
        check_backend(&|x, y, m| {
            let (mut a, mut c) = (gpu.tensor(x, &[2]).unwrap(), gpu.tensor(y, &[2]).unwrap());
            let n = clip_grad_norm(&gpu, &mut [&mut a, &mut c], m);
            (gpu.read(&a).unwrap(), gpu.read(&c).unwrap(), gpu.read(&n).unwrap()[0])
        });
    }
}
