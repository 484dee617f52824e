//! The `web` tool through the runtime and the `http` capability, against a
//! real web site on loopback (`llmagent_tests::web_server`), granted by
//! address: answers, redirects, the size cap, the timeout, binary bodies,
//! and every refusal — by name, by address, in odd numeric forms, on
//! another port, at a redirect hop, by what a name resolves to, and a Host
//! header naming another site.

use llmagent_tests::dns_server::DnsServer;
use llmagent_tests::web_server::WebServer;
use serde_json::{Value, json};

use crate::harness::Env;

/// A role `ops` with the web tool and `http` granted as `section`.
fn env(section: &str) -> Env {
    Env::new(&format!(
        "version = 1\n[roles.ops]\ntools = [\"web\"]\n[roles.ops.http]\n{section}\n"
    ))
}

fn granted(site: &WebServer) -> Env {
    env(&format!("allow = [\"{}\"]", site.origin()))
}

/// The `policy.decision` events of capability `http`, as `(operation,
/// target, verdict)`.
fn http_decisions(env: &Env) -> Vec<(String, String, String)> {
    env.events()
        .into_iter()
        .filter(|e| e.topic == "policy.decision" && e.data["capability"] == "http")
        .map(|e| {
            (
                e.data["operation"].as_str().unwrap_or("").to_owned(),
                e.data["target"].as_str().unwrap_or("").to_owned(),
                e.data["verdict"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[test]
fn web_get_answers_the_body_and_its_metadata() {
    let site = WebServer::start();
    let env = granted(&site);
    let url = format!("{}/hello", site.origin());
    let (output, metadata) = env.ok("ops", "web", "get", json!({"url": url}));
    assert_eq!(output, json!("hello"));
    assert_eq!(metadata["status"], 200);
    assert_eq!(metadata["url"], json!(url));
    assert_eq!(metadata["final_url"], json!(url));
    assert_eq!(metadata["truncated"], false);
    assert_eq!(metadata["encoding"], "text");
    assert_eq!(metadata["headers"]["content-type"], "text/plain");
    assert_eq!(metadata["headers"]["content-length"], "5");
    // The decision names the address connected to.
    assert_eq!(
        http_decisions(&env),
        [(
            "GET".to_owned(),
            format!("{url} at 127.0.0.1:{}", site.port()),
            "allow".to_owned()
        )]
    );
    // Host names the granted site.
    assert_eq!(
        site.requests(),
        [(
            "GET".to_owned(),
            "/hello".to_owned(),
            format!("127.0.0.1:{}", site.port())
        )]
    );
}

/// A credential in the URL a model asks for is sent to the server (the
/// call needs it) but kept by no event: the decision's target and the
/// invocation's arguments hold `[redacted]` in its place.
#[test]
fn web_a_credential_in_the_url_reaches_the_server_but_not_the_log() {
    let site = WebServer::start();
    let env = granted(&site);
    let url = format!("{}/echo?access_token=s3cr3t-value&page=2", site.origin());
    let (output, _) = env.ok("ops", "web", "get", json!({"url": url}));
    assert_eq!(output["query"], "access_token=s3cr3t-value&page=2");
    let clean = format!("{}/echo?access_token=[redacted]&page=2", site.origin());
    assert_eq!(
        http_decisions(&env),
        [(
            "GET".to_owned(),
            format!("{clean} at 127.0.0.1:{}", site.port()),
            "allow".to_owned()
        )]
    );
    let invocation = env
        .events()
        .into_iter()
        .find(|e| e.topic == "tool.web" && e.kind == "invocation")
        .expect("the invocation is recorded");
    assert_eq!(invocation.data["args"], json!({"url": clean}));
    let log = serde_json::to_string(&env.events()).expect("events as JSON");
    assert!(!log.contains("s3cr3t-value"), "{log}");
}

#[test]
fn web_json_is_decoded_params_are_the_query_and_any_status_is_an_answer() {
    let site = WebServer::start();
    let env = granted(&site);
    let (output, metadata) = env.ok(
        "ops",
        "web",
        "get",
        json!({"url": format!("{}/json", site.origin())}),
    );
    assert_eq!(
        (output, &metadata["encoding"]),
        (json!({"ok": true, "n": 1}), &json!("json"))
    );
    let (output, _) = env.ok(
        "ops",
        "web",
        "get",
        json!({"url": format!("{}/echo?a=1", site.origin()), "params": {"q": "x y", "n": 2}}),
    );
    assert_eq!(output["query"], "a=1&n=2&q=x+y");
    let (output, metadata) = env.ok(
        "ops",
        "web",
        "get",
        json!({"url": format!("{}/status/418", site.origin())}),
    );
    assert_eq!(
        (output, &metadata["status"]),
        (json!("status 418"), &json!(418))
    );
}

#[test]
fn web_post_put_patch_delete_send_their_bodies() {
    let site = WebServer::start();
    let env = granted(&site);
    let url = format!("{}/echo", site.origin());
    let host = format!("127.0.0.1:{}", site.port());
    let (output, _) = env.ok(
        "ops",
        "web",
        "post",
        json!({"url": url, "body": {"a": [1, 2]}}),
    );
    assert_eq!(
        output,
        json!({"method": "POST", "path": "/echo", "query": "", "host": host,
               "content_type": "application/json", "api_key": null, "body": "{\"a\":[1,2]}"})
    );
    let (output, _) = env.ok(
        "ops",
        "web",
        "put",
        json!({"url": url, "body": "plain", "headers": {"Content-Type": "text/x-mine"}}),
    );
    assert_eq!(
        output,
        json!({"method": "PUT", "path": "/echo", "query": "", "host": host,
               "content_type": "text/x-mine", "api_key": null, "body": "plain"})
    );
    let big = "b".repeat(20_000);
    let (output, _) = env.ok("ops", "web", "patch", json!({"url": url, "body": big}));
    assert_eq!(
        (output["method"].clone(), output["body"].clone()),
        (json!("PATCH"), json!(big))
    );
    let (output, _) = env.ok("ops", "web", "delete", json!({"url": url}));
    assert_eq!(output["method"], "DELETE");
    let (output, metadata) = env.ok("ops", "web", "head", json!({"url": url}));
    assert_eq!((output, &metadata["status"]), (json!(""), &json!(200)));
}

#[test]
fn web_redirects_are_followed_up_to_five_each_decided_again() {
    let site = WebServer::start();
    let env = granted(&site);
    let (output, metadata) = env.ok(
        "ops",
        "web",
        "get",
        json!({"url": format!("{}/redirect/4", site.origin())}),
    );
    assert_eq!(output, json!("hello"));
    assert_eq!(
        metadata["final_url"],
        json!(format!("{}/hello", site.origin()))
    );
    // Five redirects and the page: six requests, six decisions.
    assert_eq!(http_decisions(&env).len(), 6);
    let failure = env.err(
        "ops",
        "web",
        "get",
        json!({"url": format!("{}/redirect/5", site.origin())}),
    );
    assert_eq!(
        (
            failure.reason.as_str(),
            failure.field.as_deref(),
            failure.message.as_str()
        ),
        (
            "http_error",
            Some("url"),
            "more than 5 redirects, the last to /hello"
        )
    );
    // Without following, the redirect itself is the answer.
    let (_, metadata) = env.ok(
        "ops",
        "web",
        "get",
        json!({"url": format!("{}/redirect/1", site.origin()), "follow_redirects": false}),
    );
    assert_eq!(
        (&metadata["status"], &metadata["headers"]["location"]),
        (&json!(302), &json!("/redirect/0"))
    );
    // 303 after a POST continues as a GET without the body.
    let (output, _) = env.ok(
        "ops",
        "web",
        "post",
        json!({"url": format!("{}/see-other", site.origin()), "body": {"x": 1}}),
    );
    assert_eq!(
        (
            output["method"].clone(),
            output["body"].clone(),
            output["content_type"].clone()
        ),
        (json!("GET"), json!(""), Value::Null)
    );
}

#[test]
fn web_a_redirect_to_a_refused_address_is_refused_at_that_hop() {
    let site = WebServer::start();
    let env = granted(&site);
    let failure = env.err(
        "ops",
        "web",
        "get",
        json!({"url": format!("{}/to?http://169.254.169.254/latest/meta-data/", site.origin())}),
    );
    assert_eq!(
        (failure.reason.as_str(), failure.field.as_deref()),
        ("denied", Some("url"))
    );
    assert_eq!(
        failure.message,
        "http denied the request to http://169.254.169.254/latest/meta-data/ (redirect 1)"
    );
    assert_eq!(
        failure.suggestion.as_deref(),
        Some("add \"http://169.254.169.254\" to [roles.ops.http].allow")
    );
    let decisions = http_decisions(&env);
    assert_eq!(decisions.len(), 2);
    assert_eq!(
        decisions[1],
        (
            "GET".to_owned(),
            "http://169.254.169.254/latest/meta-data/".to_owned(),
            "deny".to_owned()
        )
    );
    // The refused hop was never requested, the granted one was.
    assert_eq!(site.requests().len(), 1);
}

#[test]
fn web_bodies_are_cut_at_max_response_bytes_with_a_flag() {
    let site = WebServer::start();
    let env = env(&format!(
        "allow = [\"{}\"]\nmax_response_bytes = 2500",
        site.origin()
    ));
    let (output, metadata) = env.ok(
        "ops",
        "web",
        "get",
        json!({"url": format!("{}/big/10000", site.origin())}),
    );
    assert_eq!(output, json!("a".repeat(2500)));
    assert_eq!(metadata["truncated"], true);
    let (output, metadata) = env.ok(
        "ops",
        "web",
        "get",
        json!({"url": format!("{}/big/2500", site.origin())}),
    );
    assert_eq!(
        (output, &metadata["truncated"]),
        (json!("a".repeat(2500)), &json!(false))
    );
}

#[test]
fn web_binary_bodies_are_base64() {
    let site = WebServer::start();
    let env = granted(&site);
    let (output, metadata) = env.ok(
        "ops",
        "web",
        "get",
        json!({"url": format!("{}/binary", site.origin())}),
    );
    let all: Vec<u8> = (0..=255u8).collect();
    use base64_check::encode;
    assert_eq!(output, json!(encode(&all)));
    assert_eq!(metadata["encoding"], "base64");
}

#[test]
fn web_a_slow_server_is_an_http_error_at_the_timeout() {
    let site = WebServer::start();
    let env = env(&format!(
        "allow = [\"{}\"]\ntimeout_ms = 500",
        site.origin()
    ));
    let failure = env.err(
        "ops",
        "web",
        "get",
        json!({"url": format!("{}/slow", site.origin())}),
    );
    assert_eq!(
        (
            failure.reason.as_str(),
            failure.field.as_deref(),
            failure.message.as_str()
        ),
        (
            "http_error",
            Some("url"),
            format!("{}/slow: no response came in time", site.origin()).as_str()
        )
    );
}

/// Refused destinations: `(url, hint)`.
fn refusals(site: &WebServer) -> Vec<(String, String)> {
    let port = site.port();
    let other = port.wrapping_add(1).max(1);
    vec![
        // Another port of the granted address.
        (
            format!("http://127.0.0.1:{other}/hello"),
            format!("add \"http://127.0.0.1:{other}\" to [roles.ops.http].allow"),
        ),
        // Loopback by name: the grant names the address, not localhost.
        (
            format!("http://localhost:{port}/hello"),
            format!("add \"http://localhost:{port}\" to [roles.ops.http].allow"),
        ),
        // Cloud metadata.
        (
            "http://169.254.169.254/".to_owned(),
            "add \"http://169.254.169.254\" to [roles.ops.http].allow".to_owned(),
        ),
        // Loopback as an IPv4-mapped IPv6 address.
        (
            format!("http://[::ffff:127.0.0.1]:{port}/hello"),
            format!("add \"http://[::ffff:127.0.0.1]:{port}\" to [roles.ops.http].allow"),
        ),
        // Another scheme on the granted port.
        (
            format!("https://127.0.0.1:{port}/hello"),
            format!("add \"https://127.0.0.1:{port}\" to [roles.ops.http].allow"),
        ),
    ]
}

#[test]
fn web_refused_destinations_are_denied_naming_the_allow_key() {
    let site = WebServer::start();
    let env = granted(&site);
    for (url, hint) in refusals(&site) {
        let failure = env.err("ops", "web", "get", json!({"url": url}));
        assert_eq!(
            (
                failure.reason.as_str(),
                failure.field.as_deref(),
                failure.message.clone(),
                failure.suggestion.as_deref()
            ),
            (
                "denied",
                Some("url"),
                format!("http denied the request to {url}"),
                Some(hint.as_str())
            ),
            "{url}"
        );
    }
    assert!(site.requests().is_empty());
    let decisions = http_decisions(&env);
    assert_eq!(decisions.len(), refusals(&site).len());
    assert!(
        decisions.iter().all(|(_, _, v)| v == "deny"),
        "{decisions:?}"
    );
}

#[test]
fn web_odd_numeric_hosts_are_refused_before_any_lookup() {
    let site = WebServer::start();
    let env = granted(&site);
    for host in ["0x7f.1", "2130706433", "0177.0.0.1", "127.1"] {
        let url = format!("http://{host}:{}/hello", site.port());
        let failure = env.err("ops", "web", "get", json!({"url": url}));
        assert_eq!(
            (failure.reason.as_str(), failure.field.as_deref()),
            ("http_error", Some("url")),
            "{host}: {failure:?}"
        );
        assert!(
            failure
                .message
                .ends_with("is not a host name nor an IPv4 address in dotted decimal (a.b.c.d)"),
            "{host}: {}",
            failure.message
        );
    }
    assert!(site.requests().is_empty());
}

#[test]
fn web_a_granted_name_resolving_to_loopback_is_refused_unless_its_range_is_granted() {
    let site = WebServer::start();
    let port = site.port();
    let env = env(&format!("allow = [\"http://localhost:{port}\"]"));
    let url = format!("http://localhost:{port}/hello");
    let failure = env.err("ops", "web", "get", json!({"url": url}));
    assert_eq!(failure.reason, "denied", "{failure:?}");
    assert_eq!(
        failure.message,
        format!("http denied the request to {url} at 127.0.0.1:{port}")
    );
    assert_eq!(
        failure.suggestion.as_deref(),
        Some(
            format!(
                "localhost resolves to 127.0.0.1, a loopback address, which only a grant naming it reaches: add \"http://127.0.0.1:{port}\" to [roles.ops.http].allow or \"127.0.0.1/32\" to [roles.ops.http].addresses"
            )
            .as_str()
        )
    );
    assert!(site.requests().is_empty());
    // With the range granted, the name reaches the site, and Host names it.
    let env = Env::new(&format!(
        "version = 1\n[roles.ops]\ntools = [\"web\"]\n[roles.ops.http]\nallow = [\"http://localhost:{port}\"]\naddresses = [\"127.0.0.0/8\", \"::1/128\"]\n"
    ));
    let (output, _) = env.ok("ops", "web", "get", json!({"url": url}));
    assert_eq!(output, json!("hello"));
    assert_eq!(site.requests()[0].2, format!("localhost:{port}"));
}

#[test]
fn web_a_name_whose_dns_answers_a_refused_address_is_refused_at_that_address() {
    let site = WebServer::start();
    let port = site.port();
    let dns = DnsServer::start(&[
        ("metadata.test", "169.254.169.254".parse().unwrap()),
        ("site.test", "127.0.0.1".parse().unwrap()),
    ]);
    let env = env(&format!(
        "allow = [\"http://metadata.test\", \"http://site.test:{port}\", \"http://unknown.test\"]\nnameservers = [\"{}\"]",
        dns.addr()
    ));
    let failure = env.err(
        "ops",
        "web",
        "get",
        json!({"url": "http://metadata.test/latest/"}),
    );
    assert_eq!(
        (
            failure.reason.as_str(),
            failure.message.as_str(),
            failure.suggestion.as_deref()
        ),
        (
            "denied",
            "http denied the request to http://metadata.test/latest/ at 169.254.169.254:80",
            Some(
                "metadata.test resolves to 169.254.169.254, a link-local address, which only a grant naming it reaches: add \"http://169.254.169.254\" to [roles.ops.http].allow or \"169.254.169.254/32\" to [roles.ops.http].addresses"
            )
        )
    );
    let failure = env.err(
        "ops",
        "web",
        "get",
        json!({"url": format!("http://site.test:{port}/hello")}),
    );
    assert_eq!(failure.reason, "denied", "{failure:?}");
    // A granted name the server does not know is a transport failure.
    let failure = env.err("ops", "web", "get", json!({"url": "http://unknown.test/"}));
    assert_eq!(
        (failure.reason.as_str(), failure.message.as_str()),
        (
            "http_error",
            "http://unknown.test/: name resolution failed: unknown.test does not resolve"
        )
    );
    assert!(site.requests().is_empty());
    // Once its range is granted, the name is reached at the address the
    // runtime resolved, with Host naming it.
    let env = self::env(&format!(
        "allow = [\"http://site.test:{port}\"]\naddresses = [\"127.0.0.0/8\"]\nnameservers = [\"{}\"]",
        dns.addr()
    ));
    let (output, _) = env.ok(
        "ops",
        "web",
        "get",
        json!({"url": format!("http://site.test:{port}/hello")}),
    );
    assert_eq!(output, json!("hello"));
    assert_eq!(site.requests()[0].2, format!("site.test:{port}"));
}

/// A role reaching `name` (at the site's port) through `dns`, with the
/// loopback range granted.
fn through(dns: &DnsServer, name: &str, port: u16) -> Env {
    env(&format!(
        "allow = [\"http://{name}:{port}\"]\naddresses = [\"127.0.0.0/8\"]\nnameservers = [\"{}\"]\ntimeout_ms = 10000",
        dns.addr()
    ))
}

/// GETs `/hello` of `site` by `name`, which the test's DNS server resolves
/// to `addresses` in that order, and checks the site answered; the role and
/// the URL.
fn hello_through(site: &WebServer, name: &str, addresses: &[&str]) -> (Env, String) {
    let port = site.port();
    let records: Vec<(&str, std::net::Ipv4Addr)> = addresses
        .iter()
        .map(|a| (name, a.parse().unwrap()))
        .collect();
    let dns = DnsServer::start(&records);
    let env = through(&dns, name, port);
    let url = format!("http://{name}:{port}/hello");
    let (output, _) = env.ok("ops", "web", "get", json!({"url": url}));
    assert_eq!(output, json!("hello"));
    (env, url)
}

/// An allowed decision of each address tried, in order.
fn tried(url: &str, port: u16, hosts: &[&str]) -> Vec<(String, String, String)> {
    hosts
        .iter()
        .map(|h| ("GET".into(), format!("{url} at {h}:{port}"), "allow".into()))
        .collect()
}

#[test]
fn web_a_name_is_reached_at_its_next_address_when_one_refuses() {
    let site = WebServer::start();
    let port = site.port();
    // Nothing listens on 127.0.0.2: that connection is refused at once.
    // The metadata address is not granted: it is never tried.
    let (env, url) = hello_through(
        &site,
        "multi.test",
        &["169.254.169.254", "127.0.0.2", "127.0.0.1"],
    );
    assert_eq!(
        http_decisions(&env),
        tried(&url, port, &["127.0.0.2", "127.0.0.1"])
    );
    assert_eq!(site.requests()[0].2, format!("multi.test:{port}"));
}

#[test]
fn web_a_name_whose_every_address_refuses_is_an_http_error_after_trying_each() {
    let site = WebServer::start();
    let port = site.port();
    let dns = DnsServer::start(&[
        ("down.test", "127.0.0.2".parse().unwrap()),
        ("down.test", "127.0.0.3".parse().unwrap()),
    ]);
    let env = through(&dns, "down.test", port);
    let url = format!("http://down.test:{port}/hello");
    let failure = env.err("ops", "web", "get", json!({"url": url}));
    assert_eq!(
        (failure.reason.as_str(), failure.message.as_str()),
        (
            "http_error",
            format!("{url}: the connection was refused").as_str()
        )
    );
    assert_eq!(
        http_decisions(&env),
        tried(&url, port, &["127.0.0.2", "127.0.0.3"])
    );
    assert!(site.requests().is_empty());
}

/// An address that never answers (a listener whose queue is full drops
/// new connections) does not hold the request: the next address is tried
/// beside it after 250 ms, and answers.
#[test]
fn web_a_name_whose_first_address_never_answers_is_reached_at_the_next() {
    let site = WebServer::start();
    let port = site.port();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let hole: std::net::SocketAddr = format!("127.0.0.2:{port}").parse().unwrap();
    // Made inside the runtime but not left entered: the call's own waits
    // must not find this runtime, which nothing drives.
    let _listener = rt.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind(hole).unwrap();
        socket.listen(0).unwrap()
    });
    let _queued = std::net::TcpStream::connect(hole).unwrap();
    // The queue is full: a connection now waits for an answer that never comes.
    let refused =
        std::net::TcpStream::connect_timeout(&hole, std::time::Duration::from_millis(300));
    assert_eq!(
        refused.map_err(|e| e.kind()).err(),
        Some(std::io::ErrorKind::TimedOut),
        "the full listener answered"
    );
    let (env, url) = hello_through(&site, "slow.test", &["127.0.0.2", "127.0.0.1"]);
    assert_eq!(
        http_decisions(&env),
        tried(&url, port, &["127.0.0.2", "127.0.0.1"])
    );
}

#[test]
fn web_a_host_header_naming_another_site_is_refused() {
    let site = WebServer::start();
    let env = granted(&site);
    let failure = env.err(
        "ops",
        "web",
        "get",
        json!({"url": format!("{}/hello", site.origin()), "headers": {"Host": "metadata.internal"}}),
    );
    assert_eq!(
        (
            failure.reason.as_str(),
            failure.field.as_deref(),
            failure.message.as_str()
        ),
        (
            "denied",
            Some("headers"),
            "the header Host is set by the runtime, not by the tool"
        )
    );
    assert!(site.requests().is_empty());
}

#[test]
fn web_a_destinations_header_comes_from_the_runtimes_environment_only() {
    let site = WebServer::start();
    // HOME is set for every test process; its value stands for a secret.
    let secret = std::env::var("HOME").expect("HOME is set");
    let env = env(&format!(
        "allow = [\"{o}\"]\n[roles.ops.http.headers.\"{o}\"]\nX-Api-Key = \"HOME\"",
        o = site.origin()
    ));
    let url = format!("{}/echo", site.origin());
    let (output, _) = env.ok("ops", "web", "get", json!({"url": url}));
    assert_eq!(output["api_key"], json!(secret));
    // The tool cannot set (nor so learn by reflection) that header itself.
    let failure = env.err(
        "ops",
        "web",
        "get",
        json!({"url": url, "headers": {"x-api-key": "mine"}}),
    );
    assert_eq!(
        (failure.reason.as_str(), failure.field.as_deref()),
        ("denied", Some("headers"))
    );
    // Nothing the model is shown carries it.
    let events = serde_json::to_string(&env.events()).unwrap();
    assert!(!events.contains(&secret), "{events}");
}

#[test]
fn web_without_a_grant_everything_is_denied() {
    let site = WebServer::start();
    let env = Env::new("version = 1\n[roles.ops]\ntools = [\"web\"]\n");
    let failure = env.err(
        "ops",
        "web",
        "get",
        json!({"url": format!("{}/hello", site.origin())}),
    );
    assert_eq!(
        (failure.reason.as_str(), failure.suggestion.as_deref()),
        (
            "denied",
            Some(format!("add \"{}\" to [roles.ops.http].allow", site.origin()).as_str())
        )
    );
}

/// Standard base64, to check the tool's encoding independently.
mod base64_check {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    pub fn encode(bytes: &[u8]) -> String {
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
                } else {
                    out.push('=');
                }
            }
        }
        out
    }
}

/// A component calling `wasi:http` itself (not the `web` tool) under a role
/// with no `[roles.R.http]` section: refused with the HTTP error before
/// any connection, as a tool error and never a trap; the next call works.
#[test]
fn raw_wasi_http_without_a_grant_is_the_http_error_not_a_trap() {
    let env = Env::new(
        r#"
version = 1
[tools.testbed]
path = "{testbed}"
[roles.tester]
tools = ["testbed"]
timeout_ms = 5000
"#,
    );
    let failure = env.err(
        "tester",
        "testbed",
        "http_get",
        json!({"authority": "127.0.0.1:9"}),
    );
    assert_eq!(
        (failure.reason.as_str(), failure.message.as_str()),
        ("http_error", "ErrorCode::HttpRequestDenied")
    );
    let traps = env
        .events()
        .into_iter()
        .filter(|e| e.topic == "tool.trap")
        .count();
    assert_eq!(traps, 0);
    assert_eq!(
        env.ok("tester", "testbed", "noop", json!({})),
        (json!(null), json!({}))
    );
}
