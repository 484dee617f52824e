//! The operations inside a granted tree, and their limits.

use super::*;
use crate::bindings::CapError;
use crate::bindings::fs::{DirEntry, FileKind, FileStat, Host, WriteMode};

#[test]
fn read_inside_allowed_tree_reports_the_rule() {
    let fx = Fx::new();
    let mut caps = fx.standard();
    same(caps.read(fx.p("allowed/a.txt"), 100), Ok(b"hello".to_vec()));
    let rule = format!("[roles.default.fs].read \"{}\"", fx.p("allowed/**"));
    assert_eq!(
        fx.decisions(),
        vec![("read".into(), fx.p("allowed/a.txt"), true, rule)]
    );
}

#[test]
fn read_through_symlink_and_dotdot_inside_the_tree() {
    let fx = Fx::new();
    std::fs::create_dir(fx.root.join("allowed/sub")).unwrap();
    std::os::unix::fs::symlink("../a.txt", fx.root.join("allowed/sub/link")).unwrap();
    let mut caps = fx.standard();
    same(
        caps.read(fx.p("allowed/sub/link"), 100),
        Ok(b"hello".to_vec()),
    );
    same(
        caps.read(fx.p("allowed/sub/../a.txt"), 100),
        Ok(b"hello".to_vec()),
    );
    assert_eq!(
        fx.decisions()
            .iter()
            .map(|d| d.1.clone())
            .collect::<Vec<_>>(),
        vec![fx.p("allowed/a.txt"); 2]
    );
}

#[test]
fn write_modes_and_bytes_written() {
    let fx = Fx::new();
    let mut caps = fx.standard();
    let f = fx.p("allowed/new.txt");
    same(
        caps.write(f.clone(), b"abc".to_vec(), WriteMode::Truncate),
        Ok(3),
    );
    same(
        caps.write(f.clone(), b"de".to_vec(), WriteMode::Append),
        Ok(2),
    );
    same(caps.read(f.clone(), 100), Ok(b"abcde".to_vec()));
    same(
        caps.write(f.clone(), b"x".to_vec(), WriteMode::Truncate),
        Ok(1),
    );
    same(caps.read(f.clone(), 100), Ok(b"x".to_vec()));
    same(
        caps.write(f.clone(), b"y".to_vec(), WriteMode::CreateNew),
        Err(CapError::Io(format!(
            "create \"{f}\": it already exists (mode create-new)"
        ))),
    );
    same(
        caps.write(fx.p("allowed/fresh"), b"z".to_vec(), WriteMode::CreateNew),
        Ok(1),
    );
    same(
        caps.write(fx.p("allowed/nodir/f"), b"z".to_vec(), WriteMode::Truncate),
        Err(CapError::NotFound(format!(
            "the directory of \"{}\" does not exist (write does not create directories)",
            fx.p("allowed/nodir/f")
        ))),
    );
}

#[test]
fn delete_files_and_symlinks_not_directories() {
    let fx = Fx::new();
    std::fs::create_dir(fx.root.join("allowed/d")).unwrap();
    std::os::unix::fs::symlink(fx.root.join("outside/secret"), fx.root.join("allowed/out"))
        .unwrap();
    let mut caps = fx.standard();
    same(caps.delete(fx.p("allowed/a.txt")), Ok(()));
    assert!(!fx.root.join("allowed/a.txt").exists());
    same(caps.delete(fx.p("allowed/out")), Ok(()));
    assert!(
        fx.root.join("outside/secret").exists(),
        "the link goes, its target stays"
    );
    let d = fx.p("allowed/d");
    same(
        caps.delete(d.clone()),
        Err(CapError::Io(format!(
            "delete \"{d}\": it is a directory; delete removes files and symlinks only"
        ))),
    );
    let gone = fx.p("allowed/gone");
    same(
        caps.delete(gone.clone()),
        Err(CapError::NotFound(format!(
            "delete \"{gone}\": no such file or directory"
        ))),
    );
}

#[test]
fn list_dir_sorted_capped_and_typed() {
    let fx = Fx::new();
    std::fs::write(fx.root.join("allowed/c.bin"), [0u8; 7]).unwrap();
    std::fs::create_dir(fx.root.join("allowed/b")).unwrap();
    std::os::unix::fs::symlink("a.txt", fx.root.join("allowed/d")).unwrap();
    let mut caps = fx.standard();
    let e = |name: &str, kind, size| DirEntry {
        name: name.into(),
        kind,
        size,
    };
    same(
        caps.list_dir(fx.p("allowed"), 100),
        Ok((
            vec![
                e("a.txt", FileKind::File, 5),
                e("b", FileKind::Directory, 0),
                e("c.bin", FileKind::File, 7),
                e("d", FileKind::Symlink, 5),
            ],
            false,
        )),
    );
    same(
        caps.list_dir(fx.p("allowed"), 2),
        Ok((
            vec![
                e("a.txt", FileKind::File, 5),
                e("b", FileKind::Directory, 0),
            ],
            true,
        )),
    );
    let f = fx.p("allowed/a.txt");
    same(
        caps.list_dir(f.clone(), 2),
        Err(CapError::Io(format!(
            "open \"{f}\": a component of the path is not a directory"
        ))),
    );
}

