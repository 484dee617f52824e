//! The child holds no capabilities and cannot make the syscalls that
//! reach past its grants: each test tries the attack from inside an
//! allowed program and shows it fail with `EPERM`, while the runtime goes
//! on.

use std::os::unix::fs::PermissionsExt;

use super::*;

/// bash and python3 allowed; reads of the temp tree and `/proc`, writes
/// of the temp tree. Tests using it need Landlock and python3.
fn attacker(fx: &Fx) -> Capabilities {
    fx.caps(
        allow(&["bash", "python3"]),
        FsToml {
            read: vec![fx.p("**"), "/proc/**".into()],
            write: vec![fx.p("**")],
        },
        1 << 20,
    )
}

/// Runs a Python script in the child; its stdout.
fn python(caps: &mut Capabilities, script: &str) -> String {
    let o = run(caps, cmd("python3", &["-c", script]));
    assert_eq!(o.exit_code, Some(0), "{o:?}");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
#[cfg_attr(
    not(all(llmagent_landlock, llmagent_python3)),
    ignore = "needs Landlock and python3"
)]
fn a_unix_socket_outside_the_grants_is_not_reached() {
    let fx = Fx::new();
    let mut caps = attacker(&fx);
    // The listener stands for the D-Bus system bus or docker.sock: outside
    // every grant of the role.
    let outside = tempfile::tempdir().unwrap();
    let path = outside.path().join("bus.sock");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    listener.set_nonblocking(true).unwrap();
    let script = format!(
        "import socket\n\
         try:\n  s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n  s.connect({path:?})\n  print('connected')\n\
         except OSError as e:\n  print(e.errno)\n"
    );
    assert_eq!(python(&mut caps, &script), format!("{}\n", libc::EPERM));
    assert_eq!(
        listener.accept().map(|_| ()).unwrap_err().kind(),
        std::io::ErrorKind::WouldBlock,
        "the listener must not have been reached"
    );
}

/// A role granting `unix_sockets = [log]` reaches that socket (as
/// `logger` reaches `/dev/log`) and still opens no network socket; as
/// `UNIX_SOCKET_LIMIT` says (and `policy check` warns), the kernel cannot
/// hold connect() to the named path: another socket the uid may write is
/// reachable too. This test pins that documented limit.
#[test]
#[cfg_attr(
    not(all(llmagent_landlock, llmagent_python3)),
    ignore = "needs Landlock and python3"
)]
fn a_unix_socket_grant_allows_unix_sockets_only_and_cannot_hold_them_to_the_path() {
    let fx = Fx::new();
    let outside = tempfile::tempdir().unwrap();
    let log = outside.path().join("log.sock");
    let other = outside.path().join("other.sock");
    let log_listener = std::os::unix::net::UnixListener::bind(&log).unwrap();
    let other_listener = std::os::unix::net::UnixListener::bind(&other).unwrap();
    let mut raw = allow(&["python3"]);
    raw.unix_sockets = vec![log.display().to_string()];
    let mut caps = fx.caps(
        raw,
        FsToml {
            read: vec![fx.p("**")],
            write: vec![fx.p("**")],
        },
        1 << 20,
    );
    let script = format!(
        "import socket\n\
         for path in [{log:?}, {other:?}]:\n\
         \x20 s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n\
         \x20 s.connect(path)\n\
         \x20 s.sendall(b'hello')\n\
         \x20 print('connected')\n\
         for family, kind in [(socket.AF_INET, socket.SOCK_DGRAM), (socket.AF_INET6, socket.SOCK_STREAM),\n\
         \x20                    (socket.AF_NETLINK, socket.SOCK_RAW), (socket.AF_PACKET, socket.SOCK_RAW)]:\n\
         \x20 try:\n\
         \x20   socket.socket(family, kind)\n\
         \x20   print('opened')\n\
         \x20 except OSError as e:\n\
         \x20   print(e.errno)\n"
    );
    let eperm = libc::EPERM;
    assert_eq!(
        python(&mut caps, &script),
        format!("connected\nconnected\n{eperm}\n{eperm}\n{eperm}\n{eperm}\n")
    );
    for listener in [log_listener, other_listener] {
        let (mut conn, _) = listener.accept().unwrap();
        let mut got = String::new();
        std::io::Read::read_to_string(&mut conn, &mut got).unwrap();
        assert_eq!(got, "hello");
    }
}

