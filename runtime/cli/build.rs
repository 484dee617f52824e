//! Probes the facilities the command-line tests need (see
//! `build/facilities.rs`).

include!("../../build/facilities.rs");

fn main() {
    emit_facilities();
}
