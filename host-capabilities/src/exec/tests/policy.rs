//! The pure policy: compiling `[roles.R.exec]` and deciding on programs,
//! arguments, variables and directories.

use std::collections::BTreeMap;

use super::*;
use crate::Ruling;
use crate::error::CompileError;
use crate::exec::ArgsToml;

fn compile(raw: &ExecToml) -> Result<ExecPolicy, CompileError> {
    ExecPolicy::compile("ops", raw, 10_000)
}

#[test]
fn bare_names_resolve_on_the_safe_path_and_paths_are_canonical() {
    let p = compile(&allow(&["bash", "/bin/true"])).unwrap();
    let paths: Vec<String> = p
        .programs
        .iter()
        .map(|p| p.path.display().to_string())
        .collect();
    assert_eq!(paths, vec![which("bash"), which("true")]);
}

#[test]
fn an_unresolvable_program_is_a_compile_error_naming_it() {
    let e = compile(&allow(&["bash", "no-such-program-x"])).unwrap_err();
    assert_eq!(
        e,
        CompileError::new(
            "allow[1]",
            "\"no-such-program-x\" is not found on the safe PATH /usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
        )
    );
    let e = compile(&allow(&["bin/bash"])).unwrap_err();
    assert_eq!(e.key, "allow[0]");
}

#[test]
fn argument_rules_must_name_an_allowed_program_and_valid_globs() {
    let mut raw = allow(&["bash"]);
    raw.args = BTreeMap::from([("true".to_owned(), ArgsToml::default())]);
    let e = compile(&raw).unwrap_err();
    assert_eq!(e.key, "args.\"true\"");
    raw.args = BTreeMap::from([(
        "bash".to_owned(),
        ArgsToml {
            allow_prefix: vec![],
            deny: vec!["[".into()],
        },
    )]);
    assert_eq!(compile(&raw).unwrap_err().key, "args.\"bash\".deny[0]");
}

#[test]
fn limits_are_checked_and_the_timeout_is_capped_by_the_role() {
    let mut raw = allow(&["bash"]);
    raw.timeout_ms = Some(20_000);
    assert_eq!(compile(&raw).unwrap_err().key, "timeout_ms");
    raw.timeout_ms = None;
    raw.memory_mib = Some(1);
    assert_eq!(compile(&raw).unwrap_err().key, "memory_mib");
    raw.memory_mib = None;
    let p = compile(&raw).unwrap();
    assert_eq!(p.limits, crate::exec::limits::ExecLimits::defaults(10_000));
    raw.env = vec!["1BAD".into()];
    assert_eq!(compile(&raw).unwrap_err().key, "env[0]");
}

#[test]
fn argument_rules_deny_wins_then_prefixes_must_match() {
    let mut raw = allow(&["bash"]);
    raw.args = BTreeMap::from([(
        "bash".to_owned(),
        ArgsToml {
            allow_prefix: vec![vec!["-c".into()]],
            deny: vec!["--rcfile*".into()],
        },
    )]);
    let p = compile(&raw).unwrap();
    let args = |a: &[&str]| a.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let bash = p.locate("bash").unwrap();
    assert_eq!(
        p.decide(&bash, &args(&["-c", "true"])),
        Ruling::allow("[roles.ops.exec].allow \"bash\"")
    );
    let key = "[roles.ops.exec.args.\"bash\"]";
    // Deny wins over an allowed prefix, and over a missing one.
    assert_eq!(
        p.decide(&bash, &args(&["-c", "x", "--rcfile=/x"])),
        Ruling::deny(format!("the argument \"--rcfile=/x\" matches {key}.deny"))
    );
    assert_eq!(
        p.decide(&bash, &args(&["--rcfile=/x"])),
        Ruling::deny(format!("the argument \"--rcfile=/x\" matches {key}.deny"))
    );
    assert_eq!(
        p.decide(&bash, &args(&["-i"])),
        Ruling::deny(format!(
            "add a prefix of these arguments to {key}.allow_prefix"
        ))
    );
}

