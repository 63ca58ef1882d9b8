//! This process's memory, from /proc (Linux): what is free before a job, and the peak a job
//! reached, so a long command that runs several jobs in turn can report each one's peak.

use std::sync::atomic::{AtomicU64, Ordering};

/// Memory this machine has free now, from /proc/meminfo (None where that cannot be read).
pub fn available() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    kb_field(&info, "MemAvailable:")
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
}
