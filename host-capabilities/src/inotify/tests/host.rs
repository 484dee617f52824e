//! `inotify` host functions against real inotify in a temporary directory.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::caps;
use crate::bindings::CapError;
use crate::bindings::inotify::Host;
use crate::inotify::Watches;
use crate::inotify::watches::MAX_BUFFERED;

/// Asserts two values are equal by their `Debug` form (the generated
/// records have no `PartialEq`).
#[track_caller]
fn same<T: std::fmt::Debug>(actual: T, expected: T) {
    assert_eq!(format!("{actual:?}"), format!("{expected:?}"));
}

struct Dir {
    _tmp: tempfile::TempDir,
    root: PathBuf,
}

impl Dir {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        std::fs::create_dir(root.join("watched")).unwrap();
        std::fs::create_dir(root.join("other")).unwrap();
        Self { _tmp: tmp, root }
    }

    fn p(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    fn s(&self, rel: &str) -> String {
        self.p(rel).display().to_string()
    }

    /// `[roles.ops.inotify] paths = ["<root>/watched/**"]`.
    fn grant(&self) -> Vec<String> {
        vec![format!("{}/watched/**", self.root.display())]
    }
}

/// The `(event, path)` pairs of a poll.
fn pairs(caps: &mut crate::Capabilities, id: u64) -> (Vec<(String, String)>, bool) {
    let (events, overflowed) = caps.poll(id, 0).unwrap().unwrap();
    (
        events.into_iter().map(|e| (e.event, e.path)).collect(),
        overflowed,
    )
}

fn ev(event: &str, path: &Path) -> (String, String) {
    (event.to_owned(), path.display().to_string())
}

#[test]
fn create_modify_move_and_delete_are_reported_in_order() {
    let d = Dir::new();
    let watches = Arc::new(Watches::new());
    let (mut caps, sink) = caps(&d.grant(), None, &watches, "agent-a");
    let id = caps
        .watch(
            d.s("watched"),
            vec![
                "create".into(),
                "close_write".into(),
                "moved_from".into(),
                "moved_to".into(),
                "delete".into(),
            ],
            false,
        )
        .unwrap()
        .unwrap();
    assert_eq!(id, 1);
    let (a, b) = (d.p("watched/a.txt"), d.p("watched/b.txt"));
    std::fs::write(&a, "one").unwrap();
    std::fs::rename(&a, &b).unwrap();
    std::fs::remove_file(&b).unwrap();
    assert_eq!(
        pairs(&mut caps, id),
        (
            vec![
                ev("CREATE", &a),
                ev("CLOSE_WRITE,CLOSE", &a),
                ev("MOVED_FROM", &a),
                ev("MOVED_TO", &b),
                ev("DELETE", &b),
            ],
            false
        )
    );
    // Drained: the next poll is empty.
    assert_eq!(pairs(&mut caps, id), (vec![], false));
    assert_eq!(
        sink.seen(),
        vec![
            (
                "watch".into(),
                d.s("watched"),
                true,
                format!(
                    "[roles.ops.inotify].paths \"{}/watched/**\"",
                    d.root.display()
                )
            ),
            (
                "watch".into(),
                d.s("watched"),
                true,
                "[roles.ops.inotify].max_watches is 8".into()
            ),
        ]
    );
}

#[test]
fn without_a_filter_every_event_comes_and_modify_is_seen() {
    let d = Dir::new();
    std::fs::write(d.p("watched/log"), "").unwrap();
    let watches = Arc::new(Watches::new());
    let (mut caps, _sink) = caps(&d.grant(), None, &watches, "a");
    let id = caps
        .watch(d.s("watched/log"), vec![], false)
        .unwrap()
        .unwrap();
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(d.p("watched/log"))
        .unwrap();
    f.write_all(b"line\n").unwrap();
    drop(f);
    let log = d.p("watched/log");
    assert_eq!(
        pairs(&mut caps, id),
        (
            vec![
                ev("OPEN", &log),
                ev("MODIFY", &log),
                ev("CLOSE_WRITE,CLOSE", &log)
            ],
            false
        )
    );
}

#[test]
fn a_recursive_watch_follows_new_directories() {
    let d = Dir::new();
    std::fs::create_dir(d.p("watched/sub")).unwrap();
    let watches = Arc::new(Watches::new());
    let (mut caps, _sink) = caps(&d.grant(), None, &watches, "a");
    let id = caps
        .watch(d.s("watched"), vec!["create".into()], true)
        .unwrap()
        .unwrap();
    std::fs::write(d.p("watched/sub/x"), "").unwrap();
    std::fs::create_dir(d.p("watched/new")).unwrap();
    // The new directory is watched once the host has seen it appear.
    assert_eq!(
        pairs(&mut caps, id),
        (
            vec![
                ev("CREATE", &d.p("watched/sub/x")),
                ev("CREATE,ISDIR", &d.p("watched/new"))
            ],
            false
        )
    );
    std::fs::write(d.p("watched/new/y"), "").unwrap();
    assert_eq!(
        pairs(&mut caps, id),
        (vec![ev("CREATE", &d.p("watched/new/y"))], false)
    );
}

