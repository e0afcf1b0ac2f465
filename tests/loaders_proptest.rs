//! The fuzz targets' properties (fuzz/, `scripts/fuzz`) as short property tests for the normal
//! suite: on any input every data loader, the model-file reader and the TOML config reader
//! return `Ok` with consistent contents or an error naming the file (and, for data files, a
//! line of it); none panics. Inputs are random bytes and near-valid lines spliced from the
//! fragments real files are made of.

use std::path::Path;

use gpurec::data::movielens::{decode_utf8, parse_delimited, parse_inter, CsvFormat};
use gpurec::data::negatives::parse_test_negatives;
use gpurec::data::side::{parse_genres, parse_ml100k_items, parse_ml100k_users};
use gpurec::data::split::parse_presplit;
use gpurec::data::{IdMap, Interactions};
use gpurec::model_file::{ModelFile, NamedTensor};
use gpurec::Error;
use proptest::prelude::*;

#[allow(dead_code)]
#[path = "../src/config.rs"]
mod config;

fn cfg(cases: u32) -> ProptestConfig {
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

fn lines(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count() + 1
}

/// A data error naming `path` and a line of its `n` lines.
fn assert_names(e: &Error, path: &Path, n: usize) {
    let shown = e.to_string();
    assert!(shown.starts_with(&format!("{}:", path.display())), "{shown}");
    match e {
        Error::Data { path: p, line, .. } => assert!(p == path && *line <= n, "{shown}"),
        other => panic!("not a data error: {other:?}"),
    }
}

fn assert_sane(d: &Interactions) {
    assert!(!d.is_empty());
    assert!(d.users.iter().all(|&u| (u as usize) < d.n_users()));
    assert!(d.items.iter().all(|&i| (i as usize) < d.n_items()));
    assert!(d.ratings.iter().all(|r| r.is_finite()));
    assert_eq!((d.items.len(), d.ratings.len(), d.timestamps.len()), (d.len(), d.len(), d.len()));
}

fn ids(n: usize) -> IdMap {
    let mut m = IdMap::default();
    for i in 1..=n {
        m.intern(&i.to_string());
    }
    m
}

/// Near-valid text: lines of fragments (ids, numbers, odd numbers, quotes, delimiters, bad UTF-8).
fn near_valid() -> impl Strategy<Value = Vec<u8>> {
    let frag = prop::sample::select(vec![
        "1",
        "2",
        "196",
        "242",
        "3",
        "4.5",
        "881250949",
        "881250949.0",
        "\t",
        ",",
        "::",
        "|",
        " ",
        "\"",
        "\"\"",
        "-1",
        "NaN",
        "inf",
        "1e39",
        "-0",
        "4294967295",
        "18446744073709551616",
        "(1,2)",
        "user_id:token",
        "item_id:token",
        "rating:float",
        "timestamp:float",
        "userId",
        "movieId",
        "rating",
        "timestamp",
        "M",
        "F",
        "x",
        "é",
        "\u{feff}",
        "\r",
        "\n",
        "\n",
        "\n",
        "\u{0}",
    ]);
    let raw = prop::sample::select(vec![&b"\xff"[..], b"\xc3", b"\xef\xbb\xbf", b"\xe9"]);
    let piece = prop_oneof![8 => frag.prop_map(|s| s.as_bytes().to_vec()), 1 => raw.prop_map(<[u8]>::to_vec)];
    prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

fn text_input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![prop::collection::vec(any::<u8>(), 0..200), near_valid()]
}

fn formats() -> impl Strategy<Value = (&'static str, CsvFormat)> {
    prop::sample::select(vec![
        ("u.data", CsvFormat::ml100k()),
        ("ratings.dat", CsvFormat::ml_dat()),
        ("ratings.csv", CsvFormat::ml_latest_csv()),
    ])
}

fn small_model() -> impl Strategy<Value = ModelFile> {
    let id = "[a-z0-9 é\"\\\\]{1,6}";
    let tensor = ("[a-z_]{1,8}", prop::collection::vec(0usize..4, 0..3)).prop_flat_map(|(name, shape)| {
        let n = shape.iter().product::<usize>();
        prop::collection::vec(-1e30f32..1e30, n)
            .prop_map(move |data| NamedTensor::new(name.clone(), shape.clone(), data))
    });
    (
        "[a-z]{1,8}",
        prop::collection::btree_set(id, 0..5),
        prop::collection::btree_set(id, 0..5),
        prop::collection::vec(tensor, 0..4),
        any::<i32>(),
        prop::option::of(-1e6f64..1e6),
    )
        .prop_map(|(kind, users, items, mut tensors, seed, lr)| {
            let mut seen = std::collections::HashSet::new();
            tensors.retain(|t| seen.insert(t.name.clone()));
            let map = |s: std::collections::BTreeSet<String>| {
                let mut m = IdMap::default();
                s.iter().for_each(|id| {
                    m.intern(id);
                });
                m
            };
            ModelFile {
                kind,
                config: serde_json::json!({ "seed": seed, "lr": lr, "name": "x" }),
                info: serde_json::json!({ "epochs": [1, 2] }),
                user_ids: map(users),
                item_ids: map(items),
                tensors,
                path: None,
            }
        })
}

proptest! {
    #![proptest_config(cfg(200))]

    #[test]
    fn delimited_files_load_or_name_the_line((name, fmt) in formats(), bytes in text_input()) {
        let path = Path::new(name);
        match decode_utf8(path, bytes.clone()).and_then(|t| parse_delimited(path, &t, &fmt)) {
            Ok(d) => assert_sane(&d),
            Err(e) => assert_names(&e, path, lines(&bytes)),
        }
    }

    #[test]
    fn columns_by_header_name(bytes in text_input()) {
        let path = Path::new("named.csv");
        let head = String::from_utf8_lossy(&bytes);
        let got = CsvFormat::from_header_line(path, &head, ",", "userId", "movieId", Some("rating"), None)
            .and_then(|f| parse_delimited(path, &decode_utf8(path, bytes.clone())?, &f));
        match got {
            Ok(d) => assert_sane(&d),
            Err(e) => assert_names(&e, path, lines(&bytes)),
        }
    }

    #[test]
    fn inter_files_load_or_name_the_line(bytes in text_input(), header in any::<bool>()) {
        let path = Path::new("ml.inter");
        let mut bytes = bytes;
        if header {
            bytes.splice(0..0, b"user_id:token\titem_id:token\trating:float\n".iter().copied());
        }
        match decode_utf8(path, bytes.clone()).and_then(|t| parse_inter(path, &t)) {
            Ok(d) => assert_sane(&d),
            Err(e) => assert_names(&e, path, lines(&bytes)),
        }
    }

    #[test]
    fn negatives_load_or_name_the_line(bytes in text_input()) {
        let path = Path::new("ml.test.negative");
        let (users, items) = (ids(20), ids(300));
        match decode_utf8(path, bytes.clone()).and_then(|t| parse_test_negatives(path, &t, &users, &items)) {
            Ok(negs) => {
                prop_assert_eq!(negs.len(), 20);
                prop_assert!(negs.iter().all(|n| n.windows(2).all(|w| w[0] < w[1])));
            }
            Err(e) => assert_names(&e, path, lines(&bytes)),
        }
    }

    #[test]
    fn presplit_files_load_or_name_file_and_line(
        parts in prop::collection::vec(text_input(), 3),
        inter in any::<bool>(),
        with_valid in any::<bool>(),
    ) {
        let (tp, vp, sp) = (Path::new("a.train"), Path::new("a.valid"), Path::new("a.test"));
        let fmt = (!inter).then(CsvFormat::ml100k);
        let valid = with_valid.then(|| (vp, &parts[1][..]));
        match parse_presplit((tp, &parts[0]), valid, (sp, &parts[2]), fmt.as_ref()) {
            Ok((d, split)) => {
                assert_sane(&d);
                let all: Vec<usize> = split.train.iter().chain(&split.valid).chain(&split.test).copied().collect();
                prop_assert_eq!(all, (0..d.len()).collect::<Vec<_>>());
            }
            Err(e) => {
                let Error::Data { path, .. } = &e else { panic!("{e:?}") };
                let k = [tp, vp, sp].iter().position(|p| *p == path.as_path()).expect("names one of the files");
                assert_names(&e, path, lines(&parts[k]));
            }
        }
    }

    #[test]
    fn side_files_load_or_name_the_line(bytes in text_input()) {
        let (items, users) = (ids(30), ids(30));
        let g = Path::new("u.genre");
        if let Err(e) = parse_genres(g, &bytes) {
            assert_names(&e, g, lines(&bytes));
        }
        let p = Path::new("u.item");
        match parse_ml100k_items(p, &bytes, &items, Some(&["a".to_string(), "b".to_string()])) {
            Ok(side) => prop_assert_eq!(side.genres.values.len(), 30 * 2),
            Err(e) => assert_names(&e, p, lines(&bytes)),
        }
        let p = Path::new("u.user");
        match parse_ml100k_users(p, &bytes, &users, None) {
            Ok(m) => prop_assert!(m.values.iter().all(|v| v.is_finite())),
            Err(e) => assert_names(&e, p, lines(&bytes)),
        }
    }

    #[test]
    fn user_lines_with_any_age(age in prop_oneof![0u32..160, any::<u32>(), Just(u32::MAX)], zip in "[0-9A-Z]{0,5}") {
        let text = format!("1|{age}|F|writer|{zip}\n");
        match parse_ml100k_users(Path::new("u.user"), text.as_bytes(), &ids(1), None) {
            Ok(m) => {
                prop_assert!(age <= 150);
                prop_assert_eq!(m.row(0).iter().skip(1).take(7).filter(|v| **v == 1.0).count(), 1, "one age group");
            }
            Err(e) => prop_assert!(age > 150 && e.to_string().starts_with("u.user:1: age"), "{}", e),
        }
    }

    #[test]
    fn config_files_parse_or_name_the_file(bytes in text_input(), toml_like in "[a-z_ =\"\\[\\]0-9.,\n-]{0,60}") {
        for text in [String::from_utf8_lossy(&bytes).into_owned(), toml_like] {
            match config::toml_to_args(Path::new("run.toml"), &text) {
                Ok(args) => prop_assert!(args.first().is_none_or(|a| a.starts_with("--"))),
                Err(e) => prop_assert!(format!("{e:#}").contains("run.toml"), "{:#}", e),
            }
        }
    }

    #[test]
    fn model_file_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        match ModelFile::from_bytes(&bytes) {
            Ok(m) => prop_assert_eq!(ModelFile::from_bytes(&m.to_bytes().unwrap()).unwrap(), m),
            Err(e) => prop_assert!(e.to_string().contains("<bytes>"), "{}", e),
        }
    }

    #[test]
    fn model_files_round_trip(m in small_model()) {
        let bytes = m.to_bytes().unwrap();
        let back = ModelFile::from_bytes(&bytes).unwrap();
        // Loading puts the tensors in file order (by data offset, then name): empty tensors,
        // which share an offset, may come back in another order.
        let by_name = |m: &ModelFile| {
            let mut m = m.clone();
            m.tensors.sort_by(|a, b| a.name.cmp(&b.name));
            m
        };
        prop_assert_eq!(by_name(&back), by_name(&m));
        prop_assert_eq!(back.to_bytes().unwrap(), bytes);
        prop_assert_eq!(ModelFile::from_bytes(&back.to_bytes().unwrap()).unwrap(), back);
    }
}