#[test]
fn env_and_cwd_decisions_name_their_keys() {
    let mut raw = allow(&["bash"]);
    raw.env = vec!["LANG".into()];
    raw.cwd = vec!["/srv/**".into()];
    let p = compile(&raw).unwrap();
    assert_eq!(
        p.decide_env("LANG"),
        Ruling::allow("[roles.ops.exec].env \"LANG\"")
    );
    assert_eq!(
        p.decide_env("LD_PRELOAD"),
        Ruling::deny("add \"LD_PRELOAD\" to [roles.ops.exec].env")
    );
    let cwd = Ruling::allow("[roles.ops.exec].cwd \"/srv/**\"");
    assert_eq!(p.decide_cwd(std::path::Path::new("/srv")), cwd);
    assert_eq!(p.decide_cwd(std::path::Path::new("/srv/a/b")), cwd);
    assert_eq!(
        p.decide_cwd(std::path::Path::new("/etc")),
        Ruling::deny("add \"/etc\" (or a glob matching it) to [roles.ops.exec].cwd")
    );
}

#[test]
fn user_and_group_resolve_when_compiled_and_unknown_ones_are_errors() {
    use crate::exec::IdToml;
    let mut raw = allow(&["bash"]);
    raw.user = Some(IdToml::Name("root".into()));
    raw.group = Some(IdToml::Id(12345));
    let p = compile(&raw).unwrap();
    assert_eq!(
        p.identity,
        crate::exec::identity::Identity {
            uid: Some(0),
            gid: Some(12345)
        }
    );
    assert!(
        p.summary()
            .contains(&"children run as uid 0 (root), gid 12345, no supplementary groups".into()),
        "{:?}",
        p.summary()
    );
    raw.user = Some(IdToml::Name("no-such-user-x".into()));
    assert_eq!(compile(&raw).unwrap_err().key, "user");
    raw.user = None;
    raw.group = Some(IdToml::Name("no-such-group-x".into()));
    assert_eq!(compile(&raw).unwrap_err().key, "group");
    // Without a user, the summary says what children keep.
    raw.group = None;
    assert!(
        compile(&raw)
            .unwrap()
            .summary()
            .iter()
            .any(|l| l.starts_with(
                "children keep llmagent's uid and groups (no user set): when llmagent runs as root \
             they remain uid 0"
            )),
        "{:?}",
        compile(&raw).unwrap().summary()
    );
}

#[test]
fn max_processes_is_checked() {
    let mut raw = allow(&["bash"]);
    raw.max_processes = Some(0);
    assert_eq!(compile(&raw).unwrap_err().key, "max_processes");
    raw.max_processes = Some(32);
    assert_eq!(compile(&raw).unwrap().limits.max_processes, 32);
}

#[test]
fn denied_options_cannot_be_abbreviated_given_a_value_or_clustered() {
    let mut raw = allow(&["df"]);
    raw.args = BTreeMap::from([(
        "df".to_owned(),
        ArgsToml {
            allow_prefix: vec![],
            deny: vec!["--output*".into(), "-T".into(), "--print-type".into()],
        },
    )]);
    let p = compile(&raw).unwrap();
    let df = p.locate("df").unwrap();
    let key = "[roles.ops.exec.args.\"df\"]";
    for bad in [
        "--outp",
        "--o",
        "--output=source",
        "--outp=source",
        "-hT",
        "-Th",
        "--print-t",
        "--print-type=x",
    ] {
        assert_eq!(
            p.decide(&df, &[bad.to_owned(), "/".to_owned()]),
            Ruling::deny(format!("the argument \"{bad}\" matches {key}.deny")),
            "{bad}"
        );
    }
    // `--p` could be `--portability` or `--print-type`: refused too (it is
    // a prefix of a denied option; getopt_long rejects it as ambiguous).
    for ok in ["-h", "--human-readable", "--portability", "/"] {
        assert_eq!(
            p.decide(&df, &[ok.to_owned()]),
            Ruling::allow("[roles.ops.exec].allow \"df\""),
            "{ok}"
        );
    }
}

