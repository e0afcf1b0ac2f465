//! `--config FILE`: a TOML file whose keys are the subcommand's long flags
//! (`epochs = 50`, `data = "path/to/ml-100k"`, `json = true`). Its values are
//! inserted before the command line's own arguments, so flags given on the
//! command line win.

use std::path::Path;

use anyhow::{bail, Context, Result};

/// Turns a TOML table into `--key value` arguments.
pub fn toml_to_args(path: &Path, text: &str) -> Result<Vec<String>> {
    let table: toml::Table = text.parse().with_context(|| format!("{}: not valid TOML", path.display()))?;
    let mut args = Vec::new();
    for (key, value) in table {
        // A key becomes a flag as it is: one that no flag can spell ("" would become `--`, the
        // end of the options) is refused here rather than turned into a confusing argument.
        if !key.starts_with(|c: char| c.is_ascii_alphanumeric())
            || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            bail!("{}: key {key:?} is not a flag name (letters, digits, `_` and `-`)", path.display());
        }
        let flag = format!("--{}", key.replace('_', "-"));
        let mut push = |v: &toml::Value| -> Result<()> {
            match v {
                toml::Value::String(s) => args.extend([flag.clone(), s.clone()]),
                toml::Value::Integer(i) => args.extend([flag.clone(), i.to_string()]),
                toml::Value::Float(f) if !f.is_finite() => {
                    bail!("{}: {key} = {f}: expected a finite number", path.display())
                }
                toml::Value::Float(f) => args.extend([flag.clone(), f.to_string()]),
                toml::Value::Boolean(true) => args.push(flag.clone()),
                toml::Value::Boolean(false) => {}
                other => bail!("{}: {key} = {other}: expected a string, number or boolean", path.display()),
            }
            Ok(())
        };
        match &value {
            toml::Value::Array(items) => items.iter().try_for_each(&mut push)?,
            v => push(v)?,
        }
    }
    Ok(args)
}

/// Expands `--config FILE` (anywhere after the subcommand) into the file's arguments.
pub fn expand(argv: Vec<String>) -> Result<Vec<String>> {
    let Some(pos) = argv.iter().position(|a| a == "--config" || a.starts_with("--config=")) else {
        return Ok(argv);
    };
    let (path, consumed) = match argv[pos].strip_prefix("--config=") {
        Some(p) => (p.to_string(), 1),
        None => (argv.get(pos + 1).cloned().context("--config needs a file")?, 2),
    };
    let path = Path::new(&path);
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let from_file = toml_to_args(path, &text)?;
    // Subcommand first, then the file's arguments, then the command line's (which win).
    let mut out: Vec<String> = argv[..2.min(argv.len())].to_vec();
    out.extend(from_file);
    out.extend(argv[2.min(argv.len())..pos].iter().cloned());
    out.extend(argv[pos + consumed..].iter().cloned());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_values_come_first_so_flags_win() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("run.toml");
        std::fs::write(&f, "epochs = 5\nlr = 0.01\njson = true\nbatch_size = 64\nuser = [\"1\", \"2\"]\n").unwrap();
        let argv: Vec<String> = ["gpurec", "train", "--config", f.to_str().unwrap(), "--epochs", "7"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let out = expand(argv).unwrap();
        assert_eq!(&out[..2], &["gpurec", "train"]);
        assert!(out.windows(2).any(|w| w == ["--batch-size", "64"]));
        assert!(out.contains(&"--json".to_string()));
        assert_eq!(out.iter().filter(|a| *a == "--user").count(), 2);
        assert_eq!(&out[out.len() - 2..], &["--epochs", "7"], "the command line comes last");
        std::fs::write(&f, "epochs = [").unwrap();
        let argv: Vec<String> =
            ["gpurec", "train", "--config", f.to_str().unwrap()].iter().map(|s| s.to_string()).collect();
        assert!(expand(argv).unwrap_err().to_string().contains("run.toml"));
    }

    #[test]
    fn non_finite_numbers_and_keys_that_are_no_flags_are_errors() {
        let p = Path::new("run.toml");
        for (text, want) in [
            ("lr = nan", "lr = NaN: expected a finite number"),
            ("threshold = -inf", "expected a finite number"),
            ("lr = [0.1, +inf]", "expected a finite number"),
            ("\"\" = \"x\"", "key \"\" is not a flag name"),
            ("\"-x\" = 1", "is not a flag name"),
            ("\"a b\" = 1", "is not a flag name"),
        ] {
            let e = toml_to_args(p, text).unwrap_err().to_string();
            assert!(e.starts_with("run.toml: ") && e.contains(want), "{text}: {e}");
        }
        assert_eq!(toml_to_args(p, "min-user = 2\nlr = 1e-3").unwrap(), ["--lr", "0.001", "--min-user", "2"]);
    }
}
