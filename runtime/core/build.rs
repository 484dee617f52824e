//! Builds the built-in tool components from `tools-wasm/` for
//! `wasm32-wasip2` and puts them in `OUT_DIR`, LZ4-compressed, for
//! `include_bytes!`.
//! Also records the locked wasmtime version for the cache key.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Components embedded in the binary, by crate and by the name they get.
const EMBEDDED: &[(&str, &str)] = &[
    ("llmagent_bash", "bash"),
    ("llmagent_crypto", "crypto"),
    ("llmagent_file", "file"),
    ("llmagent_proc", "proc"),
    ("llmagent_systemd", "systemd"),
    ("llmagent_dbus", "dbus"),
    ("llmagent_inotify", "inotify"),
    ("llmagent_udev", "udev"),
    ("llmagent_web", "web"),
    ("llmagent_net", "net"),
];

/// Test-only components built alongside (never embedded).
const TEST_ONLY: &[&str] = &["llmagent-testbed"];

fn main() {
    let manifest_dir = PathBuf::from(env("CARGO_MANIFEST_DIR"));
    let root = manifest_dir.join("../..");
    let tools = root.join("tools-wasm");
    let out = PathBuf::from(env("OUT_DIR"));

    for dir in [
        "guest", "bash", "crypto", "file", "proc", "systemd", "dbus", "inotify", "udev", "web",
        "net", "testbed",
    ] {
        println!(
            "cargo:rerun-if-changed={}",
            tools.join(dir).join("src").display()
        );
        println!(
            "cargo:rerun-if-changed={}",
            tools.join(dir).join("Cargo.toml").display()
        );
    }
    println!(
        "cargo:rerun-if-changed={}",
        tools.join("Cargo.toml").display()
    );
    println!(
        "cargo:rerun-if-changed={}",
        tools.join("Cargo.lock").display()
    );
    println!("cargo:rerun-if-changed={}", root.join("wit").display());
    println!(
        "cargo:rerun-if-changed={}",
        root.join("Cargo.lock").display()
    );

    record_wasmtime_version(&root.join("Cargo.lock"));
    build_tools(&tools);

    // Embedded LZ4-compressed (block format, size prepended): a little over
    // half the size in the binary; `Source::Lz4` decompresses on a compile.
    let release = tools.join("target/wasm32-wasip2/release");
    for (krate, name) in EMBEDDED {
        let from = release.join(format!("{krate}.wasm"));
        let to = out.join(format!("{name}.wasm.lz4"));
        let compressed = std::fs::read(&from)
            .map(|wasm| lz4_flex::block::compress_prepend_size(&wasm))
            .and_then(|lz4| std::fs::write(&to, lz4));
        if let Err(e) = compressed {
            fail(&format!(
                "cannot compress {} into {}: {e}",
                from.display(),
                to.display()
            ));
        }
    }
}

fn build_tools(tools: &Path) {
    // The guests are built by the cargo building this crate, unless
    // LLMAGENT_GUEST_TOOLCHAIN names another rustup toolchain: the fuzz
    // build (`scripts/fuzz.sh`) runs on nightly, whose wasm32-wasip2 std is
    // not always published, and builds the guests with stable.
    println!("cargo:rerun-if-env-changed=LLMAGENT_GUEST_TOOLCHAIN");
    let mut cmd = match std::env::var("LLMAGENT_GUEST_TOOLCHAIN") {
        Ok(toolchain) if !toolchain.is_empty() => {
            let mut cmd = Command::new("rustup");
            cmd.args(["run", &toolchain, "cargo"])
                .env_remove("RUSTUP_TOOLCHAIN")
                .env_remove("RUSTC")
                .env_remove("RUSTDOC");
            cmd
        }
        _ => Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())),
    };
    cmd.current_dir(tools)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--manifest-path",
        ])
        .arg(tools.join("Cargo.toml"));
    for (krate, _) in EMBEDDED {
        cmd.args(["-p", &krate.replace('_', "-")]);
    }
    for krate in TEST_ONLY {
        cmd.args(["-p", krate]);
    }
    // The outer build's settings must not leak into the guest build: its
    // target dir, flags and wrappers (clippy, coverage) are for the host.
    for var in [
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
        "CARGO_PKG_NAME",
    ] {
        cmd.env_remove(var);
    }
    for (k, _) in std::env::vars() {
        if k.starts_with("CARGO_CFG_") || k.starts_with("CARGO_FEATURE_") || k.starts_with("DEP_") {
            cmd.env_remove(k);
        }
    }
    match cmd.status() {
        Ok(s) if s.success() => {}
        Ok(s) => fail(&format!(
            "building the tool components failed ({s}). Is the wasm32-wasip2 target installed? \
             Run `rustup target add wasm32-wasip2` (the README's setup command does this)."
        )),
        Err(e) => fail(&format!(
            "cannot run cargo to build the tool components: {e}"
        )),
    }
}

fn record_wasmtime_version(lock: &Path) {
    let text = std::fs::read_to_string(lock).unwrap_or_default();
    let mut lines = text.lines();
    let mut version = None;
    while let Some(line) = lines.next() {
        if line.trim() == "name = \"wasmtime\"" {
            version = lines
                .next()
                .and_then(|v| v.trim().strip_prefix("version = \""))
                .and_then(|v| v.strip_suffix('"'))
                .map(str::to_owned);
            break;
        }
    }
    let version = version.unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=LLMAGENT_WASMTIME_VERSION={version}");
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| fail(&format!("{name} is not set; build with cargo")))
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1)
}
