//! `parse_delimited` in the layouts the CLI reads (ML-100K `u.data`, MovieLens `.dat`,
//! `ratings.csv` with its header) and with columns picked by header name; the first byte
//! picks the layout, the rest is the file, decoded as the loaders decode it.
#![no_main]

use std::path::Path;

use gpurec::data::movielens::{decode_utf8, parse_delimited, CsvFormat};
use gpurec_fuzz::{check_data_err, check_interactions, line_count};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, file)) = data.split_first() else { return };
    let (path, fmt) = match pick % 4 {
        0 => (Path::new("u.data"), Ok(CsvFormat::ml100k())),
        1 => (Path::new("ratings.dat"), Ok(CsvFormat::ml_dat())),
        2 => (Path::new("ratings.csv"), Ok(CsvFormat::ml_latest_csv())),
        _ => {
            let p = Path::new("named.csv");
            let head = String::from_utf8_lossy(file);
            (p, CsvFormat::from_header_line(p, &head, ",", "userId", "movieId", Some("rating"), Some("timestamp")))
        }
    };
    let lines = line_count(file);
    let got = fmt.and_then(|fmt| parse_delimited(path, &decode_utf8(path, file.to_vec())?, &fmt));
    match got {
        Ok(d) => check_interactions(&d),
        Err(e) => check_data_err(&e, path, lines),
    }
});
