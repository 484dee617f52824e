//! The `/v1` routes of `llmagent serve`.
//!
//! Every answer is JSON (or server-sent events where asked); every error
//! is `{"error": {"code", "message"}}` with a fitting status, including a
//! body, path or query the route cannot read, an unknown route and a wrong
//! method. Turns run in tasks of their own: a client that hangs up does
//! not cancel a turn half-way (`POST …/cancel` does).

use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::Router;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::Stream;
use llmagent_core::{StartRequest, Supervisor, SupervisorError};
use llmagent_events::{Delivery, Event, EventStore, Filter};
use llmagent_policy::ToolProtocol;
use serde_json::Value;
use tokio::sync::mpsc;

use super::openapi::{
    AgentView, Answered, Approval, Cancelled, ErrorBody, EventView, EventsHealth, Health, Message,
    Outcome, PromptBody, Reloaded, StartBody, Stopped, document,
};
use crate::events_cmd::{EventsQuery, message_json};

/// What every handler shares.
pub(crate) struct AppState {
    pub(crate) supervisor: Supervisor,
    pub(crate) store: EventStore,
    pub(crate) policy_path: PathBuf,
    pub(crate) started: Instant,
}

type St = State<Arc<AppState>>;

/// `{"error": {"code", "message"}}` with `status`.
pub(crate) fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(ErrorBody::new(code, message))).into_response()
}

/// A supervisor error as an HTTP answer.
fn supervisor_error(e: &SupervisorError) -> Response {
    let status = match e {
        SupervisorError::NotFound(_) => StatusCode::NOT_FOUND,
        SupervisorError::AlreadyStarted(_) => StatusCode::CONFLICT,
        SupervisorError::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
        SupervisorError::Agent(llmagent_core::AgentError::Locked(_)) => StatusCode::CONFLICT,
        SupervisorError::Policy(_) => StatusCode::UNPROCESSABLE_ENTITY,
        SupervisorError::Agent(_) | SupervisorError::Runtime(_) => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
        SupervisorError::Invalid(_)
        | SupervisorError::Settings(_)
        | SupervisorError::Client { .. } => StatusCode::BAD_REQUEST,
    };
    error_response(status, e.code(), &e.to_string())
}

fn bad_request(message: &str) -> Response {
    error_response(StatusCode::BAD_REQUEST, "invalid_request", message)
}

/// The API's routes (without who-may-call checks; see `auth`).
pub(crate) fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/v1/health", get(health))
        .route("/v1/agents", get(list_agents).post(start_agent))
        .route("/v1/agents/{name}", get(agent).delete(stop_agent))
        .route("/v1/agents/{name}/prompt", post(prompt))
        .route("/v1/agents/{name}/cancel", post(cancel))
        .route("/v1/agents/{name}/history", get(history))
        .route("/v1/events", get(events))
        .route("/v1/events/stream", get(stream_events))
        .route("/v1/approvals", get(approvals))
        .route("/v1/approvals/{id}/approve", post(approve))
        .route("/v1/approvals/{id}/deny", post(deny))
        .route("/v1/reload", post(reload))
        .route("/v1/openapi.json", get(|| async { Json(document()) }))
        .fallback(|| async { error_response(StatusCode::NOT_FOUND, "not_found", "no such route") })
        .method_not_allowed_fallback(|| async {
            error_response(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this route does not take that method",
            )
        })
        .with_state(state)
}

/// The web view: one page, its HTML, CSS and JS embedded in the binary.
const INDEX: &str = include_str!("web/index.html");

async fn index() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            // Not framed by another site (clickjacking on the approve
            // buttons); no resources from anywhere else.
            (header::X_FRAME_OPTIONS, "DENY"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; frame-ancestors 'none'",
            ),
        ],
        INDEX,
    )
        .into_response()
}

#[utoipa::path(get, path = "/v1/health", tag = "service",
    responses((status = 200, description = "The service is up", body = Health)))]
pub(crate) async fn health(State(st): St) -> Json<Health> {
    let status = if st.supervisor.accepting() {
        "ok"
    } else {
        "shutting_down"
    };
    Json(Health {
        status: status.to_owned(),
        pid: std::process::id(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        agents: st.supervisor.list().len(),
        uptime_ms: u64::try_from(st.started.elapsed().as_millis()).unwrap_or(u64::MAX),
        policy: st.policy_path.display().to_string(),
        events: EventsHealth {
            writable: !st.store.is_poisoned(),
            failures: st.store.failures(),
            last_failure: st.store.last_failure(),
        },
    })
}

#[utoipa::path(get, path = "/v1/agents", tag = "agents",
    responses((status = 200, description = "Every agent, by name", body = Vec<AgentView>)))]
