//! The web inbox: server-rendered pages (minijinja, auto-escaped, so plugin text is
//! shown as text), one small script for keys and live updates, one stylesheet; all
//! served from the binary, nothing from elsewhere.
//!
//! - `/`: focus, one decision at a time, critical first (`?decision=ID` for one,
//!   `?skip=ID,ID` for those set aside, `?after=RUN` to say what a run did next);
//! - `/inbox`, `/runs`, `/runs/{run}`, `/stats`; `/events`: server-sent events.
//!
//! Forms post to `/decide` with the session's CSRF token; a refused edit is shown
//! again with the error beside the field.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{Form, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use baton_core::{
    DecisionId, DecisionOutcome, DecisionRecord, DecisionStatus, RunId, RunState, StepStatus,
};
use baton_engine::{Decision, format_time};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::auth::{COOKIE, Identity};
use super::form;
use super::shared::{ApiError, Shared};
use crate::report;
use crate::terminal::escape_control;

const APP_JS: &str = include_str!("assets/app.js");
const APP_CSS: &str = include_str!("assets/app.css");

/// The pages' templates, built into the binary.
pub fn templates() -> Result<minijinja::Environment<'static>, crate::exit::Failure> {
    let mut env = minijinja::Environment::new();
    for (name, source) in [
        ("base.html", include_str!("assets/base.html")),
        ("focus.html", include_str!("assets/focus.html")),
        ("inbox.html", include_str!("assets/inbox.html")),
        ("runs.html", include_str!("assets/runs.html")),
        ("run.html", include_str!("assets/run.html")),
        ("stats.html", include_str!("assets/stats.html")),
        ("review.html", include_str!("assets/review.html")),
        ("login.html", include_str!("assets/login.html")),
    ] {
        env.add_template(name, source).map_err(|e| {
            crate::exit::Failure::Host(format!("the built-in template {name} does not parse: {e}"))
        })?;
    }
    env.add_filter("urlencode_id", |s: String| encode(&s));
    Ok(env)
}

pub fn router(shared: Arc<Shared>) -> Router {
    let signed_in = Router::new()
        .route("/", get(focus))
        .route("/decide", post(decide))
        .route("/inbox", get(inbox))
        .route("/runs", get(runs))
        .route("/runs/{run}", get(run))
        .route("/stats", get(stats))
        .route("/review", get(review).post(answer_review))
        .route("/events", get(events))
        .route("/logout", post(logout))
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            require_session,
        ));
    Router::new()
        .merge(signed_in)
        .route("/login", get(login_page).post(login))
        .route(
            "/assets/app.js",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
                    APP_JS,
                )
            }),
        )
        .route(
            "/assets/app.css",
            get(|| async { ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], APP_CSS) }),
        )
        .layer(axum::middleware::from_fn(security_headers))
        .with_state(shared)
}

/// The pages may run only their own script and style, and never inside a frame.
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    for (name, value) in [
        (
            "content-security-policy",
            "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("cache-control", "no-store"),
    ] {
        if let Ok(value) = value.parse() {
            headers.insert(name, value);
        }
    }
    response
}

/// Pages need a signed-in operator; anyone else is sent to the sign-in page.
async fn require_session(
    State(shared): State<Arc<Shared>>,
    mut request: Request,
    next: Next,
) -> Response {
    match shared.auth.identify(request.headers()) {
        Some(who) => {
            request.extensions_mut().insert(who);
            next.run(request).await
        }
        None if request.uri().path() == "/events"
            || request.method() != axum::http::Method::GET =>
        {
            ApiError::new(StatusCode::UNAUTHORIZED, "sign in first").into_response()
        }
        None => Redirect::to("/login").into_response(),
    }
}

/// Percent-encodes a decision id for a query string.
pub fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn render(shared: &Shared, name: &str, context: Value) -> Response {
    match shared
        .templates
        .get_template(name)
        .and_then(|t| t.render(minijinja::value::Serde(&context)))
    {
        Ok(html) => Html(html).into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot render {name}: {e}"),
        )
            .into_response(),
    }
}

/// What every page's frame shows: who is signed in, and the auto-approvals spot
/// checks suspended (a banner on every page until someone resumes them).
fn frame(shared: &Shared, who: &Identity, page: &str) -> Value {
    let suspended: Vec<Value> = shared
        .service
        .suspensions(None)
        .unwrap_or_default()
        .into_iter()
        .filter(baton_core::Suspension::active)
        .map(|s| {
            json!({
                "message": escape_control(&s.message()).into_owned(),
                "resume": escape_control(&crate::commands::learn::resume_hint(&s)).into_owned(),
            })
        })
        .collect();
    json!({
        "operator": who.operator,
        "csrf": who.cookie.as_deref().map(|c| shared.auth.csrf(c)).unwrap_or_default(),
        "page": page,
        "suspended": suspended,
    })
}

