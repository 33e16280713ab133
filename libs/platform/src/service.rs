//! What `run_until_stopped` means for every service: the HTTP server and the background workers
//! (outbox relay, event consumers, timers) run side by side; when the shutdown token fires, the
//! server drains its requests and every worker finishes its current unit of work.

use actix_web::dev::Server;
use futures::future::BoxFuture;
use tokio_util::sync::CancellationToken;

pub struct Service {
    pub name: &'static str,
    pub port: u16,
    server: Server,
    workers: Vec<(&'static str, BoxFuture<'static, anyhow::Result<()>>)>,
    shutdown: CancellationToken,
}

impl Service {
    pub fn new(name: &'static str, port: u16, server: Server, shutdown: CancellationToken) -> Self {
        Self {
            name,
            port,
            server,
            workers: Vec::new(),
            shutdown,
        }
    }

    /// A background worker; it must return once `shutdown` is cancelled.
    pub fn with_worker(
        mut self,
        name: &'static str,
        worker: BoxFuture<'static, anyhow::Result<()>>,
    ) -> Self {
        self.workers.push((name, worker));
        self
    }

    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let Service {
            name,
            server,
            workers,
            shutdown,
            ..
        } = self;
        let handle = server.handle();
        let server_task = tokio::spawn(server);
        let worker_tasks: Vec<_> = workers
            .into_iter()
            .map(|(worker, fut)| {
                let shutdown = shutdown.clone();
                tokio::spawn(async move {
                    let result = fut.await;
                    if let Err(e) = &result {
                        tracing::error!(service = name, worker, error = ?e, "worker stopped with an error");
                        // A dead worker (say, the outbox relay) must not leave a half-working
                        // service behind: stop the whole service so the orchestrator restarts it.
                        shutdown.cancel();
                    }
                    result
                })
            })
            .collect();
        shutdown.cancelled().await;
        tracing::info!(service = name, "shutting down");
        handle.stop(true).await;
        let _ = server_task.await;
        let mut first_error = None;
        for task in worker_tasks {
            match task.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    first_error.get_or_insert(e);
                }
                Err(e) => {
                    first_error.get_or_insert(anyhow::anyhow!("worker panicked: {e}"));
                }
            }
        }
        tracing::info!(service = name, "stopped");
        first_error.map_or(Ok(()), Err)
    }
}

/// Cancels `token` on Ctrl-C or SIGTERM.
pub fn cancel_on_signal(token: CancellationToken) {
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(s) => s,
                    Err(_) => {
                        let _ = tokio::signal::ctrl_c().await;
                        token.cancel();
                        return;
                    }
                };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {},
                _ = term.recv() => {},
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        token.cancel();
    });
}
