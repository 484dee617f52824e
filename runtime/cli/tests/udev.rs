//! `llmagent tools call … udev list {"subsystem":"net"}` over the machine's
//! real `/sys`: `lo` is always there.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use serde_json::{Value, json};

mod common;

#[cfg_attr(
    not(llmagent_udev),
    ignore = "needs libudev (Debian's libudev-dev) and /sys/class/net/lo"
)]
#[test]
fn tools_call_udev_list_net_lists_lo_under_a_role_granting_net() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        "version = 1\n[roles.ops]\ntools = [\"udev\"]\n[roles.ops.udev]\nsubsystems = [\"net\"]\n",
    )
    .unwrap();
    let run = |args: &str| {
        let out = common::command(&["tools", "call", "--policy"])
            .arg(&policy)
            .args(["--role", "ops", "udev", "list", "--args", args])
            .output()
            .expect("run llmagent");
        let json: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
        (out.status.code(), json)
    };
    let (code, answer) = run(r#"{"subsystem":"net"}"#);
    assert_eq!(code, Some(0), "{answer}");
    assert_eq!(answer["status"], json!("ok"));
    assert!(
        answer["output"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["name"] == "lo" && d["syspath"] == "/sys/devices/virtual/net/lo"),
        "{answer}"
    );
    let (code, answer) = run(r#"{"subsystem":"block"}"#);
    assert_eq!(code, Some(1));
    assert_eq!(
        answer["error"]["suggestion"],
        json!("add \"block\" to [roles.ops.udev].subsystems")
    );
}