#[test]
#[cfg_attr(not(llmagent_glibc_loader), ignore = "needs the x86-64 glibc loader")]
fn the_dynamic_loader_is_allowed_only_when_written_exactly() {
    let loader = "/lib64/ld-linux-x86-64.so.2";
    let e = compile(&allow(&["bash", "ld.so"])).unwrap_err();
    assert_eq!(e.key, "allow[1]");
    assert!(e.message.contains("is the dynamic loader"), "{e:?}");
    // A symlink whose name hides the loader.
    let dir = tempfile::tempdir().unwrap();
    let alias = dir.path().join("runner");
    std::os::unix::fs::symlink(loader, &alias).unwrap();
    let e = compile(&allow(&[&alias.display().to_string()])).unwrap_err();
    assert_eq!(e.key, "allow[0]");
    // Written exactly, it is the operator's choice.
    assert!(compile(&allow(&[loader])).is_ok());
    assert!(compile(&allow(&["/usr/bin/ld.so"])).is_ok());
}

/// A role states the lowest Landlock ABI it accepts (default 6); a kernel
/// below it is named with each protection it lacks, and doctor sees it.
#[test]
fn a_kernel_below_the_roles_landlock_minimum_is_named_with_what_it_lacks() {
    let p = compile(&allow(&["bash"])).unwrap();
    assert_eq!(p.shortfall_at(6), None);
    assert_eq!(p.shortfall_at(7), None);
    assert_eq!(
        p.shortfall_at(4).as_deref(),
        Some(
            "this kernel offers Landlock ABI 4, below the role's minimum of 6 ([roles.ops.exec].min_landlock_abi); missing: device ioctl (ABI 5), abstract Unix sockets and signals scoping (ABI 6). Use a newer kernel, or lower [roles.ops.exec].min_landlock_abi (or set [roles.ops.exec].require_landlock = false) knowingly"
        )
    );
    assert!(p.shortfall_at(0).is_some_and(|m| {
        m.starts_with("this kernel has no Landlock, below the role's minimum of 6")
    }));
    assert!(
        p.summary()
            .contains(&"requires Landlock ABI 6 or newer".to_owned())
    );

    let mut raw = allow(&["bash"]);
    raw.min_landlock_abi = Some(3);
    assert_eq!(compile(&raw).unwrap().shortfall_at(3), None);
    raw.min_landlock_abi = Some(8);
    assert_eq!(
        compile(&raw).unwrap_err(),
        CompileError::new(
            "min_landlock_abi",
            "8 is not a Landlock ABI; use 1 to 7 (6, the default, confines TCP and scopes signals)"
        )
    );
}

#[test]
fn unix_sockets_must_be_plain_absolute_paths_and_policy_check_says_what_they_allow() {
    for bad in ["dev/log", "/run/*.sock", "/run/../log", "/run//log", ""] {
        let raw = ExecToml {
            unix_sockets: vec!["/dev/log".into(), bad.into()],
            ..allow(&["bash"])
        };
        let e = compile(&raw).unwrap_err();
        assert_eq!(
            (e.key.as_str(), e.message),
            (
                "unix_sockets[1]",
                format!(
                    "\"{bad}\" is not an absolute path of a socket (no wildcards, \"..\", \".\" or empty \
                     components); name the socket file, e.g. \"/dev/log\""
                )
            )
        );
    }
    let granted = compile(&ExecToml {
        unix_sockets: vec!["/dev/log".into()],
        ..allow(&["bash"])
    })
    .unwrap();
    let lines = granted.summary();
    let tail: Vec<&str> = lines
        .iter()
        .rev()
        .take(2)
        .rev()
        .map(String::as_str)
        .collect();
    assert_eq!(
        tail,
        [
            "Unix sockets for /dev/log; no other socket family".to_owned(),
            format!("warning: {}", crate::exec::UNIX_SOCKET_LIMIT),
        ]
    );
    let none = compile(&allow(&["bash"])).unwrap().summary();
    assert_eq!(
        none.last().map(String::as_str),
        Some("no sockets: every socket() is refused")
    );
}
