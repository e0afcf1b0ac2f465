//! RecBole's sequential atomic files: pre-split `.train.inter` /
//! `.valid.inter` / `.test.inter` whose rows are (history, next item) pairs,
//!
//! ```text
//! session_id:token   item_id_list:token_seq   item_id:token
//! 1                  242 302 377              51
//! ```
//!
//! (the user column may be `user_id` instead; the list is space-separated,
//! oldest first, and may be cut to its last L items, as RecBole's
//! `MAX_ITEM_LIST_LENGTH` does). They become one [`Interactions`] and its
//! [`Split`], each user's items in sequence order with their positions as
//! timestamps, so the sequential models and the leave-one-out protocol read
//! them like any time-stamped split:
//!
//! - training rows of a user continue one sequence: a row's list is the end
//!   of the sequence so far (or extends it, the first row's list included),
//!   and its item is the next one, a training interaction;
//! - a validation row's list must be the end of that user's training
//!   sequence, and its item is the user's validation interaction; a test
//!   row's list the end of the training sequence followed by the validation
//!   item (RecBole's own layout), and its item is the test interaction;
//! - a user with no training rows (a new session in the validation or test
//!   file) takes the row's list as their training sequence: those items are
//!   the history the model scores from, and the models train on them too.
//!
//! Anything else (a list that does not continue the user's sequence, two
//! validation or test rows for one user) is refused with the file and line.

use std::collections::HashMap;
use std::path::Path;

use super::movielens::{decode_utf8, split_fields};
use super::split::Split;
use super::Interactions;
use crate::error::{Error, Result};

/// True when the header line of a `.inter` file names an `item_id_list` column.
pub fn has_item_list_header(header: &str) -> bool {
    header.split('\t').any(|h| h.trim() == "item_id_list" || h.trim().starts_with("item_id_list:"))
}

/// One parsed row: (line, user, history oldest first, next item).
type Row = (usize, String, Vec<String>, String);

fn data_err(path: &Path, line: usize, message: impl Into<String>) -> Error {
    Error::Data { path: path.to_path_buf(), line, message: message.into() }
}

fn parse_rows(path: &Path, text: &str) -> Result<Vec<Row>> {
    let mut lines = text.lines().enumerate();
    let header = lines.next().map(|(_, l)| l.strip_prefix('\u{feff}').unwrap_or(l)).unwrap_or("");
    let names: Vec<&str> = header.split('\t').map(|h| h.trim().split(':').next().unwrap_or("")).collect();
    let find = |want: &[&str]| names.iter().position(|n| want.contains(n));
    let user =
        find(&["session_id", "user_id"]).ok_or_else(|| data_err(path, 1, "header: no session_id or user_id column"))?;
    let list = find(&["item_id_list"]).ok_or_else(|| data_err(path, 1, "header: no item_id_list column"))?;
    let item = find(&["item_id"]).ok_or_else(|| data_err(path, 1, "header: no item_id column"))?;
    let need = user.max(list).max(item) + 1;
    let mut fields = Vec::new();
    let mut rows = Vec::new();
    for (k, line) in lines {
        let no = k + 1;
        if line.trim().is_empty() {
            continue;
        }
        split_fields(line, "\t", &mut fields).map_err(|m| data_err(path, no, m))?;
        if fields.len() < need {
            return Err(data_err(
                path,
                no,
                format!("expected at least {need} tab-separated fields, found {}", fields.len()),
            ));
        }
        let (u, i) = (fields[user].trim(), fields[item].trim());
        if u.is_empty() || i.is_empty() {
            return Err(data_err(path, no, "empty user or item id"));
        }
        let history = fields[list].split_whitespace().map(str::to_string).collect();
        rows.push((no, u.to_string(), history, i.to_string()));
    }
    if rows.is_empty() {
        return Err(data_err(path, 0, "no rows found"));
    }
    Ok(rows)
}

/// Whether `seq` ends with `tail`.
fn ends_with(seq: &[String], tail: &[String]) -> bool {
    tail.len() <= seq.len() && seq[seq.len() - tail.len()..] == *tail
}

/// Loads RecBole sequential atomic files (see the module docs); `valid` is optional.
pub fn load_presplit_item_lists(train: &Path, valid: Option<&Path>, test: &Path) -> Result<(Interactions, Split)> {
    let read = |p: &Path| -> Result<String> {
        let bytes = std::fs::read(p).map_err(|source| Error::Io { path: p.to_path_buf(), source })?;
        decode_utf8(p, bytes)
    };
    let train_text = read(train)?;
    let valid_text = valid.map(read).transpose()?;
    let test_text = read(test)?;
    parse_presplit_item_lists((train, &train_text), valid.zip(valid_text.as_deref()), (test, &test_text))
}

