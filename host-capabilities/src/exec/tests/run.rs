//! Running programs: decisions, the environment, timeouts, caps and
//! resource limits.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::*;
use crate::bindings::Denial;
use crate::exec::confine::Protection;

/// The protection the allow rule reports on this kernel.
fn protection() -> String {
    let mode = crate::exec::tree::mode();
    let weak = if mode.is_weak() {
        format!("; {}", mode.describe())
    } else {
        String::new()
    };
    let landlock = super::super::kernel_abi()
        .map_or(Protection::None, Protection::Landlock)
        .describe();
    format!("{landlock}{weak}")
}

/// A hostile host environment, set once for this test binary: a secret,
/// and a `PATH` whose first directory holds a fake `bash`.
fn hostile_host_env() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        let fake = dir.join("bash");
        std::fs::write(&fake, "#!/bin/sh\necho FAKE\n").unwrap();
        std::process::Command::new("chmod")
            .arg("755")
            .arg(&fake)
            .status()
            .unwrap();
        let path = format!(
            "{}:{}",
            dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        set_env("PATH", &path);
        set_env("SECRET_TOKEN", "hunter2");
    });
}

#[allow(unsafe_code)]
fn set_env(key: &str, value: &str) {
    // SAFETY: test-only; called once under a `OnceLock` before the exec
    // tests read anything, and nothing in this crate reads the host
    // environment through libc concurrently.
    unsafe { std::env::set_var(key, value) }
}

#[test]
fn an_allowed_program_runs_with_its_output_and_exit_status() {
    let fx = Fx::new();
    let o = run(&mut fx.bash(), sh("echo hi; echo oops >&2; exit 3"));
    assert_eq!(
        (
            o.exit_code,
            o.signal,
            o.stdout,
            o.stderr,
            o.stdout_truncated,
            o.stderr_truncated,
            o.timed_out
        ),
        (
            Some(3),
            None,
            b"hi\n".to_vec(),
            b"oops\n".to_vec(),
            false,
            false,
            false
        )
    );
    let bash = which("bash");
    assert_eq!(
        fx.decisions(),
        vec![(
            format!("{bash} -c \"echo hi; echo oops >&2; exit 3\""),
            true,
            format!("[roles.default.exec].allow \"bash\" ({})", protection())
        )]
    );
}

#[test]
fn a_program_not_in_allow_is_denied_naming_the_key() {
    let fx = Fx::new();
    let e = fail(&mut fx.bash(), cmd("true", &[]));
    let t = which("true");
    let want = CapError::Denied(Denial {
        capability: "exec".into(),
        target: t.clone(),
        hint: format!("add \"{t}\" to [roles.default.exec].allow"),
    });
    assert_eq!(format!("{e:?}"), format!("{want:?}"));
    assert_eq!(
        fx.decisions(),
        vec![(
            t.clone(),
            false,
            format!("add \"{t}\" to [roles.default.exec].allow")
        )]
    );
}

#[test]
fn a_symlink_named_like_an_allowed_program_is_refused() {
    let fx = Fx::new();
    let link = fx.root.join("bash");
    std::os::unix::fs::symlink(which("true"), &link).unwrap();
    let e = fail(&mut fx.bash(), cmd(&link.display().to_string(), &[]));
    assert!(
        matches!(&e, CapError::Denied(d) if d.target == which("true")),
        "{e:?}"
    );
}

#[test]
fn path_manipulation_is_irrelevant_and_host_secrets_do_not_reach_the_child() {
    hostile_host_env();
    let fx = Fx::new();
    let fake_dir = fx.root.join("bin");
    std::fs::create_dir(&fake_dir).unwrap();
    let mut raw = allow(&["bash"]);
    raw.env = vec!["PATH".into()];
    let mut caps = fx.caps(raw, FsToml::default(), 1 << 20);
    let mut c = sh("printenv SECRET_TOKEN; echo \"secret:$?\"; compgen -e");
    c.env = vec![("PATH".into(), fake_dir.display().to_string())];
    let o = run(&mut caps, c);
    let out = String::from_utf8_lossy(&o.stdout);
    // The real bash ran (not the fake on the host's PATH), printenv was
    // not found on the tool's PATH, and the child's environment is
    // exactly what was passed plus what bash itself sets.
    assert_eq!(o.exit_code, Some(0), "{out}");
    assert!(out.starts_with("secret:127\n"), "{out}");
    let vars: Vec<&str> = out
        .lines()
        .skip(1)
        .map(|l| l.split('=').next().unwrap_or(""))
        .collect();
    assert_eq!(vars, vec!["PATH", "PWD", "SHLVL"], "{out}");
    // Without the tool's PATH, the safe PATH: printenv is found, the
    // secret is not there.
    let o = run(
        &mut caps,
        sh("printenv SECRET_TOKEN; echo \"secret:$? $PATH\""),
    );
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        format!("secret:1 {}\n", crate::exec::SAFE_PATH)
    );
}

