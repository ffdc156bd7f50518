//! The JSON API, under `/api`. Every route needs a token (`Authorization: Bearer`);
//! the `host` commands use it while the server holds the store.
//!
//! - `GET /api/runs`: summaries, newest first; `GET /api/runs/{run}`: a run as
//!   `host show --json` prints it; `GET /api/runs/{run}/events`: its log;
//!   `GET /api/runs/{run}/audit`: its audit entries with their chain, as JSON lines.
//! - `GET /api/decisions`: pending decisions, critical first, then oldest first.
//! - `POST /api/decisions/{run}/{gate}[/{item}]`: decide, with
//!   `{"approve": N}`, `{"edit": VALUE}` or `{"reject": "reason"}` (or `null`).
//! - `GET /api/decisions/{run}/{gate}[/{item}]`: one decision; a pending one is
//!   recorded as shown to the caller (the wait ends, the handling time starts).
//! - `GET /api/spot-checks`: auto-approved decisions drawn for review;
//!   `POST /api/spot-checks/{id}` with what the person would have decided
//!   (`{"approve": 0}` agrees) and an optional `"note"`; the answer says whether it
//!   `suspended` the gate's auto-approval of that kind.
//! - `POST /api/outcomes/{id}` `{"outcome": "good"|"bad", "note": "..."}`: what
//!   happened after a decision.
//! - `GET /api/auto-approval`: suspended auto-approvals;
//!   `POST /api/auto-approval/resume` `{"workflow", "gate", "kind"}`.
//! - `POST /api/runs/{run}/resume` (`{"allow_changed": true}` to continue on changed
//!   code), `POST /api/runs/{run}/cancel`.
//! - `GET /api/stats[?workflow=NAME]`, `GET /api/audit/verify`, `POST /api/expire`.
//! - `POST /api/runs` `{"workflow": PATH, "input": {...}}`: start a run; for the
//!   `host` commands of the server's own user only, since it names a file to load.
//! - `GET /api/store/export`: the whole store as `host store export` writes it,
//!   streamed while runs continue; for the server's own user only (it holds every
//!   plugin's kv data).

use std::sync::Arc;

use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use baton_core::{DecisionId, RunId, RunState};
use baton_engine::Decision;
use baton_service::wire::{
    DecisionRequest, OutcomeRequest, ResumeAutoApproval, ResumeRequest, SpotCheckRequest,
    StartRequest,
};
use serde_json::{Value, json};
use tokio::sync::oneshot;

use super::auth::{CSRF_HEADER, Identity, Via};
use super::shared::{ApiError, Job, Learn, Shared};

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/api/runs", get(runs).post(start))
        .route("/api/runs/{run}", get(run))
        .route("/api/runs/{run}/events", get(events))
        .route("/api/runs/{run}/audit", get(audit))
        .route("/api/runs/{run}/resume", post(resume))
        .route("/api/runs/{run}/cancel", post(cancel))
        .route("/api/decisions", get(decisions))
        .route("/api/decisions/{*id}", get(decision).post(decide))
        .route("/api/spot-checks", get(spot_checks))
        .route("/api/spot-checks/{*id}", post(spot_check))
        .route("/api/outcomes/{*id}", post(outcome))
        .route("/api/auto-approval", get(suspensions))
        .route("/api/auto-approval/resume", post(resume_auto_approval))
        .route("/api/stats", get(stats))
        .route("/api/audit/verify", get(verify))
        .route("/api/expire", post(expire))
        .route("/api/whoami", get(whoami))
        .route("/api/store/export", get(export))
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            require_token,
        ))
        .with_state(shared)
}

/// Refuses a request without a known token (401), and a state change from a
/// browser session without its CSRF token (403).
pub async fn require_token(
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
    Ok(Json(json!(shared.service.runs()?)))
}

async fn run(State(shared): State<Arc<Shared>>, Path(run): Path<String>) -> Answer {
    let state = shared.service.run(&run_id(&run)?)?;
    Ok(Json(crate::report::state_json(&state)))
}

async fn events(State(shared): State<Arc<Shared>>, Path(run): Path<String>) -> Answer {
    Ok(Json(json!(shared.service.events(&run_id(&run)?)?)))
}

