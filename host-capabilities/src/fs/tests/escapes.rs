//! Denials: paths outside every grant, `..`, symlinks and magic links that
//! would leave a granted tree, globs narrower than their base.

use std::path::Path;
use std::sync::Arc;

use super::*;
use crate::bindings::CapError;
use crate::bindings::fs::{FileKind, Host, WriteMode};
use crate::ctx::{Capabilities, Grants};

#[test]
fn write_needs_the_write_grant() {
    let fx = Fx::new();
    let mut caps = fx.caps(&[fx.p("allowed/**")], &[], 1 << 20);
    let f = fx.p("allowed/a.txt");
    same(
        caps.write(f.clone(), b"x".to_vec(), WriteMode::Truncate),
        Err(denied(&f, add_hint(&f, "write"))),
    );
    same(
        caps.delete(f.clone()),
        Err(denied(&f, add_hint(&f, "write"))),
    );
    assert_eq!(std::fs::read(&f).unwrap(), b"hello");
    assert_eq!(
        fx.decisions()[0],
        ("write".into(), f.clone(), false, add_hint(&f, "write"))
    );
}

#[test]
fn write_grant_does_not_imply_read() {
    let fx = Fx::new();
    let mut caps = fx.caps(&[], &[fx.p("allowed/**")], 1 << 20);
    let f = fx.p("allowed/a.txt");
    same(
        caps.read(f.clone(), 100),
        Err(denied(&f, add_hint(&f, "read"))),
    );
}

#[test]
fn denied_outside_every_grant() {
    let fx = Fx::new();
    let mut caps = fx.standard();
    let s = fx.p("outside/secret");
    same(
        caps.read(s.clone(), 100),
        Err(denied(&s, add_hint(&s, "read"))),
    );
    same(
        caps.stat("/etc/shadow".into()),
        Err(denied("/etc/shadow", add_hint("/etc/shadow", "read"))),
    );
    assert_eq!(
        fx.decisions(),
        vec![
            ("read".into(), s.clone(), false, add_hint(&s, "read")),
            (
                "stat".into(),
                "/etc/shadow".into(),
                false,
                add_hint("/etc/shadow", "read")
            ),
        ]
    );
}

#[test]
fn dotdot_cannot_leave_the_tree() {
    let fx = Fx::new();
    let mut caps = fx.standard();
    let raw = fx.p("allowed/../outside/secret");
    let real = fx.p("outside/secret");
    same(
        caps.read(raw.clone(), 100),
        Err(denied(&real, outside_hint(&raw, &real, "read"))),
    );
}

#[test]
fn absolute_and_relative_symlinks_cannot_leave_the_tree() {
    let fx = Fx::new();
    std::os::unix::fs::symlink(fx.root.join("outside"), fx.root.join("allowed/abs")).unwrap();
    std::os::unix::fs::symlink("../outside/secret", fx.root.join("allowed/rel")).unwrap();
    let mut caps = fx.standard();
    let real = fx.p("outside/secret");
    for raw in [fx.p("allowed/abs/secret"), fx.p("allowed/rel")] {
        same(
            caps.read(raw.clone(), 100),
            Err(denied(&real, outside_hint(&raw, &real, "read"))),
        );
    }
    // The link itself is inside the tree: stat does not follow it.
    same(
        caps.stat(fx.p("allowed/rel")).map(|r| r.map(|st| st.kind)),
        Ok(FileKind::Symlink),
    );
    let raw = fx.p("allowed/abs/secret");
    same(
        caps.stat(raw.clone()),
        Err(denied(&real, outside_hint(&raw, &real, "read"))),
    );
}

#[test]
fn symlink_created_after_compile_cannot_leave_the_tree() {
    let fx = Fx::new();
    let mut caps = fx.standard();
    std::os::unix::fs::symlink("/etc", fx.root.join("allowed/late")).unwrap();
    let raw = fx.p("allowed/late/hostname");
    same(
        caps.read(raw.clone(), 100),
        Err(denied(
            "/etc/hostname",
            outside_hint(&raw, "/etc/hostname", "read"),
        )),
    );
    let w = fx.p("allowed/late/x");
    same(
        caps.write(w.clone(), b"x".to_vec(), WriteMode::Truncate),
        Err(denied("/etc/x", outside_hint(&w, "/etc/x", "write"))),
    );
    assert!(!Path::new("/etc/x").exists());
}

