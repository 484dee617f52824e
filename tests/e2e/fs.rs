//! The built-in `file` tool through the `fs` capability, end to end: real
//! files in a temporary tree, and every way out of it refused.

use std::os::unix::fs::symlink;

use serde_json::json;

use crate::harness::Env;

/// `{dir}/allowed` is readable and writable; `{dir}/outside` is not.
const POLICY: &str = r#"
version = 1
[roles.default]
tools = ["file"]
[roles.default.fs]
read = ["{dir}/allowed/**"]
write = ["{dir}/allowed/**"]
[roles.reader]
tools = ["file"]
[roles.reader.fs]
read = ["{dir}/allowed/**"]
"#;

fn setup() -> (Env, std::path::PathBuf, std::path::PathBuf) {
    let env = Env::new(POLICY);
    let root = env.root();
    let allowed = root.join("allowed");
    let outside = root.join("outside");
    std::fs::create_dir_all(allowed.join("sub")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(allowed.join("note.txt"), "hello").unwrap();
    std::fs::write(outside.join("secret.txt"), "top secret").unwrap();
    (env, allowed, outside)
}

fn p(path: &std::path::Path) -> String {
    path.display().to_string()
}

#[test]
fn read_write_list_stat_delete_inside_the_allowed_tree() {
    let (env, allowed, _) = setup();
    let note = allowed.join("note.txt");
    let (out, meta) = env.ok("default", "file", "read", json!({"path": p(&note)}));
    assert_eq!(out, json!("hello"));
    assert_eq!(
        meta,
        json!({"path": p(&note), "size": 5, "encoding": "utf8"})
    );

    let new = allowed.join("sub/new.txt");
    let (out, meta) = env.ok(
        "default",
        "file",
        "write",
        json!({"path": p(&new), "content": "written"}),
    );
    assert_eq!(out, json!("ok"));
    assert_eq!(meta, json!({"path": p(&new), "bytes_written": 7}));
    assert_eq!(std::fs::read_to_string(&new).unwrap(), "written");

    let (out, meta) = env.ok("default", "file", "list", json!({"path": p(&allowed)}));
    assert_eq!(
        out,
        json!([
            {"name": "note.txt", "kind": "file", "size": 5},
            {"name": "sub", "kind": "directory", "size": 0},
        ])
    );
    assert_eq!(
        meta,
        json!({"path": p(&allowed), "count": 2, "truncated": false})
    );

    let (out, _) = env.ok("default", "file", "stat", json!({"path": p(&note)}));
    assert_eq!(
        (out["kind"].clone(), out["size"].clone()),
        (json!("file"), json!(5))
    );

    let (out, meta) = env.ok("default", "file", "delete", json!({"path": p(&new)}));
    assert_eq!((out, meta), (json!("ok"), json!({"path": p(&new)})));
    assert!(!new.exists());
}

#[test]
fn binary_content_comes_back_base64_with_a_flag() {
    let (env, allowed, _) = setup();
    let bin = allowed.join("blob.bin");
    std::fs::write(&bin, [0xff, 0xfe, 0x00, 0x01]).unwrap();
    let (out, meta) = env.ok("default", "file", "read", json!({"path": p(&bin)}));
    assert_eq!(out, json!("//4AAQ=="));
    assert_eq!(meta["encoding"], json!("base64"));
}

fn assert_denied(env: &Env, role: &str, action: &str, args: serde_json::Value, key: &str) {
    let failure = env.err(role, "file", action, args.clone());
    assert_eq!(failure.reason, "denied", "{action} {args}: {failure:?}");
    assert_eq!(failure.field.as_deref(), Some("path"));
    let suggestion = failure.suggestion.unwrap_or_default();
    assert!(
        suggestion.contains(&format!("[roles.{role}.fs].{key}")),
        "the hint must name the key: {suggestion}"
    );
}

#[test]
fn a_path_outside_the_grant_is_denied_naming_the_key() {
    let (env, _, outside) = setup();
    assert_denied(
        &env,
        "default",
        "read",
        json!({"path": p(&outside.join("secret.txt"))}),
        "read",
    );
    assert_denied(
        &env,
        "default",
        "read",
        json!({"path": "/etc/shadow"}),
        "read",
    );
    assert_denied(
        &env,
        "default",
        "write",
        json!({"path": p(&outside.join("x")), "content": "x"}),
        "write",
    );
}

#[test]
fn dot_dot_cannot_leave_the_tree() {
    let (env, allowed, _) = setup();
    let sneaky = format!("{}/sub/../../outside/secret.txt", p(&allowed));
    assert_denied(&env, "default", "read", json!({"path": sneaky}), "read");
}

#[test]
fn absolute_and_relative_symlinks_out_are_denied() {
    let (env, allowed, outside) = setup();
    symlink(outside.join("secret.txt"), allowed.join("abs-link")).unwrap();
    symlink("../outside/secret.txt", allowed.join("rel-link")).unwrap();
    symlink(&outside, allowed.join("dir-link")).unwrap();
    for link in ["abs-link", "rel-link", "dir-link/secret.txt"] {
        assert_denied(
            &env,
            "default",
            "read",
            json!({"path": p(&allowed.join(link))}),
            "read",
        );
    }
    // Writing through a symlink out must not create or change anything outside.
    assert_denied(
        &env,
        "default",
        "write",
        json!({"path": p(&allowed.join("abs-link")), "content": "pwned"}),
        "write",
    );
    assert_eq!(
        std::fs::read_to_string(outside.join("secret.txt")).unwrap(),
        "top secret"
    );
}

#[test]
fn a_symlink_created_after_the_policy_was_compiled_is_denied() {
    let (env, allowed, outside) = setup();
    // The runtime (and its compiled policy) already exists; swap a file for
    // a symlink out now.
    let target = allowed.join("note.txt");
    std::fs::remove_file(&target).unwrap();
    symlink(outside.join("secret.txt"), &target).unwrap();
    assert_denied(&env, "default", "read", json!({"path": p(&target)}), "read");
}

#[test]
fn magic_links_in_proc_are_denied() {
    let (env, allowed, _) = setup();
    let via_root = format!("/proc/self/root{}", p(&allowed.join("note.txt")));
    assert_denied(&env, "default", "read", json!({"path": via_root}), "read");
    let fd = std::fs::File::open(allowed.join("note.txt")).unwrap();
    use std::os::fd::AsRawFd;
    let via_fd = format!("/proc/self/fd/{}", fd.as_raw_fd());
    assert_denied(&env, "default", "read", json!({"path": via_fd}), "read");
}

#[test]
fn a_read_only_role_cannot_write_or_delete() {
    let (env, allowed, _) = setup();
    let note = allowed.join("note.txt");
    assert_denied(
        &env,
        "reader",
        "write",
        json!({"path": p(&note), "content": "x"}),
        "write",
    );
    assert_denied(&env, "reader", "delete", json!({"path": p(&note)}), "write");
    assert_eq!(std::fs::read_to_string(&note).unwrap(), "hello");
}

#[test]
fn a_missing_file_is_the_seeds_file_error_and_the_next_call_works() {
    let (env, allowed, _) = setup();
    let missing = allowed.join("nope.txt");
    let failure = env.err("default", "file", "read", json!({"path": p(&missing)}));
    assert_eq!(
        (failure.reason.as_str(), failure.field.as_deref()),
        ("file_error", Some("path"))
    );
    assert!(
        failure
            .message
            .starts_with(&format!("Cannot read {}", p(&missing))),
        "{}",
        failure.message
    );
    assert_eq!(
        env.ok(
            "default",
            "file",
            "read",
            json!({"path": p(&allowed.join("note.txt"))})
        )
        .0,
        json!("hello")
    );
}

#[test]
fn non_string_content_is_invalid_args() {
    let (env, allowed, _) = setup();
    let failure = env.err(
        "default",
        "file",
        "write",
        json!({"path": p(&allowed.join("n.txt")), "content": 42}),
    );
    assert_eq!(
        (failure.reason.as_str(), failure.field.as_deref()),
        ("invalid_args", Some("content"))
    );
}

/// A write grant over the directories that hold llmagent's own files — the
/// policy, a role's prompt file and the event store here — still cannot
/// write them; the rest of the directories is writable.
#[test]
fn a_grant_over_llmagents_own_files_cannot_write_them() {
    let prompts = tempfile::tempdir().unwrap();
    let prompts = prompts.path().canonicalize().unwrap();
    let prompt = prompts.join("ops.md");
    std::fs::write(&prompt, "You administer this machine.").unwrap();
    let env = Env::new(&format!(
        r#"
version = 1
[roles.default]
tools = ["file"]
prompt_file = "{prompt}"
[roles.default.fs]
write = ["{{dir}}/**", "{prompts}/**"]
"#,
        prompt = prompt.display(),
        prompts = prompts.display()
    ));
    let root = env.root();
    let (out, _) = env.ok(
        "default",
        "file",
        "write",
        json!({"path": p(&prompts.join("other.md")), "content": "x"}),
    );
    assert_eq!(out, json!("ok"));
    for own in [
        root.join("policy.toml"),
        root.join("events").join("planted"),
        prompt,
    ] {
        let failure = env.err(
            "default",
            "file",
            "write",
            json!({"path": p(&own), "content": "x"}),
        );
        assert_eq!(failure.reason, "denied", "{failure:?}");
        assert!(
            failure
                .suggestion
                .as_deref()
                .is_some_and(|s| s.contains("is llmagent's own")),
            "{failure:?}"
        );
    }
    let (out, _) = env.ok(
        "default",
        "file",
        "write",
        json!({"path": p(&root.join("notes.txt")), "content": "x"}),
    );
    assert_eq!(out, json!("ok"));
}
