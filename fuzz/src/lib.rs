//! Checks shared by the fuzz targets: what a loader may return for any input.

use std::path::Path;

use gpurec::data::{IdMap, Interactions};
use gpurec::Error;

/// An error from loading the file `path` whose text has `lines` lines: a data error
/// naming that file and a line of it (0 for "not on one line"), whose message says so too.
pub fn check_data_err(err: &Error, path: &Path, lines: usize) {
    let shown = err.to_string();
    assert!(shown.starts_with(&format!("{}:", path.display())), "error does not name {}: {shown}", path.display());
    match err {
        Error::Data { path: p, line, message } => {
            assert_eq!(p, path);
            assert!(*line <= lines, "line {line} of a {lines}-line file: {shown}");
            assert!(!message.is_empty());
        }
        other => panic!("not a data error: {other:?}"),
    }
}

/// Which of several files an error names, checking it is a data error naming one of them.
pub fn check_data_err_among(err: &Error, files: &[(&Path, usize)]) {
    let Error::Data { path, .. } = err else { panic!("not a data error: {err:?}") };
    let &(p, lines) = files.iter().find(|(p, _)| *p == path.as_path()).unwrap_or_else(|| panic!("{err}"));
    check_data_err(err, p, lines);
}

/// The number of lines of `bytes` as the loaders count them (`\n`-terminated, the last one may lack it).
pub fn line_count(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b == b'\n').count() + 1
}

/// Loaded interactions: at least one, consistent lengths, indices inside the id maps, finite ratings.
pub fn check_interactions(d: &Interactions) {
    assert!(!d.is_empty());
    let n = d.len();
    assert_eq!((d.items.len(), d.ratings.len(), d.timestamps.len()), (n, n, n));
    assert!(d.users.iter().all(|&u| (u as usize) < d.n_users()));
    assert!(d.items.iter().all(|&i| (i as usize) < d.n_items()));
    assert!(d.ratings.iter().all(|r| r.is_finite()), "non-finite rating");
    for ids in [&d.user_ids, &d.item_ids] {
        assert!((0..ids.len()).all(|i| !ids.id(i as u32).trim().is_empty()), "empty id");
    }
}

/// An id map of `n` ids "1" … "n" (MovieLens ids are small numbers).
pub fn ids(n: usize) -> IdMap {
    let mut m = IdMap::default();
    for i in 1..=n {
        m.intern(&i.to_string());
    }
    m
}
