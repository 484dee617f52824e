//! Golden tests: every `tests/golden/<case>.toml` is a bad policy file, and
//! `<case>.err` holds the exact message it must produce (file names shown
//! relative to the golden directory). Run with `BLESS=1` to rewrite the
//! `.err` files, then read the diff: each message must say what is wrong
//! and what to do.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::path::{Path, PathBuf};

use llmagent_policy::Policy;

/// The built-in tools the golden files may name.
const BUILTINS: &[&str] = &["crypto", "file"];

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// The message `case` produces, with the golden directory stripped.
fn actual(dir: &Path, case: &Path) -> String {
    let text = std::fs::read_to_string(case).unwrap();
    match Policy::parse(&text, case, BUILTINS) {
        Ok(_) => "(no error: this policy was accepted)\n".to_owned(),
        Err(err) => {
            let prefix = format!("{}/", dir.display());
            format!("{}\n", err.to_string().replace(&prefix, ""))
        }
    }
}

#[test]
fn golden_errors() {
    let dir = golden_dir();
    let bless = std::env::var_os("BLESS").is_some_and(|v| v == "1");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 15,
        "golden cases missing from {}",
        dir.display()
    );

    let mut failures = Vec::new();
    for case in &cases {
        let got = actual(&dir, case);
        let err_file = case.with_extension("err");
        if bless {
            std::fs::write(&err_file, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&err_file).unwrap_or_default();
        if got != want {
            failures.push(format!(
                "{}:\n  want: {}  got:  {}",
                case.file_name().unwrap().to_string_lossy(),
                if want.is_empty() {
                    "(no .err file)\n"
                } else {
                    &want
                },
                got
            ));
        }
    }
    // An .err without its .toml is a case someone deleted halfway.
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "err") && !path.with_extension("toml").exists() {
            failures.push(format!("{}: stale, no matching .toml", path.display()));
        }
    }
    assert!(
        failures.is_empty(),
        "{} golden case(s) differ (BLESS=1 to rewrite):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