#[test]
#[cfg_attr(
    not(all(llmagent_landlock, llmagent_python3)),
    ignore = "needs Landlock and python3"
)]
fn no_network_socket_of_any_kind_can_be_opened() {
    let fx = Fx::new();
    let mut caps = attacker(&fx);
    let script = "import socket\n\
        kinds = [('udp', socket.AF_INET, socket.SOCK_DGRAM), ('udp6', socket.AF_INET6, socket.SOCK_DGRAM),\n\
                 ('tcp', socket.AF_INET, socket.SOCK_STREAM), ('raw', socket.AF_INET, socket.SOCK_RAW),\n\
                 ('packet', socket.AF_PACKET, socket.SOCK_RAW), ('netlink', socket.AF_NETLINK, socket.SOCK_RAW)]\n\
        for name, family, kind in kinds:\n\
        \x20 try:\n\
        \x20   socket.socket(family, kind)\n\
        \x20   print(name, 'opened')\n\
        \x20 except OSError as e:\n\
        \x20   print(name, e.errno)\n";
    let eperm = libc::EPERM;
    assert_eq!(
        python(&mut caps, script),
        format!(
            "udp {eperm}\nudp6 {eperm}\ntcp {eperm}\nraw {eperm}\npacket {eperm}\nnetlink {eperm}\n"
        )
    );
}

#[test]
#[cfg_attr(
    not(all(llmagent_landlock, llmagent_python3)),
    ignore = "needs Landlock and python3"
)]
fn the_child_has_no_capabilities_even_when_the_runtime_is_root() {
    let fx = Fx::new();
    let mut caps = attacker(&fx);
    let o = run(
        &mut caps,
        sh(
            "while read -r k v; do case $k in Cap*|NoNewPrivs*) echo \"$k $v\";; esac; done < /proc/self/status",
        ),
    );
    // Emptying the bounding set needs CAP_SETPCAP: a runtime without it
    // (not root) passes on its own bounding set, which gives nothing under
    // no_new_privs and empty permitted sets.
    let bounding = if rustix::process::geteuid().is_root() {
        "0000000000000000".to_owned()
    } else {
        std::fs::read_to_string("/proc/self/status")
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("CapBnd:"))
            .unwrap()
            .trim()
            .to_owned()
    };
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        format!(
            "CapInh: 0000000000000000\nCapPrm: 0000000000000000\nCapEff: 0000000000000000\n\
             CapBnd: {bounding}\nCapAmb: 0000000000000000\nNoNewPrivs: 1\n"
        ),
        "{o:?}"
    );
}

#[test]
#[cfg_attr(
    not(all(llmagent_landlock, llmagent_python3)),
    ignore = "needs Landlock and python3"
)]
fn setuid_and_setgid_bits_cannot_be_set() {
    let fx = Fx::new();
    let mut caps = attacker(&fx);
    let shell = fx.p("shell");
    let o = run(
        &mut caps,
        sh(&format!(
            "cp /usr/bin/bash {shell} && chmod 4755 {shell}; echo $?; chmod g+s {shell}; echo $?; chmod 755 {shell}; echo $?"
        )),
    );
    assert_eq!(String::from_utf8_lossy(&o.stdout), "1\n1\n0\n", "{o:?}");
    let mode = std::fs::metadata(&shell).unwrap().permissions().mode();
    assert_eq!(mode & 0o7777, 0o755);
    // Creating a file with the bit set is refused too.
    let created = fx.p("created");
    let script = format!(
        "import os\ntry:\n  os.open({created:?}, os.O_CREAT | os.O_WRONLY, 0o4755)\n  print('created')\n\
         except OSError as e:\n  print(e.errno)\n"
    );
    assert_eq!(python(&mut caps, &script), format!("{}\n", libc::EPERM));
    assert!(!std::path::Path::new(&created).exists());
}

