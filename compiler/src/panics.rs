//! Panics of the libraries beneath us (tract on a model it cannot read, halo2 on a corrupted key
//! or SRS) turned into errors, with nothing printed: a user sees one line, never a backtrace.

use std::sync::Mutex;

/// Where the last silenced panic happened, for its message.
static LOCATION: Mutex<Option<String>> = Mutex::new(None);

/// `f`'s result, or the panic's message (and where it happened) if it panicked. The panic hook
/// is silenced meanwhile (it is process-wide: a panic on another thread in that moment is not
/// printed either).
pub fn caught<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|info| {
        if let (Some(at), Ok(mut last)) = (info.location(), LOCATION.lock()) {
            *last = Some(format!("{}:{}", at.file(), at.line()));
        }
    }));
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    std::panic::set_hook(hook);
    out.map_err(|p| {
        let what = p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned());
        let what = what.unwrap_or_else(|| "no message".into()).replace('\n', " ");
        match LOCATION.lock().ok().and_then(|mut l| l.take()) {
            Some(at) => format!("{what} (at {at})"),
            None => what,
        }
    })
}
