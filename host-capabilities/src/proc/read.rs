//! Reading processes from `/proc` with the `procfs` crate. No decisions
//! here: the host functions decide first, then call these.

use procfs::process::Process as Proc;
use procfs::{Current, Meminfo, ProcError, Uptime};

use super::users::Users;
use crate::bindings::CapError;
use crate::bindings::proc::{Process, ProcessInfo};

/// Most processes one listing returns. A busy host runs a few thousand;
/// the cap keeps a fork bomb from making one answer (and the tool
/// instance holding it) arbitrarily large — 10 000 lines are already
/// about 2 MB of JSON, beyond any role's sensible output limit.
pub const MAX_PROCESSES: usize = 10_000;

/// Every process, pid order, at most [`MAX_PROCESSES`]. A process that
/// exits while it is being read is skipped.
pub(crate) fn list() -> Result<Vec<Process>, CapError> {
    let all = procfs::process::all_processes()
        .map_err(|e| CapError::Unsupported(format!("cannot read /proc: {e}")))?;
    let users = Users::load();
    let ticks = procfs::ticks_per_second().max(1) as f64;
    let page = procfs::page_size();
    let uptime = Uptime::current().map(|u| u.uptime).unwrap_or(0.0);
    let mem_total = Meminfo::current().map(|m| m.mem_total).unwrap_or(0);
    let mut out = Vec::new();
    for p in all {
        if out.len() >= MAX_PROCESSES {
            break;
        }
        let Ok(p) = p else { continue };
        let Some(line) = one(&p, &users, ticks, page, uptime, mem_total) else {
            continue;
        };
        out.push(line);
    }
    Ok(out)
}

/// One listing line, or `None` when the process is gone.
fn one(
    p: &Proc,
    users: &Users,
    ticks: f64,
    page: u64,
    uptime: f64,
    mem_total: u64,
) -> Option<Process> {
    let stat = p.stat().ok()?;
    let uid = p.uid().ok()?;
    let cmdline = match p.cmdline() {
        Ok(args) => args.join(" "),
        Err(ProcError::NotFound(_)) => return None,
        // Readable for everyone on a normal /proc; empty otherwise, as for
        // kernel threads.
        Err(_) => String::new(),
    };
    let rss_bytes = stat.rss.saturating_mul(page);
    Some(Process {
        pid: u32::try_from(stat.pid).unwrap_or(0),
        ppid: u32::try_from(stat.ppid).unwrap_or(0),
        user: users.name(uid),
        name: stat.comm,
        cmdline,
        state: stat.state.to_string(),
        cpu_percent: cpu_percent(stat.utime + stat.stime, stat.starttime, ticks, uptime),
        rss_bytes,
        mem_percent: if mem_total == 0 {
            0.0
        } else {
            rss_bytes as f64 * 100.0 / mem_total as f64
        },
    })
}

/// CPU time over wall time since the process started, in percent of one
/// core (what `ps -o %cpu` shows). All times in clock ticks but `uptime`.
pub(crate) fn cpu_percent(cpu_ticks: u64, start_ticks: u64, ticks: f64, uptime: f64) -> f64 {
    let elapsed = uptime - start_ticks as f64 / ticks;
    if elapsed <= 0.0 {
        0.0
    } else {
        cpu_ticks as f64 / ticks / elapsed * 100.0
    }
}

/// The process `pid` and its owner's uid, or `not-found`.
pub(crate) fn open(pid: u32) -> Result<(Proc, u32), CapError> {
    let gone = || CapError::NotFound(format!("Process {pid} not found"));
    let p = i32::try_from(pid)
        .ok()
        .filter(|&p| p > 0)
        .and_then(|p| Proc::new(p).ok())
        .ok_or_else(gone)?;
    let uid = p.uid().map_err(|_| gone())?;
    Ok((p, uid))
}

/// Details of an opened process. Only the status file is required (its
/// absence means the process is gone); the rest is `None` when unreadable.
pub(crate) fn info(pid: u32, p: &Proc) -> Result<ProcessInfo, CapError> {
    let text = std::io::read_to_string(
        p.open_relative("status")
            .map_err(|_| CapError::NotFound(format!("Process {pid} not found")))?,
    )
    .map_err(|e| CapError::Io(format!("cannot read /proc/{pid}/status: {e}")))?;
    Ok(ProcessInfo {
        pid,
        status: status_map(&text),
        cmdline: p.cmdline().ok(),
        cwd: p.cwd().ok().map(|c| c.display().to_string()),
        exe: p.exe().ok().map(|e| e.display().to_string()),
    })
}

/// `/proc/PID/status` as (lower-cased key, trimmed value), in file order;
/// lines are split on their first colon.
pub(crate) fn status_map(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_lowercase(), v.trim().to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_percent_is_cpu_time_over_elapsed_time() {
        // Started at 10 s, now 20 s, 5 s of CPU: 50 % of one core.
        assert_eq!(cpu_percent(500, 1000, 100.0, 20.0), 50.0);
        assert_eq!(cpu_percent(500, 2000, 100.0, 20.0), 0.0);
    }

    #[test]
    fn status_lines_split_on_the_first_colon() {
        let m = status_map("Name:\tmy: app\nState:\tS (sleeping)\nbroken\nVmRSS:\t  100 kB\n");
        let want = [
            ("name", "my: app"),
            ("state", "S (sleeping)"),
            ("vmrss", "100 kB"),
        ];
        assert_eq!(m, want.map(|(k, v)| (k.to_owned(), v.to_owned())).to_vec());
    }
}
