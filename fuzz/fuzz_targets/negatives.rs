//! `parse_test_negatives`: the NCF `*.test.negative` file, against users and items "1" … "n".
#![no_main]

use std::path::Path;

use gpurec::data::movielens::decode_utf8;
use gpurec::data::negatives::parse_test_negatives;
use gpurec_fuzz::{check_data_err, ids, line_count};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("ml.test.negative");
    let (users, items) = (ids(20), ids(60));
    match decode_utf8(path, data.to_vec()).and_then(|t| parse_test_negatives(path, &t, &users, &items)) {
        Ok(negs) => {
            assert_eq!(negs.len(), users.len());
            assert!(negs.iter().any(|n| !n.is_empty()));
            for n in &negs {
                assert!(n.windows(2).all(|w| w[0] < w[1]), "sorted and distinct");
                assert!(n.iter().all(|&i| (i as usize) < items.len()));
            }
        }
        Err(e) => check_data_err(&e, path, line_count(data)),
    }
});
