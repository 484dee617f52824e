//! Landlock: an allowed bash is still confined to the role's fs grants
//! and denied TCP.

use super::*;

/// bash allowed; `fs.read` on `allowed/**`, `fs.write` on `out/**`.
fn confined(fx: &Fx) -> Capabilities {
    std::fs::create_dir_all(fx.root.join("allowed")).unwrap();
    std::fs::create_dir_all(fx.root.join("out")).unwrap();
    std::fs::write(fx.root.join("allowed/a.txt"), "hello").unwrap();
    fx.caps(
        allow(&["bash"]),
        FsToml {
            read: vec![fx.p("allowed/**")],
            write: vec![fx.p("out/**")],
        },
        1 << 20,
    )
}

#[test]
#[cfg_attr(not(llmagent_landlock), ignore = "needs Landlock")]
fn bash_reads_what_the_role_allows_and_nothing_else() {
    let fx = Fx::new();
    let other = tempfile::tempdir().unwrap();
    let secret = other.path().join("secret");
    std::fs::write(&secret, "secret").unwrap();
    let mut caps = confined(&fx);
    let o = run(&mut caps, sh(&format!("cat {}", fx.p("allowed/a.txt"))));
    assert_eq!((o.exit_code, o.stdout), (Some(0), b"hello".to_vec()));
    for path in [secret.display().to_string(), "/etc/hostname".into()] {
        let o = run(&mut caps, sh(&format!("cat {path}")));
        assert_eq!(o.exit_code, Some(1));
        assert_eq!(
            String::from_utf8_lossy(&o.stderr),
            format!("cat: {path}: Permission denied\n")
        );
    }
}

#[test]
#[cfg_attr(not(llmagent_landlock), ignore = "needs Landlock")]
fn bash_writes_only_where_the_role_writes() {
    let fx = Fx::new();
    let mut caps = confined(&fx);
    let o = run(
        &mut caps,
        sh(&format!("echo x > {} && echo ok", fx.p("out/f"))),
    );
    assert_eq!(o.stdout, b"ok\n".to_vec());
    assert_eq!(
        std::fs::read_to_string(fx.root.join("out/f")).unwrap(),
        "x\n"
    );
    for path in [fx.p("allowed/new"), fx.p("new")] {
        let o = run(&mut caps, sh(&format!("echo x > {path}")));
        assert_eq!(o.exit_code, Some(1));
        assert!(
            String::from_utf8_lossy(&o.stderr).ends_with(": Permission denied\n"),
            "{o:?}"
        );
        assert!(!std::path::Path::new(&path).exists());
    }
}

#[test]
#[cfg_attr(not(llmagent_landlock), ignore = "needs Landlock")]
fn bash_cannot_open_a_tcp_connection() {
    let fx = Fx::new();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let o = run(
        &mut confined(&fx),
        sh(&format!("exec 3<>/dev/tcp/127.0.0.1/{port}")),
    );
    // The syscall filter refuses the socket before Landlock would refuse
    // the connect.
    assert_eq!(o.exit_code, Some(1), "{o:?}");
    assert_eq!(
        String::from_utf8_lossy(&o.stderr),
        format!(
            "/usr/bin/bash: socket: Operation not permitted\n\
             /usr/bin/bash: line 1: /dev/tcp/127.0.0.1/{port}: Operation not permitted\n"
        )
    );
    listener.set_nonblocking(true).unwrap();
    assert_eq!(
        listener.accept().map(|_| ()).unwrap_err().kind(),
        std::io::ErrorKind::WouldBlock
    );
}

#[test]
#[cfg_attr(
    not(all(llmagent_landlock, llmagent_glibc_loader)),
    ignore = "needs Landlock and the x86-64 glibc loader"
)]
fn a_binary_copied_into_a_write_grant_does_not_run_and_the_loader_stays_confined() {
    let loader = "/lib64/ld-linux-x86-64.so.2";
    let fx = Fx::new();
    for dir in ["rw", "wo"] {
        std::fs::create_dir_all(fx.root.join(dir)).unwrap();
    }
    std::fs::write(fx.root.join("rw/data"), "granted\n").unwrap();
    // `rw` is readable and writable, `wo` writable only.
    let mut caps = fx.caps(
        allow(&["bash"]),
        FsToml {
            read: vec![fx.p("rw/**")],
            write: vec![fx.p("rw/**"), fx.p("wo/**")],
        },
        1 << 20,
    );
    let (rw, wo) = (fx.p("rw"), fx.p("wo"));
    let script = format!(
        "for d in {rw} {wo}; do cp /usr/bin/cat $d/cat && chmod 755 $d/cat || echo no-copy; \
         $d/cat {rw}/data 2>/dev/null; echo \"direct $?\"; \
         {loader} $d/cat {rw}/data 2>/dev/null; echo \"loader $?\"; \
         {loader} $d/cat /etc/hostname 2>/dev/null; echo \"loader-outside $?\"; done"
    );
    let o = run(&mut caps, sh(&script));
    // Direct exec: no Landlock execute right on a write grant (126). Through
    // the loader: it runs a file it can read (Landlock does not check
    // mmap PROT_EXEC), but inside the same confinement — it reads the grant
    // and not /etc/hostname; a write-only grant it cannot read (127).
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "direct 126\ngranted\nloader 0\nloader-outside 1\n\
         direct 126\nloader 127\nloader-outside 127\n",
        "{o:?}"
    );
}

