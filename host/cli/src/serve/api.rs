//! The JSON API, under `/api`. Every route needs a token (`Authorization: Bearer`);
//! the `host` commands use it while the server holds the store.
//!
//! - `GET /api/runs`: summaries, newest first; `GET /api/runs/{run}`: a run as
//!   `host show --json` prints it; `GET /api/runs/{run}/events`: its log;
//!   `GET /api/runs/{run}/audit`: its audit entries with their chain, as JSON lines.
//! - `GET /api/decisions`: pending decisions, critical first, then oldest first.
//! - `POST /api/decisions/{run}/{gate}[/{item}]`: decide, with
//!   `{"approve": N}`, `{"edit": VALUE}` or `{"reject": "reason"}` (or `null`).
//! - `POST /api/runs/{run}/resume` (`{"allow_changed": true}` to continue on changed
//!   code), `POST /api/runs/{run}/cancel`.
//! - `GET /api/stats[?workflow=NAME]`, `GET /api/audit/verify`, `POST /api/expire`.
//! - `POST /api/runs` `{"workflow": PATH, "input": {...}}`: start a run; for the
//!   `host` commands of the server's own user only, since it names a file to load.

use std::sync::Arc;

use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use baton_core::{DecisionId, RunId, RunState, RunStore};
use baton_engine::Decision;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::oneshot;

use super::auth::{CSRF_HEADER, Identity, Via};
use super::{ApiError, Job, Shared};

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/api/runs", get(runs).post(start))
        .route("/api/runs/{run}", get(run))
        .route("/api/runs/{run}/events", get(events))
        .route("/api/runs/{run}/audit", get(audit))
        .route("/api/runs/{run}/resume", post(resume))
        .route("/api/runs/{run}/cancel", post(cancel))
        .route("/api/decisions", get(decisions))
        .route("/api/decisions/{*id}", post(decide))
        .route("/api/stats", get(stats))
        .route("/api/audit/verify", get(verify))
        .route("/api/expire", post(expire))
        .route("/api/whoami", get(whoami))
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            require_token,
        ))
        .with_state(shared)
}

/// Refuses a request without a known token (401), and a state change from a
/// browser session without its CSRF token (403).
async fn require_token(
    State(shared): State<Arc<Shared>>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(who) = shared.auth.identify(request.headers()) else {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "no valid token: send `Authorization: Bearer TOKEN` with an operator's token from the host configuration",
        )
        .into_response();
    };
    if request.method() != axum::http::Method::GET {
        let offered = request
            .headers()
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok());
        if !shared.auth.allows_change(&who, offered) {
            return ApiError::new(StatusCode::FORBIDDEN, "missing or wrong CSRF token")
                .into_response();
        }
    }
    request.extensions_mut().insert(who);
    next.run(request).await
}

type Answer = Result<Json<Value>, ApiError>;

fn run_id(text: &str) -> Result<RunId, ApiError> {
    text.parse()
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("{text:?}: {e}")))
}

async fn runs(State(shared): State<Arc<Shared>>) -> Answer {
    let mut summaries = shared
        .store
        .summaries()
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    summaries.sort_by_key(|s| std::cmp::Reverse(s.started_at));
    Ok(Json(json!(summaries)))
}

async fn run(State(shared): State<Arc<Shared>>, Path(run): Path<String>) -> Answer {
    let state = baton_engine::load(shared.store.as_ref(), &run_id(&run)?)?;
    Ok(Json(crate::report::state_json(&state)))
}

async fn events(State(shared): State<Arc<Shared>>, Path(run): Path<String>) -> Answer {
    let run = run_id(&run)?;
    let events = shared
        .store
        .events(&run)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    if events.is_empty() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no run {run}; `host runs` lists them"),
        ));
    }
    Ok(Json(json!(events)))
}

async fn audit(
    State(shared): State<Arc<Shared>>,
    Path(run): Path<String>,
) -> Result<Response, ApiError> {
    let lines = crate::commands::audit::jsonl(&shared.store.sled, &run_id(&run)?)?;
    Ok(([("content-type", "application/x-ndjson")], lines).into_response())
}

async fn decisions(State(shared): State<Arc<Shared>>) -> Answer {
    let pending = baton_engine::inbox(shared.store.as_ref())?;
    Ok(Json(json!(
        pending.iter().map(|(d, _)| d).collect::<Vec<_>>()
    )))
}

/// A decision, as the API takes it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecideBody {
    pub approve: Option<usize>,
    pub edit: Option<Value>,
    #[serde(default, deserialize_with = "some_or_null")]
    pub reject: Option<Option<String>>,
    #[serde(default)]
    pub allow_changed: bool,
}

/// `"reject": null` means reject without a reason, not "no rejection".
fn some_or_null<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