pub(crate) async fn list_agents(State(st): St) -> Json<Vec<AgentView>> {
    Json(st.supervisor.list().iter().map(AgentView::from).collect())
}

#[utoipa::path(post, path = "/v1/agents", tag = "agents",
    request_body = StartBody,
    responses(
        (status = 201, description = "Started", body = AgentView),
        (status = 400, description = "A wrong body, an unknown agent or role, no model", body = ErrorBody), (status = 409, description = "The name runs already (already_started), or another process runs it", body = ErrorBody), (status = 422, description = "The policy refuses it", body = ErrorBody), (status = 500, description = "The agent could not start", body = ErrorBody), (status = 503, description = "Shutting down", body = ErrorBody)))]
pub(crate) async fn start_agent(
    State(st): St,
    body: Result<Json<StartBody>, JsonRejection>,
) -> Response {
    let Json(body) = match body {
        Ok(b) => b,
        Err(e) => return bad_request(&e.body_text()),
    };
    let protocol = match body.protocol.as_deref().map(str::parse::<ToolProtocol>) {
        None => None,
        Some(Ok(p)) => Some(p),
        Some(Err(e)) => return bad_request(&e),
    };
    let request = StartRequest {
        name: body.name,
        role: body.role,
        model: body.model,
        api_base: body.api_base,
        protocol,
    };
    match st.supervisor.start(request).await {
        Ok(info) => (StatusCode::CREATED, Json(AgentView::from(&info))).into_response(),
        Err(e) => supervisor_error(&e),
    }
}

#[utoipa::path(get, path = "/v1/agents/{name}", tag = "agents",
    params(("name" = String, Path, description = "The agent")),
    responses((status = 200, description = "The agent", body = AgentView), (status = 404, description = "No such agent (not_found)", body = ErrorBody)))]
pub(crate) async fn agent(State(st): St, Path(name): Path<String>) -> Response {
    match st.supervisor.info(&name) {
        Ok(info) => Json(AgentView::from(&info)).into_response(),
        Err(e) => supervisor_error(&e),
    }
}

#[utoipa::path(delete, path = "/v1/agents/{name}", tag = "agents",
    params(("name" = String, Path, description = "The agent")),
    responses((status = 200, description = "Stopped; its running turn was cancelled", body = Stopped), (status = 404, description = "No such agent (not_found)", body = ErrorBody)))]
pub(crate) async fn stop_agent(State(st): St, Path(name): Path<String>) -> Response {
    match st.supervisor.stop(&name).await {
        Ok(()) => Json(Stopped {
            name,
            stopped: true,
        })
        .into_response(),
        Err(e) => supervisor_error(&e),
    }
}

#[utoipa::path(post, path = "/v1/agents/{name}/prompt", tag = "agents",
    params(("name" = String, Path, description = "The agent")),
    request_body = PromptBody,
    responses(
        (status = 200, description = "The turn's outcome; with `stream` (or `Accept: text/event-stream`) its events as server-sent events, then the outcome", content(
             (Outcome = "application/json"),
             (String = "text/event-stream"))),
        (status = 400, description = "A wrong body", body = ErrorBody), (status = 404, description = "No such agent (not_found)", body = ErrorBody), (status = 500, description = "The agent's task failed", body = ErrorBody), (status = 503, description = "Shutting down", body = ErrorBody)))]