/// [`load_presplit_item_lists`] on texts already read (each path names its file in errors).
pub fn parse_presplit_item_lists(
    train: (&Path, &str),
    valid: Option<(&Path, &str)>,
    test: (&Path, &str),
) -> Result<(Interactions, Split)> {
    // Users in order of first appearance, each with the training sequence and the held-out items.
    let mut order: Vec<String> = Vec::new();
    let mut seqs: HashMap<String, Vec<String>> = HashMap::new();
    let mut held: [HashMap<String, String>; 2] = Default::default();

    let (path, text) = train;
    for (no, user, history, item) in parse_rows(path, text)? {
        let seq = seqs.entry(user.clone()).or_insert_with(|| {
            order.push(user.clone());
            Vec::new()
        });
        if history.len() >= seq.len() && history[..seq.len()] == seq[..] {
            *seq = history;
        } else if !ends_with(seq, &history) {
            return Err(data_err(
                path,
                no,
                format!("user {user:?}: item_id_list does not continue the sequence of the earlier rows"),
            ));
        }
        seq.push(item);
    }
    for (part, file) in [(0, valid), (1, Some(test))] {
        let Some((path, text)) = file else { continue };
        for (no, user, history, item) in parse_rows(path, text)? {
            let seq = seqs.entry(user.clone()).or_insert_with(|| {
                order.push(user.clone());
                history.clone()
            });
            // What the list must end with: the training sequence, then (for the test) the validation item.
            let mut known = seq.clone();
            if part == 1 {
                known.extend(held[0].get(&user).cloned());
            }
            if !ends_with(&known, &history) {
                let what = if part == 1 && held[0].contains_key(&user) {
                    "the training sequence and the validation item"
                } else {
                    "the training sequence"
                };
                return Err(data_err(path, no, format!("user {user:?}: item_id_list is not the end of {what}")));
            }
            if held[part].insert(user.clone(), item).is_some() {
                return Err(data_err(path, no, format!("user {user:?} has a second row here (one per user)")));
            }
        }
    }

    let mut data = Interactions::default();
    let mut rows: [Vec<usize>; 3] = Default::default();
    for user in &order {
        let seq = &seqs[user];
        for item in seq {
            rows[0].push(data.len());
            let t = data.len() as i64;
            data.push(user, item, 1.0, t);
        }
        for (part, map) in held.iter().enumerate() {
            if let Some(item) = map.get(user) {
                rows[part + 1].push(data.len());
                let t = data.len() as i64;
                data.push(user, item, 1.0, t);
            }
        }
    }
    let [train, valid, test] = rows;
    Ok((data, Split { train, valid, test }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "session_id:token\titem_id_list:token_seq\titem_id:token\n";

    fn parse(train: &str, valid: &str, test: &str) -> Result<(Interactions, Split)> {
        let (t, v, s) = (format!("{HEADER}{train}"), format!("{HEADER}{valid}"), format!("{HEADER}{test}"));
        parse_presplit_item_lists(
            (Path::new("x.train.inter"), &t),
            Some((Path::new("x.valid.inter"), &v)),
            (Path::new("x.test.inter"), &s),
        )
    }

    fn items(d: &Interactions, rows: &[usize]) -> Vec<String> {
        rows.iter().map(|&r| d.item_ids.id(d.items[r]).to_string()).collect()
    }

    #[test]
    fn rows_become_sequences_in_order() {
        // User 1: a b c d in training (lists cut to their last 2 items), e valid, f test;
        // user 2: only a test row, a new session whose list is its history.
        let (d, s) = parse("1\ta\tb\n1\ta b\tc\n1\tb c\td\n", "1\tc d\te\n", "1\td e\tf\n2\tx y\tz\n").unwrap();
        assert_eq!(items(&d, &s.train), ["a", "b", "c", "d", "x", "y"]);
        assert_eq!(items(&d, &s.valid), ["e"]);
        assert_eq!(items(&d, &s.test), ["f", "z"]);
        let ts: Vec<i64> = s.train.iter().chain(&s.valid).chain(&s.test).map(|&r| d.timestamps[r]).collect();
        assert!(ts[..4].windows(2).all(|w| w[0] < w[1]), "positions order each user's items: {ts:?}");
        assert!(d.timestamps[s.valid[0]] > d.timestamps[s.train[3]]);
        assert!(d.timestamps[s.test[0]] > d.timestamps[s.valid[0]]);
    }

    #[test]
    fn a_list_that_does_not_continue_is_refused_with_its_line() {
        let e = parse("1\ta\tb\n1\tq\tc\n", "1\ta b\te\n", "1\tb e\tf\n").unwrap_err().to_string();
        assert!(e.starts_with("x.train.inter:3:") && e.contains("does not continue"), "{e}");
        let e = parse("1\ta\tb\n", "1\tb a\te\n", "1\tb e\tf\n").unwrap_err().to_string();
        assert!(e.starts_with("x.valid.inter:2:") && e.contains("training sequence"), "{e}");
        let e = parse("1\ta\tb\n", "1\ta b\te\n", "1\ta b\tf\n").unwrap_err().to_string();
        assert!(e.starts_with("x.test.inter:2:") && e.contains("validation item"), "{e}");
        let e = parse("1\ta\tb\n", "1\ta b\te\n1\ta b\tg\n", "1\tb e\tf\n").unwrap_err().to_string();
        assert!(e.starts_with("x.valid.inter:3:") && e.contains("second row"), "{e}");
        let e = parse_presplit_item_lists(
            (Path::new("h.inter"), "user_id:token\titem_id:token\n1\t2\n"),
            None,
            (Path::new("t.inter"), HEADER),
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("h.inter:1:") && e.contains("item_id_list"), "{e}");
        let e = parse("1\ta\n", "", "").unwrap_err().to_string();
        assert!(e.starts_with("x.train.inter:2:") && e.contains("at least 3"), "{e}");
    }

    #[test]
    fn the_header_is_recognised() {
        assert!(has_item_list_header("session_id:token\titem_id_list:token_seq\titem_id:token"));
        assert!(!has_item_list_header("user_id:token\titem_id:token\trating:float"));
    }
}
