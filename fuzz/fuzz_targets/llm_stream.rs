//! See `llmagent_fuzz_targets::llm_stream`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| llmagent_fuzz_targets::llm_stream::run(data));