pub(crate) async fn prompt(
    State(st): St,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Result<Json<PromptBody>, JsonRejection>,
) -> Response {
    let Json(body) = match body {
        Ok(b) => b,
        Err(e) => return bad_request(&e.body_text()),
    };
    if let Err(e) = st.supervisor.info(&name) {
        return supervisor_error(&e);
    }
    if !st.supervisor.accepting() {
        return supervisor_error(&SupervisorError::ShuttingDown);
    }
    let wants_sse = body.stream
        || headers
            .get(header::ACCEPT)
            .and_then(|a| a.to_str().ok())
            .is_some_and(|a| a.contains("text/event-stream"));
    let supervisor = st.supervisor.clone();
    if !wants_sse {
        let turn =
            tokio::spawn(async move { supervisor.prompt(&name, &body.text, None, None).await });
        return match turn.await {
            Ok(Ok(outcome)) => Json(llmagent_core::outcome_json(&outcome)).into_response(),
            Ok(Err(e)) => supervisor_error(&e),
            Err(e) => error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                &format!("the turn's task failed: {e}"),
            ),
        };
    }
    let (tap, mut tapped) = mpsc::unbounded_channel::<Arc<Event>>();
    let (tx, rx) = mpsc::unbounded_channel::<SseEvent>();
    let turn =
        tokio::spawn(async move { supervisor.prompt(&name, &body.text, None, Some(tap)).await });
    tokio::spawn(async move {
        while let Some(ev) = tapped.recv().await {
            let _ = tx.send(event_sse(&ev));
        }
        let last = match turn.await {
            Ok(Ok(outcome)) => SseEvent::default()
                .event("outcome")
                .data(llmagent_core::outcome_json(&outcome).to_string()),
            Ok(Err(e)) => SseEvent::default()
                .event("error")
                .data(ErrorBody::new(e.code(), &e.to_string()).to_json()),
            Err(e) => SseEvent::default()
                .event("error")
                .data(ErrorBody::new("internal", &e.to_string()).to_json()),
        };
        let _ = tx.send(last);
    });
    sse(rx).into_response()
}

/// One stored event as an SSE `event` with its seq as id.
fn event_sse(ev: &Event) -> SseEvent {
    SseEvent::default()
        .event("event")
        .id(ev.seq.to_string())
        .data(serde_json::to_string(ev).unwrap_or_default())
}

fn sse(
    rx: mpsc::UnboundedReceiver<SseEvent>,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let stream =
        futures_util::stream::unfold(
            rx,
            |mut rx| async move { rx.recv().await.map(|e| (Ok(e), rx)) },
        );
    Sse::new(stream).keep_alive(KeepAlive::default())
}

#[utoipa::path(post, path = "/v1/agents/{name}/cancel", tag = "agents",
    params(("name" = String, Path, description = "The agent")),
    responses((status = 200, description = "Whether a turn was running", body = Cancelled), (status = 404, description = "No such agent (not_found)", body = ErrorBody)))]
pub(crate) async fn cancel(State(st): St, Path(name): Path<String>) -> Response {
    match st.supervisor.cancel(&name) {
        Ok(was) => Json(Cancelled {
            name,
            cancelled: was,
        })
        .into_response(),
        Err(e) => supervisor_error(&e),
    }
}

#[utoipa::path(get, path = "/v1/agents/{name}/history", tag = "agents",
    params(("name" = String, Path, description = "The agent (running or not)")),
    responses((status = 200, description = "Its conversation, as rebuilt from the store", body = Vec<Message>), (status = 500, description = "The store failed", body = ErrorBody)))]
pub(crate) async fn history(State(st): St, Path(name): Path<String>) -> Response {
    match st.store.conversation_for(&name) {
        Ok(messages) => {
            Json(Value::Array(messages.iter().map(message_json).collect())).into_response()
        }
        Err(e) => error_response(StatusCode::INTERNAL_SERVER_ERROR, e.code(), &e.to_string()),
    }
}

#[utoipa::path(get, path = "/v1/events", tag = "events",
    params(EventsQuery),
    responses((status = 200, description = "Stored events, oldest first", body = Vec<EventView>), (status = 400, description = "A wrong filter", body = ErrorBody)))]
pub(crate) async fn events(
    State(st): St,
    q: Result<Query<EventsQuery>, QueryRejection>,
) -> Response {
    let Query(q) = match q {
        Ok(q) => q,
        Err(e) => return bad_request(&e.body_text()),
    };
    match st.store.query(&q.to_query()) {
        Ok(found) => Json(found).into_response(),
        Err(e) => error_response(StatusCode::BAD_REQUEST, e.code(), &e.to_string()),
    }
}

/// Stored events matching the query after `after_seq` (when given), then
/// live ones as they are stored; a subscriber that falls behind catches up
/// from the store, so none is missed.
#[utoipa::path(get, path = "/v1/events/stream", tag = "events",
    params(EventsQuery),
    responses((status = 200, description = "Server-sent events: `event` events, each a stored event (after `after_seq` first when given, then live)", content_type = "text/event-stream", body = String), (status = 400, description = "A wrong filter", body = ErrorBody)))]
