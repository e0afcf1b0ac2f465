//! Layers: backward passes against central finite differences (CPU), GPU
//! against CPU on shapes that cross workgroup boundaries, and a small MLP
//! learning a planted rule on both backends.

mod common;

use common::*;
use gpurec::layers::{Adam, Linear, LinearGrads, Mlp};
use gpurec::{Act, AdamConfig, Backend, Cpu};

const ACTS: [Act; 6] = [Act::Identity, Act::Relu, Act::LeakyRelu(0.1), Act::Sigmoid, Act::Tanh, Act::Softplus];

fn read(t: &<Cpu as Backend>::Tensor) -> Vec<f32> {
    Cpu.read(t).unwrap()
}

fn has_kinks(act: Act) -> bool {
    matches!(act, Act::Relu | Act::LeakyRelu(_))
}

#[test]
fn linear_backward_matches_finite_differences() {
    let (n, fin, fout) = (5, 4, 3);
    for act in ACTS {
        let x = rand_vec(1, n * fin);
        let w = rand_vec(2, fout * fin);
        let bias = rand_vec(3, fout);
        let r = rand_vec(4, n * fout);
        let layer = |w: &[f32], bias: &[f32]| Linear::from_weights(&Cpu, w, Some(bias), fin, fout, act).unwrap();
        let forward = |x: &[f32], w: &[f32], bias: &[f32]| {
            let y = layer(w, bias).forward(&Cpu, &Cpu.tensor(x, &[n, fin]).unwrap());
            dot(&read(&y), &r)
        };
        let lin = layer(&w, &bias);
        let xt = Cpu.tensor(&x, &[n, fin]).unwrap();
        let y = lin.forward(&Cpu, &xt);
        let (dx, g) = lin.backward(&Cpu, &xt, &y, &Cpu.tensor(&r, &[n, fout]).unwrap());
        let kinks = has_kinks(act);
        check_fd(&format!("{act:?} dx"), &x, &read(&dx), kinks, &|v| forward(v, &w, &bias));
        check_fd(&format!("{act:?} dW"), &w, &read(&g.dw), kinks, &|v| forward(&x, v, &bias));
        check_fd(&format!("{act:?} db"), &bias, &read(g.db.as_ref().unwrap()), kinks, &|v| forward(&x, &w, v));
        let g2 = lin.backward_weights(&Cpu, &xt, &y, &Cpu.tensor(&r, &[n, fout]).unwrap());
        assert_eq!(read(&g2.dw), read(&g.dw), "backward_weights gives the same dW");
    }
}

#[test]
fn linear_without_bias_has_no_bias_gradient() {
    let lin = Linear::from_weights(&Cpu, &rand_vec(1, 6), None, 3, 2, Act::Tanh).unwrap();
    let x = Cpu.tensor(&rand_vec(2, 12), &[4, 3]).unwrap();
    let y = lin.forward(&Cpu, &x);
    let (dx, g) = lin.backward(&Cpu, &x, &y, &Cpu.full(&[4, 2], 1.0));
    assert!(g.db.is_none());
    assert_eq!(dx.shape(), &[4, 3]);
    assert_eq!(lin.parameters().len(), 1);
}

