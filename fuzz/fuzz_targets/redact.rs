//! See `llmagent_fuzz_targets::redact`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| llmagent_fuzz_targets::redact::run(data));