pub(crate) async fn stream_events(
    State(st): St,
    q: Result<Query<EventsQuery>, QueryRejection>,
) -> Response {
    let Query(q) = match q {
        Ok(q) => q,
        Err(e) => return bad_request(&e.body_text()),
    };
    if let Some(since) = &q.since
        && let Err(e) = llmagent_events::parse_ts(since)
    {
        return error_response(StatusCode::BAD_REQUEST, e.code(), &e.to_string());
    }
    let filter = match (&q.topic, &q.prefix) {
        (Some(t), _) => Filter::Topic(t.clone()),
        (None, Some(p)) => Filter::Prefix(p.clone()),
        (None, None) => Filter::All,
    };
    let mut sub = st.store.subscribe(filter);
    let store = st.store.clone();
    let (tx, rx) = mpsc::unbounded_channel::<SseEvent>();
    tokio::spawn(async move {
        let mut last = q.after_seq.unwrap_or_else(|| store.last_seq());
        let catch_up = |last: &mut u64| -> bool {
            let mut query = q.to_query();
            query.after_seq = Some(*last);
            query.limit = None;
            query.tail = false;
            match store.query(&query) {
                Ok(found) => found.iter().all(|e| {
                    *last = (*last).max(e.seq);
                    tx.send(event_sse(e)).is_ok()
                }),
                Err(_) => false,
            }
        };
        if q.after_seq.is_some() && !catch_up(&mut last) {
            return;
        }
        loop {
            let next = tokio::select! {
                d = sub.recv() => d,
                () = tx.closed() => return,
            };
            match next {
                Some(Delivery::Event(e)) if e.seq > last && q.matches(&e) => {
                    last = e.seq;
                    if tx.send(event_sse(&e)).is_err() {
                        return;
                    }
                }
                Some(Delivery::Event(_)) => {}
                Some(Delivery::Lagged(_)) => {
                    if !catch_up(&mut last) {
                        return;
                    }
                }
                None => return,
            }
        }
    });
    sse(rx).into_response()
}

#[utoipa::path(get, path = "/v1/approvals", tag = "approvals",
    responses((status = 200, description = "Calls waiting for a yes, oldest first", body = Vec<Approval>)))]
pub(crate) async fn approvals(State(st): St) -> Json<Vec<Approval>> {
    Json(
        st.supervisor
            .approvals()
            .pending()
            .iter()
            .map(Approval::from)
            .collect(),
    )
}

async fn answer(st: &AppState, id: &str, yes: bool) -> Response {
    let Ok(id) = id.parse::<u64>() else {
        return bad_request("an approval id is a number (see GET /v1/approvals)");
    };
    if st.supervisor.approvals().answer(id, yes) {
        Json(Answered { id, approved: yes }).into_response()
    } else {
        error_response(
            StatusCode::NOT_FOUND,
            "not_found",
            &format!("no approval {id} is waiting (answered, or past its deadline)"),
        )
    }
}

#[utoipa::path(post, path = "/v1/approvals/{id}/approve", tag = "approvals",
    params(("id" = u64, Path, description = "The approval")),
    responses((status = 200, description = "The call runs", body = Answered), (status = 400, description = "Not a number", body = ErrorBody), (status = 404, description = "Not waiting (answered, or past its deadline)", body = ErrorBody)))]
pub(crate) async fn approve(State(st): St, Path(id): Path<String>) -> Response {
    answer(&st, &id, true).await
}

#[utoipa::path(post, path = "/v1/approvals/{id}/deny", tag = "approvals",
    params(("id" = u64, Path, description = "The approval")),
    responses((status = 200, description = "The call is refused", body = Answered), (status = 400, description = "Not a number", body = ErrorBody), (status = 404, description = "Not waiting (answered, or past its deadline)", body = ErrorBody)))]
pub(crate) async fn deny(State(st): St, Path(id): Path<String>) -> Response {
    answer(&st, &id, false).await
}

#[utoipa::path(post, path = "/v1/reload", tag = "service",
    responses((status = 200, description = "The policy file is in force", body = Reloaded), (status = 422, description = "The file does not check; the old policy stays", body = ErrorBody), (status = 500, description = "Its tools do not load; the old policy stays", body = ErrorBody)))]
pub(crate) async fn reload(State(st): St) -> Response {
    match st.supervisor.reload(&st.policy_path).await {
        Ok(()) => Json(Reloaded {
            result: "ok".to_owned(),
            policy: st.policy_path.display().to_string(),
        })
        .into_response(),
        Err(e) => supervisor_error(&e),
    }
}