/// Sizes [5 → 6 → 4 → 3] with `act` inside and `out_act` last, optionally with dropout.
fn check_mlp_fd(act: Act, out_act: Act, dropout: f32) {
    let (n, sizes) = (5, [5usize, 6, 4, 3]);
    let seed = 77;
    let mut mlp = Mlp::new(&Cpu, &sizes, act, out_act, dropout, 11).unwrap();
    // Random biases: with the zero initial ones a row whose inputs are all
    // zero (dead ReLUs, dropped inputs) would sit exactly on a kink.
    for (l, layer) in mlp.layers.iter_mut().enumerate() {
        layer.bias.as_mut().unwrap().value =
            Cpu.tensor(&rand_vec(50 + l as u64, sizes[l + 1]), &[sizes[l + 1]]).unwrap();
    }
    let x = rand_vec(1, n * sizes[0]);
    let r = rand_vec(2, n * sizes[3]);
    let xt = Cpu.tensor(&x, &[n, sizes[0]]).unwrap();
    let (y, saved) = mlp.forward_train(&Cpu, &xt, seed);
    assert_eq!(read(&y), read(saved.output()));
    let (dx, grads) = mlp.backward(&Cpu, &saved, &Cpu.tensor(&r, &[n, sizes[3]]).unwrap());
    let loss = |m: &Mlp<Cpu>, x: &[f32]| {
        let (y, _) = m.forward_train(&Cpu, &Cpu.tensor(x, &[n, sizes[0]]).unwrap(), seed);
        dot(&read(&y), &r)
    };
    let kinks = has_kinks(act) || has_kinks(out_act);
    let tag = format!("mlp {act:?}/{out_act:?} dropout {dropout}");
    check_fd(&format!("{tag} dx"), &x, &read(&dx), kinks, &|v| loss(&mlp, v));
    for (l, g) in grads.iter().enumerate() {
        let w = read(&mlp.layers[l].weight.value);
        let with_w = |v: &[f32]| {
            let mut m = mlp.clone();
            m.layers[l].weight.value = Cpu.tensor(v, &[sizes[l + 1], sizes[l]]).unwrap();
            loss(&m, &x)
        };
        check_fd(&format!("{tag} layer {l} dW"), &w, &read(&g.dw), kinks, &with_w);
        let bias = read(&mlp.layers[l].bias.as_ref().unwrap().value);
        let with_b = |v: &[f32]| {
            let mut m = mlp.clone();
            m.layers[l].bias.as_mut().unwrap().value = Cpu.tensor(v, &[sizes[l + 1]]).unwrap();
            loss(&m, &x)
        };
        check_fd(&format!("{tag} layer {l} db"), &bias, &read(g.db.as_ref().unwrap()), kinks, &with_b);
    }
    let weights_only = mlp.backward_weights(&Cpu, &saved, &Cpu.tensor(&r, &[n, sizes[3]]).unwrap());
    for (a, b) in weights_only.iter().zip(&grads) {
        assert_eq!(read(&a.dw), read(&b.dw), "{tag}: backward_weights gives the same dW");
    }
}

#[test]
fn mlp_backward_matches_finite_differences_for_every_activation() {
    for act in ACTS {
        check_mlp_fd(act, act, 0.0);
    }
    check_mlp_fd(Act::Relu, Act::Identity, 0.0);
}

#[test]
fn mlp_backward_with_dropout_matches_finite_differences() {
    // With the step's seed fixed the mask is fixed, so the network is an ordinary function.
    check_mlp_fd(Act::Tanh, Act::Identity, 0.3);
    check_mlp_fd(Act::Relu, Act::Sigmoid, 0.2);
}

#[test]
fn dropout_masks_differ_between_steps_and_training_differs_from_inference() {
    let mlp = Mlp::new(&Cpu, &[8, 8], Act::Identity, Act::Identity, 0.5, 3).unwrap();
    let x = Cpu.tensor(&rand_vec(1, 64), &[8, 8]).unwrap();
    let (a, _) = mlp.forward_train(&Cpu, &x, 1);
    let (b, _) = mlp.forward_train(&Cpu, &x, 2);
    let (c, _) = mlp.forward_train(&Cpu, &x, 1);
    assert_ne!(read(&a), read(&b));
    assert_eq!(read(&a), read(&c));
    assert_ne!(read(&a), read(&mlp.forward(&Cpu, &x)));
}

/// Sums of up to 257 products of O(1) terms, accumulated in different orders
/// by the two backends: the absolute error grows with the length of the sum.
const LONG_SUMS: Tol = Tol { abs: 1e-4, rel: 1e-4 };

