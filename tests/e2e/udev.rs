//! The built-in `udev` tool through the runtime, over the machine's real
//! `/sys` (whatever devices it has; `lo` under `net` is always there).

use serde_json::json;

use crate::harness::Env;

const POLICY: &str = r#"
version = 1
[roles.ops]
tools = ["udev"]
[roles.ops.udev]
subsystems = ["net", "block", "usb", "pci"]
[roles.netonly]
tools = ["udev"]
[roles.netonly.udev]
subsystems = ["net"]
"#;

#[cfg_attr(
    not(llmagent_udev),
    ignore = "needs libudev (Debian's libudev-dev) and /sys/class/net/lo"
)]
#[test]
fn lo_is_listed_under_net_and_read_by_name_or_syspath() {
    let env = Env::new(POLICY);
    let (devices, meta) = env.ok("netonly", "udev", "list", json!({"subsystem": "net"}));
    let lo = devices
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "lo")
        .cloned();
    assert_eq!(
        lo,
        Some(
            json!({"name": "lo", "syspath": "/sys/devices/virtual/net/lo", "devnode": null,
                    "devtype": null, "driver": null})
        )
    );
    assert_eq!(meta["action"], json!("list"));
    assert_eq!(meta["subsystem"], json!("net"));
    assert_eq!(meta["count"], json!(devices.as_array().unwrap().len()));
    let (info, meta) = env.ok(
        "netonly",
        "udev",
        "info",
        json!({"syspath": "/sys/class/net/lo"}),
    );
    assert_eq!(info["interface"], json!("lo"));
    assert_eq!(info["syspath"], json!("/sys/devices/virtual/net/lo"));
    assert_eq!(meta, json!({"path": "/sys/class/net/lo"}));
}

#[cfg_attr(
    not(llmagent_udev),
    ignore = "needs libudev (Debian's libudev-dev) and /sys/class/net/lo"
)]
#[test]
fn an_ungranted_subsystem_is_denied_naming_the_key() {
    let env = Env::new(POLICY);
    for (action, args) in [
        ("list", json!({"subsystem": "block"})),
        ("list", json!({})),
        ("pci", json!({})),
        ("usb", json!({})),
    ] {
        let denied = env.err("netonly", "udev", action, args.clone());
        assert_eq!(denied.reason, "denied", "{action} {args}");
        assert!(
            denied
                .suggestion
                .as_deref()
                .is_some_and(|s| s.ends_with("to [roles.netonly.udev].subsystems")),
            "{denied:?}"
        );
    }
    let bad = env.err("netonly", "udev", "info", json!({"path": "/etc/passwd"}));
    assert_eq!(
        (bad.reason.as_str(), bad.field.as_deref()),
        ("invalid_args", Some("path"))
    );
    let two = env.err(
        "netonly",
        "udev",
        "info",
        json!({"path": "/dev/null", "name": "null"}),
    );
    assert_eq!(two.reason, "invalid_args");
}

#[cfg_attr(
    not(llmagent_udev),
    ignore = "needs libudev (Debian's libudev-dev) and /sys/class/net/lo"
)]
#[test]
fn the_seed_shapes_come_back_for_list_pci_and_usb() {
    let env = Env::new(POLICY);
    let (listing, meta) = env.ok("ops", "udev", "list", json!({}));
    assert_eq!(meta, json!({"action": "list"}));
    let keys: Vec<&String> = listing.as_object().unwrap().keys().collect();
    assert_eq!(keys, vec!["block_devices", "usb_devices"]);
    for row in listing["block_devices"].as_array().unwrap() {
        let mut keys: Vec<&String> = row.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(
            keys,
            vec!["mountpoint", "name", "size", "size_bytes", "type"]
        );
    }
    let (pci, meta) = env.ok("ops", "udev", "pci", json!({}));
    assert_eq!(meta, json!({"action": "pci"}));
    let expected = std::fs::read_dir("/sys/bus/pci/devices").map_or(0, Iterator::count);
    assert_eq!(pci.as_array().unwrap().len(), expected);
    for row in pci.as_array().unwrap() {
        assert!(
            row["slot"].is_string() && row["description"].is_string(),
            "{row}"
        );
    }
    let (usb, meta) = env.ok("ops", "udev", "usb", json!({}));
    assert_eq!(meta, json!({"action": "usb"}));
    assert!(usb.is_array());
}
