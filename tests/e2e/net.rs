//! The `net` tool through the runtime and the `net` capability: the
//! machine's own interfaces, names resolved by the runtime's resolver
//! (`localhost` from `/etc/hosts`), and a ping of loopback under a grant
//! naming it — each refused without its grant.

use serde_json::json;

use crate::harness::Env;

fn env(section: &str) -> Env {
    Env::new(&format!(
        "version = 1\n[roles.ops]\ntools = [\"net\"]\n[roles.ops.net]\n{section}\n"
    ))
}

#[test]
fn net_list_interfaces_shows_lo_with_127_0_0_1_under_interfaces_true() {
    let env = env("interfaces = true");
    let (output, metadata) = env.ok("ops", "net", "list_interfaces", json!({}));
    let lo = output
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "lo")
        .unwrap_or_else(|| panic!("no lo in {output}"))
        .clone();
    assert_eq!(lo["state"], "unknown");
    assert_eq!(lo["mac"], json!(null));
    assert_eq!(lo["mtu"], json!(65536));
    let flags = lo["flags"].as_array().unwrap();
    assert!(
        flags.contains(&json!("LOOPBACK")) && flags.contains(&json!("UP")),
        "{flags:?}"
    );
    assert!(
        lo["addresses"]
            .as_array()
            .unwrap()
            .contains(&json!({"family": "inet", "address": "127.0.0.1", "prefix_len": 8})),
        "{lo}"
    );
    assert_eq!(metadata["action"], "list_interfaces");
    assert_eq!(metadata["count"], json!(output.as_array().unwrap().len()));
}

#[test]
fn net_list_interfaces_is_denied_without_the_grant() {
    let env = env("resolve = [\"localhost\"]");
    let failure = env.err("ops", "net", "list_interfaces", json!({}));
    assert_eq!(
        (failure.reason.as_str(), failure.suggestion.as_deref()),
        ("denied", Some("set interfaces = true in [roles.ops.net]"))
    );
}

#[test]
fn net_resolve_localhost_answers_from_the_hosts_file() {
    let env = env("resolve = [\"localhost\"]");
    let (output, metadata) = env.ok(
        "ops",
        "net",
        "resolve",
        json!({"host": "localhost", "type": "A"}),
    );
    assert_eq!(
        (output, metadata),
        (
            json!(["127.0.0.1"]),
            json!({"host": "localhost", "type": "A"})
        )
    );
    let failure = env.err("ops", "net", "resolve", json!({"host": "example.com"}));
    assert_eq!(
        (failure.reason.as_str(), failure.suggestion.as_deref()),
        (
            "denied",
            Some("add \"example.com\" (or a pattern matching it) to [roles.ops.net].resolve")
        )
    );
    // A host is never an option.
    let failure = env.err("ops", "net", "resolve", json!({"host": "-x localhost"}));
    assert_eq!(
        (failure.reason.as_str(), failure.field.as_deref()),
        ("invalid_args", Some("host"))
    );
}

#[cfg_attr(
    not(llmagent_icmp),
    ignore = "needs an ICMP socket (net.ipv4.ping_group_range or CAP_NET_RAW)"
)]
#[test]
fn net_ping_127_0_0_1_under_a_grant_and_not_through_a_wildcard() {
    let env = env("ping = [\"127.0.0.1\"]");
    let (output, metadata) = env.ok("ops", "net", "ping", json!({"host": "127.0.0.1"}));
    assert_eq!(
        (
            &output["reachable"],
            &output["sent"],
            &output["received"],
            &output["address"]
        ),
        (&json!(true), &json!(1), &json!(1), &json!("127.0.0.1"))
    );
    let rtt = &output["rtt_ms"];
    assert!(
        rtt["min"].as_f64().unwrap() <= rtt["max"].as_f64().unwrap(),
        "{rtt}"
    );
    assert_eq!(metadata, json!({"host": "127.0.0.1", "reachable": true}));
    // `*` does not cover loopback: only an address rule does.
    let env = self::env("ping = [\"*\"]");
    let failure = env.err("ops", "net", "ping", json!({"host": "127.0.0.1"}));
    assert_eq!(
        (failure.reason.as_str(), failure.suggestion.as_deref()),
        (
            "denied",
            Some(
                "127.0.0.1 is 127.0.0.1, a loopback address, which only an address rule reaches: add \"127.0.0.1\" to [roles.ops.net].ping"
            )
        )
    );
}

#[test]
fn net_resolve_asks_the_sections_nameservers() {
    let dns =
        llmagent_tests::dns_server::DnsServer::start(&[("db.test", "10.1.2.3".parse().unwrap())]);
    let env = env(&format!(
        "resolve = [\"*.test\"]\nnameservers = [\"{}\"]",
        dns.addr()
    ));
    let (output, metadata) = env.ok("ops", "net", "resolve", json!({"host": "db.test"}));
    assert_eq!(
        (output, metadata),
        (
            json!(["10.1.2.3"]),
            json!({"host": "db.test", "type": "A,AAAA"})
        )
    );
    // A name without records is an empty answer.
    let (output, _) = env.ok("ops", "net", "resolve", json!({"host": "none.test"}));
    assert_eq!(output, json!([]));
}
