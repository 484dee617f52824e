//! See `llmagent_fuzz_targets::event`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| llmagent_fuzz_targets::event::run(data));
