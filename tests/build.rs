//! Probes the facilities the end-to-end tests need (see
//! `build/facilities.rs`).

include!("../build/facilities.rs");

fn main() {
    emit_facilities();
}
