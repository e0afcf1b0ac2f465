//! The MovieLens 100K side-file parsers: `u.genre`, `u.item` (with the default genres or with
//! those of a `u.genre` given before a NUL byte) and `u.user`, for items and users "1" … "n".
#![no_main]

use std::path::Path;

use gpurec::data::side::{parse_genres, parse_ml100k_items, parse_ml100k_users};
use gpurec_fuzz::{check_data_err, ids, line_count};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, file)) = data.split_first() else { return };
    let (items, users) = (ids(30), ids(30));
    match pick % 4 {
        0 => {
            let p = Path::new("u.genre");
            match parse_genres(p, file) {
                Ok(g) => assert!(!g.is_empty()),
                Err(e) => check_data_err(&e, p, line_count(file)),
            }
        }
        1 | 2 => {
            let (genres, file) = match (pick % 4 == 2).then(|| file.iter().position(|&b| b == 0)).flatten() {
                Some(nul) => {
                    let g = Path::new("u.genre");
                    match parse_genres(g, &file[..nul]) {
                        Ok(names) => (Some(names), &file[nul + 1..]),
                        Err(e) => return check_data_err(&e, g, line_count(&file[..nul])),
                    }
                }
                None => (None, file),
            };
            let p = Path::new("u.item");
            match parse_ml100k_items(p, file, &items, genres.as_deref()) {
                Ok(side) => {
                    let g = side.genres;
                    assert_eq!((g.rows, g.values.len(), side.titles.len()), (30, 30 * g.cols(), 30));
                    assert!(g.values.iter().all(|v| *v == 0.0 || *v == 1.0));
                }
                Err(e) => check_data_err(&e, p, line_count(file)),
            }
        }
        _ => {
            let p = Path::new("u.user");
            match parse_ml100k_users(p, file, &users, None) {
                Ok(m) => {
                    assert_eq!((m.rows, m.values.len()), (30, 30 * m.cols()));
                    assert!(m.values.iter().all(|v| v.is_finite()));
                }
                Err(e) => check_data_err(&e, p, line_count(file)),
            }
        }
    }
});
