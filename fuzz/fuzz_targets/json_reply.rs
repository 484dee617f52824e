//! See `llmagent_fuzz_targets::json_reply`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| llmagent_fuzz_targets::json_reply::run(data));
