//! The `gpurec` command line end to end: train → save → recommend → eval,
//! on both backends, and clear errors for bad input.

mod common;

use std::process::Command;

fn gpurec(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gpurec")).args(args).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

#[test]
fn train_save_recommend_eval_round_trip_across_backends() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("bpr.gpurec");
    let model = model.to_str().unwrap();
    let (ok, out, err) = gpurec(&["train", "--device", "cpu", "--epochs", "3", "--json", "-o", model]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v["test"]["ndcg"][0].as_f64().unwrap() > 0.0);

    let cpu = recommend_ids(model, "cpu");
    assert_eq!(cpu.len(), 2);
    assert_eq!(cpu[0].len(), 5);
    assert!(cpu[0][0].starts_with('i'), "original item ids");

    let (ok, eval_out, err) = gpurec(&["eval", "--model", model, "--device", "cpu", "--json"]);
    assert!(ok, "{err}");
    let e: serde_json::Value = serde_json::from_str(&eval_out).unwrap();
    assert!(
        (e["test"]["ndcg"][0].as_f64().unwrap() - v["test"]["ndcg"][0].as_f64().unwrap()).abs() < 1e-9,
        "eval of the saved model = the metrics at training"
    );

    if common::gpu().is_some() {
        assert_eq!(recommend_ids(model, "gpu"), cpu, "loading on the other backend gives the same top-K");
    }
}

#[test]
fn bad_input_gets_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("ratings.tsv");
    std::fs::write(&data, "1\t10\t4\t100\n2\t11\tfive\t101\n").unwrap();
    let (ok, _, err) = gpurec(&["train", "--device", "cpu", "--data", data.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("ratings.tsv:2:") && err.contains("rating"), "{err}");

    let bad = dir.path().join("bad.gpurec");
    std::fs::write(&bad, b"definitely not a model").unwrap();
    let (ok, _, err) = gpurec(&["eval", "--model", bad.to_str().unwrap(), "--device", "cpu"]);
    assert!(!ok);
    assert!(err.contains("bad.gpurec"), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    let (ok, _, err) = gpurec(&["train", "--device", "cpu", "--model", "nope"]);
    assert!(!ok && err.contains("unknown model"), "{err}");

    for model in ["bpr", "lightgcn", "neumf", "mf"] {
        let (ok, _, err) = gpurec(&["train", "--device", "cpu", "--model", model, "--dim", "0", "--epochs", "1"]);
        assert!(!ok && err.contains("invalid argument") && !err.contains("panicked"), "{model} with --dim 0: {err}");
    }
    let (ok, _, err) = gpurec(&["train", "--device", "cpu", "--lr", "NaN", "--epochs", "1"]);
    assert!(!ok && err.contains("lr"), "{err}");
}

#[test]
fn mf_cross_validation_from_the_command_line() {
    let (ok, out, err) = gpurec(&["train", "--model", "mf", "--device", "cpu", "--epochs", "2", "--json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["folds"].as_array().unwrap().len(), 5);
    let rmse = v["rmse"].as_f64().unwrap();
    assert!(rmse > 0.3 && rmse < 1.5, "synthetic ratings 1..5: rmse {rmse}");
}

/// `recommend --json` for users u3 and u7 on `device`: per user, the item ids in rank order.
fn recommend_ids(model: &str, device: &str) -> Vec<Vec<String>> {
    let args = ["recommend", "--model", model, "--user", "u3", "--user", "u7", "-k", "5", "--device", device, "--json"];
    let (ok, out, err) = gpurec(&args);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|u| u["items"].as_array().unwrap().iter().map(|i| i["item"].as_str().unwrap().to_string()).collect())
        .collect()
}

#[test]
fn neumf_saves_evaluates_and_recommends_on_both_backends() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("neumf.gpurec");
    let model = model.to_str().unwrap();
    let train = ["train", "--model", "neumf", "--device", "cpu", "--epochs", "2", "--dim", "8", "--json", "-o", model];
    let (ok, out, err) = gpurec(&train);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();

    let (ok, eval_out, err) = gpurec(&["eval", "--model", model, "--device", "cpu", "--json"]);
    assert!(ok, "{err}");
    let e: serde_json::Value = serde_json::from_str(&eval_out).unwrap();
    assert_eq!(e["model"], "neumf");
    assert!(
        (e["test"]["ndcg"][0].as_f64().unwrap() - v["test"]["ndcg"][0].as_f64().unwrap()).abs() < 1e-9,
        "eval of the saved NeuMF = the metrics at training"
    );
    let cpu = recommend_ids(model, "cpu");
    assert_eq!(cpu.len(), 2);
    assert!(cpu.iter().all(|items| items.len() == 5 && items.iter().all(|i| i.starts_with('i'))));
    if common::gpu().is_some() {
        assert_eq!(recommend_ids(model, "gpu"), cpu, "the same NeuMF top-K on the GPU backend");
    }
}

#[test]
fn mf_saves_and_serves_ratings_and_recommendations() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("mf.gpurec");
    let model = model.to_str().unwrap();
    let (ok, out, err) = gpurec(&["train", "--model", "mf", "--device", "cpu", "--json", "-o", model]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["early_stopping_patience"], 2, "MF stops early by default");
    assert!(v["folds"].as_array().unwrap().iter().all(|f| f["best_epoch"].as_u64().unwrap() >= 1));

    // Without --data: the training ratings, flagged as in-sample.
    let (ok, eval_out, err) = gpurec(&["eval", "--model", model, "--device", "cpu", "--json"]);
    assert!(ok, "{err}");
    let e: serde_json::Value = serde_json::from_str(&eval_out).unwrap();
    assert_eq!(e["in_sample"], true);
    let fitted = e["rmse"].as_f64().unwrap();
    assert!(fitted > 0.0 && fitted < v["rmse"].as_f64().unwrap(), "training error {fitted} below the CV error");

    // Held-out ratings in original ids; an unknown user and an unknown item are skipped and counted.
    let held_out = dir.path().join("held_out.tsv");
    std::fs::write(&held_out, "u3\ti1\t4\t0\nu7\ti2\t2\t0\nstranger\ti1\t5\t0\nu3\tno-such-item\t1\t0\n").unwrap();
    let args = ["eval", "--model", model, "--device", "cpu", "--json", "--data", held_out.to_str().unwrap()];
    let (ok, eval_out, err) = gpurec(&args);
    assert!(ok, "{err}");
    let e: serde_json::Value = serde_json::from_str(&eval_out).unwrap();
    assert_eq!((e["ratings"].as_u64(), e["skipped_unknown"].as_u64()), (Some(2), Some(2)), "{e}");
    assert_eq!(e["in_sample"], false);

    let cpu = recommend_ids(model, "cpu");
    assert!(cpu.iter().all(|items| items.len() == 5));
    if common::gpu().is_some() {
        assert_eq!(recommend_ids(model, "gpu"), cpu, "the same MF top-K on the GPU backend");
    }
}

