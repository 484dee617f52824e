//! End-to-end tests: the real built-in and test-only components, through
//! the real runtime (`llmagent_core::Runtime`), under real policies written
//! to a temporary directory. A capability's tests carry its name (`fs`,
//! `exec`, `proc`, `systemd`, `dbus`, `inotify`, `udev`, as in `wit/` and `host-capabilities`); a tool
//! without one carries the tool's (`crypto`); the rest say what they cover
//! (`sandbox`, `registry`, `events`, `agent`).

#![allow(clippy::expect_used, clippy::unwrap_used)]

mod agent;
mod crypto;
mod dbus;
mod events;
mod exec;
mod fs;
mod harness;
mod http;
mod inotify;
mod mcp;
mod net;
mod proc;
mod registry;
mod sandbox;
mod systemd;
mod udev;
