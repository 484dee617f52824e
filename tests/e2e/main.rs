//! End-to-end tests: the real built-in and test-only components, through
//! the real runtime (`llmagent_core::Runtime`), under real policies written
//! to a temporary directory. One module per tool or capability.

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod agent;
mod crypto;
mod events;
mod exec;
mod file;
mod harness;
mod limits;
mod proc;
mod systemd;
mod unbuilt;