/// A model writing `/t/**` and reading `/t/in/**` replaces `/t/in` by a
/// symlink to a directory no grant covers: the next program is refused
/// (the swap is named) instead of getting a Landlock rule on the target,
/// and the real directory still works once restored.
#[test]
#[cfg_attr(not(llmagent_landlock), ignore = "needs Landlock")]
fn a_granted_directory_swapped_for_a_symlink_widens_nothing() {
    let fx = Fx::new();
    let other = tempfile::tempdir().unwrap();
    std::fs::write(other.path().join("secret"), "secret").unwrap();
    std::fs::create_dir_all(fx.root.join("t/in")).unwrap();
    std::fs::write(fx.root.join("t/in/a.txt"), "hello").unwrap();
    let mut caps = fx.caps(
        allow(&["bash"]),
        FsToml {
            read: vec![fx.p("t/in/**")],
            write: vec![fx.p("t/**")],
        },
        1 << 20,
    );
    let o = run(&mut caps, sh(&format!("cat {}", fx.p("t/in/a.txt"))));
    assert_eq!((o.exit_code, o.stdout), (Some(0), b"hello".to_vec()));
    // The swap, done through the write grant by a program of the role.
    let swap = format!(
        "mv {in_} {t}/old && ln -s {other} {in_} && echo swapped",
        in_ = fx.p("t/in"),
        t = fx.p("t"),
        other = other.path().display()
    );
    let o = run(&mut caps, sh(&swap));
    assert_eq!(o.stdout, b"swapped\n".to_vec(), "{o:?}");
    let read = format!("cat {}/secret", fx.p("t/in"));
    let e = fail(&mut caps, sh(&read));
    let CapError::Denied(d) = e else {
        panic!("{e:?}")
    };
    assert_eq!(
        (d.capability.as_str(), d.target),
        ("exec", format!("/usr/bin/bash -c \"{read}\""))
    );
    assert_eq!(
        d.hint,
        format!(
            "the grant \"{}\" covers \"{}\", which has been replaced by (or now goes through) a symlink since \
             the policy was loaded; it is not followed. Remove the symlink (a tool may have planted it) and \
             restore the directory, or grant the real path and reload the policy",
            fx.p("t/in/**"),
            fx.p("t/in")
        )
    );
    assert_eq!(fx.decisions().last().map(|d| d.1), Some(false));
    // Restored by the operator: calls work again, and only inside.
    std::fs::remove_file(fx.root.join("t/in")).unwrap();
    std::fs::rename(fx.root.join("t/old"), fx.root.join("t/in")).unwrap();
    let o = run(&mut caps, sh(&format!("cat {}", fx.p("t/in/a.txt"))));
    assert_eq!((o.exit_code, o.stdout), (Some(0), b"hello".to_vec()));
}

/// `policy check` says what Landlock cannot do: a program may write every
/// file of a write grant, the protected ones included; no programs, no
/// warning.
#[test]
fn policy_check_warns_that_programs_write_protected_files_of_a_write_grant() {
    let fx = Fx::new();
    let fs = FsToml {
        read: Vec::new(),
        write: vec!["/home/**".into(), fx.p("**")],
    };
    let mut caps_fs = FsPolicy::compile("default", &fs).unwrap();
    caps_fs.protect(&[fx.root.join("policy.toml")]);
    let exec = ExecPolicy::compile("default", &allow(&["bash"]), 10_000).unwrap();
    assert_eq!(
        exec.landlock_warnings(&caps_fs),
        [
            "warning: programs may write all of /home/** (Landlock cannot exclude files inside a granted tree), \
             including /home/user/.ssh/authorized_keys, /home/user/.bashrc; the fs capability refuses those \
             writes, programs are not stopped"
                .to_owned(),
            format!(
                "warning: programs may write all of {} (Landlock cannot exclude files inside a granted tree), \
                 including {}/policy.toml (llmagent's own); the fs capability refuses those writes, programs \
                 are not stopped",
                fx.p("**"),
                fx.root.display()
            ),
        ]
    );
    let none = ExecPolicy::compile("default", &ExecToml::default(), 10_000).unwrap();
    assert_eq!(none.landlock_warnings(&caps_fs), Vec::<String>::new());
}
