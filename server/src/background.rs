//! The runtime the background workers run on (rule evaluation, webhook and Alertmanager
//! delivery, capacity snapshots, retention), and where agents' reports are parsed and stored
//! (`AppState::reports_lane`: the HTTP worker reads the body and awaits the rest): threads of
//! their own, at a lower CPU priority than the threads that answer requests
//! (`STAMPBOOK_BACKGROUND_NICE`), so that on a machine whose cores are all busy the scheduler
//! gives people's and integrations' requests the cores first and the background work what is
//! left, instead of an even share.
//!
//! The priority is the Linux nice value, which is an attribute of each thread under NPTL
//! (setpriority(2): `PRIO_PROCESS` with a thread id sets that thread alone; Chromium's
//! `base/threading/platform_thread_internal_posix.cc` reads a thread's the same way). Raising
//! one's own nice value needs no privilege. The database backends that serve the background
//! pool are PostgreSQL's processes and keep their own priority.

/// Niceness added to the background threads by default: nice 10 weighs a tenth of nice 0 in
/// Linux's scheduler (110 against 1024), so under contention requests get ~90% of the CPU.
pub const DEFAULT_NICE: u8 = 10;

/// The background workers' runtime: shut down without waiting when dropped (which may happen
/// inside another runtime, where waiting is not allowed).
pub struct Runtime(Option<tokio::runtime::Runtime>);

impl Runtime {
    /// Builds a multi-threaded runtime (one worker a core) whose threads add `nice` to the
    /// niceness they inherit (at most 19, the lowest priority).
    pub fn new(nice: u8) -> std::io::Result<Runtime> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .thread_name("stampbook-background")
            .on_thread_start(move || lower_this_thread(nice))
            .enable_all()
            .build()?;
        Ok(Runtime(Some(runtime)))
    }

    pub fn handle(&self) -> Option<&tokio::runtime::Handle> {
        self.0.as_ref().map(tokio::runtime::Runtime::handle)
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// The calling thread's nice value (Linux; 0 elsewhere).
pub fn this_thread_nice() -> i32 {
    #[cfg(target_os = "linux")]
    {
        let tid = rustix::thread::gettid();
        rustix::process::getpriority_process(Some(tid)).unwrap_or(0)
    }
    #[cfg(not(target_os = "linux"))]
    {
        0
    }
}

/// Adds `nice` to the calling thread's niceness (Linux; elsewhere the thread keeps its
/// priority). A refusal (a seccomp filter, say) is logged and the thread runs on as it was.
fn lower_this_thread(nice: u8) {
    if nice == 0 {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        let tid = rustix::thread::gettid();
        let target = (this_thread_nice() + i32::from(nice)).min(19);
        if let Err(e) = rustix::process::setpriority_process(Some(tid), target) {
            tracing::warn!(error = %e, nice = target, "cannot lower a background thread's CPU priority");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The nice value a task sees on one of `runtime`'s worker threads.
    fn nice_inside(runtime: &Runtime) -> i32 {
        let handle = runtime.handle().unwrap().clone();
        let task = handle.spawn(async { this_thread_nice() });
        handle.block_on(task).unwrap()
    }

    #[test]
    fn background_threads_run_at_a_lower_priority_than_the_thread_that_made_them() {
        let before = this_thread_nice();
        let inside = nice_inside(&Runtime::new(DEFAULT_NICE).unwrap());
        #[cfg(target_os = "linux")]
        assert_eq!(inside, (before + i32::from(DEFAULT_NICE)).min(19));
        // the thread that built the runtime keeps its own priority
        assert_eq!(this_thread_nice(), before);
    }

    #[test]
    fn nice_zero_leaves_the_threads_as_they_were() {
        let before = this_thread_nice();
        let inside = nice_inside(&Runtime::new(0).unwrap());
        assert_eq!(inside, before);
    }

    #[tokio::test]
    async fn a_runtime_dropped_inside_another_does_not_panic() {
        let runtime = Runtime::new(DEFAULT_NICE).unwrap();
        let n = runtime
            .handle()
            .unwrap()
            .spawn(async { 40 + 2 })
            .await
            .unwrap();
        assert_eq!(n, 42);
        drop(runtime);
    }
}
