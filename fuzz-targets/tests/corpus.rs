//! Every fuzz target on stable, in the workspace's own build: each committed
//! seed in `fuzz/corpus/<target>/`, then mutations of them for
//! `LLMAGENT_FUZZ_SECONDS` per target (default 3), from a random seed. A
//! failure prints the seed and the count that replay it
//! (`LLMAGENT_FUZZ_SEED`, `LLMAGENT_FUZZ_RUNS`) and keeps its input in
//! `fuzz/artifacts/<target>/`, as cargo-fuzz does. Coverage-guided runs are
//! `scripts/fuzz.sh`; this is what CI runs of them.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use llmagent_fuzz_targets::mutate::{Rng, mutate};
use llmagent_fuzz_targets::{TARGETS, Target};

/// Mutated inputs are cut to this: libFuzzer's default `-max_len` for a
/// corpus of small seeds.
const MAX_LEN: usize = 4096;

fn target(name: &str) -> Target {
    TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, run)| *run)
        .unwrap_or_else(|| panic!("no fuzz target named {name}"))
}

/// A directory of the cargo-fuzz crate: `corpus` (the committed seeds) or
/// `artifacts` (failing inputs, not committed).
fn fuzz_dir(which: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz")
        .join(which)
}

/// The committed seeds of a target, sorted by file name.
fn seeds(name: &str) -> Vec<(String, Vec<u8>)> {
    let dir = fuzz_dir("corpus").join(name);
    let mut seeds: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.expect("a directory entry").path();
            let bytes = std::fs::read(&path).expect("a seed file");
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                bytes,
            )
        })
        .collect();
    seeds.sort();
    assert!(!seeds.is_empty(), "{} has no seeds", dir.display());
    seeds
}

/// Runs one input, turning a panic into a message that replays it.
fn run_one(name: &str, run: Target, input: &[u8], origin: &str) -> Result<(), String> {
    catch_unwind(AssertUnwindSafe(|| run(input))).map_err(|panic| {
        let why = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default();
        format!(
            "fuzz target {name} failed on {origin}: {why}\ninput ({} bytes): {:?}",
            input.len(),
            String::from_utf8_lossy(input)
        )
    })
}

fn env_u64(var: &str) -> Option<u64> {
    let value = std::env::var(var).ok()?;
    Some(
        value
            .parse()
            .unwrap_or_else(|_| panic!("{var} must be a whole number, not {value:?}")),
    )
}

fn replay_seeds(name: &str) {
    let run = target(name);
    for (file, bytes) in &seeds(name) {
        if let Err(failure) = run_one(name, run, bytes, &format!("the seed {file}")) {
            panic!("{failure}");
        }
    }
}

fn mutations(name: &str) {
    let runs = env_u64("LLMAGENT_FUZZ_RUNS");
    let seconds = env_u64("LLMAGENT_FUZZ_SECONDS").unwrap_or(3);
    let seed = env_u64("LLMAGENT_FUZZ_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    });
    let until = match runs {
        Some(runs) => Until::Runs(runs),
        None => Until::Deadline(Instant::now() + Duration::from_secs(seconds)),
    };
    match mutate_and_run(name, target(name), &seeds(name), until, seed) {
        Ok(n) => eprintln!("{name}: {n} mutations from LLMAGENT_FUZZ_SEED={seed}, no failure"),
        Err(failure) => panic!("{failure}"),
    }
}

/// How long a target's mutations run.
enum Until {
    Runs(u64),
    Deadline(Instant),
}

/// Runs mutations of `seeds` through `run` from the generator's `seed`:
/// how many passed, or the first failure with where its input was kept.
fn mutate_and_run(
    name: &str,
    run: Target,
    seeds: &[(String, Vec<u8>)],
    until: Until,
    seed: u64,
) -> Result<u64, String> {
    let mut rng = Rng::new(seed);
    let mut n = 0;
    while match until {
        Until::Runs(runs) => n < runs,
        // The clock is read every 256 inputs.
        Until::Deadline(deadline) => n % 256 != 0 || Instant::now() < deadline,
    } {
        let (file, base) = &seeds[rng.below(seeds.len())];
        let (_, other) = &seeds[rng.below(seeds.len())];
        let input = mutate(&mut rng, base, other, MAX_LEN);
        let origin = format!(
            "mutation {n} of the seed {file} (replay: LLMAGENT_FUZZ_SEED={seed} \
             LLMAGENT_FUZZ_RUNS={})",
            n + 1
        );
        if let Err(failure) = run_one(name, run, &input, &origin) {
            return Err(format!(
                "{failure}\n{}",
                keep_artifact(name, seed, n, &input)
            ));
        }
        n += 1;
    }
    Ok(n)
}

/// Writes a failing input where cargo-fuzz leaves its crashes
/// (`fuzz/artifacts/<target>/`), so that it can be run there or kept as a
/// seed; says where, or why not.
fn keep_artifact(name: &str, seed: u64, n: u64, input: &[u8]) -> String {
    let dir = fuzz_dir("artifacts").join(name);
    let path = dir.join(format!("mutation-{seed}-{n}"));
    match std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, input)) {
        Ok(()) => format!("the input is in {}", path.display()),
        Err(e) => format!("cannot keep the input in {}: {e}", path.display()),
    }
}

