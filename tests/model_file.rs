//! Model files: exact round trips, a plain safetensors layout, atomic saves
//! that never leave a half-written file, and clear errors (naming the file)
//! for every kind of corrupt or mismatched file — never a panic.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use gpurec::data::IdMap;
use gpurec::model_file::{ModelFile, NamedTensor, FORMAT, FORMAT_VERSION};
use gpurec::models::BprConfig;
use proptest::prelude::*;
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

fn ids(list: &[&str]) -> IdMap {
    let mut m = IdMap::default();
    for id in list {
        m.intern(id);
    }
    m
}

/// A small BPR-like model. Tensors are in name order, as safetensors' own
/// serialiser writes them, so `rewrite` keeps every data offset.
fn sample() -> ModelFile {
    let cfg = BprConfig { dim: 2, lr: 1e-3, reg: 0.01 };
    let tricky = [-0.0, f32::MIN_POSITIVE / 2.0, f32::MAX, -1e-30, 0.1, 1.0 / 3.0, f32::EPSILON, -7.5];
    ModelFile {
        kind: "bpr".into(),
        config: serde_json::to_value(&cfg).unwrap(),
        info: serde_json::json!({ "epochs": 3, "losses": [0.693, 0.5, 0.41], "seed": 5, "data": "ml-100k" }),
        user_ids: ids(&["u1", "ü2", "quo\"te\\d"]),
        item_ids: ids(&["10", "20", "", "i 40"]),
        tensors: vec![
            NamedTensor::new("item", vec![4, 2], tricky.to_vec()),
            NamedTensor::new("user", vec![3, 2], vec![0.25, -1.5, 3.0e-5, 2.0, -0.0, 1e10]),
        ],
        path: None,
    }
}

/// zlib's crc32, bit by bit: an independent check of the documented format.
fn reference_crc32(bytes: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in bytes {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
        }
    }
    !c
}

fn data_section(bytes: &[u8]) -> &[u8] {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    &bytes[8 + n..]
}

type RawTensors = Vec<(String, Vec<usize>, Vec<u8>)>;

/// Re-serialises a file with safetensors' own writer after `edit`; tensors
/// are handed to `edit` in name order.
fn rewrite(bytes: &[u8], edit: impl FnOnce(&mut HashMap<String, String>, &mut RawTensors)) -> Vec<u8> {
    let (_, header) = SafeTensors::read_metadata(bytes).unwrap();
    let mut meta = header.metadata().clone().unwrap_or_default();
    let st = SafeTensors::deserialize(bytes).unwrap();
    let mut tensors: RawTensors =
        st.tensors().into_iter().map(|(n, v)| (n, v.shape().to_vec(), v.data().to_vec())).collect();
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    edit(&mut meta, &mut tensors);
    let views: Vec<(String, TensorView)> =
        tensors.iter().map(|(n, s, d)| (n.clone(), TensorView::new(Dtype::F32, s.clone(), d).unwrap())).collect();
    safetensors::serialize(views, Some(meta)).unwrap()
}

/// `meta_crc32` as the module docs specify it, for tensors written in name
/// order (as `rewrite` writes them).
fn reference_meta_crc32(meta: &HashMap<String, String>, tensors: &RawTensors) -> u32 {
    let mut buf = Vec::new();
    let text = |buf: &mut Vec<u8>, s: &str| {
        buf.extend_from_slice(&(s.len() as u64).to_le_bytes());
        buf.extend_from_slice(s.as_bytes());
    };
    for key in ["format", "format_version", "kind", "config", "info", "user_ids", "item_ids"] {
        text(&mut buf, key);
        text(&mut buf, &meta[key]);
    }
    let mut offset = 0u64;
    for (name, shape, data) in tensors {
        text(&mut buf, name);
        text(&mut buf, "F32");
        buf.extend_from_slice(&(shape.len() as u64).to_le_bytes());
        for &d in shape {
            buf.extend_from_slice(&(d as u64).to_le_bytes());
        }
        buf.extend_from_slice(&offset.to_le_bytes());
        offset += data.len() as u64;
        buf.extend_from_slice(&offset.to_le_bytes());
    }
    reference_crc32(&buf)
}

