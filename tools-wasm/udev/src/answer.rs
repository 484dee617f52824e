//! From the `udev` capability's records to the seed's shapes. Pure, so it
//! is tested natively.

use llmagent_guest::udev::Device;
use serde_json::{Map, Value, json};

fn prop<'a>(d: &'a Device, name: &str) -> Option<&'a str> {
    d.properties
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn attr<'a>(d: &'a Device, name: &str) -> Option<&'a str> {
    d.attributes
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A size as `lsblk` prints it: 1024-based units, one decimal below 10.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "K", "M", "G", "T", "P"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    let text = if value < 10.0 && value.fract() > 0.05 {
        format!("{value:.1}")
    } else {
        format!("{}", value.round() as u64)
    };
    format!("{text}{}", UNITS[unit])
}

/// A listing of one subsystem: `{name, syspath, devnode, devtype, driver}`.
pub fn devices(list: &[Device]) -> Value {
    list.iter()
        .map(|d| {
            json!({"name": d.sysname, "syspath": d.syspath, "devnode": d.devnode,
                   "devtype": d.devtype, "driver": d.driver})
        })
        .collect()
}

/// `lsblk`'s rows: `{name, size, type, mountpoint}` (the first mount
/// point, null when not mounted), plus `size_bytes`.
pub fn block_devices(list: &[Device]) -> Value {
    list.iter()
        .map(|d| {
            let bytes = attr(d, "size")
                .and_then(|s| s.parse::<u64>().ok())
                .map(|sectors| sectors.saturating_mul(512));
            let kind = match d.devtype.as_deref() {
                Some("partition") => "part",
                _ if d.sysname.starts_with("loop") => "loop",
                Some(other) => other,
                None => "disk",
            };
            json!({"name": d.sysname, "size": bytes.map(human_size), "size_bytes": bytes,
                   "type": kind, "mountpoint": d.mountpoints.first()})
        })
        .collect()
}

/// `lsusb`'s rows: `{bus, device, id, description}` of USB devices (not
/// their interfaces).
pub fn usb(list: &[Device]) -> Value {
    list.iter()
        .filter(|d| d.devtype.as_deref() == Some("usb_device"))
        .map(|d| {
            let num = |key: &str| {
                attr(d, key)
                    .and_then(|v| v.parse::<u32>().ok())
                    .map(|n| format!("{n:03}"))
            };
            let vendor = attr(d, "idVendor")
                .or_else(|| prop(d, "ID_VENDOR_ID"))
                .unwrap_or("");
            let product = attr(d, "idProduct")
                .or_else(|| prop(d, "ID_MODEL_ID"))
                .unwrap_or("");
            let names = [
                prop(d, "ID_VENDOR_FROM_DATABASE").or_else(|| attr(d, "manufacturer")),
                prop(d, "ID_MODEL_FROM_DATABASE").or_else(|| attr(d, "product")),
            ];
            let description: Vec<&str> = names.into_iter().flatten().collect();
            json!({"bus": num("busnum"), "device": num("devnum"),
                   "id": format!("{vendor}:{product}"), "description": description.join(" ")})
        })
        .collect()
}

/// `lspci`'s rows: `{slot, description}`, the description as
/// `class: vendor device` with the hardware database's names where known.
pub fn pci(list: &[Device]) -> Value {
    list.iter()
        .map(|d| {
            let slot = prop(d, "PCI_SLOT_NAME").unwrap_or(&d.sysname);
            let slot = slot.strip_prefix("0000:").unwrap_or(slot);
            let class = prop(d, "ID_PCI_SUBCLASS_FROM_DATABASE")
                .or_else(|| prop(d, "ID_PCI_CLASS_FROM_DATABASE"))
                .map(str::to_owned)
                .or_else(|| prop(d, "PCI_CLASS").map(|c| format!("Class {c}")))
                .unwrap_or_default();
            let names: Vec<&str> = [
                prop(d, "ID_VENDOR_FROM_DATABASE"),
                prop(d, "ID_MODEL_FROM_DATABASE"),
            ]
            .into_iter()
            .flatten()
            .collect();
            let who = if names.is_empty() {
                prop(d, "PCI_ID")
                    .map(|id| format!("Device {}", id.to_lowercase()))
                    .unwrap_or_default()
            } else {
                names.join(" ")
            };
            json!({"slot": slot, "description": format!("{class}: {who}")})
        })
        .collect()
}

