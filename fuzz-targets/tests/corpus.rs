//! Every fuzz target on stable, in the workspace's own build: each committed
//! seed in `fuzz/corpus/<target>/`, then mutations of them for
//! `LLMAGENT_FUZZ_SECONDS` per target (default 3), from a random seed. A
//! failure prints the seed and the count that replay it
//! (`LLMAGENT_FUZZ_SEED`, `LLMAGENT_FUZZ_RUNS`). Coverage-guided runs are
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

/// The committed seeds of a target, sorted by file name.
fn seeds(name: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(name);
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
    let run = target(name);
    let seeds = seeds(name);
    let runs = env_u64("LLMAGENT_FUZZ_RUNS");
    let seconds = env_u64("LLMAGENT_FUZZ_SECONDS").unwrap_or(3);
    let seed = env_u64("LLMAGENT_FUZZ_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    });
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut rng = Rng::new(seed);
    let mut n = 0;
    while runs.map_or_else(
        || n % 256 != 0 || Instant::now() < deadline,
        |runs| n < runs,
    ) {
        let (file, base) = &seeds[rng.below(seeds.len())];
        let (_, other) = &seeds[rng.below(seeds.len())];
        let input = mutate(&mut rng, base, other, MAX_LEN);
        let origin = format!(
            "mutation {n} of the seed {file} (replay: LLMAGENT_FUZZ_SEED={seed} \
             LLMAGENT_FUZZ_RUNS={})",
            n + 1
        );
        if let Err(failure) = run_one(name, run, &input, &origin) {
            panic!("{failure}");
        }
        n += 1;
    }
    eprintln!("{name}: {n} mutations from LLMAGENT_FUZZ_SEED={seed}, no failure");
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
            let corpus = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
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
    policy
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
