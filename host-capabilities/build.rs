//! Probes the facilities the capability tests need (see
//! `build/facilities.rs`).

include!("../build/facilities.rs");

fn main() {
    emit_facilities();
}