fn read_grads<B: Backend>(b: &B, y: &B::Tensor, dx: &B::Tensor, g: &LinearGrads<B>) -> [Vec<f32>; 4] {
    [b.read(y).unwrap(), b.read(dx).unwrap(), b.read(&g.dw).unwrap(), b.read(g.db.as_ref().unwrap()).unwrap()]
}

fn linear_pass<B: Backend>(b: &B, act: Act, (n, fin, fout): (usize, usize, usize), seed: u64) -> [Vec<f32>; 4] {
    let lin = Linear::from_weights(b, &rand_vec(seed, fout * fin), Some(&rand_vec(seed + 1, fout)), fin, fout, act);
    let lin = lin.unwrap();
    let x = b.tensor(&rand_vec(seed + 2, n * fin), &[n, fin]).unwrap();
    let dy = b.tensor(&rand_vec(seed + 3, n * fout), &[n, fout]).unwrap();
    let y = lin.forward(b, &x);
    let (dx, g) = lin.backward(b, &x, &y, &dy);
    read_grads(b, &y, &dx, &g)
}

#[test]
fn linear_backward_matches_cpu() {
    let Some(gpu) = gpu() else { return };
    // (rows, in, out): 1, primes, and just past 64 and 256 on each axis.
    let shapes = [(1, 1, 1), (2, 7, 13), (65, 13, 7), (257, 65, 2), (13, 257, 65), (7, 2, 257)];
    for act in ACTS {
        for (k, &shape) in shapes.iter().enumerate() {
            let seed = 100 + 10 * k as u64;
            let want = linear_pass(&Cpu, act, shape, seed);
            let got = linear_pass(&gpu, act, shape, seed);
            for (name, (g, w)) in ["y", "dx", "dW", "db"].iter().zip(got.iter().zip(&want)) {
                assert_close(&format!("linear {act:?} {shape:?} {name}"), g, w, LONG_SUMS);
            }
        }
    }
}

fn forward_t_pass<B: Backend>(b: &B, (n, fin, fout): (usize, usize, usize)) -> [Vec<f32>; 2] {
    let lin = Linear::from_weights(b, &rand_vec(1, fout * fin), Some(&rand_vec(2, fout)), fin, fout, Act::Tanh);
    let lin = lin.unwrap();
    let x = rand_vec(3, 2 * n * fin);
    // The same two batches of rows, stored as [2, n, in] and transposed as [2, in, n].
    let x_t: Vec<f32> = (0..2)
        .flat_map(|bt| (0..fin).flat_map(move |c| (0..n).map(move |r| (bt, r, c))))
        .map(|(bt, r, c)| x[bt * n * fin + r * fin + c])
        .collect();
    let y = lin.forward(b, &b.tensor(&x, &[2, n, fin]).unwrap());
    let y_t = lin.forward_t(b, &b.tensor(&x_t, &[2, fin, n]).unwrap());
    [b.read(&y).unwrap(), b.read(&y_t).unwrap()]
}

#[test]
fn linear_forward_t_reads_a_transposed_batched_input() {
    for shape in [(1, 1, 1), (7, 13, 2), (65, 2, 7)] {
        let [y, y_t] = forward_t_pass(&Cpu, shape);
        assert_close(&format!("cpu forward_t {shape:?}"), &y_t, &y, EXACTISH);
        if let Some(gpu) = gpu() {
            let [g, g_t] = forward_t_pass(&gpu, shape);
            assert_close(&format!("gpu forward_t {shape:?}"), &g_t, &g, SUMS);
            assert_close(&format!("gpu vs cpu forward {shape:?}"), &g, &y, SUMS);
        }
    }
}

