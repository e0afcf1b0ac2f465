//! Full-ranking evaluation on the device: hand cases, AUC against brute
//! force, and the same metrics on both backends.

mod common;

use common::*;
use gpurec::backend::{AucCounts, Pattern, RANK_METRICS};
use gpurec::eval::{ranking_metrics, RankingEval, RankingMetrics, Scorer};
use gpurec::sparse::CsrHost;
use gpurec::{Backend, Cpu, Gpu};
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

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
    // Per-user AUC is computed in f32 on the device.
    assert!((metrics.auc.unwrap() - want).abs() < 1e-6, "auc {:?} vs brute {want}", metrics.auc);

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
    // Per-user values are f32 on both backends; only log2 and division may round differently.
    assert_metrics_close("gpu vs cpu", &g, &cpu, 1e-6);
    assert!(cpu.users > 0 && cpu.auc.is_some());
}

/// Asserts every metric of `got` is within `tol` of `want` (and the users and cut-offs agree).
fn assert_metrics_close(what: &str, got: &RankingMetrics, want: &RankingMetrics, tol: f64) {
    assert_eq!((&got.ks, got.users), (&want.ks, want.users), "{what}: cut-offs or users");
    assert_eq!(got.auc.is_some(), want.auc.is_some(), "{what}: AUC presence");
    let pairs = got.rows().into_iter().zip(want.rows());
    for ((name, g), (_, w)) in
        pairs.chain([(("auc".into(), got.auc.unwrap_or(0.0)), ("auc".into(), want.auc.unwrap_or(0.0)))])
    {
        assert!((g - w).abs() <= tol, "{what}: {name} got {g}, want {w}");
    }
}

/// Random inputs of `rank_metrics`: `n` top-`k` lists over `m` items (some
/// rows cut short by empty slots), targets (some rows empty, some overlapping
/// the lists), and AUC counts (some rows without negatives, some whose sums
/// pass 2^32).
struct MetricsCase {
    n: usize,
    k: usize,
    m: usize,
    top: Vec<u32>,
    targets: CsrHost,
    before: Vec<u32>,
    negatives: Vec<u32>,
}

fn metrics_case(n: usize, k: usize, m: usize, seed: u64) -> MetricsCase {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut items: Vec<u32> = (0..m as u32).collect();
    let (mut top, mut trip) = (Vec::with_capacity(n * k), Vec::new());
    for r in 0..n {
        items.shuffle(&mut rng);
        let listed = if r % 5 == 3 { rng.random_range(0..=k) } else { k };
        top.extend(items[..listed].iter().copied().chain(std::iter::repeat_n(u32::MAX, k - listed)));
        if r % 4 == 1 {
            continue; // no targets
        }
        // A few of the listed items and a few others.
        let from_list = rng.random_range(0..=listed.min(6));
        let others = rng.random_range(usize::from(from_list == 0)..=4);
        for &c in items[..from_list].iter().chain(&items[listed..(listed + others).min(m)]) {
            trip.push((r as u32, c, 1.0));
        }
    }
    let targets = CsrHost::from_triplets(n, m, &trip);
    let (mut before, mut negatives) = (Vec::new(), Vec::new());
    for r in 0..n {
        let neg = match r % 7 {
            2 => 0,
            5 => u32::MAX - 7,
            _ => rng.random_range(1..=m as u32),
        };
        negatives.push(neg);
        before.extend((0..targets.row(r).len()).map(|_| rng.random_range(0..=neg)));
    }
    MetricsCase { n, k, m, top, targets, before, negatives }
}

/// Runs `rank_metrics` on `b`: per-user metrics and coverage flags.
fn run_rank_metrics<B: Backend>(b: &B, c: &MetricsCase, ks: &[usize], auc: bool) -> (Vec<f32>, Vec<f32>) {
    let top = b.index(&c.top).unwrap();
    let targets: Pattern<B> = b.pattern(&c.targets).unwrap();
    let (before, negatives) = (b.index(&c.before).unwrap(), b.index(&c.negatives).unwrap());
    let mut covered = b.zeros(&[ks.len(), c.m]);
    let counts = auc.then_some(AucCounts { before: &before, negatives: &negatives });
    let out = b.rank_metrics(&top, c.k, &targets, ks, counts, Some(&mut covered));
    use gpurec::backend::Shaped;
    assert_eq!(out.dims(), [c.n, RANK_METRICS.len() * ks.len() + 1]);
    (b.read(&out).unwrap(), b.read(&covered).unwrap())
}

