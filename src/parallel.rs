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

/// How many threads a call may use. The results are the same, bit for bit, for every choice:
/// rows are cut into blocks of a fixed size and their statistics merged in row order.
///
/// ```
/// use mixtura::{Component, GeneralMixtureModel, Normal, Threads};
/// use ndarray::Array2;
///
/// let model = GeneralMixtureModel::new(
///     vec![Component::Normal(Normal::new(0.0, 1.0)?), Component::Normal(Normal::new(4.0, 1.0)?)],
///     None,
/// )?;
/// let x = Array2::from_shape_fn((10_000, 1), |(i, _)| (i % 97) as f64 / 10.0);
/// let on_four = model.log_probability(x.view(), Threads::Count(4))?;
/// // Threads::Current runs on the caller's rayon pool, here one of two threads.
/// let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
/// let on_the_pool = pool.install(|| model.log_probability(x.view(), Threads::Current))?;
/// assert_eq!(on_four, on_the_pool);
/// # Ok::<(), mixtura::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Threads {
    /// Run on the rayon pool the caller is in (the global pool outside any `install`; a
    /// multivariate Gaussian's parallel linear algebra then runs on mixtura's own pool of as
    /// many threads, which a forked child starts again).
    #[default]
    Current,
    /// Run on a pool of this many threads, at most [`max_threads`] (pools are cached by size;
    /// results do not depend on the count).
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

    /// The pool of these threads: `None` for the current one.
    fn pool(self) -> Result<Option<Arc<ThreadPool>>> {
        match self {
            Threads::Current => Ok(None),
            Threads::Count(n) => {
                crate::validate::check_threads(self)?;
                Ok(Some(pool(n.min(max_threads()))?))
            }
        }
    }

    /// Runs `f` with these threads.
    pub fn install<R: Send>(self, f: impl FnOnce() -> R + Send) -> Result<R> {
        Ok(match self.pool()? {
            None => f(),
            Some(p) => p.install(f),
        })
    }

    /// Runs `f` with these threads while the calling thread calls `watch` every `period` until
    /// `f` is done, for a caller that must stay responsive (Python's main thread, which alone
    /// sees signals). `f` is a job on the pool, so no thread is started for it. On a thread of
    /// a rayon pool (where waiting to watch could hold up work) `f` runs directly, unwatched.
    /// A panic of `f` comes back as the `Err` of the [`std::thread::Result`].
    #[doc(hidden)]
    pub fn run_watched<R: Send>(
        self,
        f: impl FnOnce() -> R + Send,
        period: std::time::Duration,
        mut watch: impl FnMut(),
    ) -> Result<std::thread::Result<R>> {
        let run = || std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        if rayon::current_thread_index().is_some() {
            return self.install(run);
        }
        let mut out = None;
        match self.pool()? {
            Some(p) => p.in_place_scope(|s| watched(s, run, &mut out, period, &mut watch)),
            None => rayon::in_place_scope(|s| watched(s, run, &mut out, period, &mut watch)),
        }
        Ok(out.expect("the job has run"))
    }
}

/// The body of [`Threads::run_watched`]: spawns `run` into the scope with its result going to
/// `out`, and calls `watch` every `period` until it is done.
fn watched<'s, R: Send + 's>(
    s: &rayon::Scope<'s>,
    run: impl FnOnce() -> R + Send + 's,
    out: &'s mut Option<R>,
    period: std::time::Duration,
    watch: &mut impl FnMut(),
) {
    let (done, finished) = std::sync::mpsc::channel();
    s.spawn(move |_| {
        *out = Some(run());
        let _ = done.send(());
    });
    while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = finished.recv_timeout(period) {
        watch();
    }
}