macro_rules! target_tests {
    ($($name:ident),* $(,)?) => {
        mod seeds {
            $(#[test]
            fn $name() {
                super::replay_seeds(stringify!($name));
            })*
        }
        mod mutations {
            $(#[test]
            fn $name() {
                super::mutations(stringify!($name));
            })*
        }
        #[test]
        fn every_target_is_tested_here() {
            let mut tested = vec![$(stringify!($name)),*];
            let mut all: Vec<&str> = TARGETS.iter().map(|(n, _)| *n).collect();
            tested.sort_unstable();
            all.sort_unstable();
            assert_eq!(tested, all);
            let corpus = fuzz_dir("corpus");
            let mut dirs: Vec<String> = std::fs::read_dir(&corpus)
                .expect("fuzz/corpus")
                .map(|e| e.expect("an entry").file_name().to_string_lossy().into_owned())
                .collect();
            dirs.sort_unstable();
            assert_eq!(dirs, all, "one corpus directory per target");
        }
    };
}

target_tests!(
    event,
    fs_path,
    json_reply,
    llm_completion,
    llm_stream,
    policy,
    redact
);

#[test]
fn a_failing_oracle_names_the_target_where_and_the_input() {
    fn boom(input: &[u8]) {
        assert!(input.len() < 3, "oracle: {} bytes", input.len());
    }
    assert_eq!(run_one("boom", boom, b"ab", "the seed s1"), Ok(()));
    assert_eq!(
        run_one("boom", boom, b"ab\xff", "the seed s1"),
        Err("fuzz target boom failed on the seed s1: oracle: 3 bytes\n\
             input (3 bytes): \"ab\u{fffd}\""
            .to_owned())
    );
}

#[test]
fn a_failing_mutation_is_kept_where_cargo_fuzz_keeps_crashes_and_replays() {
    fn boom(input: &[u8]) {
        assert!(!input.contains(&b'!'), "oracle: a bang");
    }
    let seeds = vec![("s1".to_owned(), b"abc".to_vec())];
    let failure = mutate_and_run("selftest", boom, &seeds, Until::Runs(100_000), 11)
        .expect_err("some mutation inserts a '!'");
    let kept = failure
        .rsplit_once("the input is in ")
        .map(|(_, path)| PathBuf::from(path))
        .unwrap_or_else(|| panic!("no artifact named in: {failure}"));
    let input = std::fs::read(&kept).unwrap();
    assert!(input.contains(&b'!'), "kept {input:?}");
    let n: u64 = kept
        .file_name()
        .unwrap()
        .to_string_lossy()
        .strip_prefix("mutation-11-")
        .unwrap()
        .parse()
        .unwrap();
    // The seed and count it prints replay it: n mutations pass, n + 1 fail.
    assert!(failure.contains(&format!(
        "LLMAGENT_FUZZ_SEED=11 LLMAGENT_FUZZ_RUNS={}",
        n + 1
    )));
    assert_eq!(
        mutate_and_run("selftest", boom, &seeds, Until::Runs(n), 11),
        Ok(n)
    );
    std::fs::remove_dir_all(kept.parent().unwrap()).unwrap();
}