/// The CPU op against the host reference `ranking_metrics` (f64), user by user.
fn check_against_reference(c: &MetricsCase, ks: &[usize], auc: bool, per_user: &[f32], covered: &[f32]) {
    let (nk, width) = (ks.len(), RANK_METRICS.len() * ks.len() + 1);
    let mut tops = Vec::new();
    for (r, row) in per_user.chunks(width).enumerate() {
        let list = c.top[r * c.k..(r + 1) * c.k].to_vec();
        let t = c.targets.row(r).to_vec();
        let want = ranking_metrics(std::slice::from_ref(&list), std::slice::from_ref(&t), ks, c.m);
        for (j, name) in RANK_METRICS.iter().enumerate() {
            for (i, &kc) in ks.iter().enumerate() {
                let w = want.get(name, kc).unwrap();
                let g = row[j * nk + i] as f64;
                assert!((g - w).abs() <= 1e-5, "row {r}: {name}@{kc} got {g}, want {w}");
            }
        }
        let neg = c.negatives[r] as f64;
        let want_auc = if !auc || t.is_empty() || neg == 0.0 {
            0.0
        } else {
            let wrong: f64 = c.before[c.targets.row_ptr[r] as usize..c.targets.row_ptr[r + 1] as usize]
                .iter()
                .map(|&b| b as f64)
                .sum();
            1.0 - wrong / (t.len() as f64 * neg)
        };
        assert!((row[width - 1] as f64 - want_auc).abs() <= 1e-5, "row {r}: auc {} vs {want_auc}", row[width - 1]);
        tops.push(list);
    }
    for (i, &kc) in ks.iter().enumerate() {
        let mut want = vec![0f32; c.m];
        for list in &tops {
            for &item in list.iter().take(kc).filter(|&&item| (item as usize) < c.m) {
                want[item as usize] = 1.0;
            }
        }
        assert_eq!(&covered[i * c.m..(i + 1) * c.m], &want[..], "coverage flags @{kc}");
    }
}

#[test]
fn rank_metrics_matches_reference_and_cpu() {
    let gpu = gpu();
    let shapes: &[(usize, usize, &[usize])] = &[
        (1, 1, &[1]),
        (2, 5, &[5, 1, 3]),
        (7, 10, &[1, 5, 10]),
        (13, 20, &[10, 20, 20]),
        (65, 128, &[1, 10, 50, 128]),
        (257, 16, &[2, 16, 19]), // a cut-off past the list length sees only the list
        (300, 128, &[128, 1, 64]),
    ];
    for (s, &(n, k, ks)) in shapes.iter().enumerate() {
        let m = [1, 7, 41, 300, 1000][s % 5].max(k + 4);
        let c = metrics_case(n, k, m, 100 + s as u64);
        for auc in [true, false] {
            let what = format!("n {n} k {k} ks {ks:?} m {m} auc {auc}");
            let (cpu, cpu_cov) = run_rank_metrics(&Cpu, &c, ks, auc);
            check_against_reference(&c, ks, auc, &cpu, &cpu_cov);
            if let Some(g) = &gpu {
                let (got, got_cov) = run_rank_metrics(g, &c, ks, auc);
                assert_close(&format!("rank_metrics {what}"), &got, &cpu, EXACTISH);
                assert_eq!(got_cov, cpu_cov, "coverage flags {what}");
            }
        }
    }
}

