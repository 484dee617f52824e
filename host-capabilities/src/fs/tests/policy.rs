//! The pure policy: compiling globs and deciding on real paths.

use std::path::{Path, PathBuf};

use crate::Ruling;
use crate::error::CompileError;
use crate::fs::policy::{Access, FsPolicy, FsToml};

fn policy(read: &[&str], write: &[&str]) -> FsPolicy {
    let raw = FsToml {
        read: read.iter().map(|s| (*s).to_owned()).collect(),
        write: write.iter().map(|s| (*s).to_owned()).collect(),
    };
    FsPolicy::compile("ops", &raw).expect("policy compiles")
}

fn compile_err(read: &[&str]) -> CompileError {
    let raw = FsToml {
        read: read.iter().map(|s| (*s).to_owned()).collect(),
        write: Vec::new(),
    };
    FsPolicy::compile("ops", &raw).expect_err("policy must not compile")
}

/// The glob that allows `path`, if any (the rule ends with it, quoted).
fn allowed(p: &FsPolicy, access: Access, path: &str) -> Option<String> {
    p.decide(access, Path::new(path)).rule().and_then(|rule| {
        rule.rsplit_once(" \"")
            .map(|(_, g)| g.trim_end_matches('"').to_owned())
    })
}

#[test]
fn bases() {
    let p = policy(
        &[
            "/nonexistent-x/log/**",
            "/nonexistent-x/*.log",
            "/nonexistent-x/a.conf",
            "/",
            "/**",
        ],
        &[],
    );
    let bases: Vec<_> = p
        .grants(Access::Read)
        .iter()
        .map(|g| g.base().to_owned())
        .collect();
    let want: Vec<PathBuf> = [
        "/nonexistent-x/log",
        "/nonexistent-x",
        "/nonexistent-x",
        "/",
        "/",
    ]
    .iter()
    .map(PathBuf::from)
    .collect();
    assert_eq!(bases, want);
}

#[test]
fn decide_matrix() {
    let p = policy(
        &[
            "/nonexistent-x/log/**",
            "/nonexistent-y/*.log",
            "/nonexistent-z/a.conf",
        ],
        &["/nonexistent-w/**"],
    );
    let cases: &[(Access, &str, Option<&str>)] = &[
        (
            Access::Read,
            "/nonexistent-x/log/a",
            Some("/nonexistent-x/log/**"),
        ),
        (
            Access::Read,
            "/nonexistent-x/log/a/b/c",
            Some("/nonexistent-x/log/**"),
        ),
        (
            Access::Read,
            "/nonexistent-x/log",
            Some("/nonexistent-x/log/**"),
        ),
        (Access::Read, "/nonexistent-x/logs", None),
        (
            Access::Read,
            "/nonexistent-y/a.log",
            Some("/nonexistent-y/*.log"),
        ),
        (Access::Read, "/nonexistent-y/sub/a.log", None),
        (Access::Read, "/nonexistent-y/a.txt", None),
        (
            Access::Read,
            "/nonexistent-z/a.conf",
            Some("/nonexistent-z/a.conf"),
        ),
        (Access::Read, "/nonexistent-z/b.conf", None),
        (Access::Read, "/nonexistent-w/a", None),
        (Access::Write, "/nonexistent-w/a", Some("/nonexistent-w/**")),
        (Access::Write, "/nonexistent-w", None),
        (Access::Write, "/nonexistent-x/log/a", None),
    ];
    for (access, path, want) in cases {
        assert_eq!(
            allowed(&p, *access, path).as_deref(),
            *want,
            "{access:?} {path}"
        );
    }
}

#[test]
fn hint_names_the_key() {
    let p = policy(&[], &[]);
    assert_eq!(
        p.decide(Access::Read, Path::new("/etc/shadow")),
        Ruling::deny("add \"/etc/shadow\" (or a glob matching it) to [roles.ops.fs].read")
    );
}

#[test]
fn canonical_base_matches_both_forms() {
    let dir = tempfile::tempdir().expect("fixture");
    let real = dir.path().join("real");
    let link = dir.path().join("link");
    std::fs::create_dir(&real).expect("fixture");
    std::os::unix::fs::symlink(&real, &link).expect("fixture");
    let real = std::fs::canonicalize(&real).expect("fixture");
    let glob = format!("{}/*.log", link.display());
    let p = policy(&[&glob], &[]);
    assert_eq!(
        allowed(&p, Access::Read, &format!("{}/a.log", real.display())),
        Some(glob.clone())
    );
    assert_eq!(
        allowed(&p, Access::Read, &format!("{}/a.log", link.display())),
        Some(glob.clone())
    );
    assert_eq!(
        allowed(&p, Access::Read, &format!("{}/a.txt", real.display())),
        None
    );
    assert_eq!(
        p.summary(),
        vec![format!(
            "read {glob} ({} resolves to {})",
            link.display(),
            real.display()
        )]
    );
}