#[test]
fn a_variable_not_in_env_is_denied_naming_the_key() {
    let fx = Fx::new();
    let mut c = sh("true");
    c.env = vec![("LD_PRELOAD".into(), "/tmp/x.so".into())];
    let e = fail(&mut fx.bash(), c);
    assert!(
        matches!(&e, CapError::Denied(d) if d.hint == "add \"LD_PRELOAD\" to [roles.default.exec].env"),
        "{e:?}"
    );
}

#[test]
fn stdin_is_fed_when_given_and_closed_otherwise() {
    let fx = Fx::new();
    let mut caps = fx.bash();
    let mut c = sh("cat; echo .");
    c.stdin = Some(b"abc".to_vec());
    assert_eq!(run(&mut caps, c).stdout, b"abc.\n".to_vec());
    assert_eq!(run(&mut caps, sh("cat; echo .")).stdout, b".\n".to_vec());
}

#[test]
fn cwd_must_be_allowed() {
    let fx = Fx::new();
    let mut raw = allow(&["bash"]);
    raw.cwd = vec![fx.p("ok/**")];
    std::fs::create_dir_all(fx.root.join("ok/sub")).unwrap();
    let mut caps = fx.caps(raw, FsToml::default(), 1 << 20);
    let mut c = sh("pwd");
    c.cwd = Some(fx.p("ok/sub"));
    assert_eq!(
        run(&mut caps, c).stdout,
        format!("{}\n", fx.p("ok/sub")).into_bytes()
    );
    let mut c = sh("pwd");
    c.cwd = Some(fx.root.display().to_string());
    let e = fail(&mut caps, c);
    assert!(
        matches!(&e, CapError::Denied(d) if d.hint.ends_with("to [roles.default.exec].cwd")),
        "{e:?}"
    );
    assert_eq!(run(&mut caps, sh("pwd")).stdout, b"/\n".to_vec());
}

/// Processes of session `sid` that are still running (zombies excluded:
/// they are dead and only wait for init to reap them).
fn live_in_session(sid: u32) -> Vec<String> {
    let mut live = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let Some(after) = stat.rsplit_once(") ").map(|(_, a)| a.to_owned()) else {
            continue;
        };
        let f: Vec<&str> = after.split(' ').collect();
        // After the command: state, ppid, pgrp, session.
        if f.get(3).and_then(|s| s.parse::<u32>().ok()) == Some(sid) && f.first() != Some(&"Z") {
            live.push(stat);
        }
    }
    live
}

#[test]
fn the_timeout_kills_the_whole_tree() {
    let fx = Fx::new();
    let mut c = sh("echo $$; sleep 100 & sleep 100");
    c.timeout_ms = Some(300);
    let start = Instant::now();
    let o = run(&mut fx.bash(), c);
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    assert_eq!((o.timed_out, o.exit_code, o.signal), (true, None, Some(9)));
    let sid: u32 = String::from_utf8_lossy(&o.stdout).trim().parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(2);
    while !live_in_session(sid).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(live_in_session(sid), Vec::<String>::new());
}

#[test]
fn background_processes_do_not_hold_the_call_and_are_killed() {
    let fx = Fx::new();
    let start = Instant::now();
    let o = run(&mut fx.bash(), sh("echo $$; sleep 100 &"));
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    assert_eq!((o.timed_out, o.exit_code), (false, Some(0)));
    let sid: u32 = String::from_utf8_lossy(&o.stdout).trim().parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(2);
    while !live_in_session(sid).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(live_in_session(sid), Vec::<String>::new());
}

#[test]
fn each_stream_is_cut_at_half_the_output_cap_with_a_flag() {
    let fx = Fx::new();
    let mut caps = fx.caps(allow(&["bash"]), FsToml::default(), 2048);
    let o = run(&mut caps, sh("yes | head -c 5000; echo -n e >&2"));
    assert_eq!(
        (
            o.stdout.len(),
            o.stdout_truncated,
            o.stderr,
            o.stderr_truncated,
            o.exit_code
        ),
        (1024, true, b"e".to_vec(), false, Some(0))
    );
}

#[test]
fn resource_limits_stop_the_program() {
    let fx = Fx::new();
    let mut raw = allow(&["bash"]);
    raw.file_size_mib = Some(1);
    raw.cpu_seconds = Some(1);
    let tree = vec![fx.p("**")];
    let mut caps = fx.caps(
        raw,
        FsToml {
            read: tree.clone(),
            write: tree,
        },
        1 << 20,
    );
    // head is killed by SIGXFSZ (25) when the file passes 1 MiB.
    let o = run(
        &mut caps,
        sh(&format!("yes | head -c 2000000 > {}; echo $?", fx.p("big"))),
    );
    assert_eq!(o.stdout, b"153\n".to_vec());
    assert_eq!(
        std::fs::metadata(fx.root.join("big")).unwrap().len(),
        1 << 20
    );
    // A busy loop is killed by SIGXCPU (24) after one second of CPU.
    let o = run(&mut caps, sh("while :; do :; done"));
    assert_eq!(
        (o.exit_code, o.signal, o.timed_out),
        (None, Some(24), false)
    );
}
