//! The `run` loop: a cycle at start, then one per interval with ±10% jitter, until Ctrl-C or
//! SIGTERM. A signal during a cycle interrupts its waits (the report is spooled), never its
//! bookkeeping.

use std::time::Duration;

use tokio::sync::watch;

use crate::duration::jittered;

/// A channel that turns `true` on Ctrl-C or SIGTERM.
pub fn shutdown_on_signals() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        let signal = wait_for_signal().await;
        tracing::info!(signal, "shutdown requested");
        let _ = tx.send(true);
    });
    rx
}

#[cfg(unix)]
async fn wait_for_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => tokio::select! {
            _ = tokio::signal::ctrl_c() => "SIGINT",
            _ = term.recv() => "SIGTERM",
        },
        Err(e) => {
            tracing::warn!(error = %e, "cannot watch SIGTERM; only Ctrl-C stops the agent");
            let _ = tokio::signal::ctrl_c().await;
            "SIGINT"
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() -> &'static str {
    let _ = tokio::signal::ctrl_c().await;
    "Ctrl-C"
}

/// Resolves once `true` is sent; never when the sender goes away without sending it.
pub async fn stop_requested(mut shutdown: watch::Receiver<bool>) {
    if shutdown.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Runs `cycle` now and then every `every` (jittered) until `shutdown` turns `true`.
/// Returns the number of cycles run.
pub async fn run_every<F, Fut>(
    every: Duration,
    shutdown: watch::Receiver<bool>,
    mut cycle: F,
) -> u64
where
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let mut cycles = 0;
    loop {
        if *shutdown.borrow() {
            break;
        }
        cycle().await;
        cycles += 1;
        let wait = jittered(every, &mut rand::rng());
        tracing::debug!(
            wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
            "next cycle"
        );
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = stop_requested(shutdown.clone()) => break,
        }
    }
    tracing::info!(cycles, "stopped");
    cycles
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[tokio::test(start_paused = true)]
    async fn first_cycle_runs_at_once_then_every_interval_until_shutdown() {
        let (tx, rx) = watch::channel(false);
        let count = Arc::new(AtomicU64::new(0));
        let seen = count.clone();
        let started = tokio::time::Instant::now();
        let handle = tokio::spawn(run_every(Duration::from_secs(300), rx, move || {
            let seen = seen.clone();
            async move {
                seen.fetch_add(1, Ordering::SeqCst);
            }
        }));
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(count.load(Ordering::SeqCst), 1, "first run at start");
        // Three intervals of at most 330 s each bring at least 3 more cycles.
        tokio::time::sleep(Duration::from_secs(3 * 330)).await;
        let after = count.load(Ordering::SeqCst);
        assert!((4..=5).contains(&after), "{after} cycles");
        tx.send(true).unwrap();
        let cycles = handle.await.unwrap();
        assert_eq!(cycles, after);
        assert!(started.elapsed() < Duration::from_secs(1_200));
    }

    #[tokio::test(start_paused = true)]
    async fn a_dropped_sender_does_not_stop_the_loop() {
        let (tx, rx) = watch::channel(false);
        drop(tx);
        let looping = run_every(Duration::from_secs(60), rx, || async {});
        let outcome = tokio::time::timeout(Duration::from_secs(600), looping).await;
        assert!(outcome.is_err(), "still running after ten minutes");
    }

    #[tokio::test]
    async fn shutdown_before_start_runs_nothing() {
        let (tx, rx) = watch::channel(false);
        tx.send(true).unwrap();
        let cycles = run_every(Duration::from_secs(60), rx, || async {}).await;
        assert_eq!(cycles, 0);
    }
}
