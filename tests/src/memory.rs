//! Memory of a process tree, read from /proc (Linux).

use std::collections::HashMap;
use std::path::PathBuf;

/// Every process below `root` (children before grandchildren), `root` excluded.
pub fn descendants(root: u32) -> Vec<u32> {
    let mut parent_of: HashMap<u32, u32> = HashMap::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for entry in dir.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            if let Some(ppid) = ppid(pid) {
                parent_of.insert(pid, ppid);
            }
        }
    }
    let mut out = Vec::new();
    let mut frontier = vec![root];
    while let Some(p) = frontier.pop() {
        for (&child, &parent) in &parent_of {
            if parent == p && !out.contains(&child) {
                out.push(child);
                frontier.push(child);
            }
        }
    }
    out
}

fn ppid(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ppid ...": comm may contain spaces and parentheses.
    let after = &stat[stat.rfind(')')? + 2..];
    after.split_whitespace().nth(1)?.parse().ok()
}

/// The executable of a process.
pub fn exe(pid: u32) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/exe")).ok()
}

/// The process name (`comm`).
pub fn name(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

fn kib_field(path: &str, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Resident set size, KiB.
pub fn rss_kib(pid: u32) -> u64 {
    kib_field(&format!("/proc/{pid}/status"), "VmRSS:").unwrap_or(0)
}

/// Proportional set size (shared pages divided among their users), KiB.
pub fn pss_kib(pid: u32) -> u64 {
    kib_field(&format!("/proc/{pid}/smaps_rollup"), "Pss:").unwrap_or(0)
}

/// The memory of a process and everything it spawned (for the app: WebKit's web and
/// network processes).
#[derive(Clone, Debug, Default)]
pub struct TreeMemory {
    /// (pid, name, RSS KiB) of every process.
    pub processes: Vec<(u32, String, u64)>,
    pub rss_kib: u64,
    pub pss_kib: u64,
}

pub fn tree(root: u32) -> TreeMemory {
    let mut pids = vec![root];
    pids.extend(descendants(root));
    let mut m = TreeMemory::default();
    for pid in pids {
        let rss = rss_kib(pid);
        m.rss_kib += rss;
        m.pss_kib += pss_kib(pid);
        m.processes.push((pid, name(pid), rss));
    }
    m
}