#[test]
fn a_first_run_ends_with_metrics_and_recommendations() {
    let (ok, out, err) = gpurec(&["train", "--device", "cpu", "--epochs", "1", "--dim", "8"]);
    assert!(ok, "{err}");
    assert!(out.contains("ndcg") && out.contains("auc"), "metrics table: {out}");
    let line = out.lines().find(|l| l.trim_start().starts_with("user u0:")).expect("recommendations for u0");
    assert_eq!(line.matches(" (").count(), 5, "five items with scores: {line}");
}

#[test]
fn eval_scores_the_sampled_protocol_labelled_as_such() {
    use gpurec::data::synthetic::{generate, SyntheticConfig};
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("bpr.gpurec");
    let model = model.to_str().unwrap();
    let (ok, _, err) = gpurec(&["train", "--device", "cpu", "--epochs", "2", "--dim", "8", "--json", "-o", model]);
    assert!(ok, "{err}");
    let (ok, out, err) = gpurec(&["eval", "--model", model, "--device", "cpu", "--json", "--sampled", "50"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["sampled"]["negatives"], 50);
    let (sampled_hit, full_hit) = (v["sampled"]["hit"][2].as_f64().unwrap(), v["test"]["hit"][0].as_f64().unwrap());
    assert!(sampled_hit > 0.0 && full_hit > 0.0, "{v}");
    let (ok, text, _) = gpurec(&["eval", "--model", model, "--device", "cpu", "--sampled", "50"]);
    assert!(ok && text.contains("sampled, 50 negatives"), "{text}");

    // Fixed negatives from a file: the three items of lowest index each user never touched.
    let data = generate(&SyntheticConfig::default());
    let mut lines = String::new();
    for u in 0..data.n_users() as u32 {
        let seen: std::collections::HashSet<u32> =
            (0..data.len()).filter(|&r| data.users[r] == u).map(|r| data.items[r]).collect();
        let negs: Vec<&str> =
            (0..data.n_items() as u32).filter(|i| !seen.contains(i)).take(3).map(|i| data.item_ids.id(i)).collect();
        lines += &format!("({},x)\t{}\n", data.user_ids.id(u), negs.join("\t"));
    }
    let file = dir.path().join("fixed.test.negative");
    std::fs::write(&file, lines).unwrap();
    let args = ["eval", "--model", model, "--device", "cpu", "--json", "--negatives", file.to_str().unwrap()];
    let (ok, out, err) = gpurec(&args);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["sampled"]["negatives"], 3);

    std::fs::write(&file, "(u0,x)\ti1\tno-such-item\n").unwrap();
    let (ok, _, err) = gpurec(&args);
    assert!(!ok && err.contains("fixed.test.negative:1") && err.contains("no-such-item"), "{err}");
}