/// `rewrite` that then refreshes both checksums, so only `edit` is wrong.
fn rewrite_valid(bytes: &[u8], edit: impl FnOnce(&mut HashMap<String, String>, &mut RawTensors)) -> Vec<u8> {
    rewrite(bytes, |meta, tensors| {
        edit(meta, tensors);
        let data: Vec<u8> = tensors.iter().flat_map(|t| t.2.iter().copied()).collect();
        meta.insert("data_crc32".into(), format!("{:08x}", reference_crc32(&data)));
        meta.insert("meta_crc32".into(), format!("{:08x}", reference_meta_crc32(meta, tensors)));
    })
}

/// Replaces `from` by `to` (same length) once in the header.
fn edit_header(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let at = bytes.windows(from.len()).position(|w| w == from.as_bytes()).unwrap_or_else(|| panic!("{from} not found"));
    let mut out = bytes.to_vec();
    out[at..at + to.len()].copy_from_slice(to.as_bytes());
    out
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

fn loaded(m: ModelFile, path: &Path) -> ModelFile {
    ModelFile { path: Some(path.to_path_buf()), ..m }
}

fn bits(m: &ModelFile) -> Vec<(String, Vec<usize>, Vec<u32>)> {
    m.tensors.iter().map(|t| (t.name.clone(), t.shape.clone(), t.data.iter().map(|v| v.to_bits()).collect())).collect()
}

/// Writes `bytes` to a file, loads it, and checks the error names the file
/// and says `what`.
fn assert_load_error(bytes: &[u8], what: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.gpurec");
    std::fs::write(&path, bytes).unwrap();
    let e = ModelFile::load(&path).expect_err(what).to_string();
    assert!(e.contains(path.to_str().unwrap()), "error names the file: {e}");
    assert!(e.contains(what), "error says {what:?}: {e}");
    e
}

#[test]
fn round_trip_is_bit_exact() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.gpurec");
    let m = sample();
    m.save(&path).unwrap();
    let back = ModelFile::load(&path).unwrap();
    assert_eq!(bits(&back), bits(&m));
    assert_eq!(back, loaded(m.clone(), &path));
    assert_eq!(back.user_ids.get("quo\"te\\d"), Some(2));
    assert_eq!(back.item_ids.id(2), "");
    let cfg: BprConfig = serde_json::from_value(back.config.clone()).unwrap();
    assert_eq!(cfg, BprConfig { dim: 2, lr: 1e-3, reg: 0.01 });

    // In memory: the same bytes, the same model.
    let bytes = m.to_bytes().unwrap();
    assert_eq!(bytes, std::fs::read(&path).unwrap());
    assert_eq!(ModelFile::from_bytes(&bytes).unwrap(), m);
    assert_eq!(entries(dir.path()), ["model.gpurec"]);
}

#[test]
fn empty_tensors_and_id_maps_round_trip() {
    let m = ModelFile {
        kind: "mf".into(),
        user_ids: IdMap::default(),
        item_ids: IdMap::sequential(3),
        tensors: vec![
            NamedTensor::new("a", vec![0, 4], vec![]),
            NamedTensor::new("bias", vec![], vec![0.5]),
            NamedTensor::new("item", vec![3, 1], vec![1.0, 2.0, 3.0]),
            NamedTensor::new("z", vec![2, 0], vec![]),
        ],
        ..ModelFile::default()
    };
    let back = ModelFile::from_bytes(&m.to_bytes().unwrap()).unwrap();
    assert_eq!(back, m);
    assert_eq!(back.config, serde_json::Value::Null);
}

#[test]
fn file_is_plain_safetensors() {
    let bytes = sample().to_bytes().unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap());
    assert_eq!(n % 8, 0, "header padded to 8 bytes");
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let user = st.tensor("user").unwrap();
    assert_eq!((user.dtype(), user.shape()), (Dtype::F32, &[3usize, 2][..]));
    assert_eq!(&user.data()[..4], &0.25f32.to_le_bytes());
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let meta = header.metadata().as_ref().unwrap();
    assert_eq!(meta["format"], FORMAT);
    assert_eq!(meta["format_version"], FORMAT_VERSION.to_string());
    assert_eq!(meta["kind"], "bpr");
    assert_eq!(meta["user_ids"], r#"["u1","ü2","quo\"te\\d"]"#);
    let cfg: serde_json::Value = serde_json::from_str(&meta["config"]).unwrap();
    assert_eq!(cfg["dim"], 2);
    assert_eq!(meta["data_crc32"], format!("{:08x}", reference_crc32(data_section(&bytes))));

    // A file written by safetensors' own serialiser loads the same.
    let again = rewrite(&bytes, |_, _| {});
    assert_eq!(ModelFile::from_bytes(&again).unwrap(), sample());
}

