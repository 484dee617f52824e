//! A call's whole process tree dies with the call: at the deadline, when
//! the program exits leaving processes behind, and when llmagent itself is
//! killed; whatever the processes did to leave the process group
//! (`setsid`, `set -m`, double forks). Checked against the real kernel by
//! looking for the processes in `/proc`.

use std::process::Stdio;
use std::time::{Duration, Instant};

use super::*;
use crate::exec::tree::{self, Mode};

/// Environment variable that makes a helper test run its scenario (the
/// helpers are `#[ignore]`d otherwise).
const HELPER: &str = "LLMAGENT_EXEC_TREE_HELPER";

/// A `sleep` argument no other test uses: `300.<pid><n>`.
fn unique(n: u32) -> String {
    format!("300.{}{n}", std::process::id())
}

/// Live processes whose command line is `sleep <arg>`.
fn sleeping(arg: &str) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|p| p.parse().ok()) else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        if args.first().is_some_and(|a| a.ends_with(b"sleep"))
            && args.get(1) == Some(&arg.as_bytes())
        {
            found.push(pid);
        }
    }
    found
}

/// Waits up to `limit` for `check` to hold.
fn eventually(limit: Duration, check: impl Fn() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    check()
}

/// A script leaving three escapees (a new session, a job-control process
/// group, a double fork), then `tail`.
fn escapees(args: &[String; 3], tail: &str) -> String {
    format!(
        "setsid sleep {} & set -m; sleep {} & set +m; (sleep {} &); {tail}",
        args[0], args[1], args[2]
    )
}

fn assert_none_left(args: &[String; 3]) {
    for a in args {
        assert!(
            eventually(Duration::from_millis(500), || sleeping(a).is_empty()),
            "sleep {a} survived the call: {:?}",
            sleeping(a)
        );
    }
}

/// Runs both scenarios (timeout, normal exit) under this process's mode.
fn escapees_die(first: u32) {
    let fx = Fx::new();
    let mut caps = fx.bash();
    let args = [unique(first), unique(first + 1), unique(first + 2)];
    let mut c = sh(&escapees(&args, "sleep 100"));
    c.timeout_ms = Some(500);
    let start = Instant::now();
    let o = run(&mut caps, c);
    assert!(o.timed_out, "{o:?}");
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    assert_none_left(&args);
    let args = [unique(first + 3), unique(first + 4), unique(first + 5)];
    // The program exits at once; what it left behind must not outlive it.
    let o = run(&mut caps, sh(&escapees(&args, "sleep 0.2; echo done")));
    assert_eq!((o.exit_code, o.stdout), (Some(0), b"done\n".to_vec()));
    assert_none_left(&args);
}

#[test]
fn setsid_job_control_and_double_forks_die_at_the_timeout_and_at_exit() {
    escapees_die(10);
}

/// Runs this test binary's helper test `name` with [`HELPER`] set.
fn helper(name: &str) -> std::process::Child {
    helper_under(&[], name)
}

/// [`helper`], started through the command `wrapper` (empty: directly).
fn helper_under(wrapper: &[&str], name: &str) -> std::process::Child {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = match wrapper.split_first() {
        Some((program, rest)) => {
            let mut c = std::process::Command::new(program);
            c.args(rest).arg(exe);
            c
        }
        None => std::process::Command::new(exe),
    };
    cmd.args([
        "--exact",
        &format!("exec::tests::tree::{name}"),
        "--ignored",
        "--nocapture",
    ])
    .env(HELPER, "1")
    .env(
        "LLMAGENT_TEST_SUBREAPER",
        if name.contains("subreaper") { "1" } else { "" },
    )
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap()
}

