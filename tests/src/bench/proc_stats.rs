//! Resource use read from Linux's `/proc`: a process's peak resident set (`VmHWM` in
//! `/proc/PID/status`) and CPU time in user and kernel mode (fields 14 and 15 of
//! `/proc/PID/stat`), and the machine's busy and idle CPU time (the `cpu` line of
//! `/proc/stat`). A process must be read while it still runs, because `/proc/PID`
//! disappears when it exits.

use std::process::Command;
use std::sync::OnceLock;

/// What one process used up to the moment of reading.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ProcessUsage {
    /// Peak resident set size in bytes.
    pub peak_rss_bytes: u64,
    /// User plus system CPU time in seconds.
    pub cpu_seconds: f64,
}

impl ProcessUsage {
    /// Returns the peak resident set size in MiB.
    pub fn peak_rss_mib(&self) -> f64 {
        self.peak_rss_bytes as f64 / (1024.0 * 1024.0)
    }
}

/// Reads the usage of process `pid`; `None` when `/proc/PID` cannot be read (not Linux,
/// or the process has exited).
pub fn read_usage(pid: u32) -> Option<ProcessUsage> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Some(ProcessUsage {
        peak_rss_bytes: peak_rss_bytes(&status)?,
        cpu_seconds: cpu_ticks(&stat)? as f64 / clock_ticks_per_second(),
    })
}

/// CPU time of the whole machine, all cores together, in clock ticks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuTicks {
    /// Ticks spent on anything but `idle` and `iowait`.
    pub busy: u64,
    /// All ticks.
    pub total: u64,
}

impl CpuTicks {
    /// Returns the busy share of the ticks between two readings, 0 to 1.
    pub fn busy_share(before: &CpuTicks, after: &CpuTicks) -> f64 {
        let total = after.total.saturating_sub(before.total);
        if total == 0 {
            return 0.0;
        }
        after.busy.saturating_sub(before.busy) as f64 / total as f64
    }
}

/// Reads the machine's CPU time from `/proc/stat`; `None` when it cannot be read.
pub fn read_machine_ticks() -> Option<CpuTicks> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    machine_ticks(&stat)
}

/// Parses the first line of `/proc/stat`: `cpu user nice system idle iowait irq
/// softirq steal guest guest_nice`. `guest` time is already part of `user`, so only
/// the first eight fields count.
fn machine_ticks(stat: &str) -> Option<CpuTicks> {
    let line = stat.lines().find(|line| line.starts_with("cpu "))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    let total: u64 = fields.iter().sum();
    let idle = fields.get(3)? + fields.get(4).copied().unwrap_or(0);
    Some(CpuTicks {
        busy: total - idle,
        total,
    })
}

/// Parses `VmHWM:   12345 kB` from `/proc/PID/status`.
fn peak_rss_bytes(status: &str) -> Option<u64> {
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Returns `utime + stime` from `/proc/PID/stat`, in clock ticks.
fn cpu_ticks(stat: &str) -> Option<u64> {
    // The command name (field 2) is in parentheses and may contain spaces, so the
    // fields are counted from the last closing parenthesis: field 3 comes first.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let user: u64 = fields.get(11)?.parse().ok()?;
    let system: u64 = fields.get(12)?.parse().ok()?;
    Some(user + system)
}

/// Returns the kernel's `USER_HZ` as `getconf CLK_TCK` prints it, else 100 (the value
/// on every common Linux architecture).
fn clock_ticks_per_second() -> f64 {
    static TICKS: OnceLock<f64> = OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|output| String::from_utf8(output.stdout).ok())
            .and_then(|text| text.trim().parse::<f64>().ok())
            .filter(|ticks| *ticks > 0.0)
            .unwrap_or(100.0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peak_rss_parsed_from_status() {
        let status =
            "Name:\tconsumer\nVmPeak:\t  900000 kB\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\n";
        assert_eq!(peak_rss_bytes(status), Some(20 * 1024 * 1024));
    }

    #[test]
    fn cpu_ticks_skip_spaced_command() {
        // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt
        // cmajflt utime stime …
        let stat = "42 (tokio worker) S 1 42 42 0 -1 4194560 100 0 0 0 150 25 0 0 20 0";
        assert_eq!(cpu_ticks(stat), Some(175));
    }

    #[test]
    fn machine_ticks_exclude_idle() {
        let stat = "cpu  100 5 50 800 40 3 2 0 7 0\ncpu0 50 2 25 400 20 1 1 0 0 0\n";
        let ticks = machine_ticks(stat).expect("the cpu line parses");
        assert_eq!(ticks.total, 1000, "the first eight fields");
        assert_eq!(ticks.busy, 160, "all but idle and iowait");
    }

    #[test]
    fn busy_share_between_readings() {
        let before = CpuTicks {
            busy: 100,
            total: 1000,
        };
        let after = CpuTicks {
            busy: 250,
            total: 1200,
        };
        assert_eq!(CpuTicks::busy_share(&before, &after), 0.75);
        assert_eq!(CpuTicks::busy_share(&after, &after), 0.0, "no ticks passed");
    }

    #[test]
    fn own_process_readable() {
        let usage = read_usage(std::process::id()).expect("/proc/self is readable on Linux");
        assert!(
            usage.peak_rss_bytes > 0,
            "a running process has a resident set: {usage:?}"
        );
    }
}
