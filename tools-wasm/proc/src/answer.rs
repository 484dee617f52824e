//! From the `proc` capability's records to the tool's answers. Pure, so
//! it is tested natively.

use llmagent_guest::bindings::llmagent::tools::types::CapError;
use llmagent_guest::proc::{Process, ProcessInfo};
use llmagent_guest::{Output, ToolError};
use serde_json::{Map, Value, json};

/// Rounds a percentage to two decimals, as much as `ps` shows and more.
fn percent(p: f64) -> f64 {
    (p * 100.0).round() / 100.0
}

/// The listing: one object per process, metadata `{count}`.
pub fn list(processes: &[Process]) -> Output {
    let lines: Vec<Value> = processes
        .iter()
        .map(|p| {
            json!({
                "pid": p.pid,
                "ppid": p.ppid,
                "user": p.user,
                "name": p.name,
                "cmd": p.cmdline,
                "state": p.state,
                "cpu": percent(p.cpu_percent),
                "mem": percent(p.mem_percent),
                "rss_bytes": p.rss_bytes,
            })
        })
        .collect();
    let count = lines.len();
    Output::new(Value::Array(lines)).meta("count", count)
}

/// A listing error: it has no argument to name.
pub fn list_error(e: CapError) -> ToolError {
    let mut e = ToolError::from_cap(e, "", "file_error");
    e.field = None;
    e
}

/// The status map plus `cmdline`, `cwd` and `exe`; metadata `{pid, path}`.
pub fn info(i: &ProcessInfo) -> Output {
    let mut map: Map<String, Value> = i
        .status
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    map.insert("cmdline".into(), json!(i.cmdline));
    map.insert("cwd".into(), json!(i.cwd));
    map.insert("exe".into(), json!(i.exe));
    Output::new(Value::Object(map))
        .meta("pid", i.pid)
        .meta("path", format!("/proc/{}/status", i.pid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listing_line_keeps_the_seed_keys_and_the_whole_command_line() {
        let p = Process {
            pid: 7,
            ppid: 1,
            user: "www-data".into(),
            name: "my app".into(),
            cmdline: "/usr/bin/my app --flag".into(),
            state: "S".into(),
            cpu_percent: 12.3456,
            rss_bytes: 4096,
            mem_percent: 0.001,
        };
        let out = list(&[p]);
        assert_eq!(
            out.output(),
            &json!([{"pid": 7, "ppid": 1, "user": "www-data", "name": "my app",
                     "cmd": "/usr/bin/my app --flag", "state": "S", "cpu": 12.35, "mem": 0.0,
                     "rss_bytes": 4096}])
        );
        assert_eq!(out.metadata().get("count"), Some(&json!(1)));
    }

    #[test]
    fn info_is_the_status_map_plus_cmdline_cwd_and_exe() {
        let i = ProcessInfo {
            pid: 9,
            status: vec![
                ("name".into(), "x".into()),
                ("state".into(), "S (sleeping)".into()),
            ],
            cmdline: Some(vec!["x".into(), "a b".into()]),
            cwd: None,
            exe: Some("/usr/bin/x".into()),
        };
        let out = info(&i);
        assert_eq!(
            out.output(),
            &json!({"name": "x", "state": "S (sleeping)", "cmdline": ["x", "a b"], "cwd": null,
                    "exe": "/usr/bin/x"})
        );
        assert_eq!(
            Value::Object(out.metadata().clone()),
            json!({"pid": 9, "path": "/proc/9/status"})
        );
    }

    #[test]
    fn a_list_denial_names_no_field() {
        let e = list_error(CapError::Unsupported("no /proc".into()));
        assert_eq!((e.reason.as_str(), e.field), ("unsupported", None));
    }
}
