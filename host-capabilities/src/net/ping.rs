//! ICMP echo through unprivileged ICMP datagram sockets
//! (`socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)`, allowed to the groups in
//! `net.ipv4.ping_group_range`), or raw ICMP sockets where that is not
//! allowed but llmagent holds `CAP_NET_RAW`; never the `ping` program.
//! With a datagram socket the kernel fills in the identifier and checksum
//! and hands back only the replies to this socket.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

use crate::bindings::CapError;
use crate::bindings::net::{PingResult, Rtt};

/// Time between two echo requests, as `ping` waits by default.
const INTERVAL: Duration = Duration::from_secs(1);
/// Bytes of payload after the 8-byte header, as `ping -s 16`.
const PAYLOAD: usize = 16;

/// Sends `count` echo requests to `ip` and collects the replies, all
/// within `timeout`.
pub(crate) fn ping(ip: IpAddr, count: u32, timeout: Duration) -> Result<PingResult, CapError> {
    let (domain, protocol, request, reply) = match ip {
        IpAddr::V4(_) => (Domain::IPV4, Protocol::ICMPV4, 8u8, 0u8),
        IpAddr::V6(_) => (Domain::IPV6, Protocol::ICMPV6, 128, 129),
    };
    // A datagram socket where the sysctl allows it, else a raw one where
    // llmagent holds CAP_NET_RAW (root); the raw one needs the identifier,
    // the IPv4 checksum and the IPv4 header handled here.
    let (socket, raw) = match Socket::new(domain, Type::DGRAM, Some(protocol)) {
        Ok(s) => (s, false),
        Err(dgram) => match Socket::new(domain, Type::RAW, Some(protocol)) {
            Ok(s) => (s, true),
            Err(_) => {
                return Err(CapError::Unsupported(format!(
                    "cannot open an ICMP socket ({dgram}); allow llmagent's group in the sysctl net.ipv4.ping_group_range"
                )));
            }
        },
    };
    let id = u16::try_from(std::process::id() & 0xffff).unwrap_or(0);
    socket
        .connect(&SocketAddr::new(ip, 0).into())
        .map_err(|e| CapError::Io(format!("cannot reach {ip}: {e}")))?;
    let socket = UdpSocket::from(socket);
    let deadline = Instant::now() + timeout;
    let mut rtts = Vec::new();
    let mut sent = 0u32;
    for seq in 0..count {
        let seq = u16::try_from(seq).unwrap_or(u16::MAX);
        let mut packet = [0u8; 8 + PAYLOAD];
        packet[0] = request;
        packet[4..6].copy_from_slice(&id.to_be_bytes());
        packet[6..8].copy_from_slice(&seq.to_be_bytes());
        if raw && ip.is_ipv4() {
            let sum = checksum(&packet);
            packet[2..4].copy_from_slice(&sum.to_be_bytes());
        }
        let started = Instant::now();
        if started >= deadline {
            break;
        }
        if socket.send(&packet).is_err() {
            sent += 1;
            continue;
        }
        sent += 1;
        let wait_until = if seq + 1 == u16::try_from(count).unwrap_or(u16::MAX) {
            deadline
        } else {
            deadline.min(started + INTERVAL)
        };
        let mut buf = [0u8; 1500];
        loop {
            let left = wait_until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let _ = socket.set_read_timeout(Some(left));
            match socket.recv(&mut buf) {
                Ok(n) => {
                    // A raw IPv4 socket hands over the IP header too.
                    let at = if raw && ip.is_ipv4() {
                        usize::from(buf[0] & 0x0f) * 4
                    } else {
                        0
                    };
                    let Some(icmp) = buf.get(at..n) else { continue };
                    let ours = !raw || icmp.get(4..6) == Some(&id.to_be_bytes()[..]);
                    if icmp.len() >= 8
                        && icmp[0] == reply
                        && ours
                        && icmp[6..8] == seq.to_be_bytes()
                    {
                        rtts.push(started.elapsed().as_secs_f64() * 1000.0);
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        let next = started + INTERVAL;
        if u32::from(seq) + 1 < count && next < deadline {
            std::thread::sleep(next.saturating_duration_since(Instant::now()));
        }
    }
    let received = u32::try_from(rtts.len()).unwrap_or(u32::MAX);
    let rtt_ms = (!rtts.is_empty()).then(|| Rtt {
        min: rtts.iter().copied().fold(f64::INFINITY, f64::min),
        max: rtts.iter().copied().fold(0.0, f64::max),
        avg: rtts.iter().sum::<f64>() / rtts.len() as f64,
    });
    Ok(PingResult {
        reachable: received > 0,
        address: ip.to_string(),
        sent,
        received,
        rtt_ms,
    })
}

/// The Internet checksum (RFC 1071) of an ICMPv4 message.
fn checksum(bytes: &[u8]) -> u16 {
    let mut sum: u32 = bytes
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !u16::try_from(sum).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_checksum_is_rfc_1071s() {
        // An echo request, id 0x1234, seq 1, no payload.
        let packet = [8, 0, 0, 0, 0x12, 0x34, 0, 1];
        let sum = super::checksum(&packet);
        assert_eq!(sum, 0xe5ca);
        let mut with = packet;
        with[2..4].copy_from_slice(&sum.to_be_bytes());
        assert_eq!(super::checksum(&with), 0);
    }
}