#[test]
fn stat_does_not_follow_a_final_symlink() {
    let fx = Fx::new();
    std::os::unix::fs::symlink(fx.root.join("outside/secret"), fx.root.join("allowed/out"))
        .unwrap();
    let mut caps = fx.standard();
    let meta = std::fs::symlink_metadata(fx.root.join("allowed/out")).unwrap();
    use std::os::unix::fs::MetadataExt;
    same(
        caps.stat(fx.p("allowed/out")),
        Ok(FileStat {
            kind: FileKind::Symlink,
            size: meta.size(),
            mode: meta.mode() & 0o7777,
            uid: meta.uid(),
            gid: meta.gid(),
            modified_secs: meta.mtime(),
        }),
    );
    let meta = std::fs::metadata(fx.root.join("allowed/a.txt")).unwrap();
    same(
        caps.stat(fx.p("allowed/a.txt")),
        Ok(FileStat {
            kind: FileKind::File,
            size: 5,
            mode: meta.mode() & 0o7777,
            uid: meta.uid(),
            gid: meta.gid(),
            modified_secs: meta.mtime(),
        }),
    );
}

#[test]
fn too_large_names_both_limits() {
    let fx = Fx::new();
    std::fs::write(fx.root.join("allowed/big"), vec![b'x'; 2048]).unwrap();
    let big = fx.p("allowed/big");
    let mut caps = fx.caps(&[fx.p("allowed/**")], &[], 1000);
    same(
        caps.read(big.clone(), 1024),
        Err(CapError::TooLarge(format!(
            "\"{big}\" is 2048 bytes, over the limit of 1000 bytes (the smaller of max-bytes 1024 \
             and the role's max_output_bytes 1000)"
        ))),
    );
    same(
        caps.read(big.clone(), 2048),
        Err(CapError::TooLarge(format!(
            "\"{big}\" is 2048 bytes, over the limit of 1000 bytes (the smaller of max-bytes 2048 \
             and the role's max_output_bytes 1000)"
        ))),
    );
    let mut caps = fx.standard();
    same(
        caps.read(big.clone(), 4096).map(|r| r.map(|b| b.len())),
        Ok(2048),
    );
}

#[test]
fn special_files_are_not_read() {
    let fx = Fx::new();
    let fifo = fx.p("allowed/fifo");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        fifo.as_str(),
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .unwrap();
    let mut caps = fx.standard();
    same(
        caps.read(fifo.clone(), 100),
        Err(CapError::Io(format!(
            "read \"{fifo}\": it is a special file (device, FIFO or socket), not a regular file; read takes regular files only"
        ))),
    );
    let d = fx.p("allowed");
    same(
        caps.read(d.clone(), 100),
        Err(CapError::Io(format!(
            "read \"{d}\": it is a directory (use list-dir), not a regular file; read takes regular files only"
        ))),
    );
}

#[test]
fn malformed_paths_are_invalid_arguments() {
    let fx = Fx::new();
    let mut caps = fx.standard();
    same(
        caps.read("allowed/a.txt".into(), 100),
        Err(CapError::InvalidArgument(
            "\"allowed/a.txt\" is not an absolute path; give the full path, starting with \"/\""
                .into(),
        )),
    );
    same(
        caps.stat(String::new()),
        Err(CapError::InvalidArgument(
            "the path is empty; give an absolute path such as \"/var/log/syslog\"".into(),
        )),
    );
    let d = fx.p("allowed/");
    same(
        caps.delete(d.clone()),
        Err(CapError::InvalidArgument(format!(
            "\"{d}\" does not name a file; give the file's path without a trailing \"/\", \".\" or \"..\""
        ))),
    );
    assert_eq!(
        fx.decisions(),
        vec![],
        "no decision is made on a malformed path"
    );
}

#[test]
fn write_follows_symlinks_only_to_existing_files_inside() {
    let fx = Fx::new();
    std::os::unix::fs::symlink("a.txt", fx.root.join("allowed/to-a")).unwrap();
    std::os::unix::fs::symlink("nowhere", fx.root.join("allowed/dangling")).unwrap();
    let mut caps = fx.standard();
    same(
        caps.write(fx.p("allowed/to-a"), b"new".to_vec(), WriteMode::Truncate),
        Ok(3),
    );
    assert_eq!(
        std::fs::read(fx.root.join("allowed/a.txt")).unwrap(),
        b"new"
    );
    let d = fx.p("allowed/dangling");
    same(
        caps.write(d.clone(), b"x".to_vec(), WriteMode::Truncate),
        Err(CapError::Io(format!(
            "create \"{d}\": it appeared while it was being created, or is a dangling symlink \
             (write does not create files through symlinks)"
        ))),
    );
    assert!(!fx.root.join("allowed/nowhere").exists());
}

#[test]
fn write_glob_narrower_than_its_base() {
    let fx = Fx::new();
    let mut caps = fx.caps(&[], &[fx.p("allowed/*.log")], 1 << 20);
    same(
        caps.write(fx.p("allowed/x.log"), b"l".to_vec(), WriteMode::CreateNew),
        Ok(1),
    );
    let t = fx.p("allowed/x.txt");
    same(
        caps.write(t.clone(), b"t".to_vec(), WriteMode::CreateNew),
        Err(denied(&t, add_hint(&t, "write"))),
    );
    assert!(!fx.root.join("allowed/x.txt").exists());
}