async fn audit(
    State(shared): State<Arc<Shared>>,
    Path(run): Path<String>,
) -> Result<Response, ApiError> {
    let lines = crate::report::audit_jsonl(&shared.service.audit(&run_id(&run)?)?);
    Ok(([("content-type", "application/x-ndjson")], lines).into_response())
}

/// Decisions per page of `GET /api/decisions` unless `limit` says otherwise.
const PAGE: usize = 100;
/// The most a page may ask for.
const PAGE_MAX: usize = 1000;

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    pub limit: Option<usize>,
    /// Where the page starts: the cursor of the previous page's `Link: rel="next"`.
    pub after: Option<String>,
}

/// Pending decisions in inbox order, a page at a time: the body is the page; the
/// header `X-Total-Count` says how many are pending in all, and `Link: <…>;
/// rel="next"` where the next page starts, when there is one.
async fn decisions(
    State(shared): State<Arc<Shared>>,
    query: Result<Query<PageQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))?;
    let limit = query.limit.unwrap_or(PAGE);
    if !(1..=PAGE_MAX).contains(&limit) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            format!("limit must be 1 to {PAGE_MAX}, not {limit}"),
        ));
    }
    let after = match &query.after {
        Some(cursor) => Some(cursor_key(cursor).ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                format!("after={cursor:?} is not a cursor this server gave (take it from the Link header)"),
            )
        })?),
        None => None,
    };
    let page = shared.service.pending_page(after.as_ref(), limit)?;
    let mut headers = vec![("x-total-count".to_string(), page.total.to_string())];
    if let Some(next) = &page.next {
        headers.push((
            "link".to_string(),
            format!(
                "</api/decisions?limit={limit}&after={}>; rel=\"next\"",
                key_cursor(next)
            ),
        ));
    }
    let body = Json(json!(
        page.pending.iter().map(|(d, _)| d).collect::<Vec<_>>()
    ));
    let mut response = body.into_response();
    for (name, value) in headers {
        if let (Ok(name), Ok(value)) = (
            axum::http::HeaderName::try_from(name),
            axum::http::HeaderValue::try_from(value),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    Ok(response)
}

/// An index key as an opaque, URL-safe cursor (hex).
fn key_cursor(key: &baton_core::InboxKey) -> String {
    key.to_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

fn cursor_key(cursor: &str) -> Option<baton_core::InboxKey> {
    let bytes = (0..cursor.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(cursor.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    baton_core::InboxKey::from_bytes(&bytes)
}

fn decision_id(id: &str) -> Result<DecisionId, ApiError> {
    id.parse()
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("{id:?}: {e}")))
}

async fn decision(
    State(shared): State<Arc<Shared>>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
) -> Answer {
    let id = decision_id(&id)?;
    let state = shared.service.run(&id.run)?;
    let record = state
        .decisions
        .get(&id)
        .ok_or_else(|| baton_engine::EngineError::NoSuchDecision { id: id.to_string() })?;
    shared.service.shown(&id, &who.operator, "api");
    Ok(Json(json!(record)))
}

async fn spot_checks(State(shared): State<Arc<Shared>>) -> Answer {
    let due = shared.service.inbox_first(0)?.spot_checks;
    Ok(Json(json!(due.iter().map(|(d, _)| d).collect::<Vec<_>>())))
}

async fn spot_check(
    State(shared): State<Arc<Shared>>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
    body: Result<Json<SpotCheckRequest>, axum::extract::rejection::JsonRejection>,
) -> Answer {
    let id = decision_id(&id)?;
    let Json(body) = body.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))?;
    let answer = body
        .answer()
        .map_err(|problem| ApiError::new(StatusCode::BAD_REQUEST, problem))?;
    learn(&shared, &who, Learn::SpotCheck { id, answer }).await
}

/// Hands a spot check, an outcome or a resumption to the worker.
pub async fn learn(shared: &Shared, who: &Identity, op: Learn) -> Answer {
    let (reply, answer) = oneshot::channel();
    let job = Job::Learn {
        op,
        by: who.operator.clone(),
        reply,
    };
    Ok(Json(submit(shared, job, answer).await?))
}