/// `--train/--valid/--test`: pre-split files train, save and evaluate; a
/// changed training file is refused by `eval` unless `--data` says otherwise.
#[test]
fn pre_split_files_train_and_a_changed_file_is_refused() {
    use gpurec::data::synthetic::{generate, SyntheticConfig};
    let dir = tempfile::tempdir().unwrap();
    let d = generate(&SyntheticConfig { users: 120, items: 150, ..Default::default() });
    let (mut parts, names) = ([String::new(), String::new(), String::new()], ["a.tsv", "b.tsv", "c.tsv"]);
    for r in 0..d.len() {
        let line = format!("{}\t{}\t{}\t{}\n", d.user_ids.id(d.users[r]), d.item_ids.id(d.items[r]), 1, r);
        parts[if r % 10 < 8 {
            0
        } else if r % 10 == 8 {
            1
        } else {
            2
        }] += &line;
    }
    let paths: Vec<String> = names
        .iter()
        .zip(&parts)
        .map(|(n, p)| {
            let path = dir.path().join(n);
            std::fs::write(&path, p).unwrap();
            path.to_str().unwrap().to_string()
        })
        .collect();
    let model = dir.path().join("m.gpurec");
    let model = model.to_str().unwrap();
    let train = [
        "train", "--model", "bpr", "--device", "cpu", "--train", &paths[0], "--valid", &paths[1], "--test", &paths[2],
        "--epochs", "2", "--dim", "8", "--json", "-o", model,
    ];
    let (ok, out, err) = gpurec(&train);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let (ok, eval_out, err) = gpurec(&["eval", "--model", model, "--device", "cpu", "--json"]);
    assert!(ok, "{err}");
    let e: serde_json::Value = serde_json::from_str(&eval_out).unwrap();
    assert_eq!(e["test"]["ndcg"][0], v["test"]["ndcg"][0], "eval scores the same test file");

    // The training file changes: eval refuses rather than score other data.
    std::fs::write(&paths[0], format!("{}stranger\tnew-item\t1\t0\n", parts[0])).unwrap();
    let (ok, _, err) = gpurec(&["eval", "--model", model, "--device", "cpu"]);
    assert!(!ok && err.contains("a.tsv") && err.contains("changed"), "{err}");
}

/// `auto` never picks a software rasterizer over the CPU backend, and says which it chose.
#[test]
fn auto_device_prefers_the_cpu_backend_to_a_software_adapter() {
    let (ok, out, err) = gpurec(&["train", "--epochs", "1", "--dim", "8"]);
    assert!(ok, "{err}");
    let device = out.lines().find(|l| l.starts_with("device:")).expect("a device line");
    match gpurec::Gpu::new() {
        Ok(g) if g.is_software() => {
            assert!(device.contains("cpu") && device.contains("software rasterizer"), "{device}")
        }
        Ok(g) => assert!(device.contains(&g.adapter_info().name), "{device}"),
        Err(_) => assert!(device.contains("cpu") && device.contains("no GPU adapter"), "{device}"),
    }
    let (ok, out, err) = gpurec(&["train", "--epochs", "1", "--dim", "8", "--device", "gpu"]);
    if common::gpu().is_some() {
        assert!(ok, "{err}");
        assert!(!out.lines().any(|l| l.starts_with("device:") && l.contains("ndarray")), "{out}");
    }
}

#[test]
fn absurd_sizes_are_refused_with_the_sizes_before_allocating() {
    for (dim, want) in [("100000000", "needs 400000000000 bytes"), ("18446744073709551615", "overflows")] {
        for model in ["bpr", "autorec", "multvae"] {
            let (ok, _, err) = gpurec(&["train", "--device", "cpu", "--model", model, "--dim", dim, "--epochs", "1"]);
            assert!(!ok, "{model} --dim {dim}");
            assert!(err.contains(want) || model != "bpr", "{model} --dim {dim}: {err}");
            assert!(err.contains("tensor `") && !err.contains("panicked"), "{model} --dim {dim}: {err}");
        }
    }
}

#[test]
fn repeated_rows_are_merged_by_default_so_a_repeated_file_scores_as_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut once = String::new();
    for u in 0..40 {
        for k in 0..12 {
            once.push_str(&format!("{u}\t{}\t4\t{}\n", (u * 7 + k * 5) % 60, 1000 + k));
        }
    }
    let (single, triple) = (dir.path().join("once.tsv"), dir.path().join("thrice.tsv"));
    std::fs::write(&single, &once).unwrap();
    std::fs::write(&triple, once.repeat(3)).unwrap();
    let ndcg = |path: &std::path::Path, extra: &[&str]| -> (f64, String) {
        let mut args = vec!["train", "--device", "cpu", "--model", "ease", "--data", path.to_str().unwrap()];
        args.extend_from_slice(extra);
        let (ok, out, err) = gpurec(&args);
        assert!(ok, "{err}");
        let (_, json, _) = gpurec(&[args.as_slice(), &["--json"]].concat());
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        (v["test"]["ndcg"][0].as_f64().unwrap(), out)
    };
    let (want, _) = ndcg(&single, &[]);
    let (merged, out) = ndcg(&triple, &[]);
    assert_eq!(merged, want, "the repeats merged: the same metrics as the file once");
    assert!(out.contains("960 repeated (user, item) rows merged, the first of each kept"), "{out}");
    let (kept, out) = ndcg(&triple, &["--duplicates", "keep"]);
    assert!(!out.contains("merged"), "{out}");
    assert!(kept < want, "kept repeats land in test and are masked there as seen: {kept} vs {want}");
}

