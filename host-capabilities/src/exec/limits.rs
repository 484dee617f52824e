//! The wall-clock cap and the resource limits (`setrlimit`) of a program
//! started through `exec`, with their defaults and the range each accepts.

use std::ops::RangeInclusive;

use super::policy::ExecToml;
use crate::error::CompileError;

/// 60 s of CPU: more than any administrative command needs, and a runaway
/// loop still ends well before the longest role timeout (10 min).
const DEFAULT_CPU_SECONDS: u64 = 60;
/// 1 GiB of address space: room for bash, coreutils, python; a JIT runtime
/// that reserves huge ranges needs `memory_mib` raised.
const DEFAULT_MEMORY_MIB: u64 = 1024;
/// 64 MiB per written file: logs and reports fit, filling a disk does not.
const DEFAULT_FILE_SIZE_MIB: u64 = 64;
/// 256 processes: `RLIMIT_NPROC` counts every process of the user (and is
/// not enforced for root), so it is a fork-bomb brake, not a quota.
const DEFAULT_PROCESSES: u64 = 256;

/// 256 processes per call (`pids.max` of the call's cgroup): a fork bomb
/// stops there, also as root; a parallel build still has room.
const DEFAULT_MAX_PROCESSES: u64 = 256;

/// 1 s to 1 h of CPU.
const CPU_SECONDS: RangeInclusive<u64> = 1..=3600;
/// 16 MiB (a dynamic loader and a small program) to 64 GiB.
const MEMORY_MIB: RangeInclusive<u64> = 16..=(64 << 10);
/// 1 MiB to 1 TiB.
const FILE_SIZE_MIB: RangeInclusive<u64> = 1..=(1 << 20);
/// 1 to 65 536 processes.
const PROCESSES: RangeInclusive<u64> = 1..=65_536;
/// 1 (the program alone) to 65 536 processes per call.
const MAX_PROCESSES: RangeInclusive<u64> = 1..=65_536;

/// Limits on one program run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecLimits {
    /// Wall clock, in milliseconds; the process group is killed after it.
    pub timeout_ms: u64,
    /// `RLIMIT_CPU`, seconds (SIGXCPU, then SIGKILL one second later).
    pub cpu_seconds: u64,
    /// `RLIMIT_AS`, MiB.
    pub memory_mib: u64,
    /// `RLIMIT_FSIZE`, MiB (SIGXFSZ on the write that crosses it).
    pub file_size_mib: u64,
    /// `RLIMIT_NPROC`.
    pub processes: u64,
    /// `pids.max` of the call's cgroup: processes and threads of the call
    /// at once, root included.
    pub max_processes: u64,
}

impl ExecLimits {
    /// The defaults under a role whose call timeout is `role_timeout_ms`.
    pub fn defaults(role_timeout_ms: u64) -> Self {
        Self {
            timeout_ms: role_timeout_ms,
            cpu_seconds: DEFAULT_CPU_SECONDS,
            memory_mib: DEFAULT_MEMORY_MIB,
            file_size_mib: DEFAULT_FILE_SIZE_MIB,
            processes: DEFAULT_PROCESSES,
            max_processes: DEFAULT_MAX_PROCESSES,
        }
    }

    /// The section's values, checked, over the defaults.
    pub(crate) fn compile(raw: &ExecToml, role_timeout_ms: u64) -> Result<Self, CompileError> {
        let d = Self::defaults(role_timeout_ms);
        let check = |key: &str,
                     v: Option<u64>,
                     range: RangeInclusive<u64>,
                     default: u64,
                     why: &str| {
            match v {
                None => Ok(default),
                Some(v) if range.contains(&v) => Ok(v),
                Some(v) => Err(CompileError::new(
                    key,
                    format!(
                        "{v} is out of range; use {} to {} ({why})",
                        range.start(),
                        range.end()
                    ),
                )),
            }
        };
        Ok(Self {
            timeout_ms: check(
                "timeout_ms",
                raw.timeout_ms,
                1..=role_timeout_ms,
                d.timeout_ms,
                "a run cannot outlast the tool call, so the role's timeout_ms is the ceiling",
            )?,
            cpu_seconds: check(
                "cpu_seconds",
                raw.cpu_seconds,
                CPU_SECONDS,
                d.cpu_seconds,
                "seconds of CPU",
            )?,
            memory_mib: check(
                "memory_mib",
                raw.memory_mib,
                MEMORY_MIB,
                d.memory_mib,
                "MiB of address space",
            )?,
            file_size_mib: check(
                "file_size_mib",
                raw.file_size_mib,
                FILE_SIZE_MIB,
                d.file_size_mib,
                "MiB per written file",
            )?,
            processes: check(
                "processes",
                raw.processes,
                PROCESSES,
                d.processes,
                "processes of the user",
            )?,
            max_processes: check(
                "max_processes",
                raw.max_processes,
                MAX_PROCESSES,
                d.max_processes,
                "processes of one call",
            )?,
        })
    }

    /// `timeout 10000 ms, cpu 60 s, memory 1024 MiB, file size 64 MiB,
    /// processes 256, 256 per call`.
    pub fn summary(&self) -> String {
        format!(
            "timeout {} ms, cpu {} s, memory {} MiB, file size {} MiB, processes {}, {} per call",
            self.timeout_ms,
            self.cpu_seconds,
            self.memory_mib,
            self.file_size_mib,
            self.processes,
            self.max_processes
        )
    }
}
