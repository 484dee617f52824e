//! The `udev` tool: `list {subsystem?}`, `info {path | syspath | name}`,
//! `usb {}` and `pci {}` through the `udev` host capability, which reads
//! devices with libudev (no `lsblk`, `lsusb`, `lspci` or `udevadm`) as the
//! role's `[roles.R.udev]` section allows.
//!
//! Kept from the predecessor (reference §1.8): the actions; `list` without
//! a subsystem answers `{block_devices, usb_devices}` (block rows `{name,
//! size, type, mountpoint}` as `lsblk` names them, USB rows as `usb`),
//! metadata `{action: "list"}`; `info` answers `udevadm info`'s map
//! (lower-cased properties, `devname`, `symlinks`) with metadata
//! `{path}`; `usb` rows `{bus, device, id, description}` and `pci` rows
//! `{slot, description}`, metadata `{action}`.
//!
//! Improved: `list {subsystem}` lists any granted subsystem (`net`,
//! `input` …) as `{name, syspath, devnode, devtype, driver}`; `info` also
//! takes a `/sys` path or a device name; names come from the hardware
//! database where present; block rows add `size_bytes` (mount points
//! from `/proc/self/mountinfo`); a subsystem the role lacks is
//! `denied` naming the key.

#![deny(missing_docs)]

mod answer;
mod spec;

use llmagent_guest::bindings::llmagent::tools::types::CapError;
use llmagent_guest::udev;
use llmagent_guest::{Args, Output, Spec, Tool, ToolError};
use serde_json::json;

/// The udev tool.
pub struct UdevTool;

fn error(e: CapError, field: &str) -> ToolError {
    ToolError::from_cap(e, field, "command_failed")
}

impl Tool for UdevTool {
    fn spec() -> Spec {
        spec::spec()
    }

    fn invoke(action: &str, args: Args) -> Result<Output, ToolError> {
        match action {
            "list" => match args.opt_str("subsystem")? {
                Some(subsystem) => {
                    let list = udev::list_devices(subsystem).map_err(|e| error(e, "subsystem"))?;
                    let count = list.len();
                    Ok(Output::new(answer::devices(&list))
                        .meta("action", "list")
                        .meta("subsystem", subsystem)
                        .meta("count", count))
                }
                None => {
                    let block = udev::list_devices("block").map_err(|e| error(e, "subsystem"))?;
                    let usb = udev::list_devices("usb").map_err(|e| error(e, "subsystem"))?;
                    Ok(Output::new(json!({
                        "block_devices": answer::block_devices(&block),
                        "usb_devices": answer::usb(&usb),
                    }))
                    .meta("action", "list"))
                }
            },
            "info" => {
                let (field, path) = match (
                    args.opt_str("path")?,
                    args.opt_str("syspath")?,
                    args.opt_str("name")?,
                ) {
                    (Some(p), None, None) => ("path", p.to_owned()),
                    (None, Some(s), None) => ("syspath", s.to_owned()),
                    (None, None, Some(n)) if !n.contains('/') => ("name", format!("/dev/{n}")),
                    (None, None, Some(_)) => {
                        return Err(ToolError::invalid_args(
                            "name",
                            "a device name has no '/'; give a path instead",
                        ));
                    }
                    _ => {
                        return Err(ToolError::invalid_args(
                            "path",
                            "give exactly one of path (/dev/…), syspath (/sys/…) or name (sda)",
                        ));
                    }
                };
                let device = udev::info(&path).map_err(|e| error(e, field))?;
                Ok(Output::new(answer::info(&device)).meta("path", path))
            }
            "usb" => {
                let list = udev::list_devices("usb").map_err(|e| error(e, "action"))?;
                Ok(Output::new(answer::usb(&list)).meta("action", "usb"))
            }
            "pci" => {
                let list = udev::list_devices("pci").map_err(|e| error(e, "action"))?;
                Ok(Output::new(answer::pci(&list)).meta("action", "pci"))
            }
            other => Err(ToolError::unknown_action_of(&spec::spec(), other)),
        }
    }
}

llmagent_guest::export_tool!(UdevTool);