#[test]
fn a_training_whose_output_another_process_is_writing_stops_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("model.gpurec");
    let _held = gpurec::model_file::SaveLock::try_acquire(&out).unwrap();
    let (ok, stdout, err) = gpurec(&["train", "--device", "cpu", "-o", out.to_str().unwrap()]);
    assert!(!ok && err.contains("model.gpurec") && err.contains("another gpurec process"), "{err}");
    assert!(!stdout.contains("epoch") && !out.exists(), "refused before training: {stdout}");
}

#[test]
fn a_model_whose_training_data_is_gone_says_which_file_and_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let (data, model) = (dir.path().join("gone.tsv"), dir.path().join("m.gpurec"));
    let rows: String =
        (0..30).flat_map(|u| (0..10).map(move |k| format!("{u}\t{}\t4\t{k}\n", (u * 3 + k * 7) % 40))).collect();
    std::fs::write(&data, rows).unwrap();
    let (ok, _, err) = gpurec(&[
        "train",
        "--device",
        "cpu",
        "--model",
        "ease",
        "--data",
        data.to_str().unwrap(),
        "-o",
        model.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    std::fs::remove_file(&data).unwrap();
    for cmd in [&["eval", "--model"][..], &["recommend", "--user", "1", "--model"][..]] {
        let (ok, _, err) = gpurec(&[cmd, &[model.to_str().unwrap(), "--device", "cpu"]].concat());
        assert!(!ok && err.contains("gone.tsv") && err.contains("pass --data"), "{cmd:?}: {err}");
    }
}

#[test]
fn nothing_to_learn_or_to_evaluate_is_an_error_that_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let one = dir.path().join("one.tsv");
    std::fs::write(&one, "1\t1\t5\t0\n").unwrap();
    let four = dir.path().join("four.tsv");
    let rows: String =
        (0..50).flat_map(|u| (0..4).map(move |k| format!("{u}\t{}\t4\t{k}\n", (u * 3 + k * 7) % 40))).collect();
    std::fs::write(&four, rows).unwrap();
    let (one, four) = (one.to_str().unwrap(), four.to_str().unwrap());
    let cases: [(&[&str], &str); 8] = [
        (&["--data", four, "--threshold", "NaN"], "threshold NaN: a rating threshold must be a finite number"),
        (&["--data", one], "test part of the split is empty"),
        (&["--data", four], "test part of the split is empty"),
        (&["--data", one, "--model", "mf"], "cannot make 5 folds"),
        (&["--epochs", "0"], "epochs must be at least 1"),
        (&["--model", "neumf", "--batch-size", "0"], "batch-size must be at least 1"),
        (&["--data", four, "--threshold", "10"], "threshold Some(10.0)"),
        (&["--data", four, "--min-user", "1000"], "min_user 1000"),
    ];
    for (args, want) in cases {
        let (ok, out, err) = gpurec(&[&["train", "--device", "cpu"], args].concat());
        assert!(!ok && err.contains(want) && !err.contains("panicked"), "{args:?}: {err}");
        assert!(!out.contains("NDCG") && !out.contains("saved"), "{args:?}: no metrics, no model: {out}");
    }
}