/// `udevadm info`'s map: lower-cased properties, `devname` (the node
/// below `/dev`), `symlinks`, and the `syspath`.
pub fn info(d: &Device) -> Value {
    let mut map: Map<String, Value> = d
        .properties
        .iter()
        .map(|(k, v)| (k.to_lowercase(), Value::String(v.clone())))
        .collect();
    if let Some(node) = &d.devnode {
        map.insert(
            "devname".into(),
            Value::String(node.strip_prefix("/dev/").unwrap_or(node).to_owned()),
        );
    }
    map.insert("symlinks".into(), json!(d.symlinks));
    map.insert("syspath".into(), json!(d.syspath));
    Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(
        sysname: &str,
        devtype: Option<&str>,
        props: &[(&str, &str)],
        attrs: &[(&str, &str)],
    ) -> Device {
        Device {
            syspath: format!("/sys/x/{sysname}"),
            sysname: sysname.into(),
            devnode: Some(format!("/dev/{sysname}")),
            subsystem: None,
            devtype: devtype.map(str::to_owned),
            driver: None,
            properties: props
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
            symlinks: vec![],
            attributes: attrs
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect(),
            mountpoints: vec![],
        }
    }

    #[test]
    fn sizes_read_as_lsblk_prints_them() {
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(512), "512B");
        assert_eq!(human_size(20 << 30), "20G");
        assert_eq!(human_size(8_375_000_000), "7.8G");
    }

    #[test]
    fn usb_and_pci_rows_take_the_database_names() {
        let hub = device(
            "1-1",
            Some("usb_device"),
            &[
                ("ID_VENDOR_FROM_DATABASE", "Intel Corp."),
                ("ID_MODEL_FROM_DATABASE", "Hub"),
            ],
            &[
                ("busnum", "1"),
                ("devnum", "2"),
                ("idVendor", "8087"),
                ("idProduct", "0024"),
            ],
        );
        let interface = device("1-1:1.0", Some("usb_interface"), &[], &[]);
        assert_eq!(
            usb(&[hub, interface]),
            json!([{"bus": "001", "device": "002", "id": "8087:0024", "description": "Intel Corp. Hub"}])
        );
        let vga = device(
            "0000:00:02.0",
            None,
            &[
                ("PCI_SLOT_NAME", "0000:00:02.0"),
                ("ID_PCI_SUBCLASS_FROM_DATABASE", "VGA compatible controller"),
                ("ID_VENDOR_FROM_DATABASE", "Intel Corporation"),
                ("ID_MODEL_FROM_DATABASE", "HD Graphics"),
            ],
            &[],
        );
        let bare = device(
            "0000:00:03.0",
            None,
            &[("PCI_CLASS", "20000"), ("PCI_ID", "1AF4:1000")],
            &[],
        );
        assert_eq!(
            pci(&[vga, bare]),
            json!([{"slot": "00:02.0", "description": "VGA compatible controller: Intel Corporation HD Graphics"},
                   {"slot": "00:03.0", "description": "Class 20000: Device 1af4:1000"}])
        );
    }

    #[test]
    fn info_is_the_seed_map() {
        let mut sda = device(
            "sda",
            Some("disk"),
            &[("DEVTYPE", "disk"), ("ID_MODEL", "Disk")],
            &[("size", "2048")],
        );
        sda.symlinks = vec!["/dev/disk/by-id/x".into()];
        sda.mountpoints = vec!["/".into()];
        assert_eq!(
            info(&sda),
            json!({"devtype": "disk", "id_model": "Disk", "devname": "sda",
                   "symlinks": ["/dev/disk/by-id/x"], "syspath": "/sys/x/sda"})
        );
        assert_eq!(
            block_devices(&[sda]),
            json!([{"name": "sda", "size": "1M", "size_bytes": 1_048_576, "type": "disk", "mountpoint": "/"}])
        );
    }
}
