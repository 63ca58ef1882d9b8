//! This process's memory, from /proc (Linux): what is free before a job, and the peak a job
//! reached, so a long command that runs several jobs in turn can report each one's peak.

use std::sync::atomic::{AtomicU64, Ordering};

/// Memory this process may still take: the least of the machine's free memory
/// (/proc/meminfo), its address-space and data-size limits (`ulimit -v`, `prlimit --as/--data`)
/// less what it already maps, and its cgroup's limit less the cgroup's use (containers, systemd
/// units; v2 or v1). None where none of these can be read.
pub fn available() -> Option<u64> {
    let read = |path: &str| std::fs::read_to_string(path).ok();
    let machine = read("/proc/meminfo").and_then(|info| kb_field(&info, "MemAvailable:"));
    let status = read("/proc/self/status").unwrap_or_default();
    let limits = read("/proc/self/limits").unwrap_or_default();
    let rlimit = |name: &str, used: &str| Some(soft_limit(&limits, name)?.saturating_sub(kb_field(&status, used)?));
    let address_space = rlimit("Max address space", "VmSize:");
    let data = rlimit("Max data size", "VmData:");
    let cgroup = read("/proc/self/cgroup").and_then(|c| cgroup_room(&c, &|p: &str| read(p)));
    [machine, address_space, data, cgroup].into_iter().flatten().min()
}

/// The soft limit in bytes of a /proc/self/limits line ("Max address space  unlimited  ..."),
/// None when unlimited or absent.
fn soft_limit(limits: &str, name: &str) -> Option<u64> {
    limits.lines().find_map(|l| l.strip_prefix(name)?.split_whitespace().next()?.parse().ok())
}

/// The memory left under this process's cgroup limits (v2: memory.max less memory.current; v1:
/// memory.limit_in_bytes less memory.usage_in_bytes), from /proc/self/cgroup's lines and a reader
/// of the cgroup files. None when there is no limit.
fn cgroup_room(cgroup: &str, read: &dyn Fn(&str) -> Option<String>) -> Option<u64> {
    let number = |path: String| read(&path).and_then(|t| t.trim().parse::<u64>().ok());
    cgroup
        .lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ':');
            let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
            let (limit, usage) = match controllers {
                "" => (format!("/sys/fs/cgroup{path}/memory.max"), format!("/sys/fs/cgroup{path}/memory.current")),
                c if c.split(',').any(|c| c == "memory") => (
                    format!("/sys/fs/cgroup/memory{path}/memory.limit_in_bytes"),
                    format!("/sys/fs/cgroup/memory{path}/memory.usage_in_bytes"),
                ),
                _ => return None,
            };
            // v1 writes "no limit" as a number near 2^63.
            let limit = number(limit).filter(|&l| l < 1 << 60)?;
            Some(limit.saturating_sub(number(usage).unwrap_or(0)))
        })
        .min()
}

/// The process's peak before the last reset of the kernel's high-water mark (see `process_peak`).
static PEAK_BEFORE_RESET: AtomicU64 = AtomicU64::new(0);

/// The peak resident memory of this process so far, across the jobs that reset the mark.
pub fn process_peak() -> Option<u64> {
    high_water_mark().map(|b| b.max(PEAK_BEFORE_RESET.load(Ordering::Relaxed)))
}

fn high_water_mark() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    kb_field(&status, "VmHWM:")
}

/// The peak resident memory of the job that starts now: `PeakMemory::start()` before it,
/// `bytes()` after it.
pub struct PeakMemory {
    /// Whether the kernel's high-water mark was reset at the start; if not, `bytes()` is the
    /// process's peak so far, an upper bound of the job's.
    reset: bool,
}

impl PeakMemory {
    pub fn start() -> Self {
        if let Some(b) = high_water_mark() {
            PEAK_BEFORE_RESET.fetch_max(b, Ordering::Relaxed);
        }
        // "5" resets the process's peak resident set size (proc(5), /proc/pid/clear_refs).
        PeakMemory { reset: std::fs::write("/proc/self/clear_refs", "5").is_ok() }
    }

    pub fn bytes(&self) -> Option<u64> {
        high_water_mark()
    }

    /// ", peak 7.6 GB" (", peak at most 7.6 GB" where the mark could not be reset), or nothing;
    /// GB of 2^30 bytes, as zkonnx's other sizes.
    pub fn describe(&self) -> String {
        let gb = |b: u64| b as f64 / (1u64 << 30) as f64;
        match self.bytes() {
            Some(b) if self.reset => format!(", peak {:.2} GB", gb(b)),
            Some(b) => format!(", peak at most {:.2} GB", gb(b)),
            None => String::new(),
        }
    }
}

/// A "Name:   1234 kB" field of a /proc file, in bytes.
fn kb_field(text: &str, name: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(name))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_that_holds_memory_has_a_peak_at_least_that_large() {
        let peak = PeakMemory::start();
        let held = vec![1u8; 64 << 20];
        let touched: u64 = held.iter().step_by(4096).map(|&b| b as u64).sum();
        assert_eq!(touched, (64 << 20) / 4096);
        if let Some(bytes) = peak.bytes() {
            assert!(bytes >= 64 << 20, "peak {bytes} below the 64 MB held");
        }
        drop(held);
        let after = PeakMemory::start();
        if let (Some(job), Some(process)) = (after.bytes(), process_peak()) {
            assert!(process >= 64 << 20, "the process peak {process} forgot the first job's");
            assert!(process >= job);
        }
        assert_eq!(kb_field("VmHWM:\t  2048 kB\n", "VmHWM:"), Some(2 << 20));
    }

    /// Issue 26: under `prlimit --as` or a cgroup's memory.max, setup and prove were killed at
    /// 200 MB instead of refusing: the tightest limit is what is available.
    #[test]
    fn process_and_cgroup_limits_bound_what_is_available() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max data size             unlimited            unlimited            bytes\n\
                      Max address space         209715200            unlimited            bytes\n";
        assert_eq!(soft_limit(limits, "Max address space"), Some(200 << 20));
        assert_eq!(soft_limit(limits, "Max data size"), None);
        let files = |p: &str| match p {
            "/sys/fs/cgroup/ci/job/memory.max" => Some("1073741824\n".to_string()),
            "/sys/fs/cgroup/ci/job/memory.current" => Some("268435456\n".to_string()),
            "/sys/fs/cgroup/memory/old/memory.limit_in_bytes" => Some("9223372036854771712\n".to_string()),
            "/sys/fs/cgroup/unlimited/memory.max" => Some("max\n".to_string()),
            _ => None,
        };
        assert_eq!(cgroup_room("0::/ci/job\n", &files), Some(768 << 20));
        assert_eq!(cgroup_room("0::/unlimited\n", &files), None);
        assert_eq!(cgroup_room("4:memory:/old\n3:cpu,cpuacct:/old\n", &files), None);
        // This process: at most the machine's free memory.
        if let (Some(all), Some(free)) = (available(), std::fs::read_to_string("/proc/meminfo").ok()) {
            assert!(all <= kb_field(&free, "MemAvailable:").unwrap_or(u64::MAX) + (64 << 20));
        }
    }
}