/// A flag that stops a running fit from another thread: the fit checks it before every chunk
/// of rows and returns [`Error::Interrupted`], keeping the parameters of its last complete
/// M-step (and, for [`GeneralMixtureModel`](crate::GeneralMixtureModel)'s fits, carrying the
/// report of the epochs it ran).
///
/// A `Cancel` is a handle: its clones are handles on the same flag. That is how another thread
/// gets one, and why options cloned from options with a flag watch that flag too (give a clone
/// a flag of its own with `opts.cancel = Cancel::new()`). Two `Cancel`s are equal when they are
/// the same flag; option structs leave their flag out of their own equality. A flag stays set
/// until [`reset`](Cancel::reset).
///
/// ```
/// use mixtura::{Cancel, Component, Error, FitOptions, GeneralMixtureModel, Normal};
/// use ndarray::array;
///
/// let mut model = GeneralMixtureModel::new(
///     vec![Component::Normal(Normal::new(0.0, 1.0)?), Component::Normal(Normal::new(4.0, 1.0)?)],
///     None,
/// )?;
/// let x = array![[0.1], [-0.3], [4.2], [3.9]];
/// let mut opts = FitOptions::default();
/// opts.cancel = Cancel::new();
/// let flag = opts.cancel.clone(); // hand this to another thread, a signal handler, a UI...
/// flag.cancel();
/// let err = model.fit(x.view(), None, &opts).unwrap_err();
/// assert!(matches!(err, Error::Interrupted { .. }));
/// flag.reset(); // the same options fit again
/// let report = model.fit(x.view(), None, &opts)?;
/// assert!(report.converged);
/// # Ok::<(), mixtura::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// A new, unset flag.
    pub fn new() -> Self {
        Self::default()
    }

    /// Unsets the flag, so that fits watching it run again.
    pub fn reset(&self) {
        self.0.store(false, Ordering::Relaxed);
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
            Err(Error::interrupted("the fit was cancelled"))
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

/// The largest pool a call gets: four threads per core (at least 8). More threads would not
/// be faster, and every distinct count keeps a pool of its own.
pub fn max_threads() -> usize {
    (4 * available_cores()).max(8)
}

/// The pool to run on from outside any pool (`None` on a pool's thread): mixtura's own pool of
/// as many threads as rayon's global pool would have (`RAYON_NUM_THREADS`, or the cores).
/// Unlike the global pool, it is started again in a forked child (where the global pool's
/// threads do not exist, and a job sent to them would wait forever). An error when it cannot
/// start.
pub(crate) fn outer_pool() -> Result<Option<Arc<ThreadPool>>> {
    if rayon::current_thread_index().is_some() {
        return Ok(None);
    }
    // Read once, as rayon reads it once for its global pool.
    static THREADS: OnceLock<usize> = OnceLock::new();
    let threads = *THREADS.get_or_init(|| {
        std::env::var("RAYON_NUM_THREADS")
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|&n| n > 0)
            .unwrap_or_else(available_cores)
    });
    Ok(Some(pool(threads.min(max_threads()))?))
}

