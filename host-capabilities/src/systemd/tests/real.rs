//! The one test against the machine's own systemd: it runs where systemd
//! is PID 1 and reachable on the system bus, and says SKIPPED elsewhere
//! (containers, CI runners without systemd).

use super::*;
use crate::bindings::systemd::Host;

#[cfg_attr(not(llmagent_systemd), ignore = "needs systemd as PID 1")]
#[test]
fn status_of_a_real_unit_on_the_system_bus() {
    if !std::path::Path::new("/run/systemd/system").exists() {
        eprintln!(
            "SKIPPED status_of_a_real_unit_on_the_system_bus: systemd is not running here (/run/systemd/system is missing)"
        );
        return;
    }
    let unit = "dbus.service";
    let (mut caps, _) = caps(&section(&["*"], None, None));
    match caps.status(unit.into()).unwrap() {
        Ok(props) => {
            let get = |k: &str| props.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
            assert_eq!(get("Id"), Some(unit.to_owned()));
            assert!(get("ActiveState").is_some(), "{props:?}");
        }
        Err(crate::bindings::CapError::Unsupported(why)) => {
            eprintln!("SKIPPED status_of_a_real_unit_on_the_system_bus: {why}");
        }
        Err(e) => panic!("{e:?}"),
    }
}
