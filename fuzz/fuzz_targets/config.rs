//! `toml_to_args`, the `--config FILE` reader of the binary (compiled in from src/config.rs).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../src/config.rs"]
mod config;

fuzz_target!(|data: &[u8]| {
    // `expand` reads the file with `read_to_string`, so only UTF-8 reaches the parser.
    let Ok(text) = std::str::from_utf8(data) else { return };
    match config::toml_to_args(Path::new("run.toml"), text) {
        Ok(args) => {
            assert!(args.first().is_none_or(|a| a.starts_with("--")));
            for a in args.iter().filter(|a| a.starts_with("--")) {
                assert!(!a.contains(['_']), "flags are kebab-case: {a}");
            }
        }
        Err(e) => assert!(format!("{e:#}").contains("run.toml"), "{e:#}"),
    }
});
