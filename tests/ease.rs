//! EASE and ItemKNN against their definitions computed on the host in f64,
//! on both backends, and the size check that refuses item counts whose
//! items × items matrices do not fit.

mod common;

use common::{assert_close, gpu, rand_ints, Tol};
use gpurec::models::{EaseConfig, EaseModel, ItemKnnConfig, ItemKnnModel, Scorer};
use gpurec::sparse::CsrHost;
use gpurec::{Backend, Cpu};

/// A seeded 0/1 users × items matrix with every item seen at least once.
fn interactions(users: usize, items: usize, per_user: usize, seed: u64) -> CsrHost {
    let mut trip = Vec::new();
    for u in 0..users {
        for i in rand_ints(seed + u as u64, per_user, items as u32) {
            trip.push((u as u32, i, 1.0));
        }
    }
    for i in 0..items {
        trip.push(((i % users) as u32, i as u32, 1.0));
    }
    let mut m = CsrHost::from_triplets(users, items, &trip);
    m.vals.iter_mut().for_each(|v| *v = 1.0);
    m
}

fn dense(m: &CsrHost) -> Vec<Vec<f64>> {
    let mut x = vec![vec![0.0; m.cols]; m.rows];
    for (u, row) in x.iter_mut().enumerate() {
        for &i in m.row(u) {
            row[i as usize] = 1.0;
        }
    }
    x
}

/// (XᵀX + λI)⁻¹ by Gauss–Jordan in f64.
fn inverse(mut a: Vec<Vec<f64>>) -> Vec<Vec<f64>> {
    let n = a.len();
    let mut inv: Vec<Vec<f64>> = (0..n).map(|i| (0..n).map(|j| (i == j) as u8 as f64).collect()).collect();
    for p in 0..n {
        let d = a[p][p];
        for j in 0..n {
            a[p][j] /= d;
            inv[p][j] /= d;
        }
        for r in 0..n {
            if r != p {
                let f = a[r][p];
                for j in 0..n {
                    a[r][j] -= f * a[p][j];
                    inv[r][j] -= f * inv[p][j];
                }
            }
        }
    }
    inv
}

fn gram(x: &[Vec<f64>], n: usize) -> Vec<Vec<f64>> {
    (0..n).map(|i| (0..n).map(|j| x.iter().map(|r| r[i] * r[j]).sum()).collect()).collect()
}

/// Scores X · W for every user, row-major.
fn scores(x: &[Vec<f64>], w: &[Vec<f64>]) -> Vec<f32> {
    let n = w.len();
    x.iter().flat_map(|r| (0..n).map(move |j| (0..n).map(|i| r[i] * w[i][j]).sum::<f64>() as f32)).collect()
}

fn device_scores<B: Backend>(b: &B, m: &impl Scorer<B>, users: usize) -> Vec<f32> {
    let idx: Vec<u32> = (0..users as u32).collect();
    b.read(&m.score_users(b, &b.index(&idx).unwrap())).unwrap()
}

/// f32 Gram sums and an f32 inverse of a matrix with condition number ≲ 10²
/// (λ = 2 on co-occurrence counts ≤ 30): a few hundred ulps of the scores.
const EASE_TOL: Tol = Tol { abs: 1e-4, rel: 1e-3 };

#[test]
fn ease_matches_its_closed_form() {
    for (users, items) in [(1, 1), (7, 13), (30, 65)] {
        let x = interactions(users, items, 5, items as u64);
        let xd = dense(&x);
        let lambda = 2.0;
        let mut g = gram(&xd, items);
        (0..items).for_each(|i| g[i][i] += lambda);
        let p = inverse(g);
        let w: Vec<Vec<f64>> =
            (0..items).map(|i| (0..items).map(|j| if i == j { 0.0 } else { -p[i][j] / p[j][j] }).collect()).collect();
        let want = scores(&xd, &w);
        let cfg = EaseConfig { lambda: lambda as f32 };
        let cpu = EaseModel::fit(&Cpu, &x, cfg.clone()).unwrap();
        assert_close(&format!("ease {users}x{items} cpu"), &device_scores(&Cpu, &cpu, users), &want, EASE_TOL);
        if let Some(g) = gpu() {
            let m = EaseModel::fit(&g, &x, cfg).unwrap();
            assert_close(&format!("ease {users}x{items} gpu"), &device_scores(&g, &m, users), &want, EASE_TOL);
        }
    }
}

#[test]
#[allow(clippy::needless_range_loop)] // w is filled by (row, column), as the definition reads
fn itemknn_matches_its_definition() {
    for (users, items, k) in [(1, 1, 1), (7, 13, 3), (30, 65, 10), (30, 65, 100)] {
        let x = interactions(users, items, 6, 100 + items as u64);
        let xd = dense(&x);
        let shrink = 1.5;
        let g = gram(&xd, items);
        // In f32, op for op as the model computes it (the counts are exact integers), so that
        // equal similarities tie exactly and the pruning is compared, not its rounding.
        let sim = |i: usize, j: usize| -> f64 {
            let norm = |i: usize| (g[i][i] as f32).sqrt();
            let denom = norm(i) * norm(j) + (shrink as f32 + 1e-6);
            (g[i][j] as f32 / denom * (i != j) as u8 as f32) as f64
        };
        // Column j keeps the k most similar items to j (ties: lower index).
        let mut w = vec![vec![0.0; items]; items];
        for j in 0..items {
            let mut order: Vec<usize> = (0..items).collect();
            order.sort_by(|&a, &b| sim(b, j).total_cmp(&sim(a, j)).then(a.cmp(&b)));
            for &i in order.iter().take(k) {
                w[i][j] = sim(i, j);
            }
        }
        let want = scores(&xd, &w);
        let cfg = ItemKnnConfig { k, shrink: shrink as f32 };
        // Ties among equal similarities are broken the same way on every backend, so f32 rounding is all that differs.
        let tol = Tol { abs: 1e-5, rel: 1e-4 };
        let cpu = ItemKnnModel::fit(&Cpu, &x, cfg.clone()).unwrap();
        assert_close(&format!("itemknn {users}x{items} k {k} cpu"), &device_scores(&Cpu, &cpu, users), &want, tol);
        if let Some(g) = gpu() {
            let m = ItemKnnModel::fit(&g, &x, cfg).unwrap();
            assert_close(&format!("itemknn {users}x{items} k {k} gpu"), &device_scores(&g, &m, users), &want, tol);
        }
    }
}

#[test]
fn item_counts_whose_matrix_does_not_fit_are_refused_with_sizes() {
    // 200,000 items: each items × items matrix is 160 GB.
    let x = CsrHost::from_triplets(3, 200_000, &[(0, 5, 1.0), (1, 7, 1.0), (2, 199_999, 1.0)]);
    let e = EaseModel::fit(&Cpu, &x, EaseConfig::default()).err().expect("refused on the CPU").to_string();
    assert!(e.contains("200000 × 200000") && e.contains("bytes"), "{e}");
    let e = ItemKnnModel::fit(&Cpu, &x, ItemKnnConfig::default()).err().expect("refused on the CPU").to_string();
    assert!(e.contains("200000 × 200000"), "{e}");
    if let Some(g) = gpu() {
        let e = EaseModel::fit(&g, &x, EaseConfig::default()).err().expect("refused on the GPU").to_string();
        assert!(e.contains("200000 × 200000") && e.contains("device allows"), "{e}");
    }
}