impl DecideBody {
    pub fn decision(self) -> Result<Decision, ApiError> {
        match (self.approve, self.edit, self.reject) {
            (Some(choice), None, None) => Ok(Decision::Approve { choice }),
            (None, Some(value), None) => Ok(Decision::Edit { value }),
            (None, None, Some(reason)) => Ok(Decision::Reject {
                reason: reason.filter(|r| !r.trim().is_empty()),
            }),
            _ => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "give exactly one of {\"approve\": N}, {\"edit\": VALUE}, {\"reject\": \"reason\"}",
            )),
        }
    }
}

/// Hands a decision to the worker and waits for the run to stop again.
pub async fn decide_as(
    shared: &Shared,
    who: &Identity,
    id: DecisionId,
    decision: Decision,
    allow_changed: bool,
) -> Result<RunState, ApiError> {
    let (reply, answer) = oneshot::channel();
    submit(
        shared,
        Job::Decide {
            id,
            decision,
            by: who.operator.clone(),
            allow_changed,
            reply,
        },
        answer,
    )
    .await
}

async fn submit<T>(
    shared: &Shared,
    job: Job,
    answer: oneshot::Receiver<Result<T, ApiError>>,
) -> Result<T, ApiError> {
    let gone = || ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "the server is stopping");
    shared.jobs.send(job).await.map_err(|_| gone())?;
    answer.await.map_err(|_| gone())?
}

async fn decide(
    State(shared): State<Arc<Shared>>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
    body: Result<Json<DecideBody>, axum::extract::rejection::JsonRejection>,
) -> Answer {
    let id: DecisionId = id
        .parse()
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("{id:?}: {e}")))?;
    let Json(body) = body.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))?;
    let allow_changed = body.allow_changed;
    let state = decide_as(&shared, &who, id, body.decision()?, allow_changed).await?;
    Ok(Json(crate::report::state_json(&state)))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StartBody {
    workflow: std::path::PathBuf,
    #[serde(default)]
    input: Option<Value>,
}

async fn start(
    State(shared): State<Arc<Shared>>,
    Extension(who): Extension<Identity>,
    body: Result<Json<StartBody>, axum::extract::rejection::JsonRejection>,
) -> Answer {
    if who.via != Via::Local {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "starting a run loads a workflow file from the server's disk: only `host run` on the server's machine, as its user, may do it",
        ));
    }
    let Json(body) = body.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))?;
    let (reply, answer) = oneshot::channel();
    let state = submit(
        &shared,
        Job::Start {
            workflow: body.workflow,
            input: body.input.unwrap_or_else(|| json!({})),
            by: who.operator.clone(),
            reply,
        },
        answer,
    )
    .await?;
    Ok(Json(crate::report::state_json(&state)))
}

#[derive(Debug, Deserialize)]
pub struct StatsQuery {
    pub workflow: Option<String>,
}

/// Every run's state, or one workflow's.
pub fn states(shared: &Shared, workflow: Option<&str>) -> Result<Vec<RunState>, ApiError> {
    let summaries = shared
        .store
        .summaries()
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    summaries
        .iter()
        .filter(|s| workflow.is_none_or(|w| s.workflow == w))
        .map(|s| baton_engine::load(shared.store.as_ref(), &s.id).map_err(ApiError::from))
        .collect()
}

async fn stats(State(shared): State<Arc<Shared>>, Query(query): Query<StatsQuery>) -> Answer {
    let runs = states(&shared, query.workflow.as_deref())?;
    Ok(Json(json!(baton_engine::stats::stats(&runs))))
}

async fn verify(State(shared): State<Arc<Shared>>) -> Answer {
    let verified = shared
        .store
        .sled
        .verify()
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok(Json(json!(verified)))
}

async fn expire(State(shared): State<Arc<Shared>>) -> Answer {
    let (reply, answer) = oneshot::channel();
    let swept = submit(&shared, Job::Expire { reply }, answer).await?;
    Ok(Json(Value::Array(swept)))
}

async fn whoami(Extension(who): Extension<Identity>) -> Json<Value> {
    Json(json!({ "operator": who.operator, "via": format!("{:?}", who.via).to_lowercase() }))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResumeBody {
    #[serde(default)]
    allow_changed: bool,
}

async fn resume(
    State(shared): State<Arc<Shared>>,
    Extension(who): Extension<Identity>,
    Path(run): Path<String>,
    body: Option<Json<ResumeBody>>,
) -> Answer {
    let (reply, answer) = oneshot::channel();
    let job = Job::Resume {
        run: run_id(&run)?,
        allow_changed: body.map(|Json(b)| b.allow_changed).unwrap_or_default(),
        by: who.operator.clone(),
        reply,
    };
    let state = submit(&shared, job, answer).await?;
    Ok(Json(crate::report::state_json(&state)))
}

async fn cancel(
    State(shared): State<Arc<Shared>>,
    Extension(who): Extension<Identity>,
    Path(run): Path<String>,
) -> Answer {
    let (reply, answer) = oneshot::channel();
    let job = Job::Cancel {
        run: run_id(&run)?,
        by: who.operator.clone(),
        reply,
    };
    let state = submit(&shared, job, answer).await?;
    Ok(Json(crate::report::state_json(&state)))
}
