//! A tiny DNS server on loopback for tests that need a name to resolve to
//! an address of their choosing: it answers `A` queries for the names it
//! was given, an empty answer for other types of those names, and
//! NXDOMAIN for the rest. UDP only, one question per query, no
//! compression beyond the pointer to the question.

#![allow(
    clippy::expect_used,
    reason = "test support: a server that cannot start fails the test that wanted it"
)]

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// The running server; stopped on drop.
#[derive(Debug)]
pub struct DnsServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl DnsServer {
    /// Serves `records` (lower-case name without the final dot → IPv4
    /// address; a name given more than once has each of its addresses, in
    /// the order given) on a free loopback UDP port.
    pub fn start(records: &[(&str, Ipv4Addr)]) -> DnsServer {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("dns server: bind");
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .expect("dns server: timeout");
        let addr = socket.local_addr().expect("dns server: address");
        let records: Vec<(String, Ipv4Addr)> = records
            .iter()
            .map(|(n, ip)| ((*n).to_owned(), *ip))
            .collect();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while !stopped.load(Ordering::Relaxed) {
                if let Ok((n, from)) = socket.recv_from(&mut buf)
                    && let Some(reply) = answer(&buf[..n], &records)
                {
                    let _ = socket.send_to(&reply, from);
                }
            }
        });
        DnsServer {
            addr,
            stop,
            thread: Some(thread),
        }
    }

    /// `127.0.0.1:PORT`, for a policy's `nameservers`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The reply to one query, or `None` for something that is not one.
fn answer(query: &[u8], records: &[(String, Ipv4Addr)]) -> Option<Vec<u8>> {
    if query.len() < 12 {
        return None;
    }
    // The question: labels, then type and class.
    let mut at = 12;
    let mut labels = Vec::new();
    loop {
        let len = usize::from(*query.get(at)?);
        at += 1;
        if len == 0 {
            break;
        }
        labels.push(String::from_utf8_lossy(query.get(at..at + len)?).to_ascii_lowercase());
        at += len;
    }
    let qtype = u16::from_be_bytes([*query.get(at)?, *query.get(at + 1)?]);
    let question = query.get(12..at + 4)?;
    let name = labels.join(".");
    let found: Vec<Ipv4Addr> = records
        .iter()
        .filter(|(n, _)| *n == name)
        .map(|(_, ip)| *ip)
        .collect();
    let (rcode, answers): (u8, Vec<Ipv4Addr>) = match (found.is_empty(), qtype) {
        (false, 1) => (0, found),
        (false, _) => (0, Vec::new()),
        (true, _) => (3, Vec::new()),
    };
    let mut reply = Vec::with_capacity(64);
    reply.extend_from_slice(&query[..2]); // id
    reply.extend_from_slice(&[0x81 | (query[2] & 0x01), 0x80 | rcode]);
    reply.extend_from_slice(&1u16.to_be_bytes());
    reply.extend_from_slice(&u16::try_from(answers.len()).unwrap_or(0).to_be_bytes());
    reply.extend_from_slice(&[0, 0, 0, 0]);
    reply.extend_from_slice(question);
    for ip in answers {
        reply.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1]);
        reply.extend_from_slice(&60u32.to_be_bytes());
        reply.extend_from_slice(&4u16.to_be_bytes());
        reply.extend_from_slice(&ip.octets());
    }
    Some(reply)
}