#[test]
fn summary_lines() {
    let p = policy(&["/nonexistent-x/**"], &["/nonexistent-y/*.txt"]);
    assert_eq!(
        p.summary(),
        vec![
            "read /nonexistent-x/**".to_owned(),
            "write /nonexistent-y/*.txt".to_owned()
        ]
    );
    assert_eq!(FsPolicy::deny_all("ops").summary(), Vec::<String>::new());
}

#[test]
fn compile_errors() {
    assert_eq!(
        compile_err(&["/ok/**", "var/log/**"]),
        CompileError::new(
            "read[1]",
            "\"var/log/**\" is not an absolute path; fs globs match absolute paths, so start it with \"/\" (e.g. \"/var/log/**\")"
        )
    );
    assert_eq!(
        compile_err(&["/var/log/../../etc/**"]),
        CompileError::new(
            "read[0]",
            "\"/var/log/../../etc/**\" contains a \"..\" component; write the directory it means instead"
        )
    );
    assert_eq!(
        compile_err(&["/var/log/"]),
        CompileError::new(
            "read[0]",
            "\"/var/log/\" contains an empty or \".\" component (\"//\", \"/./\" or a trailing \"/\"); \
             remove it (for everything under a directory write \"<dir>/**\")"
        )
    );
    assert_eq!(
        compile_err(&["/var/[log"]),
        CompileError::new(
            "read[0]",
            "\"/var/[log\" is not a valid glob: unclosed character class; missing ']'"
        )
    );
    let raw = FsToml {
        read: Vec::new(),
        write: vec!["/tmp/**".into(), "tmp".into()],
    };
    assert_eq!(
        FsPolicy::compile("ops", &raw).err().map(|e| e.key),
        Some("write[1]".to_owned())
    );
}

/// A write glob that happens to cover a file privileged processes trust
/// (sudoers, cron, systemd units, authorized_keys …) does not allow
/// writing it; an entry naming that file exactly does. Reads are not
/// affected, and `policy check` warns about the covering glob.
#[test]
fn files_privileged_processes_trust_are_written_only_through_an_exact_grant() {
    let broad = policy(&["/etc/**"], &["/etc/**", "/home/**", "/root/work/**"]);
    for path in [
        "/etc/sudoers",
        "/etc/sudoers.d/agent",
        "/etc/cron.d/job",
        "/etc/systemd/system/evil.service",
        "/etc/ld.so.preload",
        "/home/alice/.ssh/authorized_keys",
        "/home/alice/.bashrc",
    ] {
        let ruling = broad.decide(Access::Write, Path::new(path));
        assert_eq!(
            ruling,
            Ruling::deny(format!(
                "\"{path}\" is a file privileged processes execute or trust; only an entry naming it exactly (no wildcard) in [roles.ops.fs].write allows writing it"
            )),
            "{path}"
        );
        assert_eq!(
            allowed(&broad, Access::Read, path),
            Some("/etc/**".to_owned()).filter(|_| path.starts_with("/etc"))
        );
    }
    assert_eq!(
        allowed(&broad, Access::Write, "/etc/hostname"),
        Some("/etc/**".to_owned())
    );
    assert_eq!(
        allowed(&broad, Access::Write, "/root/work/notes"),
        Some("/root/work/**".to_owned())
    );
    let exact = policy(&[], &["/etc/sudoers.d/agent"]);
    assert_eq!(
        allowed(&exact, Access::Write, "/etc/sudoers.d/agent"),
        Some("/etc/sudoers.d/agent".to_owned())
    );
    let warnings: Vec<String> = broad
        .summary()
        .into_iter()
        .filter(|l| l.starts_with("warning: "))
        .collect();
    assert_eq!(
        warnings,
        [
            "warning: write /etc/** covers files privileged processes trust (/etc/crontab, /etc/cron.d/job, /etc/systemd/system/x.service, /etc/sudoers, /etc/ld.so.preload, /etc/udev/rules.d/x.rules, /etc/profile.d/x.sh, /etc/passwd); writes to them are refused unless named exactly",
            "warning: write /home/** covers files privileged processes trust (/home/user/.ssh/authorized_keys, /home/user/.bashrc); writes to them are refused unless named exactly",
        ]
    );
}