fn mlp_pass<B: Backend>(b: &B, n: usize, dropout: f32) -> Vec<Vec<f32>> {
    let sizes = [13, 65, 7, 3];
    let mlp = Mlp::new(b, &sizes, Act::Tanh, Act::Sigmoid, dropout, 5).unwrap();
    let x = b.tensor(&rand_vec(1, n * sizes[0]), &[n, sizes[0]]).unwrap();
    let dy = b.tensor(&rand_vec(2, n * sizes[3]), &[n, sizes[3]]).unwrap();
    let (y, saved) = mlp.forward_train(b, &x, 42);
    let (dx, grads) = mlp.backward(b, &saved, &dy);
    let mut out = vec![b.read(&y).unwrap(), b.read(&dx).unwrap(), b.read(&mlp.forward(b, &x)).unwrap()];
    for g in &grads {
        out.push(b.read(&g.dw).unwrap());
        out.push(b.read(g.db.as_ref().unwrap()).unwrap());
    }
    out
}

#[test]
fn mlp_backward_matches_cpu_with_and_without_dropout() {
    let Some(gpu) = gpu() else { return };
    for n in [1, 7, 65, 257] {
        for dropout in [0.0, 0.25] {
            let (got, want) = (mlp_pass(&gpu, n, dropout), mlp_pass(&Cpu, n, dropout));
            for (k, (g, w)) in got.iter().zip(&want).enumerate() {
                // Dropout masks come from the same counter-based generator: same positions dropped.
                assert_close(&format!("mlp n={n} dropout {dropout} output {k}"), g, w, LONG_SUMS);
            }
        }
    }
}

/// A planted rule on random inputs: y = [x₀·x₁ > 0] (XOR of the signs), 512
/// training and 512 held-out points, learned by a [2 → 32 → 32 → 1] ReLU MLP
/// in 100 full-batch Adam steps (lr 0.03). Returns the held-out accuracy.
fn learn_xor<B: Backend>(b: &B) -> f64 {
    let (n, steps) = (512, 100);
    let data = |seed| {
        let x = rand_vec(seed, 2 * n);
        let y: Vec<f32> = x.chunks(2).map(|p| (p[0] * p[1] > 0.0) as u8 as f32).collect();
        (x, y)
    };
    let ((x, y), (xt, yt)) = (data(1), data(2));
    let (x, y) = (b.tensor(&x, &[n, 2]).unwrap(), b.tensor(&y, &[n, 1]).unwrap());
    let mut mlp = Mlp::new(b, &[2, 32, 32, 1], Act::Relu, Act::Identity, 0.0, 9).unwrap();
    let mut opt = Adam::new(AdamConfig { lr: 0.03, ..Default::default() });
    let t0 = std::time::Instant::now();
    for step in 0..steps {
        let (logits, saved) = mlp.forward_train(b, &x, step);
        let (_, dlogits) = b.bce_with_logits(&logits, &y);
        let grads = mlp.backward_weights(b, &saved, &dlogits);
        opt.next_step();
        mlp.update(b, &grads, &opt);
        b.flush().unwrap();
    }
    let logits = b.read(&mlp.forward(b, &b.tensor(&xt, &[n, 2]).unwrap())).unwrap();
    eprintln!("{}: {steps} steps in {:.2} s", b.describe(), t0.elapsed().as_secs_f64());
    logits.iter().zip(&yt).filter(|(&l, &t)| (l > 0.0) == (t > 0.5)).count() as f64 / n as f64
}

#[test]
fn small_mlp_learns_a_planted_xor_rule_on_both_backends() {
    let cpu = learn_xor(&Cpu);
    eprintln!("XOR rule, held-out accuracy: cpu {cpu:.4}");
    // A linear model cannot beat ~0.5 here; the MLP should carve the four quadrants.
    assert!(cpu >= 0.95, "cpu held-out accuracy {cpu} < 0.95 after 100 Adam steps");
    if let Some(gpu) = gpu() {
        let g = learn_xor(&gpu);
        eprintln!("XOR rule, held-out accuracy: gpu {g:.4}");
        assert!(g >= 0.95, "gpu held-out accuracy {g} < 0.95 after 100 Adam steps");
    }
}
