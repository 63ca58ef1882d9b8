//! Panics of the libraries beneath us (tract on a model it cannot read, halo2 on a corrupted key
//! or SRS) turned into errors, with nothing printed: a user sees one line, never a backtrace.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, Once};

/// How many `caught` calls are running, on any thread.
static ACTIVE: AtomicUsize = AtomicUsize::new(0);
/// Where the last silenced panic happened, for its message.
static LOCATION: Mutex<Option<String>> = Mutex::new(None);
static HOOK: Once = Once::new();

/// One process-wide hook, installed once, in front of the previous one: while any `caught` runs
/// it records the location and prints nothing (the work inside may panic on rayon's threads,
/// not only on the caller's; a panic elsewhere in that moment is not printed either, but still
/// unwinds). Taking and restoring the hook per call raced between threads: calibration's
/// parallel candidates printed backtraces, and a restore could leave the hook silenced.
fn install() {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if ACTIVE.load(Ordering::SeqCst) == 0 {
                return previous(info);
            }
            if let (Some(at), Ok(mut last)) = (info.location(), LOCATION.lock()) {
                *last = Some(format!("{}:{}", at.file(), at.line()));
            }
        }));
    });
}

/// `f`'s result, or the panic's message (and where it happened) if it panicked.
pub fn caught<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    install();
    ACTIVE.fetch_add(1, Ordering::SeqCst);
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    ACTIVE.fetch_sub(1, Ordering::SeqCst);
    out.map_err(|p| {
        let what = p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned());
        let what = what.unwrap_or_else(|| "no message".into()).replace('\n', " ");
        match LOCATION.lock().ok().and_then(|mut l| l.take()) {
            Some(at) => format!("{what} (at {at})"),
            None => what,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::caught;

    /// Many threads at once: every panic is caught with its own message, in order.
    #[test]
    fn concurrent_catches_silence_and_restore() {
        use rayon::prelude::*;
        let results: Vec<Result<u32, String>> =
            (0..64u32).into_par_iter().map(|i| caught(|| if i % 2 == 0 { panic!("case {i}") } else { i })).collect();
        for (i, r) in results.iter().enumerate() {
            match r {
                Ok(v) => assert_eq!(*v as usize, i),
                Err(why) => assert!(why.starts_with(&format!("case {i}")), "{why}"),
            }
        }
    }
}
