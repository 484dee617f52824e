//! What the udev tool tells the model about itself.

use llmagent_guest::{Action, Spec};
use serde_json::json;

/// The tool's self-description.
pub fn spec() -> Spec {
    Spec::new(
        "udev",
        "Lists and inspects hardware devices (block, USB, PCI, network …) from udev, as far as the role's policy allows. Read-only.",
        env!("CARGO_PKG_VERSION"),
    )
    .action(
        Action::new(
            "list",
            "Without subsystem: {block_devices: [{name, size, type, mountpoint}], usb_devices: [{bus, device, id, description}]}. \
             With subsystem (block, usb, pci, net, input …): [{name, syspath, devnode, devtype, driver}]; metadata {action, subsystem, count}.",
        )
        .optional("subsystem", || json!({"type": "string", "maxLength": 64}), "Kernel subsystem, e.g. net"),
    )
    .action(
        Action::new(
            "info",
            "One device's udev properties (lower-cased), devname, symlinks and syspath; metadata {path}. Give one of path, syspath or name.",
        )
        .optional("path", || json!({"type": "string"}), "Device node, e.g. /dev/sda")
        .optional("syspath", || json!({"type": "string"}), "/sys path, e.g. /sys/class/net/lo")
        .optional("name", || json!({"type": "string"}), "Device name below /dev, e.g. sda"),
    )
    .action(Action::new(
        "usb",
        "USB devices: [{bus, device, id (vendor:product), description}]; metadata {action: \"usb\"}.",
    ))
    .action(Action::new(
        "pci",
        "PCI devices: [{slot, description (class: vendor device)}]; metadata {action: \"pci\"}.",
    ))
}
