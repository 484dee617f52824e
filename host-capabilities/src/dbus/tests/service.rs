//! A private `dbus-daemon` and a **test service** on it, served by zbus's
//! object server in the test process: `org.llmagent.Test` at
//! `/org/llmagent/Test` (and a child `/org/llmagent/Test/child`) with the
//! interface `org.llmagent.Test.Calc`:
//!
//! - methods `Add(ii) → i`, `Repeat(su) → s`, `Sum(ai) → x`,
//!   `Describe(a{sv}) → s` (the sorted keys and values as text),
//!   `Split(s) → (si)` as two values, `Echo(v) → v`, `Nothing()`,
//!   `Fail()` (always the error `org.llmagent.Test.Error.Refused`), `Hang()`
//!   (answers after 5 s);
//! - properties `Precision` (`u`, read-write), `Name` (`s`, read-only),
//!   `Tags` (`as`, read-write).
//!
//! Used by the host tests and, through `#[path]`, by `tests/e2e/dbus.rs`,
//! so it depends on nothing but `std` and `zbus`.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use zbus::OwnedVariant;

/// The service's bus name, object path and interface.
pub const SERVICE: &str = "org.llmagent.Test";
pub const PATH: &str = "/org/llmagent/Test";
pub const CALC: &str = "org.llmagent.Test.Calc";

/// A `dbus-daemon --session` of the test's own, killed on drop.
pub struct DbusDaemon {
    child: Child,
    /// Its address, for `bus = "…"`.
    pub address: String,
}

impl DbusDaemon {
    /// Starts one (tests that call this need `cfg(llmagent_dbus)`).
    pub fn start() -> Self {
        let mut child = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon starts");
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            let _ = BufReader::new(out).read_line(&mut line);
        }
        let address = line.trim().to_owned();
        assert!(!address.is_empty(), "dbus-daemon printed no address");
        Self { child, address }
    }
}

impl Drop for DbusDaemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug, zbus::DBusError)]
#[zbus(prefix = "org.llmagent.Test.Error")]
enum CalcError {
    #[zbus(error)]
    ZBus(zbus::Error),
    Refused(String),
}

struct Calc {
    precision: u32,
    tags: Vec<String>,
}

#[zbus::interface(name = "org.llmagent.Test.Calc")]
impl Calc {
    fn add(&self, a: i32, b: i32) -> i32 {
        a.wrapping_add(b)
    }

    fn repeat(&self, text: &str, times: u32) -> String {
        text.repeat(times.min(100) as usize)
    }

    fn sum(&self, numbers: Vec<i32>) -> i64 {
        numbers.iter().map(|n| i64::from(*n)).sum()
    }

    fn describe(&self, map: HashMap<String, OwnedVariant>) -> String {
        let mut entries: Vec<String> = map.iter().map(|(k, v)| format!("{k}={}", **v)).collect();
        entries.sort();
        entries.join(",")
    }

    #[zbus(out_args("word", "length"))]
    fn split(&self, text: &str) -> (String, i32) {
        let word = text.split_whitespace().next().unwrap_or("").to_owned();
        let length = i32::try_from(text.len()).unwrap_or(i32::MAX);
        (word, length)
    }

    fn echo(&self, value: OwnedVariant) -> OwnedVariant {
        value
    }

    fn nothing(&self) {}

    /// Answers only after a long while (the service's thread sleeps): a
    /// caller's deadline must end the wait first.
    fn hang(&self) {
        std::thread::sleep(std::time::Duration::from_secs(5));
    }

    fn fail(&self) -> Result<(), CalcError> {
        Err(CalcError::Refused("the test service refuses".into()))
    }

    #[zbus(property)]
    fn precision(&self) -> u32 {
        self.precision
    }

    #[zbus(property)]
    fn set_precision(&mut self, value: u32) {
        self.precision = value;
    }

    #[zbus(property)]
    fn name(&self) -> String {
        "calculator".to_owned()
    }

    #[zbus(property)]
    fn tags(&self) -> Vec<String> {
        self.tags.clone()
    }

    #[zbus(property)]
    fn set_tags(&mut self, value: Vec<String>) {
        self.tags = value;
    }
}

/// An empty object below the service's, so introspection has a child.
struct Leaf;

#[zbus::interface(name = "org.llmagent.Test.Leaf")]
impl Leaf {
    fn ping(&self) -> String {
        "pong".to_owned()
    }
}

/// The test service, owning [`SERVICE`] on a bus while it lives.
pub struct TestService {
    _conn: zbus::Connection,
}

impl TestService {
    /// Serves it on the bus at `address`.
    pub fn serve(address: &str) -> Self {
        let conn = zbus::block_on(async {
            zbus::connection::Builder::address(address)
                .name(SERVICE)
                .serve_at(
                    PATH,
                    Calc {
                        precision: 2,
                        tags: vec!["a".into()],
                    },
                )
                .serve_at(format!("{PATH}/child"), Leaf)
                .build()
                .await
        });
        match conn {
            Ok(conn) => Self { _conn: conn },
            Err(e) => panic!("the test service cannot serve on {address}: {e}"),
        }
    }
}
