//! Which addresses are special: reachable only when a grant names them.
//!
//! A name in a grant (`https://api.example.com`) is trusted to mean a
//! public host, not whatever its DNS answers today: a name resolving into
//! loopback, link-local (cloud metadata at 169.254.169.254), private,
//! unique-local, CGNAT, multicast, unspecified, documentation or reserved
//! space is refused unless the grant names that address itself
//! (`http://127.0.0.1:8080`) or `addresses` lists its range. IPv4-mapped
//! and IPv4-compatible IPv6 forms are judged as the IPv4 address they
//! carry; NAT64, 6to4 and Teredo addresses, which also lead to an IPv4
//! host the runtime cannot see, are special themselves.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The address as it is judged: an IPv4 address in an IPv6 wrapper
/// (`::ffff:127.0.0.1`, `::127.0.0.1`) becomes that IPv4 address.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return IpAddr::V4(v4);
            }
            let o = v6.octets();
            // IPv4-compatible (deprecated, RFC 4291 §2.5.5.1): ::a.b.c.d,
            // but not :: and ::1 themselves.
            if o[..12].iter().all(|b| *b == 0)
                && u32::from_be_bytes([o[12], o[13], o[14], o[15]]) > 1
            {
                return IpAddr::V4(Ipv4Addr::new(o[12], o[13], o[14], o[15]));
            }
            IpAddr::V6(v6)
        }
        v4 => v4,
    }
}

/// What kind of special address `ip` is, or `None` for an ordinary public
/// one. Judged on [`canonical`]`(ip)`.
pub fn special(ip: IpAddr) -> Option<&'static str> {
    match canonical(ip) {
        IpAddr::V4(v4) => special_v4(v4),
        IpAddr::V6(v6) => special_v6(v6),
    }
}

fn special_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        (0, _, _) => "unspecified",
        (127, _, _) => "loopback",
        (10, _, _) | (192, 168, _) => "private",
        (172, 16..=31, _) => "private",
        (169, 254, _) => "link-local",
        (100, 64..=127, _) => "shared (CGNAT)",
        (192, 0, 0) => "IETF protocol",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "documentation",
        (198, 18..=19, _) => "benchmarking",
        (224..=239, _, _) => "multicast",
        (240..=255, _, _) => "reserved or broadcast",
        _ => return None,
    })
}

fn special_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    Some(if ip.is_unspecified() {
        "unspecified"
    } else if ip.is_loopback() {
        "loopback"
    } else if s[0] & 0xfe00 == 0xfc00 {
        "unique-local"
    } else if s[0] & 0xffc0 == 0xfe80 {
        "link-local"
    } else if s[0] & 0xffc0 == 0xfec0 {
        "site-local"
    } else if s[0] & 0xff00 == 0xff00 {
        "multicast"
    } else if s[0] == 0x2001 && s[1] == 0x0db8 {
        "documentation"
    } else if s[0] == 0x0064 && s[1] == 0xff9b {
        "NAT64"
    } else if s[0] == 0x2002 {
        "6to4"
    } else if s[0] == 0x2001 && s[1] == 0 {
        "Teredo"
    } else if s[..6].iter().all(|x| *x == 0) {
        "reserved"
    } else {
        return None;
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(s: &str) -> Option<&'static str> {
        special(s.parse().unwrap())
    }

    #[test]
    fn special_ranges_are_named_and_public_ones_are_not() {
        let cases = [
            ("127.0.0.1", Some("loopback")),
            ("127.255.0.9", Some("loopback")),
            ("0.0.0.0", Some("unspecified")),
            ("10.1.2.3", Some("private")),
            ("172.16.0.1", Some("private")),
            ("172.31.255.255", Some("private")),
            ("172.32.0.1", None),
            ("192.168.1.1", Some("private")),
            ("169.254.169.254", Some("link-local")),
            ("100.64.0.1", Some("shared (CGNAT)")),
            ("100.128.0.1", None),
            ("224.0.0.1", Some("multicast")),
            ("255.255.255.255", Some("reserved or broadcast")),
            ("93.184.215.14", None),
            ("8.8.8.8", None),
            ("::", Some("unspecified")),
            ("::1", Some("loopback")),
            ("::ffff:127.0.0.1", Some("loopback")),
            ("::ffff:169.254.169.254", Some("link-local")),
            ("::127.0.0.1", Some("loopback")),
            ("::ffff:8.8.8.8", None),
            ("fd00::1", Some("unique-local")),
            ("fc00::1", Some("unique-local")),
            ("fe80::1", Some("link-local")),
            ("ff02::1", Some("multicast")),
            ("64:ff9b::7f00:1", Some("NAT64")),
            ("2002:7f00:1::", Some("6to4")),
            ("2001:db8::1", Some("documentation")),
            ("2606:4700:4700::1111", None),
        ];
        let got: Vec<_> = cases.iter().map(|(a, _)| (*a, kind(a))).collect();
        assert_eq!(got, cases.to_vec());
    }

    #[test]
    fn wrapped_ipv4_is_judged_as_ipv4() {
        assert_eq!(
            canonical("::ffff:127.0.0.1".parse().unwrap()),
            "127.0.0.1".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            canonical("::1".parse().unwrap()),
            "::1".parse::<IpAddr>().unwrap()
        );
    }
}
