//! Fixed negatives for the sampled protocol ([`crate::eval::SampledEval`]),
//! read from a file so numbers compare across libraries.
//!
//! The format is the NCF paper's `*.test.negative` (He et al., WWW 2017):
//! one line per test user, fields separated by tabs or spaces, the first
//! field `(user,item)` — the user and their held-out item — and then the
//! negative items. A first field without parentheses is taken as the user
//! alone. Ids are the original ids of the data set (matched through its id
//! maps); a user on several lines gets the union of their negatives.

use std::path::Path;

use crate::data::movielens::read_utf8;
use crate::data::IdMap;
use crate::error::{Error, Result};

/// Per user index (`users.len()` rows, empty for users not in the file), the
/// negative item indices listed in the file at `path`. Unknown users or
/// items, and negatives that repeat on a line, are errors naming the file
/// and the line.
pub fn load_test_negatives(path: &Path, users: &IdMap, items: &IdMap) -> Result<Vec<Vec<u32>>> {
    // As every data loader reads its file: a byte-order mark skipped, bad UTF-8 named by line.
    let text = read_utf8(path)?;
    parse_test_negatives(path, &text, users, items)
}

/// [`load_test_negatives`] on text already read (`path` names it in errors).
pub fn parse_test_negatives(path: &Path, text: &str, users: &IdMap, items: &IdMap) -> Result<Vec<Vec<u32>>> {
    let err = |line: usize, message: String| Error::Data { path: path.to_path_buf(), line, message };
    let mut out = vec![Vec::new(); users.len()];
    let mut any = false;
    for (n, line) in text.lines().enumerate() {
        let line_no = n + 1;
        let mut fields = line.split_whitespace();
        let Some(head) = fields.next() else { continue };
        let user = match head.strip_prefix('(').and_then(|h| h.strip_suffix(')')) {
            Some(pair) => pair.split(',').next().unwrap_or("").trim(),
            None => head,
        };
        let u = users.get(user).ok_or_else(|| err(line_no, format!("unknown user {user:?}")))?;
        let start = out[u as usize].len();
        for item in fields {
            let i = items.get(item).ok_or_else(|| err(line_no, format!("unknown item {item:?}")))?;
            if out[u as usize][start..].contains(&i) {
                return Err(err(line_no, format!("item {item:?} is listed twice")));
            }
            out[u as usize].push(i);
        }
        if out[u as usize].len() == start {
            return Err(err(line_no, format!("no negatives for user {user:?}")));
        }
        any = true;
    }
    if !any {
        return Err(err(0, "no negatives found".into()));
    }
    for negs in &mut out {
        negs.sort_unstable();
        negs.dedup();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(list: &[&str]) -> IdMap {
        let mut m = IdMap::default();
        for id in list {
            m.intern(id);
        }
        m
    }

    #[test]
    fn reads_the_ncf_format_and_plain_user_lines() {
        let (users, items) = (ids(&["10", "20", "30"]), ids(&["a", "b", "c", "d"]));
        let text = "(10,a)\tc\td\n\n30 b  a\n";
        let got = parse_test_negatives(Path::new("t.neg"), text, &users, &items).unwrap();
        assert_eq!(got, vec![vec![2, 3], vec![], vec![0, 1]]);
    }

    #[test]
    fn bad_lines_name_the_file_and_line() {
        let (users, items) = (ids(&["10"]), ids(&["a", "b"]));
        let e = |t: &str| parse_test_negatives(Path::new("t.neg"), t, &users, &items).unwrap_err().to_string();
        assert!(e("(10,a)\ta\n(11,a)\tb\n").contains("t.neg:2") && e("(11,a)\tb").contains("unknown user"));
        assert!(e("(10,a)\tzz").contains("unknown item \"zz\""));
        assert!(e("(10,a)\tb\tb").contains("twice"));
        assert!(e("(10,a)").contains("no negatives"));
        assert!(e("\n\n").contains("no negatives found"));
    }

    #[test]
    fn files_are_read_like_the_other_data_files() {
        let (users, items) = (ids(&["10"]), ids(&["a", "b"]));
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.neg");
        std::fs::write(&p, b"\xef\xbb\xbf(10,a)\tb\n").unwrap();
        assert_eq!(load_test_negatives(&p, &users, &items).unwrap(), vec![vec![1]], "byte-order mark skipped");
        std::fs::write(&p, b"(10,a)\tb\n(10,a)\t\xff\n").unwrap();
        let e = load_test_negatives(&p, &users, &items).unwrap_err();
        assert!(matches!(e, Error::Data { line: 2, .. }) && e.to_string().contains("UTF-8"), "{e}");
    }
}
