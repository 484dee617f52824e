//! Interfaces and their addresses, from the kernel: `getifaddrs` for the
//! names, flags, addresses and hardware addresses, `/sys/class/net` for
//! the index, MTU and operational state. Nothing runs `ip`.

use std::net::IpAddr;

use nix::ifaddrs::getifaddrs;
use nix::net::if_::InterfaceFlags;

use crate::bindings::CapError;
use crate::bindings::net::{Address, InterfaceInfo};

/// Flags in the words `ip` prints, in its order.
const FLAG_WORDS: &[(InterfaceFlags, &str)] = &[
    (InterfaceFlags::IFF_LOOPBACK, "LOOPBACK"),
    (InterfaceFlags::IFF_BROADCAST, "BROADCAST"),
    (InterfaceFlags::IFF_POINTOPOINT, "POINTOPOINT"),
    (InterfaceFlags::IFF_MULTICAST, "MULTICAST"),
    (InterfaceFlags::IFF_NOARP, "NOARP"),
    (InterfaceFlags::IFF_PROMISC, "PROMISC"),
    (InterfaceFlags::IFF_UP, "UP"),
    (InterfaceFlags::IFF_RUNNING, "RUNNING"),
    (InterfaceFlags::IFF_LOWER_UP, "LOWER_UP"),
    (InterfaceFlags::IFF_DORMANT, "DORMANT"),
];

fn sys(name: &str, file: &str) -> Option<String> {
    // Interface names never contain '/', but a name is data: refuse any.
    if name.contains('/') || name.starts_with('.') {
        return None;
    }
    std::fs::read_to_string(format!("/sys/class/net/{name}/{file}"))
        .ok()
        .map(|s| s.trim().to_owned())
}

fn prefix_len(mask: Option<IpAddr>) -> u8 {
    let ones = match mask {
        Some(IpAddr::V4(m)) => u32::from(m).count_ones(),
        Some(IpAddr::V6(m)) => u128::from(m).count_ones(),
        None => 0,
    };
    u8::try_from(ones).unwrap_or(u8::MAX)
}

/// Every interface, in the kernel's index order.
pub(crate) fn list() -> Result<Vec<InterfaceInfo>, CapError> {
    let addrs = getifaddrs().map_err(|e| CapError::Io(format!("getifaddrs failed: {e}")))?;
    let mut out: Vec<InterfaceInfo> = Vec::new();
    for ifa in addrs {
        let at = match out.iter().position(|i| i.name == ifa.interface_name) {
            Some(at) => at,
            None => {
                let name = ifa.interface_name.clone();
                out.push(InterfaceInfo {
                    index: nix::net::if_::if_nametoindex(name.as_str()).unwrap_or(0),
                    state: sys(&name, "operstate").unwrap_or_else(|| "unknown".into()),
                    flags: FLAG_WORDS
                        .iter()
                        .filter(|(f, _)| ifa.flags.contains(*f))
                        .map(|(_, w)| (*w).to_owned())
                        .collect(),
                    mtu: sys(&name, "mtu").and_then(|m| m.parse().ok()).unwrap_or(0),
                    mac: None,
                    addresses: Vec::new(),
                    name,
                });
                out.len() - 1
            }
        };
        let Some(addr) = ifa.address else { continue };
        let entry = &mut out[at];
        if let Some(v4) = addr.as_sockaddr_in() {
            let mask = ifa
                .netmask
                .and_then(|m| m.as_sockaddr_in().map(|m| IpAddr::V4(m.ip())));
            entry.addresses.push(Address {
                family: "inet".into(),
                address: v4.ip().to_string(),
                prefix_len: prefix_len(mask),
            });
        } else if let Some(v6) = addr.as_sockaddr_in6() {
            let mask = ifa
                .netmask
                .and_then(|m| m.as_sockaddr_in6().map(|m| IpAddr::V6(m.ip())));
            entry.addresses.push(Address {
                family: "inet6".into(),
                address: v6.ip().to_string(),
                prefix_len: prefix_len(mask),
            });
        } else if let Some(mac) = addr.as_link_addr().and_then(|l| l.addr())
            && mac != [0; 6]
        {
            entry.mac = Some(
                mac.iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<Vec<_>>()
                    .join(":"),
            );
        }
    }
    out.sort_by_key(|i| i.index);
    Ok(out)
}