#[test]
fn rank_metrics_accumulates_coverage_over_batches() {
    // Two batches of one user marking the same flag table: the union of their items.
    fn both_batches<B: Backend>(b: &B) -> Vec<f32> {
        let targets = b.pattern(&CsrHost::from_triplets(1, 6, &[(0, 2, 1.0)])).unwrap();
        let mut covered = b.zeros(&[2, 6]);
        for top in [[3, 1, u32::MAX], [1, 4, 0]] {
            b.rank_metrics(&b.index(&top).unwrap(), 3, &targets, &[1, 3], None, Some(&mut covered));
        }
        b.read(&covered).unwrap()
    }
    // @1: items 3 and 1; @3: also 0 and 4. The empty slot marks nothing.
    let want = [0., 1., 0., 1., 0., 0., 1., 1., 0., 1., 1., 0.];
    assert_eq!(both_batches(&Cpu), want);
    if let Some(g) = gpu() {
        assert_eq!(both_batches(&g), want);
    }
}

/// Metrics from the backend's own top-K lists, read back and scored on the host.
fn host_reference<B: Backend>(
    b: &B,
    scores: &[f32],
    (n, m): (usize, usize),
    targets: &CsrHost,
    exclude: &CsrHost,
    ks: &[usize],
) -> RankingMetrics {
    let k = *ks.iter().max().unwrap();
    let s = b.tensor(scores, &[n, m]).unwrap();
    let top = b.read_index(&b.topk_masked(&s, k, Some(&b.pattern(exclude).unwrap())).0).unwrap();
    let (mut tops, mut ts) = (Vec::new(), Vec::new());
    for u in (0..n).filter(|&u| !targets.row(u).is_empty()) {
        tops.push(top[u * k..(u + 1) * k].to_vec());
        ts.push(targets.row(u).to_vec());
    }
    let mut want = ranking_metrics(&tops, &ts, ks, m);
    want.auc = Some(brute_auc(scores, m, targets, exclude));
    want
}

#[test]
fn evaluate_matches_ranking_metrics_of_the_read_back_top_k() {
    let gpu = gpu();
    for (n, m, ks, batch) in [(1, 9, vec![1, 3], 4), (70, 300, vec![1, 10, 20], 32), (263, 150, vec![5, 128, 50], 100)]
    {
        let (scores, targets, exclude) = random_case(n, m, n as u64);
        let what = format!("n {n} m {m} ks {ks:?}");
        let want = host_reference(&Cpu, &scores, (n, m), &targets, &exclude, &ks);
        let model = Fixed::<Cpu>(Cpu.tensor(&scores, &[n, m]).unwrap());
        let got = RankingEval::new(&Cpu, &targets, &exclude, &ks, batch).unwrap().evaluate(&Cpu, &model).unwrap();
        assert_metrics_close(&format!("cpu {what}"), &got, &want, 1e-5);
        if let Some(g) = &gpu {
            let want = host_reference(g, &scores, (n, m), &targets, &exclude, &ks);
            let model = Fixed::<Gpu>(g.tensor(&scores, &[n, m]).unwrap());
            let got = RankingEval::new(g, &targets, &exclude, &ks, batch).unwrap().evaluate(g, &model).unwrap();
            assert_metrics_close(&format!("gpu {what}"), &got, &want, 1e-5);
        }
    }
}

