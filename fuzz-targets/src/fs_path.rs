//! A path a tool chose, against a fixed tree in a temporary directory with
//! grants on part of it: `read`, `stat` and `list-dir` through the `fs`
//! host functions. Oracles: no trap; every path the host allowed is inside
//! a grant; nothing read or listed comes from outside the grants.
//!
//! ```text
//! ROOT/allowed/          read "ROOT/allowed/**"
//!     a.txt  sub/b.txt  sub/deeper/c.txt
//!     link_in -> a.txt        dir_link -> sub       loop -> loop
//!     link_up -> ..           link_out -> ../outside/secret
//!     abs_out -> ROOT/outside  proc_root -> /proc/self/root
//! ROOT/ro/               read "ROOT/ro/*.txt"
//!     x.txt  y.log  z.txt -> ../outside/secret
//! ROOT/outside/          not granted
//!     secret  inner/deep  back -> ../allowed/a.txt
//! ```
//!
//! Files inside the grants hold `ok`; every other file holds `SECRET`.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use host_capabilities::fs::{FsPolicy, FsToml};
use host_capabilities::fuzzing::{FsAnswer, FsOp, fs};
use host_capabilities::{Capabilities, Decision, Grants, Sink, Verdict};

/// Names that only a listing outside the grants shows.
const OUTSIDE_NAMES: &[&str] = &[
    "secret", "inner", "deep", "back", "y.log", "x.txt", "allowed", "outside", "ro",
];

struct Tree {
    _dir: tempfile::TempDir,
    root: PathBuf,
    policy: Arc<Grants>,
}

fn tree() -> &'static Tree {
    static TREE: OnceLock<Tree> = OnceLock::new();
    TREE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let root = std::fs::canonicalize(dir.path()).expect("its real path");
        let r = |rel: &str| root.join(rel);
        for d in ["allowed/sub/deeper", "ro", "outside/inner"] {
            std::fs::create_dir_all(r(d)).expect("mkdir");
        }
        for f in [
            "allowed/a.txt",
            "allowed/sub/b.txt",
            "allowed/sub/deeper/c.txt",
            "ro/x.txt",
        ] {
            std::fs::write(r(f), "ok").expect("write");
        }
        for f in ["ro/y.log", "outside/secret", "outside/inner/deep"] {
            std::fs::write(r(f), "SECRET").expect("write");
        }
        let links: &[(&str, PathBuf)] = &[
            ("allowed/link_in", "a.txt".into()),
            ("allowed/dir_link", "sub".into()),
            ("allowed/loop", "loop".into()),
            ("allowed/link_up", "..".into()),
            ("allowed/link_out", "../outside/secret".into()),
            ("allowed/abs_out", r("outside")),
            ("allowed/proc_root", "/proc/self/root".into()),
            ("ro/z.txt", "../outside/secret".into()),
            ("outside/back", "../allowed/a.txt".into()),
        ];
        for (link, target) in links {
            symlink(target, r(link)).expect("symlink");
        }
        let raw = FsToml {
            read: vec![
                format!("{}/allowed/**", root.display()),
                format!("{}/ro/*.txt", root.display()),
            ],
            write: Vec::new(),
        };
        let mut grants = Grants::none("fuzz");
        grants.fs = FsPolicy::compile("fuzz", &raw).expect("the fuzz policy compiles");
        Tree {
            _dir: dir,
            root,
            policy: Arc::new(grants),
        }
    })
}

/// Whether a real path is inside one of the tree's grants.
fn granted(root: &Path, target: &str) -> bool {
    let Ok(rest) = Path::new(target).strip_prefix(root) else {
        return false;
    };
    let rest = rest.to_string_lossy();
    rest == "allowed"
        || rest.starts_with("allowed/")
        || rest
            .strip_prefix("ro/")
            .is_some_and(|name| !name.contains('/') && name.ends_with(".txt"))
}

/// The paths the host allowed.
#[derive(Default)]
struct Allowed(Mutex<Vec<String>>);

impl Sink for Allowed {
    fn decision(&self, decision: &Decision<'_>) -> Result<(), host_capabilities::Unrecorded> {
        if decision.ruling.verdict() == Verdict::Allow {
            self.0
                .lock()
                .expect("not poisoned")
                .push(decision.target.to_owned());
        }
        Ok(())
    }
}

/// Runs the target on one input (not UTF-8: nothing to do, as
/// cargo-fuzz's `&str` targets skip it).
pub fn run(data: &[u8]) {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let tree = tree();
    // Absolute paths as they come; anything else beneath the tree's root.
    let path = if input.starts_with('/') {
        input.to_owned()
    } else {
        format!("{}/{input}", tree.root.display())
    };
    for op in [FsOp::Read, FsOp::Stat, FsOp::List] {
        let sink = Arc::new(Allowed::default());
        let mut caps = Capabilities::new(tree.policy.clone(), sink.clone());
        let answer = fs(&mut caps, op, &path)
            .unwrap_or_else(|trap| panic!("{op:?} {path:?} trapped: {trap}"));
        for target in sink.0.lock().expect("not poisoned").iter() {
            assert!(
                granted(&tree.root, target),
                "{op:?} {path:?} allowed {target:?}, outside every grant"
            );
        }
        match answer {
            Ok(FsAnswer::Read(bytes)) => {
                assert!(
                    !bytes.windows(6).any(|w| w == b"SECRET"),
                    "{path:?} read a file outside the grants"
                );
            }
            Ok(FsAnswer::List(names)) => {
                for name in &names {
                    assert!(
                        !OUTSIDE_NAMES.contains(&name.as_str()),
                        "{path:?} listed {name:?} from outside the grants"
                    );
                }
            }
            Ok(FsAnswer::Stat(_)) | Err(_) => {}
        }
    }
}
