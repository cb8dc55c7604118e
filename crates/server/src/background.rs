//! The server's background work (following the feed, reloading keys, pruning), owned:
//! shutdown waits for every task, and a task that panics or ends while the server is
//! meant to run is reported and stops the server, rather than leaving it half-alive
//! (a server whose feed follower died would stop enforcing other instances' revocations).

use std::collections::HashMap;
use std::future::Future;

use tokio::task::{Id, JoinSet};
use tokio_util::sync::CancellationToken;

pub struct Background {
    tasks: JoinSet<()>,
    names: HashMap<Id, &'static str>,
    shutdown: CancellationToken,
}

impl std::fmt::Debug for Background {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Background")
            .field("tasks", &self.names.values().collect::<Vec<_>>())
            .finish()
    }
}

impl Background {
    pub fn new(shutdown: CancellationToken) -> Self {
        Self {
            tasks: JoinSet::new(),
            names: HashMap::new(),
            shutdown,
        }
    }

    /// Runs `task` until it ends; it must end soon after the shutdown token is cancelled.
    pub fn spawn(&mut self, name: &'static str, task: impl Future<Output = ()> + Send + 'static) {
        let handle = self.tasks.spawn(task);
        self.names.insert(handle.id(), name);
    }

    /// Resolves when a task ends before shutdown (it panicked, or gave up): logs which
    /// and why, and cancels the shutdown token so the whole server stops. Never
    /// resolves while every task runs.
    pub async fn watch(&mut self) {
        loop {
            let Some(ended) = self.tasks.join_next_with_id().await else {
                return std::future::pending().await;
            };
            if self.shutdown.is_cancelled() {
                self.report(ended);
                continue;
            }
            match ended {
                Ok((id, ())) => {
                    let name = self.names.remove(&id).unwrap_or("unnamed");
                    tracing::error!(task = name, "a background task ended unexpectedly");
                }
                Err(e) => {
                    let name = self.names.remove(&e.id()).unwrap_or("unnamed");
                    tracing::error!(task = name, error = %e, "a background task panicked");
                }
            }
            self.shutdown.cancel();
            return;
        }
    }

    /// Cancels the shutdown token and waits for every task, reporting panics.
    pub async fn join(mut self) {
        self.shutdown.cancel();
        while let Some(ended) = self.tasks.join_next_with_id().await {
            self.report(ended);
        }
    }

    fn report(&mut self, ended: Result<(Id, ()), tokio::task::JoinError>) {
        if let Err(e) = ended {
            let name = self.names.remove(&e.id()).unwrap_or("unnamed");
            if e.is_panic() {
                tracing::error!(task = name, error = %e, "a background task panicked");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_task_stops_the_server_and_shutdown_waits_for_the_rest() {
        let shutdown = CancellationToken::new();
        let mut bg = Background::new(shutdown.clone());
        let finished = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = finished.clone();
        let stop = shutdown.clone();
        bg.spawn("patient", async move {
            stop.cancelled().await;
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            flag.store(true, std::sync::atomic::Ordering::SeqCst);
        });
        bg.spawn("broken", async { panic!("boom") });
        bg.watch().await;
        assert!(shutdown.is_cancelled(), "a panic stops the server");
        bg.join().await;
        assert!(
            finished.load(std::sync::atomic::Ordering::SeqCst),
            "join waited for the patient task"
        );
    }
}
