//! A process's CPU time and resident memory, read from `/proc` (Linux), so the servers
//! are measured from outside as an operator would.

use std::time::Instant;

/// Clock ticks per second of `/proc/*/stat` times (`getconf CLK_TCK`; 100 on Linux).
pub fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// Fields of `/proc/PID/stat` after the command name (field 3 is the state).
fn stat_fields(pid: u32) -> Option<Vec<u64>> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 2..];
    Some(
        rest.split_whitespace()
            .skip(1) // state
            .map(|f| f.parse().unwrap_or(0))
            .collect(),
    )
}

/// utime + stime of a process, in ticks; with `children`, also those of its children
/// that have ended and were waited for (cutime + cstime).
pub fn cpu_ticks(pid: u32, children: bool) -> u64 {
    // After the state: ppid(4) pgrp session tty_nr tpgid flags minflt cminflt majflt
    // cmajflt utime(14) stime cutime cstime.
    stat_fields(pid).map_or(0, |f| {
        let own = f[10] + f[11];
        if children { own + f[12] + f[13] } else { own }
    })
}

fn parent_of(pid: u32) -> Option<u32> {
    stat_fields(pid).and_then(|f| u32::try_from(f[0]).ok())
}

/// Resident memory in KiB (`VmRSS`).
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// CPU used by a set of processes over an interval, in cores (1.0 = one core busy).
pub struct CpuMeter {
    pids: Vec<u32>,
    children: bool,
    ticks: u64,
    since: Instant,
    hz: f64,
}

impl CpuMeter {
    pub fn start(pids: Vec<u32>, children: bool) -> Self {
        let ticks = pids.iter().map(|&p| cpu_ticks(p, children)).sum();
        Self {
            pids,
            children,
            ticks,
            since: Instant::now(),
            hz: clock_ticks(),
        }
    }

    /// Cores used since `start`.
    pub fn cores(&self) -> f64 {
        let now: u64 = self.pids.iter().map(|&p| cpu_ticks(p, self.children)).sum();
        (now.saturating_sub(self.ticks)) as f64 / self.hz / self.since.elapsed().as_secs_f64()
    }
}

/// A PostgreSQL cluster's processes: the postmaster listening on `port` (found by its
/// command line) and its children, the backends. Other clusters on the machine are left
/// out.
pub fn postgres_processes(port: u16) -> Vec<u32> {
    let flag = format!("-p\0{port}\0");
    let pids: Vec<u32> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    let Some(master) = pids.iter().copied().find(|&p| {
        std::fs::read(format!("/proc/{p}/cmdline"))
            .map(|c| {
                c.windows(flag.len()).any(|w| w == flag.as_bytes())
                    && c.starts_with(b"/usr/lib/postgresql")
            })
            .unwrap_or(false)
    }) else {
        return Vec::new();
    };
    let mut out = vec![master];
    out.extend(pids.into_iter().filter(|&p| parent_of(p) == Some(master)));
    out
}

/// A PostgreSQL cluster's CPU, children included: the postmaster's own and its reaped
/// children's time, and every live backend's.
pub struct PgCpu {
    port: u16,
    ticks: u64,
    since: Instant,
    hz: f64,
}

impl PgCpu {
    fn total(port: u16) -> u64 {
        let procs = postgres_processes(port);
        procs
            .iter()
            .enumerate()
            .map(|(i, &p)| cpu_ticks(p, i == 0))
            .sum()
    }

    pub fn start(port: u16) -> Self {
        Self {
            port,
            ticks: Self::total(port),
            since: Instant::now(),
            hz: clock_ticks(),
        }
    }

    pub fn cores(&self) -> f64 {
        Self::total(self.port).saturating_sub(self.ticks) as f64
            / self.hz
            / self.since.elapsed().as_secs_f64()
    }
}