#[test]
fn gpu_evaluate_reads_back_one_small_vector() {
    if gpu().is_none() {
        return;
    }
    // A context of its own: the shared one counts other tests' work too.
    let g = Gpu::new().unwrap();
    let ks = [1, 10, 20];
    let want_bytes = ((RANK_METRICS.len() + 1) * ks.len() + 1) as u64 * 4;
    for (n, batch) in [(40, 16), (600, 64)] {
        let m = 200;
        let (scores, targets, exclude) = random_case(n, m, 11);
        let model = Fixed::<Gpu>(g.tensor(&scores, &[n, m]).unwrap());
        for auc in [true, false] {
            let mut eval = RankingEval::new(&g, &targets, &exclude, &ks, batch).unwrap();
            if !auc {
                eval = eval.without_auc();
            }
            g.sync().unwrap();
            let before = g.stats();
            let metrics = eval.evaluate(&g, &model).unwrap();
            let d = g.stats() - before;
            eprintln!("evaluate, {n} users in batches of {batch}, auc {auc}: {d:?}");
            assert_eq!(d.readbacks, 1, "{n} users, auc {auc}: one read-back per evaluate");
            assert_eq!(d.bytes_downloaded, want_bytes, "{n} users, auc {auc}: the metric sums only");
            assert_eq!(d.bytes_uploaded, 0, "{n} users, auc {auc}: the evaluation set stays on the device");
            assert_eq!(metrics.auc.is_some(), auc);
        }
    }
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
        assert!((m.ndcg[1] - (1.0 / 3f64.log2() + 1.0) / 2.0).abs() < 1e-6);
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
    // Seeded sampling avoids seen items: user 0's seen item 2 outscores its
    // positive, so drawing it as a negative would cost a hit at 1. With 4
    // negatives user 0 gets exactly its 4 unseen items.
    let seen = CsrHost::from_triplets(2, 6, &[(0, 1, 1.0), (0, 2, 1.0), (1, 4, 1.0)]);
    let scores = [0.0, 0.9, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.9, 0.0];
    for seed in 0..20 {
        let e = SampledEval::new(&Cpu, &test, &seen, 4, &[1], seed).unwrap();
        let m = e.evaluate(&Cpu, &Fixed::<Cpu>(Cpu.tensor(&scores, &[2, 6]).unwrap())).unwrap();
        assert_eq!((m.positives, m.hit[0]), (2, 1.0), "seed {seed}: a seen item was drawn as a negative");
    }
    assert!(SampledEval::new(&Cpu, &test, &seen, 5, &[10], 5).is_err(), "not enough unseen items");
}

/// The sampled protocol's metrics are averaged on the device: they equal the
/// host formula over the per-positive counts, on both backends, and a GPU
/// evaluation reads back 2·|ks| floats.
#[test]
fn sampled_protocol_averages_on_the_device() {
    use gpurec::backend::Among;
    use gpurec::eval::SampledEval;
    let (users, items, ks) = (37, 50, [1, 5, 10]);
    let scores = rand_vec(3, users * items);
    let mut pos = Vec::new();
    let mut negs = Vec::new();
    for u in 0..users as u32 {
        let picks = rand_ints(u as u64 + 10, 1 + u as usize % 3, items as u32);
        for &i in &picks {
            pos.push((u, i, 1.0));
        }
        let n = 4 + u as usize % 7;
        let free: Vec<u32> = (0..items as u32).filter(|i| !picks.contains(i)).collect();
        negs.push(free.iter().copied().step_by(1 + u as usize % 3).take(n).collect::<Vec<u32>>());
    }
    let test = CsrHost::from_triplets(users, items, &pos);
    // Host reference from the counts rank_among gives on the CPU backend.
    let st = Cpu.tensor(&scores, &[users, items]).unwrap();
    let trip: Vec<(u32, u32, f32)> =
        negs.iter().enumerate().flat_map(|(u, n)| n.iter().map(move |&j| (u as u32, j, 1.0))).collect();
    let neg_pattern = Cpu.pattern(&CsrHost::from_triplets(users, items, &trip)).unwrap();
    let above = Cpu.read_index(&Cpu.rank_among(&st, &Cpu.pattern(&test).unwrap(), Among::Only(&neg_pattern))).unwrap();
    let p = above.len() as f64;
    let want_hit: Vec<f64> =
        ks.iter().map(|&k| above.iter().filter(|&&a| (a as usize) < k).count() as f64 / p).collect();
    let want_ndcg: Vec<f64> = ks
        .iter()
        .map(|&k| above.iter().filter(|&&a| (a as usize) < k).map(|&a| 1.0 / ((a + 2) as f64).log2()).sum::<f64>() / p)
        .collect();
    let close = |got: &[f64], want: &[f64], what: &str| {
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-6, "{what}: {got:?} vs {want:?}");
        }
    };
    let m = SampledEval::with_negatives(&Cpu, &test, &negs, &ks)
        .unwrap()
        .evaluate(&Cpu, &Fixed::<Cpu>(st.clone()))
        .unwrap();
    assert_eq!(m.positives, above.len());
    close(&m.hit, &want_hit, "cpu hit");
    close(&m.ndcg, &want_ndcg, "cpu ndcg");
    if gpu().is_some() {
        // A context of its own: the shared one counts other tests' work too.
        let g = gpurec::Gpu::new().unwrap();
        let e = SampledEval::with_negatives(&g, &test, &negs, &ks).unwrap();
        let model = Fixed::<gpurec::Gpu>(g.tensor(&scores, &[users, items]).unwrap());
        g.flush().unwrap();
        let s0 = g.stats();
        let m = e.evaluate(&g, &model).unwrap();
        let io = g.stats() - s0;
        close(&m.hit, &want_hit, "gpu hit");
        close(&m.ndcg, &want_ndcg, "gpu ndcg");
        assert_eq!((io.readbacks, io.bytes_downloaded), (1, (2 * ks.len() * 4) as u64), "{io:?}");
    }
}

