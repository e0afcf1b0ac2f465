//! Full-ranking evaluation on the device: hand cases, AUC against brute
//! force, and the same metrics on both backends.

mod common;

use common::*;
use gpurec::eval::{RankingEval, Scorer};
use gpurec::sparse::CsrHost;
use gpurec::{Backend, Cpu};

/// Scores from a fixed host matrix.
struct Fixed<B: Backend>(B::Tensor);

impl<B: Backend> Scorer<B> for Fixed<B> {
    fn score_users(&self, b: &B, users: &B::Index) -> B::Tensor {
        b.gather_rows(&self.0, users)
    }
}

fn brute_auc(scores: &[f32], m: usize, targets: &CsrHost, exclude: &CsrHost) -> f64 {
    let (mut sum, mut users) = (0.0, 0);
    for u in 0..targets.rows {
        let t = targets.row(u);
        let negs: Vec<u32> =
            (0..m as u32).filter(|c| t.binary_search(c).is_err() && exclude.row(u).binary_search(c).is_err()).collect();
        if t.is_empty() || negs.is_empty() {
            continue;
        }
        let mut right = 0.0;
        for &i in t {
            for &j in &negs {
                let (si, sj) = (scores[u * m + i as usize], scores[u * m + j as usize]);
                if si > sj || (si == sj && i < j) {
                    right += 1.0;
                }
            }
        }
        sum += right / (t.len() * negs.len()) as f64;
        users += 1;
    }
    sum / users as f64
}

fn random_case(n: usize, m: usize, seed: u64) -> (Vec<f32>, CsrHost, CsrHost) {
    let scores: Vec<f32> = rand_vec(seed, n * m).iter().map(|v| (v * 8.0).round()).collect();
    let mut t = Vec::new();
    let mut e = Vec::new();
    for (k, c) in rand_ints(seed + 1, n * 6, m as u32).into_iter().enumerate() {
        let u = (k % n) as u32;
        if k % 3 == 0 {
            t.push((u, c, 1.0));
        } else {
            e.push((u, c, 1.0));
        }
    }
    let targets = CsrHost::from_triplets(n, m, &t);
    // Keep targets out of the mask, as the protocols do.
    e.retain(|&(u, c, _)| targets.row(u as usize).binary_search(&c).is_err());
    (scores, targets, CsrHost::from_triplets(n, m, &e))
}

#[test]
fn auc_matches_brute_force_and_perfect_rankings_score_one() {
    let (n, m) = (17, 40);
    let (scores, targets, exclude) = random_case(n, m, 3);
    let model = Fixed::<Cpu>(Cpu.tensor(&scores, &[n, m]).unwrap());
    let metrics = RankingEval::new(&Cpu, &targets, &exclude, &[5], 4).unwrap().evaluate(&Cpu, &model).unwrap();
    let want = brute_auc(&scores, m, &targets, &exclude);
    assert!((metrics.auc.unwrap() - want).abs() < 1e-12, "auc {:?} vs brute {want}", metrics.auc);

    // Targets scored above everything: AUC 1, NDCG 1, Recall@5 1 for users with ≤ 5 targets.
    let mut perfect = vec![0f32; n * m];
    for u in 0..n {
        for &i in targets.row(u) {
            perfect[u * m + i as usize] = 10.0;
        }
    }
    let model = Fixed::<Cpu>(Cpu.tensor(&perfect, &[n, m]).unwrap());
    let metrics = RankingEval::new(&Cpu, &targets, &exclude, &[5], 8).unwrap().evaluate(&Cpu, &model).unwrap();
    assert_eq!(metrics.auc, Some(1.0));
    assert!((metrics.ndcg[0] - 1.0).abs() < 1e-12);
}

#[test]
fn evaluation_is_the_same_on_both_backends() {
    let Some(gpu) = gpu() else { return };
    let (n, m) = (70, 300);
    let (scores, targets, exclude) = random_case(n, m, 8);
    let cpu = RankingEval::new(&Cpu, &targets, &exclude, &[1, 10, 20], 32)
        .unwrap()
        .evaluate(&Cpu, &Fixed::<Cpu>(Cpu.tensor(&scores, &[n, m]).unwrap()))
        .unwrap();
    let g = RankingEval::new(&gpu, &targets, &exclude, &[1, 10, 20], 32)
        .unwrap()
        .evaluate(&gpu, &Fixed::<gpurec::Gpu>(gpu.tensor(&scores, &[n, m]).unwrap()))
        .unwrap();
    assert_eq!(cpu, g, "identical rankings give identical metrics");
    assert!(cpu.users > 0 && cpu.auc.is_some());
}

#[test]
fn sampled_protocol_ranks_positives_against_their_negatives() {
    use gpurec::eval::SampledEval;
    // 2 users, 6 items. User 0: positive 1, negatives {0, 2, 3}; user 1: positive 4, negatives {5, 0, 1}.
    let scores = [0.9, 0.5, 0.1, 0.2, 0.0, 0.0, 0.3, 0.2, 0.0, 0.0, 0.8, 0.1];
    let test = CsrHost::from_triplets(2, 6, &[(0, 1, 1.0), (1, 4, 1.0)]);
    let negs = vec![vec![0, 2, 3], vec![5, 0, 1]];
    let check_on = |b: &dyn Fn() -> gpurec::eval::SampledMetrics| {
        let m = b();
        assert_eq!((m.negatives, m.positives), (3, 2));
        // User 0: rank 2 (item 0 above). User 1: rank 1.
        assert_eq!(m.hit, vec![0.5, 1.0]);
        assert!((m.ndcg[1] - (1.0 / 3f64.log2() + 1.0) / 2.0).abs() < 1e-12);
        assert!(m.to_string().starts_with("sampled, 3 negatives"));
    };
    check_on(&|| {
        let e = SampledEval::with_negatives(&Cpu, &test, &negs, &[1, 10]).unwrap();
        e.evaluate(&Cpu, &Fixed::<Cpu>(Cpu.tensor(&scores, &[2, 6]).unwrap())).unwrap()
    });
    if let Some(gpu) = gpu() {
        check_on(&|| {
            let e = SampledEval::with_negatives(&gpu, &test, &negs, &[1, 10]).unwrap();
            e.evaluate(&gpu, &Fixed::<gpurec::Gpu>(gpu.tensor(&scores, &[2, 6]).unwrap())).unwrap()
        });
    }
    // Seeded sampling avoids seen items.
    let seen = CsrHost::from_triplets(2, 6, &[(0, 1, 1.0), (0, 2, 1.0), (1, 4, 1.0)]);
    let e = SampledEval::new(&Cpu, &test, &seen, 3, &[10], 5).unwrap();
    let m = e.evaluate(&Cpu, &Fixed::<Cpu>(Cpu.tensor(&scores, &[2, 6]).unwrap())).unwrap();
    assert_eq!(m.positives, 2);
    assert!(SampledEval::new(&Cpu, &test, &seen, 5, &[10], 5).is_err(), "not enough unseen items");
}
