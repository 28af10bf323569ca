//! Who used the CPU during a measurement: the server (all its processes: one for Smelt, the
//! master and workers for nginx), Postgres (all its processes), this load client, and the whole
//! machine, from `/proc`. On a machine where all three share the cores,
//! this shows which one a missed target is waiting on.

use std::fs;

use serde::Serialize;

/// Clock ticks per second of `/proc` CPU times (`USER_HZ`, 100 on Linux).
const TICKS_PER_SEC: f64 = 100.0;

/// CPU time counters at one instant, in clock ticks.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuSample {
    server: u64,
    postgres: u64,
    client: u64,
    machine_busy: u64,
    machine_total: u64,
    taken: Option<std::time::Instant>,
}

/// CPU use between two samples, in % of one core (200% = both cores of a two-core machine).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct CpuUse {
    /// The server's processes (%).
    pub server_pct: f64,
    /// Every process named `postgres` (%).
    pub postgres_pct: f64,
    /// This load client (%).
    pub load_client_pct: f64,
    /// All processes of the machine (%), including builds or anything else running.
    pub machine_pct: f64,
    /// Cores of the machine.
    pub cores: usize,
    /// Length of the window (s).
    pub window_secs: f64,
}

/// `utime + stime` of a process, in ticks, and its command name.
fn process_ticks(pid: &str) -> Option<(String, u64)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat[open + 1..close].to_owned();
    // Fields after the name: state is field 3; utime and stime are fields 14 and 15.
    let rest: Vec<&str> = stat[close + 2..].split_whitespace().collect();
    let utime: u64 = rest.get(11)?.parse().ok()?;
    let stime: u64 = rest.get(12)?.parse().ok()?;
    Some((name, utime + stime))
}

/// Busy and total ticks of all cores (first line of `/proc/stat`).
fn machine_ticks() -> Option<(u64, u64)> {
    let stat = fs::read_to_string("/proc/stat").ok()?;
    let values: Vec<u64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let total: u64 = values.iter().take(8).sum();
    let idle = values.get(3)? + values.get(4)?;
    Some((total - idle, total))
}

impl CpuSample {
    /// Reads the counters now; `server` are the server's processes (none when unknown).
    pub fn take(server: &[u32]) -> Self {
        let mut sample = CpuSample {
            taken: Some(std::time::Instant::now()),
            ..Default::default()
        };
        if let Some((busy, total)) = machine_ticks() {
            sample.machine_busy = busy;
            sample.machine_total = total;
        }
        let me = std::process::id().to_string();
        let server: Vec<String> = server.iter().map(u32::to_string).collect();
        for entry in fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            if !pid.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let Some((name, ticks)) = process_ticks(&pid) else {
                continue;
            };
            if server.contains(&pid) {
                sample.server += ticks;
            } else if pid == me {
                sample.client = ticks;
            } else if name == "postgres" {
                sample.postgres += ticks;
            }
        }
        sample
    }

    /// CPU use from `earlier` to this sample. Postgres processes that ended in between
    /// (connections closed) are not counted.
    pub fn since(&self, earlier: &CpuSample) -> CpuUse {
        let window = match (self.taken, earlier.taken) {
            (Some(now), Some(then)) => now.duration_since(then).as_secs_f64(),
            _ => 0.0,
        };
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let pct = |a: u64, b: u64| {
            if window > 0.0 {
                a.saturating_sub(b) as f64 / TICKS_PER_SEC / window * 100.0
            } else {
                0.0
            }
        };
        let machine_total = self.machine_total.saturating_sub(earlier.machine_total) as f64;
        let machine_pct = if machine_total > 0.0 {
            self.machine_busy.saturating_sub(earlier.machine_busy) as f64 / machine_total
                * 100.0
                * cores as f64
        } else {
            0.0
        };
        CpuUse {
            server_pct: pct(self.server, earlier.server),
            postgres_pct: pct(self.postgres, earlier.postgres),
            load_client_pct: pct(self.client, earlier.client),
            machine_pct,
            cores,
            window_secs: window,
        }
    }
}