/// Cut-offs no backend can score, and an early-stopping metric the
/// validation set does not compute, are errors up front on every backend
/// (not a GPU-only panic, not early stopping silently switched off).
#[test]
fn bad_cut_offs_and_early_stopping_metrics_are_refused() {
    use gpurec::models::TrainSet;
    use gpurec::models::{BprConfig, BprMf};
    use gpurec::train::{FitConfig, Silent};
    let t = CsrHost::from_triplets(3, 5, &[(0, 1, 1.0), (1, 2, 1.0), (2, 4, 1.0)]);
    let e = CsrHost::from_triplets(3, 5, &[(0, 0, 1.0)]);
    for ks in [vec![], vec![0], vec![129], (1..=17).collect::<Vec<_>>()] {
        assert!(RankingEval::new(&Cpu, &t, &e, &ks, 8).is_err(), "cut-offs {ks:?}");
    }
    let valid = RankingEval::new(&Cpu, &t, &e, &[5], 8).unwrap();
    let mut m = BprMf::new(&Cpu, 3, 5, BprConfig { dim: 2, ..Default::default() }, 1).unwrap();
    for metric in [("ndcg", 10), ("nope", 5)] {
        let fit = FitConfig { epochs: 1, batch_size: 2, metric: (metric.0.into(), metric.1), ..Default::default() };
        let err = gpurec::train::fit(&Cpu, &mut m, &TrainSet::from_csr(&e), Some(&valid), &fit, &mut Silent)
            .expect_err("refused");
        assert!(err.to_string().contains("early-stopping metric"), "{err}");
    }
}

/// Metrics that move with the evaluation batch size are a known RecBole bug:
/// here every user's metrics are stacked in user order and summed once, so
/// any number of users per submission gives the same numbers, bit for bit,
/// on each backend, for models of every kind of scorer.
fn batch_invariant<B: Backend>(b: &B) {
    use gpurec::models::registry::{self, Overrides};
    let d = gpurec::data::synthetic::generate(&gpurec::data::synthetic::SyntheticConfig {
        users: 90,
        items: 70,
        mean_per_user: 12,
        ..Default::default()
    });
    let s = gpurec::data::split::per_user_ratio(&d, 0.0, 0.2, 3);
    let (train, test) = (d.user_item_csr(&s.train), d.user_item_csr(&s.test));
    let set = gpurec::models::TrainSet::from_rows(&d, &s.train);
    for name in ["bpr", "ease", "multvae", "autorec"] {
        let entry = registry::entry::<B>(name).unwrap();
        let dim = (!entry.info().dim_keys.is_empty()).then_some(8);
        let cfg = entry.config(&Overrides { dim, ..Default::default() }).unwrap();
        let model = entry.build(b, &set, &cfg, 1).unwrap();
        let at = |batch: usize| {
            let m =
                RankingEval::new(b, &test, &train, &[1, 5, 10], batch).unwrap().evaluate(b, model.as_ref()).unwrap();
            [m.recall, m.precision, m.hit, m.ndcg, m.mrr, m.map, m.coverage, m.auc.into_iter().collect()].concat()
        };
        let want = at(1000);
        for batch in [1, 7, 64, 89] {
            assert_eq!(at(batch), want, "{name} on {}: {batch} users per submission", b.describe());
        }
    }
}

#[test]
fn metrics_do_not_depend_on_the_users_per_batch() {
    batch_invariant(&Cpu);
    if let Some(g) = gpu() {
        batch_invariant(&g);
    }
}