#[test]
fn a_next_item_model_trains_on_leave_one_out_and_serves_a_given_history() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("lstm.gpurec");
    let model = model.to_str().unwrap();
    let args = ["train", "--model", "lstm", "--device", "cpu", "--epochs", "2", "--dim", "8", "--set", "hidden=8"];
    let (ok, out, err) = gpurec(&[&args[..], &["--keep-seen", "--json", "-o", model]].concat());
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v["split"].as_str().unwrap().contains("leave-one-out"), "next-item models default to loo: {v}");
    assert_eq!(v["seen_masked"], false);
    // `eval` replays the same split and the same (unmasked) ranking.
    let (ok, eval_out, err) = gpurec(&["eval", "--model", model, "--device", "cpu", "--json"]);
    assert!(ok, "{err}");
    let e: serde_json::Value = serde_json::from_str(&eval_out).unwrap();
    assert_eq!(e["test"]["hit"], v["test"]["hit"], "eval of the saved model = the metrics at training");

    // A history the model never saw, in original ids; its items are not recommended back.
    let first_items = recommend_ids(model, "cpu")[0].clone();
    let history = first_items[..3].join(",");
    let (ok, out, err) = gpurec(&["recommend", "--model", model, "--history", &history, "-k", "4", "--json"]);
    assert!(ok, "{err}");
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    let items: Vec<&str> = r[0]["items"].as_array().unwrap().iter().map(|x| x["item"].as_str().unwrap()).collect();
    assert_eq!(items.len(), 4);
    assert!(items.iter().all(|i| !first_items[..3].contains(&i.to_string())), "{items:?} repeat the history");
    let (ok, _, err) = gpurec(&["recommend", "--model", model, "--history", "no-such-item"]);
    assert!(!ok && err.contains("\"no-such-item\" is not in the model"), "{err}");

    // An embedding model folds the history in; biased MF takes ratings (ITEM:RATING).
    let bpr = dir.path().join("bpr.gpurec");
    let bpr = bpr.to_str().unwrap();
    let (ok, _, err) = gpurec(&["train", "--device", "cpu", "--epochs", "1", "-o", bpr]);
    assert!(ok, "{err}");
    let (ok, out, err) = gpurec(&["recommend", "--model", bpr, "--history", &history, "-k", "4", "--json"]);
    assert!(ok, "{err}");
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r[0]["items"].as_array().unwrap().len(), 4, "{out}");
    let mf = dir.path().join("mf.gpurec");
    let mf = mf.to_str().unwrap();
    let (ok, _, err) = gpurec(&["train", "--model", "mf", "--device", "cpu", "--epochs", "1", "-o", mf]);
    assert!(ok, "{err}");
    let rated: Vec<String> = first_items[..3].iter().map(|i| format!("{i}:5")).collect();
    let (ok, _, err) = gpurec(&["recommend", "--model", mf, "--history", &rated.join(","), "-k", "4"]);
    assert!(ok, "{err}");
    let (ok, _, err) = gpurec(&["recommend", "--model", mf, "--history", &history]);
    assert!(!ok && err.contains("mf fits ratings"), "{err}");
    let half = format!("{},{}", rated[0], first_items[1]);
    let (ok, _, err) = gpurec(&["recommend", "--model", mf, "--history", &half]);
    assert!(!ok && err.contains("rates 1 of its 2 items"), "{err}");

    // A model that scores only its training users says so.
    let gcn = dir.path().join("lightgcn.gpurec");
    let gcn = gcn.to_str().unwrap();
    let (ok, _, err) = gpurec(&["train", "--model", "lightgcn", "--device", "cpu", "--epochs", "1", "-o", gcn]);
    assert!(ok, "{err}");
    let (ok, _, err) = gpurec(&["recommend", "--model", gcn, "--history", &history]);
    assert!(!ok && err.contains("lightgcn scores only the users it was trained on"), "{err}");
}

#[test]
fn an_item_item_model_and_an_autoencoder_serve_a_given_history() {
    let dir = tempfile::tempdir().unwrap();
    for (name, extra) in [("ease", &[][..]), ("multvae", &["--epochs", "1", "--set", "hidden=[16]"][..])] {
        let model = dir.path().join(format!("{name}.gpurec"));
        let model = model.to_str().unwrap();
        let (ok, _, err) = gpurec(&[&["train", "--model", name, "--device", "cpu", "-o", model][..], extra].concat());
        assert!(ok, "{name}: {err}");
        // Items in original ids from a user's recommendations; a new user with them is not recommended them back.
        let liked = recommend_ids(model, "cpu")[0].clone();
        let history = liked[..3].join(",");
        let (ok, out, err) = gpurec(&["recommend", "--model", model, "--history", &history, "-k", "5", "--json"]);
        assert!(ok, "{name}: {err}");
        let r: serde_json::Value = serde_json::from_str(&out).unwrap();
        let items: Vec<&str> = r[0]["items"].as_array().unwrap().iter().map(|x| x["item"].as_str().unwrap()).collect();
        assert_eq!(items.len(), 5, "{name}: {out}");
        assert!(items.iter().all(|i| !liked[..3].contains(&i.to_string())), "{name}: {items:?} repeat the history");
    }
    // Allow and deny lists (original ids) for a user.
    let model = dir.path().join("ease.gpurec");
    let model = model.to_str().unwrap();
    let top = recommend_ids(model, "cpu")[0].clone();
    let base = ["recommend", "--model", model, "--user", "u3", "-k", "5", "--device", "cpu", "--json"];
    let items = |extra: &[&str]| -> Vec<String> {
        let (ok, out, err) = gpurec(&[&base[..], extra].concat());
        assert!(ok, "{extra:?}: {err}");
        let r: serde_json::Value = serde_json::from_str(&out).unwrap();
        r[0]["items"].as_array().unwrap().iter().map(|x| x["item"].as_str().unwrap().to_string()).collect()
    };
    let denied = items(&["--deny", &top[..2].join(",")]);
    assert_eq!(denied.len(), 5);
    assert_eq!(denied[..3], top[2..5], "the rest keep their order");
    assert_eq!(items(&["--allow", &top[3..5].join(",")]), top[3..5], "only the allowed items");
    let (ok, _, err) = gpurec(&[&base[..], &["--deny", "no-such-item"]].concat());
    assert!(!ok && err.contains("\"no-such-item\" is not in the model"), "{err}");
}