#[test]
#[cfg_attr(
    not(all(llmagent_landlock, llmagent_python3)),
    ignore = "needs Landlock and python3"
)]
fn namespaces_mounts_and_tracing_are_refused() {
    let fx = Fx::new();
    let mut caps = attacker(&fx);
    // Each attempt is harmless should it ever succeed: a user namespace,
    // a tmpfs on a directory of the test's own, chroot to "/", tracing
    // itself, and the reboot command that only turns Ctrl-Alt-Del off.
    let target = fx.p("mnt");
    std::fs::create_dir_all(&target).unwrap();
    let script = format!(
        "import ctypes, os\n\
        libc = ctypes.CDLL(None, use_errno=True)\n\
        calls = [('unshare', lambda: libc.unshare(0x10000000)), ('mount', lambda: libc.mount(b'none', {target:?}.encode(), b'tmpfs', 0, None)),\n\
                 ('chroot', lambda: libc.chroot(b'/')), ('ptrace', lambda: libc.ptrace(0, 0, None, None)),\n\
                 ('reboot', lambda: libc.reboot(0))]\n\
        for name, call in calls:\n\
        \x20 r = call()\n\
        \x20 print(name, r, ctypes.get_errno())\n"
    );
    let eperm = libc::EPERM;
    assert_eq!(
        python(&mut caps, &script),
        format!(
            "unshare -1 {eperm}\nmount -1 {eperm}\nchroot -1 {eperm}\nptrace -1 {eperm}\nreboot -1 {eperm}\n"
        )
    );
}

#[test]
#[cfg_attr(
    not(all(llmagent_landlock, llmagent_python3)),
    ignore = "needs Landlock and python3"
)]
fn only_stdin_stdout_and_stderr_reach_the_child() {
    let fx = Fx::new();
    let mut caps = attacker(&fx);
    // A descriptor the runtime holds without O_CLOEXEC (as a careless
    // library might): a file outside the role's grants, at fd 77.
    let secret = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(secret.path(), "secret\n").unwrap();
    let file = std::fs::File::open(secret.path()).unwrap();
    let fd = rustix::io::dup(&file).unwrap();
    let mut target = fd_at(77);
    rustix::io::dup2(&fd, &mut target).unwrap();
    let o = run(
        &mut caps,
        sh("if read -r line <&77 2>/dev/null; then echo \"leaked: $line\"; else echo closed; fi"),
    );
    assert_eq!(String::from_utf8_lossy(&o.stdout), "closed\n", "{o:?}");
}

/// An owned descriptor number `n` for `dup2` to replace (it is closed when
/// dropped).
fn fd_at(n: i32) -> std::os::fd::OwnedFd {
    let file = std::fs::File::open("/dev/null").unwrap();
    let mut fd = std::os::fd::OwnedFd::from(file);
    let mut wanted = rustix::io::fcntl_dupfd_cloexec(&fd, n).unwrap();
    assert_eq!(
        std::os::fd::AsRawFd::as_raw_fd(&wanted),
        n,
        "fd {n} is taken"
    );
    std::mem::swap(&mut fd, &mut wanted);
    drop(wanted);
    fd
}

#[test]
#[cfg_attr(
    not(all(llmagent_landlock, llmagent_root)),
    ignore = "needs Landlock and root (to switch users)"
)]
fn children_run_as_the_roles_user_without_supplementary_groups() {
    let fx = Fx::new();
    let mut raw = allow(&["bash"]);
    raw.user = Some(crate::exec::IdToml::Name("nobody".into()));
    let mut caps = fx.caps(
        raw,
        FsToml {
            read: vec!["/proc/**".into()],
            write: vec![],
        },
        1 << 20,
    );
    let o = run(
        &mut caps,
        sh(
            "while IFS=$'\\t' read -r k a b c d; do case $k in Uid:|Gid:|Groups:|Cap*|NoNewPrivs:) echo $k $a $b $c $d;; esac; done < /proc/self/status",
        ),
    );
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "Uid: 65534 65534 65534 65534\nGid: 65534 65534 65534 65534\nGroups:\n\
         CapInh: 0000000000000000\nCapPrm: 0000000000000000\nCapEff: 0000000000000000\n\
         CapBnd: 0000000000000000\nCapAmb: 0000000000000000\nNoNewPrivs: 1\n",
        "{o:?}"
    );
}
