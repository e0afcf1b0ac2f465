//! `ModelFile::from_bytes`. A file that loads must save again (`to_bytes`) and load back equal.
//! When the first byte is odd the rest is "repaired" first: if its header is a JSON object,
//! both checksums are recomputed (as src/model_file.rs documents them), so mutations reach the
//! checks that come after the checksums instead of all stopping at a checksum mismatch.
#![no_main]

use gpurec::model_file::ModelFile;
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};

/// `FUZZ_SHOW=1` prints what each input loads to (to see that the repair reaches `Ok`).
static SHOW: std::sync::OnceLock<bool> = std::sync::OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let Some((&mode, file)) = data.split_first() else { return };
    let bytes = if mode & 1 == 1 { repair(file).unwrap_or_else(|| file.to_vec()) } else { file.to_vec() };
    let got = ModelFile::from_bytes(&bytes);
    if *SHOW.get_or_init(|| std::env::var_os("FUZZ_SHOW").is_some()) {
        eprintln!("{:?}", got.as_ref().map(|m| &m.kind));
    }
    match got {
        Ok(m) => {
            for t in &m.tensors {
                assert_eq!(t.shape.iter().product::<usize>(), t.data.len());
                assert!(t.data.iter().all(|v| v.is_finite()), "non-finite weight loaded");
            }
            let again = m.to_bytes().unwrap_or_else(|e| panic!("a file that loads does not save: {e}"));
            let back = ModelFile::from_bytes(&again).unwrap_or_else(|e| panic!("a saved file does not load: {e}"));
            assert_eq!(back, m, "the file does not round-trip");
        }
        Err(e) => assert!(e.to_string().contains("<bytes>"), "error does not name the file: {e}"),
    }
});

/// `file` with its `data_crc32` and `meta_crc32` recomputed, when its header is a JSON object
/// whose `__metadata__` holds strings and whose tensors have a dtype, a shape and two offsets.
fn repair(file: &[u8]) -> Option<Vec<u8>> {
    let n = u64::from_le_bytes(file.get(..8)?.try_into().ok()?) as usize;
    let head = file.get(8..8usize.checked_add(n)?)?;
    let body = &file[8 + n..];
    let mut header: Map<String, Value> = serde_json::from_slice(head).ok()?;
    let mut table = Vec::new();
    for (name, t) in &header {
        if name == "__metadata__" {
            continue;
        }
        let dtype = t.get("dtype")?.as_str()?.to_string();
        let shape: Vec<u64> = t.get("shape")?.as_array()?.iter().map(Value::as_u64).collect::<Option<_>>()?;
        let off = t.get("data_offsets")?.as_array()?;
        let (a, b) = (off.first()?.as_u64()?, off.get(1)?.as_u64()?);
        table.push(((a, b), name.clone(), dtype, shape));
    }
    table.sort();
    let meta = header.get_mut("__metadata__")?.as_object_mut()?;
    let mut c = crc32fast::Hasher::new();
    let text = |c: &mut crc32fast::Hasher, s: &str| {
        c.update(&(s.len() as u64).to_le_bytes());
        c.update(s.as_bytes());
    };
    for key in ["format", "format_version", "kind", "config", "info", "user_ids", "item_ids"] {
        text(&mut c, key);
        text(&mut c, meta.get(key).map_or(Some(""), Value::as_str)?);
    }
    for ((a, b), name, dtype, shape) in &table {
        text(&mut c, name);
        text(&mut c, dtype);
        c.update(&(shape.len() as u64).to_le_bytes());
        for d in shape {
            c.update(&d.to_le_bytes());
        }
        c.update(&a.to_le_bytes());
        c.update(&b.to_le_bytes());
    }
    meta.insert("meta_crc32".into(), format!("{:08x}", c.finalize()).into());
    meta.insert("data_crc32".into(), format!("{:08x}", crc32fast::hash(body)).into());
    let json = serde_json::to_vec(&header).ok()?;
    let mut out = (json.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&json);
    out.extend_from_slice(body);
    Some(out)
}
