//! The HTTP service: `POST /` runs a cycle per trigger, `GET /healthz`; SIGTERM finishes the current
//! batch, then exits.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use tokio::sync::Mutex;

use super::parse_trigger;
use crate::pipeline::{Pipeline, RunSummary};

/// The run in progress: the id of the trigger that started it, and when.
#[derive(Debug, Clone)]
struct Running {
    run_id: String,
    started: Instant,
}

/// Shared by every request. One run at a time: `running` is held for a run's whole length, and
/// `current` names it for a tick that arrives meanwhile.
#[derive(Debug, Clone)]
pub struct AppState {
    pipeline: Arc<Pipeline>,
    running: Arc<Mutex<()>>,
    current: Arc<std::sync::Mutex<Option<Running>>>,
}

impl AppState {
    /// State around `pipeline`.
    pub fn new(pipeline: Pipeline) -> Self {
        Self {
            pipeline: Arc::new(pipeline),
            running: Arc::new(Mutex::new(())),
            current: Arc::new(std::sync::Mutex::new(None)),
        }
    }

    fn set_current(&self, running: Option<Running>) {
        *self
            .current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = running;
    }

    fn current(&self) -> Option<Running> {
        self.current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

/// The HTTP status for a finished run. Pub/Sub push treats 2xx as an acknowledgement and anything
/// else as a reason to redeliver: a transient failure must be redelivered, but a permanent one (an
/// expired token) would be redelivered forever, so it is acknowledged and logged at ERROR instead.
pub fn status_for(summary: &RunSummary) -> StatusCode {
    if summary.has_transient_failure() {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    }
}

/// Runs one cycle and logs its summary (with ERROR lines for what an operator must fix).
pub async fn run_and_log(pipeline: &Pipeline) -> RunSummary {
    let summary = pipeline.run().await;
    crate::report::log_summary(&summary);
    summary
}

async fn trigger(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let trigger = match parse_trigger(&headers, &body) {
        Ok(trigger) => trigger,
        Err(e) => {
            tracing::warn!(error = %e, "refused a malformed trigger");
            return (StatusCode::BAD_REQUEST, e.to_string());
        }
    };
    // A tick during a run is answered 200 at once: a push answered 2xx is acknowledged and never
    // redelivered (a 429 or 503 would be, piling up), and the run in progress reads everything
    // the tick would have, so it is folded into it. Never a second run at the same time.
    let Ok(_guard) = state.running.try_lock() else {
        let (run_id, elapsed_ms) = state.current().map_or_else(
            || (String::new(), 0),
            |r| (r.run_id, r.started.elapsed().as_millis() as u64),
        );
        tracing::info!(
            trigger = trigger.kind,
            id = %trigger.id,
            run_id = %run_id,
            elapsed_ms,
            "a run is in progress; this tick is folded into it"
        );
        return (
            StatusCode::OK,
            format!(
                "a run is in progress (run {run_id}, {elapsed_ms} ms); this tick is folded into it\n"
            ),
        );
    };
    state.set_current(Some(Running {
        run_id: trigger.id.clone(),
        started: Instant::now(),
    }));
    tracing::info!(trigger = trigger.kind, id = %trigger.id, run_id = %trigger.id, "run triggered");
    let summary = run_and_log(&state.pipeline).await;
    state.set_current(None);
    let body = serde_json::to_string(&summary).unwrap_or_default();
    (status_for(&summary), body)
}

/// The service's routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", post(trigger))
        .route("/healthz", get(|| async { "ok\n" }))
        .with_state(state)
}

/// Serves on `listener` until SIGTERM or Ctrl-C; a run in progress finishes its batch first.
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> std::io::Result<()> {
    let stop = state.pipeline.stop_flag();
    let shutdown = async move {
        wait_for_signal().await;
        tracing::info!("shutdown requested: finishing the current batch");
        stop.store(true, Ordering::SeqCst);
    };
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Resolves on SIGTERM (Cloud Run's stop signal) or Ctrl-C.
pub async fn wait_for_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
