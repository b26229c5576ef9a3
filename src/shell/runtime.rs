//! The tokio runtime a process runs on: one thread for all the work, and at most
//! two for blocking calls.
//!
//! zbus connects each service's socket, and closes it, on the blocking pool. A
//! process that publishes 40 services at once would otherwise start 40 threads,
//! each with its stack and its own malloc arena: about 2 MB of peak memory for
//! calls that take microseconds each.

/// Threads for blocking calls at most.
const BLOCKING_THREADS: usize = 2;

/// A single-threaded runtime with I/O and time, and a small blocking pool.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(BLOCKING_THREADS)
        .build()
}