async fn outcome(
    State(shared): State<Arc<Shared>>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
    body: Result<Json<OutcomeRequest>, axum::extract::rejection::JsonRejection>,
) -> Answer {
    let id = decision_id(&id)?;
    let Json(body) = body.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))?;
    let good = body
        .good()
        .map_err(|problem| ApiError::new(StatusCode::BAD_REQUEST, problem))?;
    let note = body.note.filter(|n| !n.trim().is_empty());
    learn(&shared, &who, Learn::Outcome { id, good, note }).await
}

async fn suspensions(State(shared): State<Arc<Shared>>) -> Answer {
    Ok(Json(json!(shared.service.suspensions(None)?)))
}

async fn resume_auto_approval(
    State(shared): State<Arc<Shared>>,
    Extension(who): Extension<Identity>,
    body: Result<Json<ResumeAutoApproval>, axum::extract::rejection::JsonRejection>,
) -> Answer {
    let Json(body) = body.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))?;
    let op = Learn::ResumeAutoApproval {
        workflow: body.workflow,
        gate: body.gate,
        kind: body.kind,
    };
    learn(&shared, &who, op).await
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
    body: Result<Json<DecisionRequest>, axum::extract::rejection::JsonRejection>,
) -> Answer {
    let id: DecisionId = id
        .parse()
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, format!("{id:?}: {e}")))?;
    let Json(body) = body.map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, e.body_text()))?;
    let allow_changed = body.allow_changed;
    let decision = body
        .decision()
        .map_err(|problem| ApiError::new(StatusCode::BAD_REQUEST, problem))?;
    let state = decide_as(&shared, &who, id, decision, allow_changed).await?;
    Ok(Json(crate::report::state_json(&state)))
}

/// Streams the export as the service writes it, on a blocking thread, in chunks.
async fn export(
    State(shared): State<Arc<Shared>>,
    Extension(who): Extension<Identity>,
) -> Result<Response, ApiError> {
    if who.via != Via::Local {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "an export holds every run and every plugin's kv data: only `host store export` on the server's machine, as its user, may ask for it",
        ));
    }
    let (chunks, mut receiver) = tokio::sync::mpsc::channel::<std::io::Result<bytes::Bytes>>(8);
    tokio::task::spawn_blocking(move || {
        let mut writer = std::io::BufWriter::with_capacity(64 * 1024, ChunkWriter(chunks.clone()));
        if let Err(e) = shared.service.export(&mut writer) {
            // The body ends without its `end` line, which the reader reports.
            let _ = chunks.blocking_send(Err(std::io::Error::other(e.to_string())));
        }
    });
    let stream = futures::stream::poll_fn(move |cx| receiver.poll_recv(cx));
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/jsonl")],
        axum::body::Body::from_stream(stream),
    )
        .into_response())
}

/// Hands what is written to the response body.
struct ChunkWriter(tokio::sync::mpsc::Sender<std::io::Result<bytes::Bytes>>);

impl std::io::Write for ChunkWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .blocking_send(Ok(bytes::Bytes::copy_from_slice(buf)))
            .map_err(|_| std::io::Error::other("the client went away"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn start(
    State(shared): State<Arc<Shared>>,
    Extension(who): Extension<Identity>,
    body: Result<Json<StartRequest>, axum::extract::rejection::JsonRejection>,
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

#[derive(Debug, serde::Deserialize)]
pub struct StatsQuery {
    pub workflow: Option<String>,
}

async fn stats(State(shared): State<Arc<Shared>>, Query(query): Query<StatsQuery>) -> Answer {
    Ok(Json(json!(
        shared.service.stats(query.workflow.as_deref())?.0
    )))
}

async fn verify(State(shared): State<Arc<Shared>>) -> Answer {
    Ok(Json(json!(shared.service.verify()?)))
}

async fn expire(State(shared): State<Arc<Shared>>) -> Answer {
    let (reply, answer) = oneshot::channel();
    let swept = submit(&shared, Job::Expire { reply }, answer).await?;
    Ok(Json(json!(swept)))
}

async fn whoami(Extension(who): Extension<Identity>) -> Json<Value> {
    Json(json!({ "operator": who.operator, "via": format!("{:?}", who.via).to_lowercase() }))
}

async fn resume(
    State(shared): State<Arc<Shared>>,
    Extension(who): Extension<Identity>,
    Path(run): Path<String>,
    body: Option<Json<ResumeRequest>>,
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
