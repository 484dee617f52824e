//! See `llmagent_fuzz_targets::fs_path`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| llmagent_fuzz_targets::fs_path::run(data));