#[test]
fn save_refuses_bad_models_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.gpurec");
    let p = path.to_str().unwrap();
    let with = |f: &dyn Fn(&mut ModelFile)| {
        let mut m = sample();
        f(&mut m);
        m.save(&path).unwrap_err().to_string()
    };
    let e = with(&|m| m.tensors[1].data[3] = f32::NAN);
    assert!(e.contains(p) && e.contains("`user`") && e.contains("NaN") && e.contains("index 3"), "{e}");
    let e = with(&|m| m.tensors[0].data[0] = f32::NEG_INFINITY);
    assert!(e.contains(p) && e.contains("`item`") && e.contains("inf"), "{e}");
    let e = with(&|m| m.tensors[0].shape = vec![3, 2]);
    assert!(e.contains(p) && e.contains("`item`") && e.contains("[3, 2]") && e.contains("8 values"), "{e}");
    let e = with(&|m| m.tensors[0].shape = vec![usize::MAX, 3]);
    assert!(e.contains("`item`"), "overflowing shape: {e}");
    let e = with(&|m| m.tensors[0].name = "user".into());
    assert!(e.contains(p) && e.contains("two tensors named `user`"), "{e}");
    let e = with(&|m| m.tensors[0].name = "__metadata__".into());
    assert!(e.contains("__metadata__"), "{e}");
    let e = with(&|m| m.kind.clear());
    assert!(e.contains("empty kind"), "{e}");
    assert!(entries(dir.path()).is_empty(), "nothing written: {:?}", entries(dir.path()));
}

#[test]
fn save_into_missing_directory_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no/such/dir/model.gpurec");
    let e = sample().save(&path).unwrap_err();
    assert!(matches!(e, gpurec::Error::Io { .. }), "{e:?}");
    assert!(e.to_string().contains("model.gpurec"), "{e}");
    assert!(entries(dir.path()).is_empty());
}

#[test]
fn overwrite_replaces_the_file_and_leaves_no_temporaries() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.gpurec");
    let a = sample();
    a.save(&path).unwrap();
    let mut b = sample();
    b.kind = "bpr2".into();
    b.tensors[1].data[0] = 42.0;
    b.info = serde_json::json!({ "epochs": 4 });
    b.save(&path).unwrap();
    assert_eq!(ModelFile::load(&path).unwrap(), loaded(b.clone(), &path));
    // A failed save (refused weights) keeps b.
    let mut c = b.clone();
    c.tensors[0].data[1] = f32::NAN;
    c.save(&path).unwrap_err();
    assert_eq!(ModelFile::load(&path).unwrap(), loaded(b, &path));
    assert_eq!(entries(dir.path()), ["model.gpurec"]);

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert!(mode & 0o044 != 0 || mode & 0o600 == 0o600, "ordinary permissions, not 0600 only: {mode:o}");
    }
}

#[test]
fn rename_failure_removes_the_temporary_file() {
    // The target is a non-empty directory: the final rename fails.
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("model.gpurec");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("keep"), b"x").unwrap();
    let e = sample().save(&target).unwrap_err();
    assert!(e.to_string().contains("model.gpurec"), "{e}");
    assert_eq!(entries(dir.path()), ["model.gpurec"]);
    assert_eq!(entries(&target), ["keep"]);
}