/// Runs `f` on a thread of a pool: the caller's, or [`outer_pool`]; an error when that cannot
/// start.
pub(crate) fn on_a_pool<R: Send>(f: impl FnOnce() -> R + Send) -> Result<R> {
    Ok(match outer_pool()? {
        None => f(),
        Some(pool) => pool.install(f),
    })
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
            .map_err(|e| Error::param("threads", format!("cannot start {n} threads: {e}")))?,
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

/// How far ahead of the last merged chunk [`try_fold_chunks`] may start one, per thread: bounds
/// the per-chunk results alive at once (about two per thread) whatever the number of rows, and
/// still lets every thread start a chunk while the one to merge next is being computed.
const WAVE_CHUNKS_PER_THREAD: usize = 2;

/// The wave of [`try_fold_chunks`] on `threads` threads.
fn wave_chunks(threads: usize) -> usize {
    WAVE_CHUNKS_PER_THREAD * threads.max(1)
}

/// Splits `rows` into the chunks of [`map_chunks`], computes `f` on each (in parallel on the
/// current pool when `parallel` is true, else one after the other on this thread) and folds the
/// results into `acc` with `merge`, always in row order, so the result does not depend on the
/// number of threads. The threads take chunks in order as they become free (no barrier between
/// groups of chunks), and a result waits only for the chunks before it to be merged; a thread
/// starts no chunk more than two per thread past the last merged one, so that few results are
/// alive at once. An error stops the work: the chunks after a failed one are skipped (those
/// before it still run), and the error of the earliest failed chunk is returned, whatever the
/// timing.
pub fn try_fold_chunks<T: Send, A: Send>(
    parallel: bool,
    rows: Range<usize>,
    mut acc: A,
    f: impl Fn(Range<usize>) -> Result<T> + Sync,
    mut merge: impl FnMut(A, T) -> Result<A> + Send,
) -> Result<A> {
    let n = rows.len();
    let size = chunk_rows(n);
    let count = n.div_ceil(size);
    let chunk = |c: usize| {
        let start = rows.start + c * size;
        start..(start + size).min(rows.end)
    };
    let threads = rayon::current_num_threads();
    if !parallel || count <= 1 || threads == 1 {
        for c in 0..count {
            acc = merge(acc, f(chunk(c))?)?;
        }
        return Ok(acc);
    }
    struct Fold<A, T, M> {
        acc: Option<A>,
        merge: M,
        /// The next chunk to merge, and the results that wait for it, by chunk.
        merged: usize,
        waiting: std::collections::BTreeMap<usize, T>,
        /// The earliest failed chunk and its error.
        error: Option<(usize, Error)>,
        /// Threads waiting for the merged chunks to catch up.
        sleeping: usize,
        /// The first panic of a chunk.
        panic: Option<Box<dyn std::any::Any + Send>>,
    }
    let state = Mutex::new(Fold {
        acc: Some(acc),
        merge,
        merged: 0,
        waiting: std::collections::BTreeMap::new(),
        error: None,
        sleeping: 0,
        panic: None,
    });
    let (next, failed) = (
        std::sync::atomic::AtomicUsize::new(0),
        AtomicBool::new(false),
    );
    let (progress, wave) = (std::sync::Condvar::new(), wave_chunks(threads));
    let lock = || state.lock().unwrap_or_else(|e| e.into_inner());
    let work = || loop {
        if failed.load(Ordering::Relaxed) {
            return;
        }
        let c = next.fetch_add(1, Ordering::Relaxed);
        if c >= count {
            return;
        }
        // Wait until the chunk is within reach of the merged ones.
        let mut st = lock();
        while c >= st.merged + wave && st.error.is_none() {
            st.sleeping += 1;
            st = progress.wait(st).unwrap_or_else(|e| e.into_inner());
            st.sleeping -= 1;
        }
        // A chunk after a failed one is skipped; one before it still runs, since its error
        // would be the earliest (which chunk's error is returned depends on no timing).
        if st.error.as_ref().is_some_and(|(at, _)| *at < c) {
            return;
        }
        drop(st);
        // A panic stops the others too (they could otherwise wait for this chunk forever), and
        // is raised again once they have stopped.
        let r = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(chunk(c)))) {
            Ok(r) => r,
            Err(payload) => {
                let mut st = lock();
                st.panic.get_or_insert(payload);
                st.error
                    .get_or_insert((c, Error::interrupted("a chunk panicked")));
                failed.store(true, Ordering::Relaxed);
                drop(st);
                progress.notify_all();
                return;
            }
        };
        let mut st = lock();
        match r {
            Err(e) => {
                if st.error.as_ref().is_none_or(|(at, _)| c < *at) {
                    st.error = Some((c, e));
                }
                failed.store(true, Ordering::Relaxed);
            }
            Ok(t) => {
                st.waiting.insert(c, t);
                while st.error.is_none() {
                    let at = st.merged;
                    let Some(t) = st.waiting.remove(&at) else {
                        break;
                    };
                    let a = st.acc.take().expect("the fold holds its value");
                    let st = &mut *st;
                    match (st.merge)(a, t) {
                        Ok(a) => {
                            st.acc = Some(a);
                            st.merged += 1;
                        }
                        Err(e) => {
                            st.error = Some((at, e));
                            failed.store(true, Ordering::Relaxed);
                        }
                    }
                }
            }
        }
        let wake = st.sleeping > 0;
        drop(st);
        if wake {
            progress.notify_all();
        }
    };
    rayon::scope(|s| {
        for _ in 0..threads.min(count) {
            s.spawn(|_| work());
        }
    });
    let st = state.into_inner().unwrap_or_else(|e| e.into_inner());
    if let Some(payload) = st.panic {
        std::panic::resume_unwind(payload);
    }
    if let Some((_, e)) = st.error {
        return Err(e);
    }
    Ok(st.acc.expect("every chunk merged"))
}