fn merge(mut base: Value, more: Value) -> Value {
    if let (Some(base), Value::Object(more)) = (base.as_object_mut(), more) {
        base.extend(more);
    }
    base
}

// ---- sign in and out ----

#[derive(Debug, Deserialize)]
struct LoginQuery {
    token: Option<String>,
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    token: String,
}

async fn login_page(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<LoginQuery>,
) -> Response {
    match query.token {
        Some(token) => sign_in(&shared, &token),
        None => render(&shared, "login.html", json!({ "page": "login" })),
    }
}

async fn login(State(shared): State<Arc<Shared>>, Form(form): Form<LoginForm>) -> Response {
    sign_in(&shared, &form.token)
}

fn sign_in(shared: &Shared, token: &str) -> Response {
    if !shared.auth.knows(token) {
        let mut page = render(
            shared,
            "login.html",
            json!({ "page": "login", "error": "That token is not one this server knows." }),
        );
        *page.status_mut() = StatusCode::UNAUTHORIZED;
        return page;
    }
    let cookie = format!(
        "{COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age=2592000",
        token.trim()
    );
    ([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response()
}

async fn logout(
    State(shared): State<Arc<Shared>>,
    Extension(who): Extension<Identity>,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if !shared.auth.allows_change(&who, Some(&form.csrf)) {
        return ApiError::new(StatusCode::FORBIDDEN, "missing or wrong CSRF token").into_response();
    }
    let cookie = format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    ([(header::SET_COOKIE, cookie)], Redirect::to("/login")).into_response()
}

#[derive(Debug, Deserialize)]
struct CsrfOnly {
    csrf: String,
}

// ---- focus ----

#[derive(Debug, Default, Deserialize)]
struct FocusQuery {
    decision: Option<String>,
    skip: Option<String>,
    after: Option<String>,
    /// The decision just made (`?decided=ID`), to say what it did.
    decided: Option<String>,
}

/// What the focus page needs to show one decision.
#[derive(Debug, Serialize)]
struct DecisionView {
    id: String,
    run: String,
    workflow: String,
    title: String,
    reason: String,
    severity: &'static str,
    context: Vec<String>,
    choices: Vec<ChoiceView>,
    editable: bool,
    edit_text: String,
    expires: Option<String>,
    approvers: Vec<String>,
    allowed: bool,
    /// The edit form, field by field, when the edit schema describes the value.
    form: Option<Vec<form::Item>>,
    /// What earlier decisions of the run did to what this one touches.
    earlier: Vec<String>,
    /// What its run is about (the workflow's `summary`).
    about: Option<String>,
    kind: Option<String>,
    /// Why a person decides what the gate's rule would have: its auto-approval of
    /// the kind is suspended.
    auto_suspended: Option<String>,
}

#[derive(Debug, Serialize)]
struct ChoiceView {
    index: usize,
    summary: String,
    /// Why it may contradict an earlier decision of the run.
    conflict: Option<String>,
    /// The choice as it reads (its gate's view, or one derived from the value), HTML
    /// whose every text is escaped.
    view: String,
    full: String,
}

fn decision_view(record: &DecisionRecord, workflow: &str, operator: &str) -> DecisionView {
    let request = &record.request;
    DecisionView {
        id: request.id.to_string(),
        run: request.id.run.to_string(),
        workflow: workflow.to_string(),
        title: escape_control(&request.title).into_owned(),
        reason: escape_control(&request.reason).into_owned(),
        severity: request.severity.as_str(),
        context: request
            .context
            .as_ref()
            .map(report::glance)
            .unwrap_or_default(),
        choices: request
            .choices
            .iter()
            .enumerate()
            .map(|(index, value)| ChoiceView {
                index,
                summary: report::choice_summary(value),
                conflict: None,
                view: crate::view::Doc::for_choice(request, index).html(),
                full: pretty(value),
            })
            .collect(),
        editable: request.editable,
        edit_text: request.choices.first().map(pretty).unwrap_or_default(),
        expires: request.expires_at.map(format_time),
        approvers: request.approvers.clone(),
        allowed: request.allows(operator),
        form: None,
        earlier: Vec::new(),
        about: None,
        kind: request
            .kind
            .as_deref()
            .map(|k| escape_control(k).into_owned()),
        auto_suspended: request
            .auto_suspended
            .as_deref()
            .map(|n| escape_control(n).into_owned()),
    }
}

fn pretty(value: &Value) -> String {
    escape_control(&serde_json::to_string_pretty(value).unwrap_or_default()).into_owned()
}

/// What a run did after a decision, in a line: where it stands and what ran.
fn after_view(state: &RunState, decided: Option<&DecisionId>) -> Value {
    let status = state.status();
    let pending = state.pending().count();
    let headline = match status {
        baton_core::RunStatus::Waiting => format!(
            "waits for {pending} more decision{}",
            if pending == 1 { "" } else { "s" }
        ),
        other => other.as_str().to_string(),
    };
    let mut recent: Vec<_> = state
        .steps
        .values()
        .filter(|s| s.status != StepStatus::Waiting)
        .collect();
    recent.sort_by_key(|s| std::cmp::Reverse(s.finished_at.unwrap_or(s.started_at)));
    let last: Vec<String> = recent
        .iter()
        .take(3)
        .map(|s| format!("{} {}", s.key, report::step_word(s.status)))
        .collect();
    json!({
        "run": state.id.to_string(),
        "workflow": state.workflow,
        "status": status.as_str(),
        "headline": headline,
        "note": state.finish_note().map(|n| escape_control(n).into_owned()),
        "last": last,
        "said": decided.and_then(|id| report::decided_line(state, id)),
    })
}

struct FocusPage {
    query: FocusQuery,
    /// A refused decision: the message, and the operator's edit to show again.
    error: Option<(String, Option<String>, &'static str)>,
    status: StatusCode,
}

async fn focus(
    State(shared): State<Arc<Shared>>,
    Extension(who): Extension<Identity>,
    Query(query): Query<FocusQuery>,
) -> Response {
    focus_page(
        &shared,
        &who,
        FocusPage {
            query,
            error: None,
            status: StatusCode::OK,
        },
    )
    .await
}

/// The schema an edit of `request` must match, with the whole output schema its
/// `$ref`s resolve in; `None` when the plugin cannot be loaded.
async fn edit_schema(
    shared: &Shared,
    request: &baton_core::DecisionRequest,
) -> Option<(Value, Value)> {
    let plugin = request.schema_plugin.as_deref()?;
    let state = shared.service.run(&request.id.run).ok()?;
    let loaded = shared
        .service
        .workflow(std::path::Path::new(&state.workflow_path))
        .await
        .ok()?;
    let root = loaded.runner.plugin(plugin)?.info().output_schema.clone();
    let part = match &request.edit_schema {
        Some(pointer) => root.pointer(pointer.trim_start_matches('#'))?.clone(),
        None => root.clone(),
    };
    Some((part, root))
}

async fn focus_page(shared: &Shared, who: &Identity, page: FocusPage) -> Response {
    let (pending, unreadable, about, spot_checks) = match shared.service.inbox() {
        Ok(inbox) => (
            inbox.pending,
            inbox.unreadable,
            inbox.about,
            inbox.spot_checks.len(),
        ),
        Err(e) => return ApiError::from(e).into_response(),
    };
    let skipped: Vec<&str> = page
        .query
        .skip
        .as_deref()
        .map(|s| s.split(',').filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    let wanted = page.query.decision.as_deref();
    let position = pending
        .iter()
        .position(|(d, _)| Some(d.request.id.to_string().as_str()) == wanted)
        .or_else(|| {
            pending
                .iter()
                .position(|(d, _)| !skipped.contains(&d.request.id.to_string().as_str()))
        });
    let after = page
        .query
        .after
        .as_deref()
        .and_then(|run| run.parse::<RunId>().ok())
        .and_then(|run| shared.service.run(&run).ok())
        .map(|state| {
            let decided = page
                .query
                .decided
                .as_deref()
                .and_then(|id| id.parse::<DecisionId>().ok());
            after_view(&state, decided.as_ref())
        });
    let mut view = position.map(|i| {
        let (record, workflow) = &pending[i];
        let mut view = decision_view(record, workflow, &who.operator);
        view.about = about
            .get(&record.request.id.run)
            .map(|a| escape_control(a).into_owned());
        view
    });
    if let (Some(view), Some(i)) = (view.as_mut(), position) {
        let request = &pending[i].0.request;
        // On screen now: the wait ends, the handling starts (recorded once).
        if view.allowed {
            shared.service.shown(&request.id, &who.operator, "web");
        }
        if request
            .choices
            .iter()
            .any(|c| !baton_core::affects(c).is_empty())
            && let Ok(state) = shared.service.run(&request.id.run)
        {
            let earlier = state.earlier_on(&request.id);
            view.earlier = report::earlier_lines(&earlier);
            for choice in &mut view.choices {
                choice.conflict = report::conflict_note(&earlier, choice.index);
            }
        }
        if request.editable
            && let Some((schema, root)) = edit_schema(shared, request).await
        {
            view.form = request
                .choices
                .first()
                .and_then(|default| form::items(&schema, &root, default));
        }
    }
    let (error, error_field) = match page.error {
        Some((message, edit, field)) => {
            if let (Some(view), Some(edit)) = (view.as_mut(), edit) {
                view.edit_text = edit;
            }
            (Some(message), Some(field))
        }
        None => (None, None),
    };
    let context = merge(
        frame(shared, who, "focus"),
        json!({
            "decision": view,
            "position": position.map(|i| i + 1),
            "total": pending.len(),
            "skipped": skipped.len(),
            "skip": skipped.join(","),
            "after": after,
            "error": error,
            "error_field": error_field,
            "unreadable": unreadable,
            "spot_checks": spot_checks,
        }),
    );
    let mut response = render(shared, "focus.html", context);
    *response.status_mut() = page.status;
    response
}

#[derive(Debug)]
struct DecideForm {
    csrf: String,
    decision: String,
    /// `approve`, `edit` (JSON), `fields` (the form by field) or `reject`.
    action: String,
    choice: Option<usize>,
    value: Option<String>,
    reason: Option<String>,
    skip: Option<String>,
    /// `fields`: each field's JSON pointer and text, in the order sent.
    fields: Vec<(String, String)>,
    /// `fields`: the rows to drop (`/changes/2`).
    remove: Vec<String>,
}

impl DecideForm {
    fn from_pairs(pairs: Vec<(String, String)>) -> DecideForm {
        let get = |key: &str| {
            pairs
                .iter()
                .rev()
                .find(|(name, _)| name == key)
                .map(|(_, value)| value.clone())
        };
        DecideForm {
            csrf: get("csrf").unwrap_or_default(),
            decision: get("decision").unwrap_or_default(),
            action: get("action").unwrap_or_default(),
            choice: get("choice").and_then(|c| c.parse().ok()),
            value: get("value"),
            reason: get("reason"),
            skip: get("skip"),
            fields: pairs
                .iter()
                .filter(|(name, _)| name.starts_with('/'))
                .cloned()
                .collect(),
            remove: pairs
                .iter()
                .filter(|(name, _)| name == "remove")
                .map(|(_, value)| value.clone())
                .collect(),
        }
    }
}

/// The focus page again with the decision `form` was about, saying why it was refused.
async fn refused(
    shared: &Shared,
    who: &Identity,
    form: &DecideForm,
    message: String,
    edit: Option<String>,
    field: &'static str,
    status: StatusCode,
) -> Response {
    focus_page(
        shared,
        who,
        FocusPage {
            query: FocusQuery {
                decision: Some(form.decision.clone()),
                skip: form.skip.clone(),
                after: None,
                decided: None,
            },
            error: Some((message, edit, field)),
            status,
        },
    )
    .await
}

async fn decide(
    State(shared): State<Arc<Shared>>,
    Extension(who): Extension<Identity>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let form = DecideForm::from_pairs(pairs);
    if !shared.auth.allows_change(&who, Some(&form.csrf)) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "missing or wrong CSRF token; reload the page",
        )
        .into_response();
    }
    let id: DecisionId = match form.decision.parse() {
        Ok(id) => id,
        Err(e) => {
            let message = format!("{e}");
            return refused(
                &shared,
                &who,
                &form,
                message,
                None,
                "decision",
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
    };
    let decision = match form.action.as_str() {
        "approve" => Decision::Approve {
            choice: form.choice.unwrap_or(0),
        },
        "reject" => Decision::Reject {
            reason: form.reason.clone().filter(|r| !r.trim().is_empty()),
        },
        "edit" => {
            let text = form.value.clone().unwrap_or_default();
            match serde_json::from_str(&text) {
                Ok(value) => Decision::Edit { value },
                Err(e) => {
                    let message = format!(
                        "not valid JSON: line {}, column {}: {e}",
                        e.line(),
                        e.column()
                    );
                    return refused(
                        &shared,
                        &who,
                        &form,
                        message,
                        Some(text),
                        "edit",
                        StatusCode::UNPROCESSABLE_ENTITY,
                    )
                    .await;
                }
            }
        }
        "fields" => {
            let request = shared
                .service
                .run(&id.run)
                .ok()
                .and_then(|state| state.decisions.get(&id).map(|d| d.request.clone()));
            let schema = match &request {
                Some(request) => edit_schema(&shared, request).await,
                None => None,
            };
            let default = request.as_ref().and_then(|r| r.choices.first().cloned());
            let applied = match (schema, default) {
                (Some((schema, root)), Some(default)) => {
                    form::apply(&schema, &root, &default, &form.fields, &form.remove)
                }
                _ => Err("this decision has no form to edit; reload the page".into()),
            };
            match applied {
                Ok(value) => Decision::Edit { value },
                Err(message) => {
                    return refused(
                        &shared,
                        &who,
                        &form,
                        message,
                        None,
                        "fields",
                        StatusCode::UNPROCESSABLE_ENTITY,
                    )
                    .await;
                }
            }
        }
        other => {
            let message = format!("unknown action {other:?}");
            return refused(
                &shared,
                &who,
                &form,
                message,
                None,
                "decision",
                StatusCode::BAD_REQUEST,
            )
            .await;
        }
    };
    let field = match form.action.as_str() {
        "edit" => "edit",
        "fields" => "fields",
        _ => "decision",
    };
    match super::api::decide_as(&shared, &who, id.clone(), decision, false).await {
        Ok(state) => {
            let mut to = format!("/?after={}&decided={}", state.id, encode(&id.to_string()));
            if let Some(skip) = form.skip.as_deref().filter(|s| !s.is_empty()) {
                to.push_str(&format!("&skip={}", encode(skip)));
            }
            Redirect::to(&to).into_response()
        }
        Err(e) => {
            let edit = form.value.clone();
            refused(&shared, &who, &form, e.message, edit, field, e.status).await
        }
    }
}

// ---- inbox, runs, run, stats ----

async fn inbox(State(shared): State<Arc<Shared>>, Extension(who): Extension<Identity>) -> Response {
    let (pending, unreadable, about, checks) = match shared.service.inbox() {
        Ok(inbox) => (
            inbox.pending,
            inbox.unreadable,
            inbox.about,
            inbox.spot_checks,
        ),
        Err(e) => return ApiError::from(e).into_response(),
    };
    let now = baton_core::Clock::now(shared.service.clock());
    let spot_checks: Vec<Value> = checks
        .iter()
        .map(|(d, w)| {
            let mut view = json!(decision_view(d, w, &who.operator));
            view["ago"] = json!(report::wait_time(
                now.saturating_sub(d.decided_at.unwrap_or(now))
            ));
            view
        })
        .collect();
    let items: Vec<DecisionView> = pending
        .iter()
        .map(|(d, w)| {
            let mut view = decision_view(d, w, &who.operator);
            view.about = about
                .get(&d.request.id.run)
                .map(|a| escape_control(a).into_owned());
            view
        })
        .collect();
    render(
        &shared,
        "inbox.html",
        merge(
            frame(&shared, &who, "inbox"),
            json!({ "items": items, "unreadable": unreadable, "spot_checks": spot_checks }),
        ),
    )
}

// ---- spot checks ----

#[derive(Debug, Default, Deserialize)]
struct ReviewQuery {
    decision: Option<String>,
    /// What the last review did, to say so.
    reviewed: Option<String>,
}

async fn review(
    State(shared): State<Arc<Shared>>,
    Extension(who): Extension<Identity>,
    Query(query): Query<ReviewQuery>,
) -> Response {
    review_page(&shared, &who, query, None, StatusCode::OK)
}

/// The next spot check (or the one asked for), with what the last review did.
fn review_page(
    shared: &Shared,
    who: &Identity,
    query: ReviewQuery,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    // Spot checks only: no pending decision is read.
    let inbox = match shared.service.inbox_first(0) {
        Ok(inbox) => inbox,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let checks = &inbox.spot_checks;
    let position = checks
        .iter()
        .position(|(d, _)| Some(d.request.id.to_string().as_str()) == query.decision.as_deref())
        .or((!checks.is_empty()).then_some(0));
    let now = baton_core::Clock::now(shared.service.clock());
    let (view, ago) = match position {
        Some(i) => {
            let (record, workflow) = &checks[i];
            let mut view = decision_view(record, workflow, &who.operator);
            view.about = inbox
                .about
                .get(&record.request.id.run)
                .map(|a| escape_control(a).into_owned());
            let ago = report::wait_time(now.saturating_sub(record.decided_at.unwrap_or(now)));
            (Some(view), Some(ago))
        }
        None => (None, None),
    };
    let reviewed = query
        .reviewed
        .as_deref()
        .and_then(|id| id.parse::<DecisionId>().ok())
        .and_then(|id| reviewed_line(shared, &id));
    let mut response = render(
        shared,
        "review.html",
        merge(
            frame(shared, who, "review"),
            json!({
                "decision": view,
                "ago": ago,
                "position": position.map(|i| i + 1),
                "total": checks.len(),
                "reviewed": reviewed,
                "error": error,
                "unreadable": inbox.unreadable,
            }),
        ),
    );
    *response.status_mut() = status;
    response
}

/// What the review of `id` did, in a line: agreed or not, and whether it suspended
/// its gate's auto-approval of the kind.
fn reviewed_line(shared: &Shared, id: &DecisionId) -> Option<String> {
    let state = shared.service.run(&id.run).ok()?;
    let record = state.decisions.get(id)?;
    let answer = record.spot_check.as_ref()?.answer.as_ref()?;
    let suspended = shared
        .service
        .suspensions(Some(&state.workflow))
        .ok()?
        .into_iter()
        .find(|s| {
            s.active()
                && s.gate == id.gate.step.as_str()
                && s.kind == record.request.kind
                && s.run == id.run.to_string()
        });
    Some(match (suspended, answer.agrees()) {
        (Some(s), _) => format!("Recorded. {}.", escape_control(&s.message())),
        (None, true) => "Recorded: you agree with the auto-approval.".into(),
        (None, false) => "Recorded: you would have decided otherwise. The run is unchanged; the disagreement counts against the rule.".into(),
    })
}

async fn answer_review(
    State(shared): State<Arc<Shared>>,
    Extension(who): Extension<Identity>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let form = DecideForm::from_pairs(pairs.clone());
    if !shared.auth.allows_change(&who, Some(&form.csrf)) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "missing or wrong CSRF token; reload the page",
        )
        .into_response();
    }
    let again = |error: String, status| {
        review_page(
            &shared,
            &who,
            ReviewQuery {
                decision: Some(form.decision.clone()),
                reviewed: None,
            },
            Some(error),
            status,
        )
    };
    let id: DecisionId = match form.decision.parse() {
        Ok(id) => id,
        Err(e) => return again(e.to_string(), StatusCode::BAD_REQUEST),
    };
    let note = pairs
        .iter()
        .rev()
        .find(|(name, _)| name == "note")
        .map(|(_, v)| v.trim().to_string())
        .filter(|n| !n.is_empty());
    let would = match form.action.as_str() {
        "approve" => DecisionOutcome::Approved {
            choice: form.choice.unwrap_or(0),
        },
        "reject" => DecisionOutcome::Rejected {
            reason: note.clone(),
        },
        other => return again(format!("unknown action {other:?}"), StatusCode::BAD_REQUEST),
    };
    let answer = baton_core::SpotCheckAnswer { would, note };
    let op = super::shared::Learn::SpotCheck {
        id: id.clone(),
        answer,
    };
    match super::api::learn(&shared, &who, op).await {
        Ok(_) => {
            Redirect::to(&format!("/review?reviewed={}", encode(&id.to_string()))).into_response()
        }
        Err(e) => again(e.message, e.status),
    }
}

async fn runs(State(shared): State<Arc<Shared>>, Extension(who): Extension<Identity>) -> Response {
    let summaries = match shared.service.runs() {
        Ok(s) => s,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let rows: Vec<Value> = summaries
        .iter()
        .map(|s| {
            let damaged = s.damaged.is_some();
            json!({
                "id": s.id.to_string(),
                "workflow": s.workflow,
                "status": if damaged { "damaged" } else { s.status.as_str() },
                "started": format_time(s.started_at),
                "pending": if damaged { 0 } else { s.pending },
                "about": s.about.as_deref().map(|a| escape_control(a).into_owned()),
            })
        })
        .collect();
    let unreadable = baton_service::Unreadable::in_listing(&summaries);
    render(
        &shared,
        "runs.html",
        merge(
            frame(&shared, &who, "runs"),
            json!({ "runs": rows, "unreadable": unreadable, "unreadable_marked": true }),
        ),
    )
}

async fn run(
    State(shared): State<Arc<Shared>>,
    Extension(who): Extension<Identity>,
    Path(run): Path<String>,
) -> Response {
    let state = match run
        .parse::<RunId>()
        .map_err(|e| ApiError::new(StatusCode::NOT_FOUND, e.to_string()))
        .and_then(|id| shared.service.run(&id).map_err(ApiError::from))
    {
        Ok(state) => state,
        Err(e) => return e.into_response(),
    };
    let mut steps: Vec<_> = state.steps.values().collect();
    steps.sort_by_key(|r| (r.started_at, r.key.clone()));
    let steps: Vec<Value> = steps
        .iter()
        .map(|r| {
            let decision = state
                .decisions
                .values()
                .find(|d| d.request.id.gate == r.key);
            json!({
                "key": r.key.to_string(),
                "status": report::step_word(r.status),
                "at": format_time(r.started_at),
                "elapsed_ms": r.elapsed_ms,
                "attempts": r.attempts,
                "detail": r.error.as_ref().map(|e| escape_control(&format!("{}: {}", e.kind, e.message)).into_owned())
                    .or_else(|| r.skipped_because.clone()),
                "output": r.output.as_ref().map(|o| crate::view::Doc::of_value(o).html()),
                "output_full": r.output.as_ref().map(pretty),
                "llm": (!r.llm.is_empty()).then(|| report::usage_text(&baton_core::LlmUsage::of(&r.llm))),
                "models": r.llm.iter().map(|e| e.model.clone()).collect::<std::collections::BTreeSet<_>>(),
                "decision": decision.map(decided_view),
            })
        })
        .collect();
    let usage = state.llm_usage(None);
    let context = merge(
        frame(&shared, &who, "runs"),
        json!({
            "run": {
                "id": state.id.to_string(),
                "workflow": state.workflow,
                "status": state.status().as_str(),
                "started": format_time(state.started_at),
                "updated": format_time(state.updated_at),
                "note": state.finish_note().map(|n| escape_control(n).into_owned()),
                "usage": (usage.calls > 0).then(|| report::usage_text(&usage)),
                "pending": state.pending().count(),
                "about": state.about.as_deref().map(|a| escape_control(a).into_owned()),
            },
            "steps": steps,
        }),
    );
    render(&shared, "run.html", context)
}

fn decided_view(record: &DecisionRecord) -> Value {
    let outcome = match &record.outcome {
        None if record.status == DecisionStatus::Withdrawn => {
            "withdrawn: the run ended before anyone decided".to_string()
        }
        None => "waiting for a decision".to_string(),
        Some(DecisionOutcome::Approved { choice: 0 }) => "approved as proposed".to_string(),
        Some(DecisionOutcome::Approved { choice }) => format!("alternative {choice} approved"),
        Some(DecisionOutcome::Edited { .. }) => "approved with an edit".to_string(),
        Some(DecisionOutcome::Rejected { reason: Some(r) }) => {
            format!("rejected: {}", escape_control(r))
        }
        Some(DecisionOutcome::Rejected { reason: None }) => "rejected".to_string(),
        Some(DecisionOutcome::Expired { action }) => format!("expired ({})", action.as_str()),
    };
    json!({
        "id": record.request.id.to_string(),
        "title": escape_control(&record.request.title),
        "outcome": outcome,
        // What was approved, in words.
        "chosen": record.chosen_value().map(|v| report::choice_summary(&v)),
        "by": record.decided_by.as_deref().map(|b| escape_control(b).into_owned()),
        "at": record.decided_at.map(format_time),
        "pending": record.status == DecisionStatus::Pending,
    })
}

#[derive(Debug, Deserialize)]
struct StatsQuery {
    workflow: Option<String>,
    /// Only this last stretch, e.g. `30d`.
    since: Option<String>,
}

async fn stats(
    State(shared): State<Arc<Shared>>,
    Extension(who): Extension<Identity>,
    Query(query): Query<StatsQuery>,
) -> Response {
    let since = match query.since.as_deref().filter(|s| !s.trim().is_empty()) {
        None => None,
        Some(text) => match humantime::parse_duration(text.trim()) {
            Ok(d) => Some(
                baton_core::Clock::now(shared.service.clock()).saturating_sub(d.as_millis() as u64),
            ),
            Err(e) => {
                return ApiError::new(
                    StatusCode::BAD_REQUEST,
                    format!("since={text:?}: {e}; give a stretch such as 30d or 12w"),
                )
                .into_response();
            }
        },
    };
    let (runs, unreadable) = match shared.service.states(query.workflow.as_deref()) {
        Ok(states) => (states.runs, states.unreadable),
        Err(e) => return ApiError::from(e).into_response(),
    };
    let mut all = baton_engine::stats::stats_with(
        &runs,
        baton_engine::stats::Options {
            since,
            ..Default::default()
        },
    );
    if let Ok(suspended) = shared.service.suspensions(query.workflow.as_deref()) {
        crate::commands::stats::attach_suspensions(&mut all, suspended);
    }
    let workflows: Vec<Value> = all
        .iter()
        .map(|w| {
            let mut value = json!(w);
            value["human_percent"] = json!(format!("{:.0}", 100.0 * w.human_share));
            value["chart"] = json!(weekly_chart(&w.weeks));
            value["weeks"] = json!(
                w.weeks
                    .iter()
                    .map(|week| json!({
                        "start": &format_time(week.start)[..10],
                        "by_plugins": week.by_plugins,
                        "by_people": week.by_people,
                        "auto_approved": week.auto_approved,
                        "spot_checks": week.spot_checks,
                    }))
                    .collect::<Vec<_>>()
            );
            // The same words as `host stats`, from the same figures.
            for (i, g) in w.gates.iter().enumerate() {
                let gate = &mut value["gates"][i];
                gate["median_wait"] = json!(report::wait_or_dash(g.median_ms_to_decision));
                gate["wait"] = json!(report::wait_or_dash(g.median_ms_to_shown));
                gate["handling"] = json!(report::wait_or_dash(g.median_ms_handling));
                gate["checks_text"] = json!(g.counts.spot_checks.summary());
                gate["outcomes_text"] = json!(g.counts.outcomes.summary());
                for (j, k) in g.kinds.iter().enumerate() {
                    let kind = &mut gate["kinds"][j];
                    kind["checks_text"] = json!(k.counts.spot_checks.summary());
                    kind["outcomes_text"] = json!(k.counts.outcomes.summary());
                }
            }
            value
        })
        .collect();
    render(
        &shared,
        "stats.html",
        merge(
            frame(&shared, &who, "stats"),
            json!({
                "workflows": workflows,
                "unreadable": unreadable,
                "since": query.since,
            }),
        ),
    )
}

/// The workflow's weeks as stacked bars (steps by plugins, decisions by people,
/// auto-approved, spot checks), drawn by the server as SVG: numbers and dates only,
/// nothing a plugin wrote.
fn weekly_chart(weeks: &[baton_engine::stats::Week]) -> String {
    if weeks.is_empty() {
        return String::new();
    }
    let (height, top, bottom, left) = (160.0, 12.0, 28.0, 36.0);
    let bar = 28.0;
    let gap = 14.0;
    let width = left + weeks.len() as f64 * (bar + gap) + gap;
    let most = weeks
        .iter()
        .map(|w| w.by_plugins + w.by_people + w.auto_approved + w.spot_checks)
        .max()
        .unwrap_or(0)
        .max(1);
    let scale = (height - top - bottom) / f64::from(most);
    let base = height - bottom;
    let mut svg = format!(
        "<svg class=\"chart\" id=\"weekly-chart\" role=\"img\" viewBox=\"0 0 {width:.0} {height:.0}\" width=\"{width:.0}\" height=\"{height:.0}\" \
         aria-label=\"Week by week: steps done by plugins, decisions made by people, auto-approved, spot checks\">\
         <line x1=\"{left}\" y1=\"{base}\" x2=\"{width:.0}\" y2=\"{base}\" stroke=\"#999\"/>\
         <text x=\"{x:.0}\" y=\"{y:.0}\" text-anchor=\"end\">{most}</text>\
         <text x=\"{x:.0}\" y=\"{base}\" text-anchor=\"end\">0</text>",
        x = left - 4.0,
        y = top + 8.0,
    );
    for (i, week) in weeks.iter().enumerate() {
        let x = left + gap + i as f64 * (bar + gap);
        let mut y = base;
        for (count, class, color, one, many) in [
            (
                week.by_plugins,
                "plugins",
                "#9aa5b1",
                "step by plugins",
                "steps by plugins",
            ),
            (
                week.by_people,
                "people",
                "#2f6fde",
                "decision by people",
                "decisions by people",
            ),
            (
                week.auto_approved,
                "auto",
                "#2e9e5b",
                "auto-approved",
                "auto-approved",
            ),
            (
                week.spot_checks,
                "checks",
                "#e08a1e",
                "spot check",
                "spot checks",
            ),
        ] {
            let what = if count == 1 { one } else { many };
            if count == 0 {
                continue;
            }
            let h = f64::from(count) * scale;
            y -= h;
            svg.push_str(&format!(
                "<rect class=\"bar series-{class}\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bar}\" height=\"{h:.1}\" fill=\"{color}\"><title>{count} {what}</title></rect>"
            ));
        }
        let date = &format_time(week.start)[5..10];
        svg.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{:.0}\" text-anchor=\"middle\">{date}</text>",
            x + bar / 2.0,
            height - 10.0
        ));
    }
    svg.push_str("</svg>");
    svg
}

// ---- live updates ----

/// `change` events, one per change of state, with the run, its status and its
/// pending decisions; a page refreshes what it shows.
async fn events(State(shared): State<Arc<Shared>>, _headers: HeaderMap) -> impl IntoResponse {
    let changes = shared.changes.subscribe();
    let stream = futures::stream::unfold(changes, |mut changes| async move {
        let event = match changes.recv().await {
            Ok(change) => Event::default()
                .event("change")
                .json_data(&change)
                .unwrap_or_else(|_| Event::default().event("change")),
            // Missed some: one event still tells the page to refresh.
            Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                Event::default().event("change").data("{}")
            }
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
        };
        Some((Ok::<_, Infallible>(event), changes))
    });
    let mut stopping = shared.stopping.clone();
    let stopped = async move {
        let _ = stopping.wait_for(|stop| *stop).await;
    };
    Sse::new(stream.take_until(stopped).boxed()).keep_alive(KeepAlive::default())
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_template_parses_and_renders_escaped() {
        let env = super::templates().unwrap();
        let hostile = "<script>alert(1)</script>";
        for name in [
            "focus.html",
            "inbox.html",
            "runs.html",
            "run.html",
            "stats.html",
            "login.html",
            "review.html",
        ] {
            let html = env
                .get_template(name)
                .and_then(|t| {
                    t.render(minijinja::value::Serde(serde_json::json!({
                        "page": name,
                        "operator": hostile,
                        "csrf": "c",
                        "error": hostile,
                        "items": [], "runs": [], "steps": [], "workflows": [],
                        "run": { "workflow": hostile, "status": "waiting" },
                    })))
                })
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(html.contains("</html>"), "{name}");
            assert!(!html.contains(hostile), "{name} shows text unescaped");
        }
    }
}