/// A real failure half way through writing: the test re-runs itself in a
/// child process under a 64 KiB file-size limit (with SIGXFSZ ignored, so
/// writes fail with EFBIG), saving a 4 MiB model over a valid file.
#[cfg(unix)]
#[test]
fn failed_write_keeps_the_previous_file() {
    const CHILD: &str = "GPUREC_MODEL_FILE_TEST_CHILD";
    if let Ok(target) = std::env::var(CHILD) {
        let n = 1 << 20;
        let big = ModelFile { tensors: vec![NamedTensor::new("w", vec![n], vec![0.5; n])], ..sample() };
        match big.save(&target) {
            Err(e) => println!("CHILD-ERROR: {e}"),
            Ok(()) => println!("CHILD-SAVED"),
        }
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("model.gpurec");
    sample().save(&target).unwrap();
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(r#"trap '' XFSZ; ulimit -f 128 && exec "$0" failed_write_keeps_the_previous_file --exact --nocapture"#)
        .arg(&exe)
        .env(CHILD, &target)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "child: {out:?}");
    assert!(stdout.contains("CHILD-ERROR") && stdout.contains(target.to_str().unwrap()), "child: {stdout}");
    assert_eq!(ModelFile::load(&target).unwrap(), loaded(sample(), &target));
    assert_eq!(entries(dir.path()), ["model.gpurec"], "no temporary file left");
}

#[test]
fn missing_file_is_an_io_error_naming_it() {
    let e = ModelFile::load("/nonexistent/model.gpurec").unwrap_err();
    assert!(matches!(e, gpurec::Error::Io { .. }));
    assert!(e.to_string().contains("/nonexistent/model.gpurec"), "{e}");
}

#[test]
fn truncated_and_foreign_files_are_refused() {
    let good = sample().to_bytes().unwrap();
    assert_load_error(&[], "too short");
    assert_load_error(&good[..5], "too short");
    assert_load_error(&good[..100], "header length");
    assert_load_error(&good[..good.len() - 1], "truncated");
    let mut longer = good.clone();
    longer.extend_from_slice(&[0; 4]);
    assert_load_error(&longer, "padded");
    // Random bytes: header length way off.
    let random: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    assert_load_error(&random, "not a model file");
    // A small plausible length, then garbage.
    let mut junk = 16u64.to_le_bytes().to_vec();
    junk.extend_from_slice(b"{\"a\": nonsense }");
    assert_load_error(&junk, "header");
    // A plain safetensors file.
    let plain =
        safetensors::serialize([("w", TensorView::new(Dtype::F32, vec![1], &[0u8; 4]).unwrap())], None).unwrap();
    assert_load_error(&plain, "without __metadata__");
    let other = rewrite(&good, |meta, _| {
        meta.clear();
        meta.insert("format".into(), "pt".into());
    });
    assert_load_error(&other, "not a gpurec model file");
}

#[test]
fn unsupported_versions_are_refused() {
    let good = sample().to_bytes().unwrap();
    let v2 = rewrite(&good, |meta, _| {
        meta.insert("format_version".into(), "2".into());
    });
    let e = assert_load_error(&v2, "version \"2\" is not supported");
    assert!(e.contains("newer gpurec"), "{e}");
    let bad = rewrite(&good, |meta, _| {
        meta.insert("format_version".into(), "one".into());
    });
    assert_load_error(&bad, "not supported");
    let none = rewrite(&good, |meta, _| {
        meta.remove("format_version");
    });
    assert_load_error(&none, "metadata key `format_version` is missing");
}

#[test]
fn missing_metadata_keys_are_named() {
    let good = sample().to_bytes().unwrap();
    for key in ["kind", "config", "info", "user_ids", "item_ids", "data_crc32", "meta_crc32"] {
        let bytes = rewrite(&good, |meta, _| {
            meta.remove(key);
        });
        assert_load_error(&bytes, &format!("metadata key `{key}` is missing"));
    }
}

#[test]
fn checksums_catch_bit_flips() {
    let good = sample().to_bytes().unwrap();
    // One bit of one weight.
    let mut flipped = good.clone();
    let at = good.len() - 5;
    flipped[at] ^= 0x10;
    assert_load_error(&flipped, "tensor data checksum mismatch");
    // Metadata changed without refreshing its checksum.
    let kind = rewrite(&good, |meta, _| {
        meta.insert("kind".into(), "neumf".into());
    });
    assert_load_error(&kind, "metadata checksum mismatch");
    let ids = rewrite(&good, |meta, _| {
        meta.insert("user_ids".into(), r#"["u1","u2","u3"]"#.into());
    });
    assert_load_error(&ids, "metadata checksum mismatch");
    // Two tensors' names swapped: same shapes, different table.
    let swapped = rewrite(&good, |_, tensors| {
        tensors[0].0 = "user2".into();
    });
    assert_load_error(&swapped, "metadata checksum mismatch");
}

#[test]
fn every_single_bit_flip_and_truncation_is_an_error() {
    let good = sample().to_bytes().unwrap();
    for i in 0..good.len() {
        for bit in 0..8 {
            let mut b = good.clone();
            b[i] ^= 1 << bit;
            assert!(ModelFile::from_bytes(&b).is_err(), "flip of bit {bit} of byte {i} went unnoticed");
        }
    }
    for len in 0..good.len() {
        let e = ModelFile::from_bytes(&good[..len]).unwrap_err().to_string();
        assert!(e.starts_with("model file <bytes>"), "{e}");
    }
}

#[test]
fn shape_and_dtype_mismatches_name_the_tensor() {
    let good = sample().to_bytes().unwrap();
    let shape = edit_header(&good, "\"shape\":[3,2]", "\"shape\":[4,2]");
    let e = assert_load_error(&shape, "tensor `user`: shape [4, 2] needs 32 bytes");
    assert!(e.contains("0..24") || e.contains("hold 24"), "{e}");
    let dtype = edit_header(&good, "\"dtype\":\"F32\"", "\"dtype\":\"I32\"");
    assert_load_error(&dtype, "model files hold F32 only");
}

#[test]
fn non_finite_weights_are_refused_on_load() {
    let good = sample().to_bytes().unwrap();
    for (value, word) in [(f32::NAN, "NaN"), (f32::INFINITY, "inf")] {
        let bytes = rewrite_valid(&good, |_, tensors| {
            assert_eq!(tensors[1].0, "user");
            tensors[1].2[8..12].copy_from_slice(&value.to_le_bytes());
        });
        let e = assert_load_error(&bytes, "tensor `user`");
        assert!(e.contains(word) && e.contains("index 2") && e.contains("refusing to load"), "{e}");
    }
    // The same edit with a finite value loads: only the value was refused.
    let bytes = rewrite_valid(&good, |_, tensors| tensors[1].2[8..12].copy_from_slice(&9.0f32.to_le_bytes()));
    assert_eq!(ModelFile::from_bytes(&bytes).unwrap().tensor("user").unwrap().data[2], 9.0);
}

#[test]
fn mismatched_kind_tensors_and_rows_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.gpurec");
    sample().save(&path).unwrap();
    let m = ModelFile::load(&path).unwrap();
    let p = path.to_str().unwrap();
    m.expect_kind("bpr").unwrap();
    let e = m.expect_kind("neumf").unwrap_err().to_string();
    assert!(e.contains(p) && e.contains("`bpr`") && e.contains("`neumf`"), "{e}");
    let e = m.tensor("mlp.0.w").unwrap_err().to_string();
    assert!(e.contains(p) && e.contains("`mlp.0.w`") && e.contains("\"item\""), "{e}");
    assert_eq!(m.check_rows("user", &m.user_ids).unwrap().shape, [3, 2]);
    assert_eq!(m.check_rows("item", &m.item_ids).unwrap().shape, [4, 2]);
    let e = m.check_rows("user", &m.item_ids).unwrap_err().to_string();
    assert!(e.contains(p) && e.contains("3 rows") && e.contains("4 ids"), "{e}");
    // Built in memory: no file to name, still a clear error.
    let e = sample().expect_kind("mf").unwrap_err();
    assert!(matches!(e, gpurec::Error::Invalid(_)) && e.to_string().contains("`mf`"), "{e}");
}

#[test]
fn bad_metadata_values_are_refused() {
    let good = sample().to_bytes().unwrap();
    // The documented checksums, recomputed independently, accept the file.
    assert_eq!(ModelFile::from_bytes(&rewrite_valid(&good, |_, _| {})).unwrap(), sample());
    let dup = rewrite_valid(&good, |meta, _| {
        meta.insert("item_ids".into(), r#"["10","20","10","i 40"]"#.into());
    });
    assert_load_error(&dup, "metadata `item_ids` lists id \"10\" twice");
    let not_list = rewrite_valid(&good, |meta, _| {
        meta.insert("user_ids".into(), r#"{"u1": 0}"#.into());
    });
    assert_load_error(&not_list, "metadata `user_ids` is not a JSON array of strings");
    let config = rewrite_valid(&good, |meta, _| {
        meta.insert("config".into(), "{dim: 2".into());
    });
    assert_load_error(&config, "metadata `config` is not valid JSON");
    let info = rewrite_valid(&good, |meta, _| {
        meta.insert("info".into(), String::new());
    });
    assert_load_error(&info, "metadata `info` is not valid JSON");
}

fn mutated(good: &[u8], edits: &[(prop::sample::Index, u8)], cut: Option<prop::sample::Index>) -> Vec<u8> {
    let mut b = good.to_vec();
    for (at, v) in edits {
        let i = at.index(b.len());
        b[i] = *v;
    }
    if let Some(cut) = cut {
        b.truncate(cut.index(b.len()));
    }
    b
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_damage_never_panics(
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
        cut in prop::option::of(any::<prop::sample::Index>()),
    ) {
        let good = sample().to_bytes().unwrap();
        let bytes = mutated(&good, &edits, cut);
        let dir = tempfile::tempdir().unwrap();
        let path: PathBuf = dir.path().join("fuzz.gpurec");
        std::fs::write(&path, &bytes).unwrap();
        match ModelFile::load(&path) {
            Ok(m) => prop_assert_eq!(m, loaded(sample(), &path)),
            Err(e) => prop_assert!(e.to_string().contains(path.to_str().unwrap()), "{}", e),
        }
    }

    #[test]
    fn one_changed_byte_is_caught_or_harmless(at in any::<prop::sample::Index>(), v in any::<u8>()) {
        let good = sample().to_bytes().unwrap();
        let bytes = mutated(&good, &[(at, v)], None);
        if let Ok(m) = ModelFile::from_bytes(&bytes) {
            // Only a change the format cannot see (padding space to another
            // whitespace) may load, and then it loads the same model.
            prop_assert_eq!(bits(&m), bits(&sample()));
            prop_assert_eq!(m, sample());
        }
    }
}

/// Two big model files that differ in every weight (2 MiB each).
#[cfg(unix)]
fn versions() -> [ModelFile; 2] {
    let n = 1 << 19;
    [0.25f32, -0.75].map(|v| ModelFile { tensors: vec![NamedTensor::new("w", vec![n], vec![v; n])], ..sample() })
}

/// Fault injection: a child process saves two versions of a model over
/// each other in a loop and is killed (SIGKILL) at a random moment, 120
/// times. After every kill the target is one of the two versions, complete;
/// at most the dead save's temporary file is left (each save first removes
/// what killed saves left); the next save leaves only the target.
#[cfg(unix)]
#[test]
fn kill_during_save_leaves_the_old_or_the_new_file_and_the_next_save_cleans_up() {
    use rand::{RngExt, SeedableRng};
    const CHILD: &str = "GPUREC_MODEL_FILE_KILL_CHILD";
    let [a, b] = versions();
    if let Ok(target) = std::env::var(CHILD) {
        for k in 0.. {
            [&a, &b][k % 2].save(&target).unwrap();
        }
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("model.gpurec");
    a.save(&target).unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let (mut left_temp, mut saw_b) = (0, false);
    for trial in 0..120 {
        let mut child = std::process::Command::new(&exe)
            .args(["kill_during_save_leaves_the_old_or_the_new_file_and_the_next_save_cleans_up", "--exact"])
            .env(CHILD, &target)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_micros(rng.random_range(2_000..60_000)));
        child.kill().unwrap();
        child.wait().unwrap();
        let now = ModelFile::load(&target).unwrap_or_else(|e| panic!("trial {trial}: {e}"));
        let is_b = now == loaded(b.clone(), &target);
        assert!(is_b || now == loaded(a.clone(), &target), "trial {trial}: neither version");
        saw_b |= is_b;
        let temps = entries(dir.path()).iter().filter(|n| n.ends_with(".tmp")).count();
        assert!(temps <= 1, "trial {trial}: {temps} temporary files: {:?}", entries(dir.path()));
        left_temp += temps;
    }
    eprintln!("120 kills: {left_temp} left a temporary file behind; the second version was seen: {saw_b}");
    assert!(saw_b && left_temp > 0, "the kills should land during saves and between them");
    a.save(&target).unwrap();
    let left: Vec<String> =
        entries(dir.path()).into_iter().filter(|n| n != "model.gpurec" && !n.ends_with(".lock")).collect();
    assert!(left.is_empty(), "the next save removed the killed saves' files: {left:?}");
}

#[test]
fn a_second_writer_of_the_same_file_is_refused_while_the_first_holds_it() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("model.gpurec");
    let held = gpurec::model_file::SaveLock::try_acquire(&target).unwrap();
    // This process holds it: its own saves go ahead.
    sample().save(&target).unwrap();
    let e = gpurec::model_file::SaveLock::try_acquire(&target).unwrap_err().to_string();
    assert!(e.contains("model.gpurec") && e.contains("another gpurec process"), "{e}");
    drop(held);
    assert_eq!(entries(dir.path()), ["model.gpurec"], "the lock file goes with the lock");
    let again = gpurec::model_file::SaveLock::try_acquire(&target).unwrap();
    drop(again);
    sample().save(&target).unwrap();
    assert_eq!(entries(dir.path()), ["model.gpurec"]);
}