#[test]
fn a_full_buffer_drops_events_and_says_so_once() {
    let d = Dir::new();
    let watches = Arc::new(Watches::new());
    let (mut caps, _sink) = caps(&d.grant(), None, &watches, "a");
    let id = caps
        .watch(d.s("watched"), vec!["create".into()], false)
        .unwrap()
        .unwrap();
    for i in 0..MAX_BUFFERED + 10 {
        std::fs::write(d.p(&format!("watched/f{i}")), "").unwrap();
    }
    let (events, overflowed) = caps.poll(id, 0).unwrap().unwrap();
    assert_eq!((events.len(), overflowed), (MAX_BUFFERED, true));
    same(caps.poll(id, 0).unwrap(), Ok((vec![], false)));
}

#[test]
fn stop_answers_what_was_left_and_the_id_is_gone() {
    let d = Dir::new();
    let watches = Arc::new(Watches::new());
    let (mut caps, _sink) = caps(&d.grant(), None, &watches, "a");
    let id = caps
        .watch(d.s("watched"), vec!["create".into()], false)
        .unwrap()
        .unwrap();
    std::fs::write(d.p("watched/a"), "").unwrap();
    let left: Vec<(String, String)> = caps
        .stop(id)
        .unwrap()
        .unwrap()
        .into_iter()
        .map(|e| (e.event, e.path))
        .collect();
    assert_eq!(left, vec![ev("CREATE", &d.p("watched/a"))]);
    same(
        caps.poll(id, 0).unwrap(),
        Err(CapError::NotFound(format!("No active watch with id {id}"))),
    );
    same(caps.list_watches().unwrap().map(|l| l.len()), Ok(0));
}

#[test]
fn paths_outside_the_grant_and_symlinks_out_are_denied() {
    let d = Dir::new();
    std::os::unix::fs::symlink(d.p("other"), d.p("watched/link")).unwrap();
    let watches = Arc::new(Watches::new());
    let (mut caps, _sink) = caps(&d.grant(), None, &watches, "a");
    for asked in [d.s("other"), d.s("watched/link"), d.s("watched/../other")] {
        let Err(CapError::Denied(denial)) = caps.watch(asked.clone(), vec![], false).unwrap()
        else {
            panic!("{asked} must be denied");
        };
        assert_eq!(
            (
                denial.capability.as_str(),
                denial.target.as_str(),
                denial.hint.as_str()
            ),
            (
                "inotify",
                format!("watch of {}", d.s("other")).as_str(),
                format!(
                    "add \"{}\" (or a glob matching it) to [roles.ops.inotify].paths",
                    d.s("other")
                )
                .as_str()
            )
        );
    }
    same(
        caps.watch(d.s("watched/missing"), vec![], false).unwrap(),
        Err(CapError::NotFound(format!(
            "Path does not exist: {}",
            d.s("watched/missing")
        ))),
    );
    same(
        caps.watch("watched".into(), vec![], false).unwrap(),
        Err(CapError::InvalidArgument(
            "\"watched\" is not an absolute path; give the full path, starting with \"/\"".into(),
        )),
    );
    // A recursive watch does not follow the symlink out.
    let id = caps
        .watch(d.s("watched"), vec!["create".into()], true)
        .unwrap()
        .unwrap();
    std::fs::write(d.p("other/x"), "").unwrap();
    assert_eq!(pairs(&mut caps, id), (vec![], false));
}

#[test]
fn max_watches_bounds_an_agent_and_owners_do_not_see_each_other() {
    let d = Dir::new();
    let watches = Arc::new(Watches::new());
    let (mut a, _) = caps(&d.grant(), Some(2), &watches, "agent-a");
    let (mut b, _) = caps(&d.grant(), Some(2), &watches, "agent-b");
    let first = a.watch(d.s("watched"), vec![], false).unwrap().unwrap();
    a.watch(d.s("watched"), vec![], false).unwrap().unwrap();
    let Err(CapError::Denied(denial)) = a.watch(d.s("watched"), vec![], false).unwrap() else {
        panic!("a third watch must be denied");
    };
    assert_eq!(
        denial.hint,
        "the agent holds 2 watches, the most [roles.ops.inotify].max_watches allows; stop one first, or raise max_watches"
    );
    // Another agent has its own allowance and cannot see or stop a's.
    assert!(b.watch(d.s("watched"), vec![], false).unwrap().is_ok());
    same(
        b.poll(first, 0).unwrap(),
        Err(CapError::NotFound(format!(
            "No active watch with id {first}"
        ))),
    );
    same(
        b.stop(first).unwrap(),
        Err(CapError::NotFound(format!(
            "No active watch with id {first}"
        ))),
    );
    let listed: Vec<u64> = a
        .list_watches()
        .unwrap()
        .unwrap()
        .iter()
        .map(|w| w.watch_id)
        .collect();
    assert_eq!(listed, vec![first, first + 1]);
    // The agent ends: its watches go, b's stay.
    assert_eq!(watches.drop_owner("agent-a").len(), 2);
    assert_eq!((watches.held("agent-a"), watches.held("agent-b")), (0, 1));
}

#[test]
fn no_grant_denies_and_bad_filters_are_invalid() {
    let d = Dir::new();
    let watches = Arc::new(Watches::new());
    let (mut caps, _) = caps(&[], None, &watches, "a");
    assert!(matches!(
        caps.watch(d.s("watched"), vec![], false).unwrap(),
        Err(CapError::Denied(_))
    ));
    let (mut caps, _) = super::caps(&d.grant(), None, &watches, "a");
    assert!(matches!(
        caps.watch(d.s("watched"), vec!["explode".into()], false)
            .unwrap(),
        Err(CapError::InvalidArgument(_))
    ));
}
