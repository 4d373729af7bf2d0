//! A reusable thread with a large stack for the recursive tree walk.
//!
//! The walk recurses once per nesting level and the parser accepts nesting thousands of
//! levels deep (as mpy-cross does), so it needs far more stack than a caller's thread may
//! have. Spawning a thread per file for that cost about 0.1 ms, more than compiling a small
//! module, so each calling thread keeps one helper thread and hands it its walks. The
//! helper's stack is only reserved, not committed, until a deep file touches it.

use std::any::Any;
use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc::{self, Sender};
use std::thread;

/// Stack reserved for the walk.
const WALK_STACK_BYTES: usize = 1 << 30;

type Job = Box<dyn FnOnce() + Send>;

thread_local! {
    /// The job queue of this thread's helper, once started.
    static HELPER: RefCell<Option<Sender<Job>>> = const { RefCell::new(None) };
}

/// Run one job. Kept out of line so that profilers can attribute the walk's work to it.
#[inline(never)]
fn run(job: Job) {
    job();
}

/// Hand `job` to this thread's helper, starting one when there is none (or it is gone).
/// Returns the job when no helper could be started.
fn submit(job: Job) -> Option<Job> {
    HELPER.with(|cell| {
        let mut helper = cell.borrow_mut();
        let job = match helper.as_ref() {
            Some(queue) => match queue.send(job) {
                Ok(()) => return None,
                Err(mpsc::SendError(job)) => job,
            },
            None => job,
        };
        let (queue, jobs) = mpsc::channel::<Job>();
        let started = thread::Builder::new()
            .name("portlib-walk".into())
            .stack_size(WALK_STACK_BYTES)
            .spawn(move || {
                // Ends when the calling thread exits and drops the queue.
                while let Ok(job) = jobs.recv() {
                    run(job);
                }
            });
        if started.is_err() {
            *helper = None;
            return Some(job);
        }
        match queue.send(job) {
            Ok(()) => {
                *helper = Some(queue);
                None
            }
            Err(mpsc::SendError(job)) => Some(job),
        }
    })
}

/// Run `f` on the calling thread's large-stack helper and return its result; a panic in `f`
/// is resumed here. Without a helper (the thread cannot be created) `f` runs on this thread.
pub(super) fn on_large_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, result) = mpsc::sync_channel::<thread::Result<T>>(1);
    let job: Job = Box::new(move || {
        let r = panic::catch_unwind(AssertUnwindSafe(f));
        // The receiver waits below; it cannot be gone.
        let _ = done.send(r);
    });
    if let Some(job) = submit(job) {
        run(job);
    }
    let outcome: Result<T, Box<dyn Any + Send>> = match result.recv() {
        Ok(r) => r,
        // Only if the helper died between accepting the job and running it.
        Err(_) => Err(Box::new("the compile walk thread stopped")),
    };
    outcome.unwrap_or_else(|payload| panic::resume_unwind(payload))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_on_one_reused_helper_with_a_large_stack() {
        let here = thread::current().id();
        let first = on_large_stack(|| thread::current().id());
        let second = on_large_stack(|| thread::current().id());
        assert_ne!(first, here);
        assert_eq!(first, second);
        // Deeper than a default 2 MiB thread stack allows.
        fn depth(n: u32) -> u32 {
            let pad = std::hint::black_box([0u8; 1024]);
            if n == 0 {
                u32::from(pad[0])
            } else {
                depth(n - 1) + 1
            }
        }
        assert_eq!(on_large_stack(|| depth(20_000)), 20_000);
    }

    #[test]
    fn panics_come_back_to_the_caller() {
        let r = panic::catch_unwind(|| on_large_stack(|| -> u32 { panic!("boom") }));
        assert!(r.is_err());
        // The helper survives a panicking job.
        assert_eq!(on_large_stack(|| 7), 7);
    }
}
