//! The `udev` capability (`wit/udev.wit`) and its policy section
//! `[roles.R.udev]`.
//!
//! ```toml
//! [roles.ops.udev]
//! subsystems = ["block", "usb", "pci", "net"]   # or ["*"]
//! ```
//!
//! Devices are read with the `udev` crate over libudev (`/sys` and udev's
//! database), never with `udevadm`, `lsblk`, `lsusb` or `lspci`. A listing
//! names one subsystem, which must be granted; `info` finds a device by
//! its `/dev` node (through the node's device number) or its `/sys` path
//! and decides on the device's subsystem. Where udev's database has no
//! vendor or model names, the hardware database (`hwdb.bin`) is asked by
//! the device's modalias. Read-only: nothing here writes an attribute.
//! Every decision goes to the [`Sink`](crate::Sink) as capability `udev`,
//! operation `list` or `info`, target `subsystem S` or the syspath.

mod host;
mod policy;

pub use policy::{UdevPolicy, UdevToml};
