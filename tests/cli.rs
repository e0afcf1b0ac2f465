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

    let (ok, cpu_recs, err) = gpurec(&[
        "recommend",
        "--model",
        model,
        "--user",
        "u3",
        "--user",
        "u7",
        "-k",
        "5",
        "--device",
        "cpu",
        "--json",
    ]);
    assert!(ok, "{err}");
    let recs: serde_json::Value = serde_json::from_str(&cpu_recs).unwrap();
    assert_eq!(recs[0]["user"], "u3");
    assert_eq!(recs[0]["items"].as_array().unwrap().len(), 5);
    assert!(recs[0]["items"][0]["item"].as_str().unwrap().starts_with('i'), "original item ids");

    let (ok, eval_out, err) = gpurec(&["eval", "--model", model, "--device", "cpu", "--json"]);
    assert!(ok, "{err}");
    let e: serde_json::Value = serde_json::from_str(&eval_out).unwrap();
    assert!(
        (e["test"]["ndcg"][0].as_f64().unwrap() - v["test"]["ndcg"][0].as_f64().unwrap()).abs() < 1e-9,
        "eval of the saved model = the metrics at training"
    );

    if common::gpu().is_some() {
        // Loading on the other backend gives the same top-K.
        let (ok, gpu_recs, err) = gpurec(&[
            "recommend",
            "--model",
            model,
            "--user",
            "u3",
            "--user",
            "u7",
            "-k",
            "5",
            "--device",
            "gpu",
            "--json",
        ]);
        assert!(ok, "{err}");
        let g: serde_json::Value = serde_json::from_str(&gpu_recs).unwrap();
        for u in 0..2 {
            for q in 0..5 {
                assert_eq!(g[u]["items"][q]["item"], recs[u]["items"][q]["item"], "user {u} rank {q}");
            }
        }
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