#[test]
fn similar_items_and_explanations_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("ease.gpurec");
    let model = model.to_str().unwrap();
    let (ok, _, err) = gpurec(&["train", "--model", "ease", "--device", "cpu", "-o", model]);
    assert!(ok, "{err}");
    let item = recommend_ids(model, "cpu")[0][0].clone();
    let (ok, out, err) =
        gpurec(&["similar", "--model", model, "--item", &item, "-k", "4", "--device", "cpu", "--json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let items = v[0]["items"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    assert!(items.iter().all(|x| x["item"].as_str().unwrap() != item), "{out}");
    let (ok, out, err) = gpurec(&[
        "recommend",
        "--model",
        model,
        "--user",
        "u3",
        "-k",
        "2",
        "--explain",
        "3",
        "--device",
        "cpu",
        "--json",
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    for rec in v[0]["items"].as_array().unwrap() {
        let because = rec["because"].as_array().unwrap();
        assert!(!because.is_empty() && because.len() <= 3, "{out}");
    }
    let (ok, _, err) = gpurec(&["similar", "--model", model, "--item", "no-such-item", "--device", "cpu"]);
    assert!(!ok && err.contains("\"no-such-item\" is not in the model"), "{err}");
    // Most popular has no item representation and says so.
    let pop = dir.path().join("pop.gpurec");
    let pop = pop.to_str().unwrap();
    let (ok, _, err) = gpurec(&["train", "--model", "pop", "--device", "cpu", "-o", pop]);
    assert!(ok, "{err}");
    let (ok, _, err) = gpurec(&["similar", "--model", pop, "--item", &item, "--device", "cpu"]);
    assert!(!ok && err.contains("pop has no item representation"), "{err}");
}

#[test]
fn item_names_from_the_data_label_recommendations() {
    let dir = tempfile::tempdir().unwrap();
    let ml = dir.path().join("ml");
    std::fs::create_dir(&ml).unwrap();
    // Twelve users, each with 19 of 20 films (not film u % 20 + 1); u.item gives the titles.
    let rows: Vec<String> = (1..=12)
        .flat_map(|u| {
            (1..=20).filter(move |&i| i != u % 20 + 1).map(move |i| format!("{u}\t{i}\t{}\t{}", 1 + i % 5, u * 10 + i))
        })
        .collect();
    std::fs::write(ml.join("u.data"), rows.join("\n")).unwrap();
    let flags = "|0".repeat(19);
    let titles: Vec<String> = (1..=20).map(|k| format!("Film number {k} (1995)")).collect();
    let u_item: String =
        titles.iter().enumerate().map(|(k, t)| format!("{}|{t}|01-Jan-1995||url{flags}\n", k + 1)).collect();
    std::fs::write(ml.join("u.item"), u_item).unwrap();
    let model = dir.path().join("pop.gpurec");
    let model = model.to_str().unwrap();
    let (ok, out, err) =
        gpurec(&["train", "--model", "pop", "--data", ml.to_str().unwrap(), "--device", "cpu", "-o", model]);
    assert!(ok, "{err}");
    assert!(out.contains("2 Film number 2 (1995)"), "names in the first run's output: {out}");
    let (ok, out, err) =
        gpurec(&["recommend", "--model", model, "--user", "2", "-k", "2", "--device", "cpu", "--json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let items = v[0]["items"].as_array().unwrap();
    assert!(!items.is_empty(), "{out}");
    for r in items {
        let (id, name) = (r["item"].as_str().unwrap(), r["name"].as_str().unwrap());
        assert_eq!(name, titles[id.parse::<usize>().unwrap() - 1], "{out}");
    }
}

#[test]
fn gpurec_threads_sets_the_cpu_pool_and_a_bad_value_is_refused() {
    let run = |threads: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_gpurec"))
            .args(["train", "--device", "cpu", "--epochs", "2", "--json"])
            .env("GPUREC_THREADS", threads)
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (ok1, one, err) = run("1");
    assert!(ok1, "{err}");
    let (ok3, three, err) = run("3");
    assert!(ok3, "{err}");
    let metrics = |out: &str| serde_json::from_str::<serde_json::Value>(out).unwrap()["test"].clone();
    assert_eq!(metrics(&one), metrics(&three), "the same numbers on 1 and 3 threads");
    let (ok, _, err) = run("zero");
    assert!(!ok && err.contains("GPUREC_THREADS") && err.contains("zero"), "{err}");
}

/// The items `gpurec recommend --json` gives `user`.
fn recommended_to(model: &str, user: &str) -> Vec<String> {
    let (ok, out, err) =
        gpurec(&["recommend", "--model", model, "--user", user, "-k", "10", "--device", "cpu", "--json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v[0]["items"].as_array().unwrap().iter().map(|i| i["item"].as_str().unwrap().to_string()).collect()
}

#[test]
fn update_adds_a_new_user_and_a_new_item_to_a_saved_model_without_retraining() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("bpr.gpurec");
    let model = model.to_str().unwrap();
    let (ok, _, err) = gpurec(&["train", "--device", "cpu", "--epochs", "5", "-o", model]);
    assert!(ok, "{err}");
    // A newcomer with u3's first five recommendations as their history.
    let liked = recommended_to(model, "u3")[..5].to_vec();
    let events = dir.path().join("events.tsv");
    let lines: String = liked.iter().map(|i| format!("newcomer\t{i}\t1\t0\n")).collect();
    std::fs::write(&events, lines).unwrap();
    let updated = dir.path().join("updated.gpurec");
    let updated = updated.to_str().unwrap();
    let args = ["update", "--model", model, "--events", events.to_str().unwrap(), "-o", updated, "--device", "cpu"];
    let (ok, out, err) = gpurec(&args);
    assert!(ok, "{err}");
    assert!(out.contains("1 users refitted from 5 events (1 new)"), "{out}");
    let got = recommended_to(updated, "newcomer");
    assert_eq!(got.len(), 10);
    assert!(got.iter().all(|i| !liked.contains(i)), "the newcomer's own items come back: {got:?}");
    let (ok, _, err) = gpurec(&["recommend", "--model", model, "--user", "newcomer"]);
    assert!(!ok && err.contains("\"newcomer\" is not in the model"), "the original file is unchanged: {err}");

    // A new item taken by u3 and u7: then similar to what they like, and not recommended back to them.
    std::fs::write(&events, "u3\tbrand-new\t1\t0\nu7\tbrand-new\t1\t0\n").unwrap();
    let (ok, out, err) =
        gpurec(&["update", "--model", updated, "--events", events.to_str().unwrap(), "--items", "--device", "cpu"]);
    assert!(ok, "{err}");
    assert!(out.contains("1 items refitted from 2 events (1 new)"), "{out}");
    assert!(!recommended_to(updated, "u3").contains(&"brand-new".to_string()));
    let (ok, out, err) = gpurec(&["similar", "--model", updated, "--item", "brand-new", "-k", "3", "--device", "cpu"]);
    assert!(ok && !out.is_empty(), "{err}");
    // Refused: an unknown item for a user update, a model without rows to refit.
    std::fs::write(&events, "u3\tno-such-item\t1\t0\n").unwrap();
    let (ok, _, err) = gpurec(&["update", "--model", updated, "--events", events.to_str().unwrap(), "--device", "cpu"]);
    assert!(!ok && err.contains("item \"no-such-item\" is not in the model"), "{err}");
    let ease = dir.path().join("ease.gpurec");
    let (ok, _, err) = gpurec(&["train", "--model", "ease", "--device", "cpu", "-o", ease.to_str().unwrap()]);
    assert!(ok, "{err}");
    let (ok, _, err) = gpurec(&["update", "--model", ease.to_str().unwrap(), "--events", events.to_str().unwrap()]);
    assert!(!ok && err.contains("ease has no per-user"), "{err}");
}

#[test]
fn train_plots_its_curves_and_bench_writes_a_report_with_a_chart() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("curves.svg");
    let (ok, out, err) = gpurec(&["train", "--device", "cpu", "--epochs", "4", "--plot", svg.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.contains("plotted"), "{out}");
    let drawn = std::fs::read_to_string(&svg).unwrap();
    assert!(
        drawn.starts_with("<svg") && drawn.contains("training loss") && drawn.contains("validation NDCG@10"),
        "{drawn}"
    );
    // The loss (blue) and the validation metric (red): one point per epoch each.
    let points = |color: &str| -> Vec<usize> {
        drawn
            .split("<polyline")
            .filter(|p| p.contains(&format!("stroke=\"{color}\"")))
            .map(|p| p.split("points=\"").nth(1).unwrap().split('"').next().unwrap().split_whitespace().count())
            .collect()
    };
    assert_eq!((points("#0000FF"), points("#FF0000")), (vec![4], vec![4]), "{drawn}");
    assert!(drawn.contains("kept: epoch"), "the kept epoch is marked");
    let (ok, _, err) = gpurec(&["train", "--model", "ease", "--device", "cpu", "--plot", svg.to_str().unwrap()]);
    assert!(!ok && err.contains("closed form"), "{err}");
    let (ok, _, err) = gpurec(&["train", "--model", "mf", "--device", "cpu", "--plot", svg.to_str().unwrap()]);
    assert!(!ok && err.contains("not k-fold CV"), "{err}");

    let report = dir.path().join("report.md");
    let args =
        ["bench", "--data", "synthetic", "--model", "bpr", "--model", "ease", "--device", "cpu", "--epochs", "1"];
    let (ok, out, err) = gpurec(&[&args[..], &["--report", report.to_str().unwrap()]].concat());
    assert!(ok, "{err}");
    assert!(out.contains("wrote"), "{out}");
    let md = std::fs::read_to_string(&report).unwrap();
    assert!(md.contains("| bpr | cpu") && md.contains("| ease | cpu") && md.contains("(fit)"), "{md}");
    assert!(md.contains("![seconds per epoch per model and backend](report.svg)"), "{md}");
    let chart = std::fs::read_to_string(dir.path().join("report.svg")).unwrap();
    assert!(chart.starts_with("<svg") && chart.contains("bpr") && chart.contains("ease"), "{chart}");
    assert!(chart.matches("<rect").count() >= 3, "a background and a bar per row: {chart}");
}

/// `lightfm` from the command line: trained on the synthetic set's features
/// (or a feature file's), it recommends for a new user given by features,
/// and `--cold-start` reports held-out users against most popular.
#[test]
fn a_feature_model_recommends_from_features_and_runs_the_cold_start_protocol() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("lightfm.gpurec");
    let model = model.to_str().unwrap();
    let train = ["train", "--model", "lightfm", "--device", "cpu", "--epochs", "3", "--dim", "8", "-o", model];
    let (ok, out, err) = gpurec(&train);
    assert!(ok, "{err}");
    assert!(out.contains("features: 4 user columns (1000 of 1000 users), 4 item columns"), "{out}");
    let (ok, out, err) =
        gpurec(&["recommend", "--model", model, "--features", "group=1", "-k", "4", "--device", "cpu"]);
    assert!(ok, "{err}");
    assert!(out.starts_with("features group=1:") && out.lines().count() == 5, "{out}");
    let (ok, _, err) = gpurec(&["recommend", "--model", model, "--features", "group=7", "--device", "cpu"]);
    assert!(!ok && err.contains("unknown feature \"group=7\"; the model knows group=0, group=1"), "{err}");

    // A feature file in place of the synthetic set's user features.
    let csv = dir.path().join("users.csv");
    let rows: String = (0..1000).map(|u| format!("u{u},{}\n", if u % 2 == 0 { "even" } else { "odd|x" })).collect();
    std::fs::write(&csv, format!("user,tag\n{rows}")).unwrap();
    let csv = csv.to_str().unwrap();
    let base = ["train", "--model", "lightfm", "--device", "cpu", "--epochs", "2", "--dim", "8"];
    let (ok, out, err) = gpurec(&[&base[..], &["--user-features", csv, "--cold-start", "users"]].concat());
    assert!(ok, "{err}");
    assert!(out.contains("features: 3 user columns (1000 of 1000 users)"), "{out}");
    assert!(out.contains("cold users: 100 held out, 100 users scored, ranked among all items"), "{out}");
    assert!(out.contains("most popular") && out.lines().any(|l| l.trim_start().starts_with("ndcg")), "{out}");
    std::fs::write(dir.path().join("bad.csv"), "user,tag\nu1,a\nu1,b\n").unwrap();
    let bad = dir.path().join("bad.csv");
    let (ok, _, err) = gpurec(&[&base[..], &["--user-features", bad.to_str().unwrap()]].concat());
    assert!(!ok && err.contains("bad.csv:3: id \"u1\" is listed twice"), "{err}");
    let (ok, _, err) =
        gpurec(&["train", "--model", "bpr", "--device", "cpu", "--epochs", "1", "--cold-start", "items"]);
    assert!(!ok && err.contains("bpr has no feature embeddings"), "{err}");
}

/// `gpurec bench --scale` times the same model on growing synthetic sets and
/// reports the cost per training example, the evaluation's scores per second
/// and how the cost per example grew; a sized synthetic spec trains; bad
/// sizes and keys are refused with what is wrong.
#[test]
fn bench_scale_reports_the_growth_of_the_cost_per_example() {
    let (ok, out, err) = gpurec(&["bench", "--scale", "20k,60k", "--device", "cpu", "--epochs", "2", "--json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{out}");
    assert_eq!((rows[0]["users"].as_u64(), rows[0]["items"].as_u64()), (Some(200), Some(100)), "{out}");
    assert_eq!((rows[1]["users"].as_u64(), rows[1]["items"].as_u64()), (Some(600), Some(300)), "{out}");
    for r in rows {
        assert_eq!(r["model"], "bpr");
        assert!(r["us_per_example"].as_f64().unwrap() > 0.0 && r["scores_per_second"].as_f64().unwrap() > 0.0);
        assert!(r["train_examples"].as_u64().unwrap() > 0 && r["eval_scores"].as_u64().unwrap() > 0);
    }
    let g = &v["per_example_growth"][0];
    assert_eq!(
        (g["from_interactions"].as_u64(), g["to_interactions"].as_u64()),
        (rows[0]["interactions"].as_u64(), rows[1]["interactions"].as_u64())
    );
    assert!(g["ratio"].as_f64().unwrap() > 0.0, "{out}");

    let (ok, out, err) =
        gpurec(&["train", "--data", "synthetic:users=50,items=80,seed=3", "--device", "cpu", "--epochs", "1"]);
    assert!(ok, "{err}");
    assert!(out.contains("embedded synthetic dataset (50 users, 80 items, seed 3)"), "{out}");
    let (ok, _, err) = gpurec(&["bench", "--scale", "20k,lots", "--device", "cpu"]);
    assert!(!ok && err.contains("\"lots\" is not a count"), "{err}");
    let (ok, _, err) = gpurec(&["train", "--data", "synthetic:userz=5", "--device", "cpu"]);
    assert!(!ok && err.contains("unknown key"), "{err}");
}