#[test]
fn symlinks_between_granted_trees_are_followed() {
    let fx = Fx::new();
    std::fs::create_dir(fx.root.join("other")).unwrap();
    std::fs::write(fx.root.join("other/conf"), "conf").unwrap();
    std::os::unix::fs::symlink(fx.root.join("other/conf"), fx.root.join("allowed/abs")).unwrap();
    std::os::unix::fs::symlink("../other/conf", fx.root.join("allowed/rel")).unwrap();
    std::os::unix::fs::symlink("rel", fx.root.join("allowed/chain")).unwrap();
    let mut caps = fx.caps(&[fx.p("allowed/**"), fx.p("other/conf")], &[], 1 << 20);
    for link in ["abs", "rel", "chain"] {
        same(
            caps.read(fx.p(&format!("allowed/{link}")), 100),
            Ok(b"conf".to_vec()),
        );
    }
    same(
        caps.read(fx.p("allowed/../other/conf"), 100),
        Ok(b"conf".to_vec()),
    );
    let rule = format!("[roles.default.fs].read \"{}\"", fx.p("other/conf"));
    assert_eq!(
        fx.decisions().last(),
        Some(&("read".into(), fx.p("other/conf"), true, rule))
    );
}

#[test]
fn symlink_loops_end() {
    let fx = Fx::new();
    std::os::unix::fs::symlink("b", fx.root.join("allowed/a")).unwrap();
    std::os::unix::fs::symlink("a", fx.root.join("allowed/b")).unwrap();
    let mut caps = fx.standard();
    let raw = fx.p("allowed/a");
    same(
        caps.read(raw.clone(), 100),
        Err(denied(&raw, magic_hint(&fx.p("allowed"), &raw))),
    );
}

#[test]
fn magic_links_cannot_leave_the_tree() {
    let fx = Fx::new();
    let mut caps = fx.caps(&[fx.p("allowed/**"), "/proc/**".into()], &[], 1 << 20);
    let via_root = format!("/proc/self/root{}", fx.p("outside/secret"));
    same(
        caps.read(via_root.clone(), 100),
        Err(denied(&via_root, magic_hint("/proc", &via_root))),
    );
    let file = std::fs::File::open(fx.root.join("outside/secret")).unwrap();
    let via_fd = format!("/proc/self/fd/{}", file.as_raw_fd());
    same(
        caps.read(via_fd.clone(), 100),
        Err(denied(&via_fd, magic_hint("/proc", &via_fd))),
    );
    // The grant itself works: /proc/self is an ordinary symlink.
    let status = caps.read("/proc/self/status".into(), 1 << 20).unwrap();
    assert!(status.map(|b| b.starts_with(b"Name:")).unwrap_or(false));
    // Without a /proc grant it is simply outside.
    let mut caps = fx.standard();
    same(
        caps.read(via_root.clone(), 100),
        Err(denied(&via_root, add_hint(&via_root, "read"))),
    );
}

#[test]
fn glob_narrower_than_its_base() {
    let fx = Fx::new();
    std::fs::write(fx.root.join("allowed/x.log"), "log").unwrap();
    let mut caps = fx.caps(&[fx.p("allowed/*.log")], &[], 1 << 20);
    same(caps.read(fx.p("allowed/x.log"), 100), Ok(b"log".to_vec()));
    let t = fx.p("allowed/a.txt");
    same(
        caps.read(t.clone(), 100),
        Err(denied(&t, add_hint(&t, "read"))),
    );
    let missing = fx.p("allowed/missing.log");
    same(
        caps.read(missing.clone(), 100),
        Err(CapError::NotFound(format!(
            "open \"{missing}\": no such file or directory"
        ))),
    );
    let probe = fx.p("allowed/missing.txt");
    same(
        caps.read(probe.clone(), 100),
        Err(denied(&probe, add_hint(&probe, "read"))),
    );
}

#[test]
fn canonical_base_through_a_symlinked_directory() {
    let fx = Fx::new();
    std::os::unix::fs::symlink(fx.root.join("allowed"), fx.root.join("alias")).unwrap();
    let mut caps = fx.caps(&[fx.p("alias/**")], &[], 1 << 20);
    same(caps.read(fx.p("alias/a.txt"), 100), Ok(b"hello".to_vec()));
    same(caps.read(fx.p("allowed/a.txt"), 100), Ok(b"hello".to_vec()));
}

#[test]
fn deny_all_denies() {
    let fx = Fx::new();
    let grants = Grants::none("default");
    let mut caps = Capabilities::new(Arc::new(grants), fx.sink.clone());
    let f = fx.p("allowed/a.txt");
    same(
        caps.read(f.clone(), 10),
        Err(denied(&f, add_hint(&f, "read"))),
    );
    assert!(Path::new(&f).exists());
}
