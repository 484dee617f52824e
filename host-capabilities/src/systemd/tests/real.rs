//! The one test against the machine's own systemd: it runs where systemd
//! is PID 1 (and must then reach it on the system bus), and is skipped
//! elsewhere (containers, CI runners without systemd).

use super::*;
use crate::bindings::systemd::Host;

#[cfg_attr(not(llmagent_systemd), ignore = "needs systemd as PID 1")]
#[test]
fn status_of_a_real_unit_on_the_system_bus() {
    let unit = "dbus.service";
    let (mut caps, _) = caps(&section(&["*"], None, None));
    match caps.status(unit.into()).unwrap() {
        Ok(props) => {
            let get = |k: &str| props.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
            assert_eq!(get("Id"), Some(unit.to_owned()));
            assert!(get("ActiveState").is_some(), "{props:?}");
        }
        Err(e) => panic!("{e:?}"),
    }
}