/// [`try_fold_chunks`] collecting the chunk results in row order.
#[cfg(test)]
fn try_map_chunks<T: Send>(
    parallel: bool,
    rows: Range<usize>,
    f: impl Fn(Range<usize>) -> Result<T> + Sync,
) -> Result<Vec<T>> {
    try_fold_chunks(parallel, rows, Vec::new(), f, |mut v, t| {
        v.push(t);
        Ok(v)
    })
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

    /// Every chunk of rows but the first fails, saying where it starts.
    fn all_but_the_first_fail(r: Range<usize>) -> Result<()> {
        if r.start > 0 {
            Err(Error::data("data", format!("chunk at {}", r.start)))
        } else {
            Ok(())
        }
    }

    #[test]
    fn the_earliest_error_is_returned_whatever_the_timing() {
        // Every chunk but the first fails: a chunk taken before the first failure is known must
        // still run, or a later chunk's error could be returned depending on the timing.
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(8)
            .build()
            .unwrap();
        let rows = 0..64 * BLOCK_ROWS * 64;
        let size = chunk_rows(rows.len());
        for _ in 0..300 {
            let err = pool
                .install(|| try_map_chunks(true, rows.clone(), all_but_the_first_fail))
                .unwrap_err();
            assert_eq!(
                err.to_string(),
                Error::data("data", format!("chunk at {size}")).to_string()
            );
        }
    }

    #[test]
    fn fold_is_ordered_and_stops_at_the_first_error() {
        use std::sync::atomic::AtomicUsize;
        for parallel in [false, true] {
            let rows = 0..100 * BLOCK_ROWS * 64;
            let order = try_fold_chunks(
                parallel,
                rows.clone(),
                Vec::new(),
                |r| Ok(r.start),
                |mut v, s| {
                    v.push(s);
                    Ok(v)
                },
            )
            .unwrap();
            assert!(order.windows(2).all(|w| w[0] < w[1]));
            assert_eq!(order.len(), rows.len().div_ceil(chunk_rows(rows.len())));
            let calls = AtomicUsize::new(0);
            let err = try_map_chunks(parallel, rows.clone(), |r| {
                calls.fetch_add(1, Ordering::Relaxed);
                all_but_the_first_fail(r)
            })
            .unwrap_err();
            assert_eq!(
                err.to_string(),
                Error::data("data", format!("chunk at {}", chunk_rows(rows.len()))).to_string()
            );
            // Nothing past the first wave ran.
            assert!(calls.load(Ordering::Relaxed) <= wave_chunks(rayon::current_num_threads()));
        }
    }

    #[test]
    fn a_panicking_chunk_is_raised_not_waited_for() {
        let rows = 0..100 * BLOCK_ROWS * 64;
        let caught = std::panic::catch_unwind(|| {
            Threads::Count(2).install(|| {
                try_map_chunks(true, rows.clone(), |r| {
                    if r.start == chunk_rows(rows.len()) {
                        panic!("chunk 1");
                    }
                    Ok(r.start)
                })
            })
        });
        assert!(caught.is_err());
    }

    #[test]
    fn n_jobs_validation() {
        assert!(Threads::from_n_jobs(0).is_err());
        assert!(Threads::from_n_jobs(-2).is_err());
        assert_eq!(Threads::from_n_jobs(3).unwrap(), Threads::Count(3));
        assert!(matches!(Threads::from_n_jobs(-1).unwrap(), Threads::Count(n) if n >= 1));
        let huge = Threads::from_n_jobs(1 << 40).unwrap();
        assert_eq!(
            huge.install(rayon::current_num_threads).unwrap(),
            max_threads()
        );
    }

    #[test]
    fn run_watched_watches_until_done_on_the_pool_and_returns_panics() {
        use std::time::Duration;
        for threads in [Threads::Count(1), Threads::Count(3), Threads::Current] {
            let mut watched = 0;
            let (tx, rx) = std::sync::mpsc::channel::<()>();
            let caller = std::thread::current().id();
            let got = threads
                .run_watched(
                    move || {
                        // Ends only after the caller has watched: it is not blocked by `f`.
                        rx.recv().unwrap();
                        (std::thread::current().id(), rayon::current_num_threads())
                    },
                    Duration::from_millis(1),
                    || {
                        watched += 1;
                        let _ = tx.send(());
                    },
                )
                .unwrap()
                .unwrap();
            assert!(watched >= 1);
            assert_ne!(got.0, caller, "f runs on the pool, not on the caller");
            if let Threads::Count(n) = threads {
                assert_eq!(got.1, n);
            }
            let panicked = threads
                .run_watched(
                    || -> usize { panic!("inside") },
                    Duration::from_millis(1),
                    || {},
                )
                .unwrap();
            assert!(panicked.is_err());
        }
        assert!(Threads::Count(0)
            .run_watched(|| 1, Duration::from_millis(1), || {})
            .is_err());
        // On a thread of a pool (even a pool of one), `f` runs directly rather than waiting for
        // a thread that is busy watching.
        let nested = Threads::Count(1)
            .install(|| {
                Threads::Count(1)
                    .run_watched(
                        rayon::current_thread_index,
                        Duration::from_millis(1),
                        || unreachable!("not watched on a pool thread"),
                    )
                    .unwrap()
                    .unwrap()
            })
            .unwrap();
        assert_eq!(nested, Some(0));
    }
}
