//! The host functions on the test's own process and on processes that do
//! not exist or are not the role's to see.

use super::*;
use crate::bindings::proc::{Host, Process};
use crate::bindings::{CapError, Denial};

/// `/proc/self/<file>` as text.
fn own(file: &str) -> String {
    std::fs::read_to_string(format!("/proc/self/{file}")).unwrap()
}

/// The value of `key` in `/proc/self/status`.
fn own_status(key: &str) -> String {
    own("status")
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .unwrap()
        .trim()
        .to_owned()
}

/// A pid no process can have: the kernel hands out pids below `pid_max`.
fn absent_pid() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/pid_max")
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn the_listing_holds_this_process_with_its_parent_name_and_command_line() {
    let (mut caps, sink) = caps(&section(true, None));
    let list = caps.list_processes().unwrap().unwrap();
    let me = std::process::id();
    let line: &Process = list.iter().find(|p| p.pid == me).unwrap();
    let ppid = rustix::process::getppid().map_or(0, |p| p.as_raw_nonzero().get() as u32);
    assert_eq!(line.ppid, ppid);
    assert_eq!(line.name, own("comm").trim_end());
    assert_eq!(line.cmdline, std::env::args().collect::<Vec<_>>().join(" "));
    assert_eq!(
        line.user,
        super::super::users::Users::load().name(rustix::process::getuid().as_raw())
    );
    assert!(line.rss_bytes > 0 && line.mem_percent > 0.0, "{line:?}");
    assert!(line.cpu_percent >= 0.0, "{line:?}");
    assert!(list.windows(2).all(|w| w[0].pid < w[1].pid), "pid order");
    assert_eq!(
        sink.seen(),
        [(
            "list".into(),
            String::new(),
            true,
            "[roles.ops.proc].list = true".into()
        )]
    );
}

#[test]
fn info_of_this_process_has_its_status_cwd_and_exe() {
    let (mut caps, sink) = caps(&section(false, Some("own")));
    let me = std::process::id();
    let state_before = own_status("State");
    let info = caps.info(me).unwrap().unwrap();
    let state_after = own_status("State");
    let get = |k: &str| {
        info.status
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(info.pid, me);
    assert_eq!(get("name"), own_status("Name"));
    assert_eq!(get("pid"), me.to_string());
    let state = get("state");
    assert!(state == state_before || state == state_after, "{state}");
    assert_eq!(info.cmdline, Some(std::env::args().collect()));
    let cwd = std::env::current_dir().unwrap().display().to_string();
    let exe = std::env::current_exe().unwrap().display().to_string();
    assert_eq!((info.cwd, info.exe), (Some(cwd), Some(exe)));
    assert_eq!(
        sink.seen(),
        [(
            "info".into(),
            me.to_string(),
            true,
            "[roles.ops.proc].info = \"own\"".into()
        )]
    );
}

#[test]
fn info_of_a_missing_process_is_not_found() {
    let (mut caps, _) = caps(&section(false, Some("all")));
    let pid = absent_pid();
    for pid in [pid, 0, u32::MAX] {
        match caps.info(pid).unwrap() {
            Err(CapError::NotFound(m)) => assert_eq!(m, format!("Process {pid} not found")),
            other => panic!("{pid}: {other:?}"),
        }
    }
}

#[test]
fn listing_is_denied_without_list_and_the_denial_names_the_key() {
    let (mut caps, sink) = caps(&section(false, Some("all")));
    let hint = "set list = true in [roles.ops.proc]".to_owned();
    match caps.list_processes().unwrap() {
        Err(CapError::Denied(Denial {
            capability,
            target,
            hint: h,
        })) => assert_eq!(
            (capability.as_str(), target.as_str(), &h),
            ("proc", "the process list", &hint)
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(sink.seen(), [("list".into(), String::new(), false, hint)]);
}

#[test]
fn without_an_info_scope_even_a_missing_pid_is_denied() {
    let (mut caps, sink) = caps(&section(true, None));
    let pid = absent_pid();
    assert!(matches!(caps.info(pid).unwrap(), Err(CapError::Denied(_))));
    assert!(matches!(
        caps.info(std::process::id()).unwrap(),
        Err(CapError::Denied(_))
    ));
    assert_eq!(sink.seen().len(), 2);
    assert!(
        sink.seen()
            .iter()
            .all(|(op, _, allowed, _)| op == "info" && !allowed)
    );
}

/// A process owned by a uid other than ours, killed on drop: as root, a
/// `sleep` started as `nobody`; else pid 1 (root's).
struct Foreign(Option<std::process::Child>, u32);

impl Foreign {
    fn new() -> Self {
        if !rustix::process::geteuid().is_root() {
            return Self(None, 1);
        }
        let child = std::os::unix::process::CommandExt::uid(
            &mut std::process::Command::new("sleep"),
            65534,
        )
        .arg("60")
        .spawn()
        .unwrap();
        let pid = child.id();
        Self(Some(child), pid)
    }
}

impl Drop for Foreign {
    fn drop(&mut self) {
        if let Some(c) = &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[test]
fn info_own_refuses_a_process_of_another_uid() {
    let foreign = Foreign::new();
    let pid = foreign.1;
    let (mut own_caps, sink) = caps(&section(false, Some("own")));
    match own_caps.info(pid).unwrap() {
        Err(CapError::Denied(d)) => {
            assert_eq!(d.target, format!("process {pid}"));
            assert!(
                d.hint.contains("set info = \"all\" in [roles.ops.proc]"),
                "{}",
                d.hint
            );
        }
        other => panic!("not denied: {other:?}"),
    }
    let seen = sink.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        (seen[0].0.as_str(), seen[0].1.as_str(), seen[0].2),
        ("info", pid.to_string().as_str(), false)
    );
    let (mut all_caps, _) = caps(&section(false, Some("all")));
    assert!(all_caps.info(pid).unwrap().is_ok());
}
