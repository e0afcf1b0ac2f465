//! `parse_inter`: RecBole atomic `.inter` files (a `name:type` header naming the columns).
#![no_main]

use std::path::Path;

use gpurec::data::movielens::{decode_utf8, parse_inter};
use gpurec_fuzz::{check_data_err, check_interactions, line_count};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("ml.inter");
    match decode_utf8(path, data.to_vec()).and_then(|text| parse_inter(path, &text)) {
        Ok(d) => check_interactions(&d),
        Err(e) => check_data_err(&e, path, line_count(data)),
    }
});
