//! NGCF's graph convolution layer: finite differences on the CPU, parity on the GPU.

mod common;

use common::*;
use gpurec::graph::normalized_adjacency;
use gpurec::layers::graph::NgcfLayer;
use gpurec::sparse::CsrHost;
use gpurec::{Backend, Cpu};

fn tiny_graph() -> CsrHost {
    let trip = [(0, 0), (0, 2), (1, 1), (1, 2), (2, 3), (3, 0), (3, 3)];
    normalized_adjacency(&CsrHost::from_triplets(4, 4, &trip.map(|(u, i)| (u, i, 1.0))))
}

#[test]
fn ngcf_layer_backward_matches_finite_differences() {
    let (n, d_in, d_out) = (8, 3, 2);
    let adj = Cpu.csr(&tiny_graph()).unwrap();
    let mut layer = NgcfLayer::new(&Cpu, d_in, d_out, 4).unwrap();
    // A non-zero bias so no pre-activation sits exactly at LeakyReLU's kink.
    layer.b.value = Cpu.tensor(&[0.16, -0.05], &[d_out]).unwrap();
    let e0: Vec<f32> = rand_vec(1, n * d_in).iter().map(|v| v * 2.0).collect();
    let r = Cpu.tensor(&rand_vec(2, n * d_out), &[n, d_out]).unwrap();
    let loss = |layer: &NgcfLayer<Cpu>, e: &[f32]| -> f64 {
        let s = layer.forward(&Cpu, &adj, &Cpu.tensor(e, &[n, d_in]).unwrap());
        s.out.iter().zip(r.iter()).map(|(a, b)| *a as f64 * *b as f64).sum()
    };
    let saved = layer.forward(&Cpu, &adj, &Cpu.tensor(&e0, &[n, d_in]).unwrap());
    let (de, g) = layer.backward(&Cpu, &adj, &saved, &r);
    let h = 1e-2f32;
    // Central differences in f64; the tolerance covers f32 rounding of the forward.
    let close = |what: &str, fd: f64, an: f32| {
        assert!((fd - an as f64).abs() < 1e-3 + 1e-2 * fd.abs(), "{what}: fd {fd} vs {an}");
    };
    for k in 0..e0.len() {
        let (mut p, mut m) = (e0.clone(), e0.clone());
        p[k] += h;
        m[k] -= h;
        close(&format!("dE[{k}]"), (loss(&layer, &p) - loss(&layer, &m)) / (2.0 * h as f64), de.as_slice().unwrap()[k]);
    }
    let params: [(&str, &gpurec::cpu::CpuTensor); 3] = [("w1", &g.dw1), ("w2", &g.dw2), ("b", &g.db)];
    for (name, grad) in params {
        for k in 0..grad.len() {
            let bump = |layer: &mut NgcfLayer<Cpu>, delta: f32| {
                let t = match name {
                    "w1" => &mut layer.w1.value,
                    "w2" => &mut layer.w2.value,
                    _ => &mut layer.b.value,
                };
                t.as_slice_mut().unwrap()[k] += delta;
            };
            bump(&mut layer, h);
            let lp = loss(&layer, &e0);
            bump(&mut layer, -2.0 * h);
            let lm = loss(&layer, &e0);
            bump(&mut layer, h);
            close(&format!("d{name}[{k}]"), (lp - lm) / (2.0 * h as f64), grad.as_slice().unwrap()[k]);
        }
    }
}

#[test]
fn ngcf_layer_matches_cpu_on_gpu() {
    let Some(gpu) = gpu() else { return };
    let host = tiny_graph();
    let (n, d_in, d_out) = (8, 5, 7);
    let (lc, lg) = (NgcfLayer::new(&Cpu, d_in, d_out, 9).unwrap(), NgcfLayer::new(&gpu, d_in, d_out, 9).unwrap());
    let (ec, eg) = both(&gpu, &rand_vec(3, n * d_in), &[n, d_in]);
    let (dc, dg) = both(&gpu, &rand_vec(4, n * d_out), &[n, d_out]);
    let (ac, ag) = (Cpu.csr(&host).unwrap(), gpu.csr(&host).unwrap());
    let (sc, sg) = (lc.forward(&Cpu, &ac, &ec), lg.forward(&gpu, &ag, &eg));
    check("ngcf forward", &gpu, &sg.out, &sc.out, SUMS);
    let ((dec, gc), (deg, gg)) = (lc.backward(&Cpu, &ac, &sc, &dc), lg.backward(&gpu, &ag, &sg, &dg));
    check("ngcf dE", &gpu, &deg, &dec, SUMS);
    check("ngcf dW1", &gpu, &gg.dw1, &gc.dw1, SUMS);
    check("ngcf dW2", &gpu, &gg.dw2, &gc.dw2, SUMS);
    check("ngcf db", &gpu, &gg.db, &gc.db, SUMS);
}