#[test]
fn the_subreaper_fallback_also_kills_escapees() {
    // In a process of its own: becoming a subreaper is process-wide.
    let out = helper("subreaper_helper").wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A process whose session leader is outside its PID namespace (a CI
/// runner's child, a container's init that never called setsid) sees
/// session id 0; the fallback must still find and kill the escapees
/// rather than panic.
#[test]
#[cfg_attr(not(llmagent_root), ignore = "needs root (unshare --pid)")]
fn the_subreaper_fallback_works_where_the_session_id_is_0() {
    const UNSHARE: [&str; 4] = ["unshare", "--pid", "--fork", "--mount-proc"];
    let stat = std::process::Command::new(UNSHARE[0])
        .args(&UNSHARE[1..])
        .args(["cat", "/proc/self/stat"])
        .output()
        .unwrap();
    let stat = String::from_utf8_lossy(&stat.stdout).into_owned();
    let session = stat.rsplit_once(") ").map(|(_, f)| f.split(' ').nth(3));
    assert_eq!(session, Some(Some("0")), "the premise: {stat}");
    let out = helper_under(&UNSHARE, "subreaper_helper")
        .wait_with_output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
#[ignore = "helper process of the_subreaper_fallback_also_kills_escapees"]
fn subreaper_helper() {
    if std::env::var(HELPER).as_deref() != Ok("1") {
        // Run by hand (`--ignored`): it is a helper, not a test.
        return;
    }
    assert!(
        matches!(tree::mode(), Mode::Subreaper(_)),
        "{:?}",
        tree::mode()
    );
    escapees_die(20);
}

/// In the subreaper fallback only the program itself dies with llmagent
/// (`PR_SET_PDEATHSIG`); the whole tree needs the cgroup mode.
#[test]
#[cfg_attr(not(llmagent_cgroup), ignore = "needs a writable cgroup v2 (root)")]
fn the_tree_dies_when_the_runtime_is_killed() {
    let bases = match tree::mode() {
        Mode::Cgroup(b) => b.dirs(),
        Mode::Subreaper(why) => panic!("cgroup v2 is here, yet the runtime falls back: {why}"),
    };
    let mut runtime = helper("killed_runtime_helper");
    // The helper's cgroups sit beside ours, named after its pid.
    let theirs: Vec<std::path::PathBuf> = bases
        .iter()
        .map(|b| b.with_file_name(format!("llmagent-{}", runtime.id())))
        .collect();
    // The helper's program is bash; its child sleeps.
    let (child, grandchild) = (unique(30), unique(31));
    let started = eventually(Duration::from_secs(30), || {
        !sleeping(&child).is_empty() && !sleeping(&grandchild).is_empty()
    });
    let existed: Vec<bool> = theirs.iter().map(|d| d.exists()).collect();
    let _ = runtime.kill();
    let out = runtime.wait_with_output().unwrap();
    assert_eq!(existed, vec![true; theirs.len()], "{theirs:?}");
    assert!(
        started,
        "the helper did not start its tree: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for a in [&child, &grandchild] {
        assert!(
            eventually(Duration::from_secs(2), || sleeping(a).is_empty()),
            "sleep {a} outlived the killed runtime"
        );
    }
    // The sentinel removed the killed runtime's cgroups.
    for dir in &theirs {
        assert!(
            eventually(Duration::from_secs(3), || !dir.exists()),
            "{} is left behind",
            dir.display()
        );
    }
}

#[test]
#[ignore = "helper process of the_tree_dies_when_the_runtime_is_killed"]
fn killed_runtime_helper() {
    if std::env::var(HELPER).as_deref() != Ok("1") {
        // Run by hand (`--ignored`): it is a helper, not a test.
        return;
    }
    // The pids the parent test looks for: its own pid, not ours.
    let parent = rustix::process::getppid().map_or(0, |p| p.as_raw_nonzero().get());
    let arg = |n: u32| format!("300.{parent}{n}");
    let fx = Fx::new();
    // `exec sleep` keeps bash's pid for the program; the first sleep is
    // the program's child, started with a new session for good measure.
    let o = run(
        &mut fx.bash(),
        sh(&format!(
            "setsid sleep {} & sleep {}; wait",
            arg(30),
            arg(31)
        )),
    );
    panic!("the helper's call returned before it was killed: {o:?}");
}

#[test]
#[cfg_attr(
    not(all(llmagent_cgroup, llmagent_python3)),
    ignore = "needs a writable cgroup v2 with pids (root) and python3"
)]
fn a_fork_bomb_stops_at_max_processes_even_as_root() {
    let limited = matches!(tree::mode(), Mode::Cgroup(b) if b.limits_processes());
    assert!(
        limited,
        "cgroup v2 with pids is here, yet: {}",
        tree::mode().describe()
    );
    let fx = Fx::new();
    let mut raw = allow(&["python3"]);
    raw.max_processes = Some(10);
    let mut caps = fx.caps(raw, FsToml::default(), 1 << 20);
    // Forks until the kernel refuses; every child sleeps.
    let script = "import os, time\n\
        n = 0\n\
        while True:\n\
        \x20 try:\n\
        \x20   pid = os.fork()\n\
        \x20 except OSError as e:\n\
        \x20   print(n, e.errno, flush=True)\n\
        \x20   break\n\
        \x20 if pid == 0:\n\
        \x20   time.sleep(300)\n\
        \x20   os._exit(0)\n\
        \x20 n += 1\n";
    let o = run(&mut caps, cmd("python3", &["-c", script]));
    // The program itself is one of the 10.
    assert_eq!(
        (String::from_utf8_lossy(&o.stdout).into_owned(), o.exit_code),
        (format!("9 {}\n", libc::EAGAIN), Some(0)),
        "{o:?}"
    );
}
