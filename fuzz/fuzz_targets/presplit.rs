//! `parse_presplit`: train / optional valid / test files into one id space. The first byte picks
//! RecBole `.inter` files (each with its own header) or a u.data / `.dat` / ratings.csv layout and
//! whether there is a validation file; the rest is the files, separated by NUL bytes.
#![no_main]

use std::path::Path;

use gpurec::data::movielens::CsvFormat;
use gpurec::data::split::parse_presplit;
use gpurec_fuzz::{check_data_err_among, check_interactions, line_count};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else { return };
    let (fmt, ext) = match pick % 4 {
        0 => (None, "inter"),
        1 => (Some(CsvFormat::ml100k()), "data"),
        2 => (Some(CsvFormat::ml_dat()), "dat"),
        _ => (Some(CsvFormat::ml_latest_csv()), "csv"),
    };
    let with_valid = pick & 4 != 0;
    let mut parts = rest.splitn(3, |&b| b == 0);
    let train = parts.next().unwrap_or(&[]);
    let second = parts.next().unwrap_or(&[]);
    let third = parts.next().unwrap_or(&[]);
    let (valid, test) = if with_valid { (Some(second), third) } else { (None, second) };
    let (tp, vp, sp) = (format!("x.train.{ext}"), format!("x.valid.{ext}"), format!("x.test.{ext}"));
    let (tp, vp, sp) = (Path::new(&tp), Path::new(&vp), Path::new(&sp));
    match parse_presplit((tp, train), valid.map(|v| (vp, v)), (sp, test), fmt.as_ref()) {
        Ok((d, split)) => {
            check_interactions(&d);
            assert!(!split.train.is_empty() && !split.test.is_empty());
            assert_eq!(valid.is_some(), !split.valid.is_empty());
            let all: Vec<usize> = split.train.iter().chain(&split.valid).chain(&split.test).copied().collect();
            assert_eq!(all, (0..d.len()).collect::<Vec<_>>(), "the parts are the rows in file order");
        }
        Err(e) => {
            let mut files = vec![(tp, line_count(train)), (sp, line_count(test))];
            if let Some(v) = valid {
                files.push((vp, line_count(v)));
            }
            check_data_err_among(&e, &files);
        }
    }
});
