//! Work over rows in fixed-size pieces, run on a rayon pool, merged in a fixed order, so that a
//! result never depends on the number of threads.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use rayon::prelude::*;
use rayon::ThreadPool;

use crate::error::{Error, Result};

/// Rows per block: the unit of the fused E-step (log-densities, responsibilities, statistics).
pub const BLOCK_ROWS: usize = 256;

/// How many threads a call may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Threads {
    /// Run on the rayon pool the caller is in (the global pool outside any `install`).
    #[default]
    Current,
    /// Run on a pool of exactly this many threads (pools are cached by size).
    Count(usize),
}

impl Threads {
    /// `n_jobs` as pomegranate and scikit-learn spell it: a positive count, or -1 for all cores.
    pub fn from_n_jobs(n_jobs: i64) -> Result<Self> {
        match n_jobs {
            -1 => Ok(Threads::Count(available_cores())),
            n if n >= 1 => Ok(Threads::Count(n as usize)),
            _ => Err(Error::param(
                "n_jobs",
                format!("must be a positive number of threads or -1 for all cores, got {n_jobs}"),
            )),
        }
    }

    /// Runs `f` with these threads.
    pub fn install<R: Send>(self, f: impl FnOnce() -> R + Send) -> Result<R> {
        match self {
            Threads::Current => Ok(f()),
            Threads::Count(0) => Err(Error::param("n_jobs", "must be at least 1")),
            Threads::Count(n) => Ok(pool(n)?.install(f)),
        }
    }
}

/// A flag that stops a running fit from another thread: the fit checks it before every chunk
/// of rows and returns [`Error::Interrupted`], keeping the parameters of its last complete
/// M-step. Clones share the flag.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// A new, unset flag.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the fits watching this flag to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether [`cancel`](Cancel::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// `Err(Interrupted)` once cancelled.
    pub fn check(&self) -> Result<()> {
        if self.is_cancelled() {
            Err(Error::Interrupted("the fit was cancelled".into()))
        } else {
            Ok(())
        }
    }
}

/// Two flags are equal when they are the same flag.
impl PartialEq for Cancel {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// The number of cores this process may use.
pub fn available_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// The cached pools, and the process they were started in.
type Pools = (u32, HashMap<usize, Arc<ThreadPool>>);

fn pool(n: usize) -> Result<Arc<ThreadPool>> {
    static POOLS: OnceLock<Mutex<Pools>> = OnceLock::new();
    let pools = POOLS.get_or_init(|| Mutex::new((std::process::id(), HashMap::new())));
    let mut guard = pools.lock().unwrap_or_else(|e| e.into_inner());
    let (pid, pools) = &mut *guard;
    // A forked child inherits the cache but not the pools' threads: jobs sent to those pools
    // would wait forever. Start new pools in a new process (the old ones are leaked, since
    // dropping them would wait for threads that do not exist).
    if *pid != std::process::id() {
        for (_, p) in pools.drain() {
            std::mem::forget(p);
        }
        *pid = std::process::id();
    }
    if let Some(p) = pools.get(&n) {
        return Ok(p.clone());
    }
    let p = Arc::new(
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .thread_name(|i| format!("mixtura-{i}"))
            .build()
            .map_err(|e| Error::param("n_jobs", format!("cannot start {n} threads: {e}")))?,
    );
    pools.insert(n, p.clone());
    Ok(p)
}

/// Rows per task for `n` rows: a whole number of blocks, chosen from `n` alone (never from the
/// thread count), so that the split, and with it every sum, is the same on any number of threads.
pub fn chunk_rows(n: usize) -> usize {
    let target = n.div_ceil(64).div_ceil(BLOCK_ROWS) * BLOCK_ROWS;
    target.clamp(BLOCK_ROWS, 64 * BLOCK_ROWS)
}

/// Splits `rows` into tasks of [`chunk_rows`] rows, runs `f` on each in parallel (on the current
/// pool), and returns the results in row order.
pub fn map_chunks<T: Send>(rows: Range<usize>, f: impl Fn(Range<usize>) -> T + Sync) -> Vec<T> {
    let n = rows.len();
    let size = chunk_rows(n);
    let count = n.div_ceil(size);
    (0..count)
        .into_par_iter()
        .map(|c| {
            let start = rows.start + c * size;
            f(start..(start + size).min(rows.end))
        })
        .collect()
}

/// [`map_chunks`], or the same chunks one after the other on this thread when `parallel` is false.
pub fn map_chunks_if<T: Send>(
    parallel: bool,
    rows: Range<usize>,
    f: impl Fn(Range<usize>) -> T + Sync,
) -> Vec<T> {
    if parallel {
        return map_chunks(rows, f);
    }
    let n = rows.len();
    let size = chunk_rows(n);
    (0..n.div_ceil(size))
        .map(|c| {
            let start = rows.start + c * size;
            f(start..(start + size).min(rows.end))
        })
        .collect()
}

/// Iterates over the blocks of [`BLOCK_ROWS`] rows of a range.
pub fn blocks(rows: Range<usize>) -> impl Iterator<Item = Range<usize>> {
    let end = rows.end;
    rows.step_by(BLOCK_ROWS)
        .map(move |s| s..(s + BLOCK_ROWS).min(end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_rows_in_order() {
        for n in [0usize, 1, 255, 256, 257, 10_000, 1_000_003] {
            let parts = map_chunks(3..n + 3, |r| r);
            let mut next = 3;
            for r in parts {
                assert_eq!(r.start, next);
                assert!(r.len() % BLOCK_ROWS == 0 || r.end == n + 3);
                next = r.end;
            }
            assert_eq!(next, n + 3);
        }
    }

    #[test]
    fn n_jobs_validation() {
        assert!(Threads::from_n_jobs(0).is_err());
        assert!(Threads::from_n_jobs(-2).is_err());
        assert_eq!(Threads::from_n_jobs(3).unwrap(), Threads::Count(3));
        assert!(matches!(Threads::from_n_jobs(-1).unwrap(), Threads::Count(n) if n >= 1));
    }
}
