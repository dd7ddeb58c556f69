//! The control API: the typed actions of `ferry_handlers::control`, the deployment records and
//! the services' desired states (latest pushes), as JSON over HTTP, for the CLI against AWS and
//! for the web UI.

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequestParts, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ferry_core::control::{Action, Actor, Refusal};
use ferry_core::ports::PortError;
use ferry_handlers::Deps;
use ferry_handlers::control::{ActionError, act};
use ferry_handlers::views;
use serde::Deserialize;
use serde_json::json;
use tracing::warn;

use crate::auth::Authenticate;

/// The control API's dependencies: the handler ports and how this mount authenticates.
pub struct Control {
    pub deps: Deps,
    pub auth: Arc<dyn Authenticate>,
    /// The Ferry function whose grants its AWS calls use: `control` (the Lambda function, and
    /// `ferry serve`), or `ui` (the web UI's Fargate task role).
    pub function: &'static str,
}

/// An action's body is small; anything bigger is not one.
const MAX_ACTION_BYTES: usize = 16 * 1024;
/// Records listed at most per request.
const MAX_LIMIT: usize = 100;

pub(crate) fn routes(control: Control) -> Router {
    Router::new()
        .route("/api/deployments", get(list))
        .route("/api/deployments/{id}", get(show))
        .route("/api/deployments/{id}/actions", post(take_action))
        .route("/api/desired", get(desired))
        .route("/api/me", get(me))
        .route("/api/overview", get(overview))
        .route("/api/deployments/{id}/live", get(live))
        .route("/api/services/{cluster}/{service}", get(service))
        .with_state(Arc::new(control))
}

/// A refusal or failure as the API answers it: a status and `{"error": kind, "message"}`.
fn problem(status: StatusCode, kind: &str, message: impl Into<String>) -> Response {
    let body = json!({ "error": kind, "message": message.into() });
    (status, axum::Json(body)).into_response()
}

/// The actor of a request, as the mount's [`Authenticate`] says; 401 otherwise.
struct Authenticated(Actor);

impl FromRequestParts<Arc<Control>> for Authenticated {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        control: &Arc<Control>,
    ) -> Result<Self, Self::Rejection> {
        control
            .auth
            .authenticate(parts)
            .await
            .map(Authenticated)
            .map_err(|error| problem(StatusCode::UNAUTHORIZED, "unauthenticated", error.0))
    }
}

async fn take_action(
    State(control): State<Arc<Control>>,
    Path(id): Path<String>,
    Authenticated(actor): Authenticated,
    request: Request,
) -> Response {
    // Cross-site requests are refused outright; and JSON only: a browser cannot send it
    // cross-site without a CORS preflight this API never grants (CSRF, twice over).
    if let Err(refused) = same_origin(request.headers()) {
        return problem(StatusCode::FORBIDDEN, "crossSite", refused);
    }
    let json = request
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.trim_start().starts_with("application/json"));
    if !json {
        return problem(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid",
            "an action is sent as JSON (Content-Type: application/json)",
        );
    }
    let body = match axum::body::to_bytes(request.into_body(), MAX_ACTION_BYTES).await {
        Ok(body) => body,
        Err(_) => {
            return problem(
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid",
                format!("an action is at most {MAX_ACTION_BYTES} bytes"),
            );
        }
    };
    let action: Action = match serde_json::from_slice(&body) {
        Ok(action) => action,
        Err(error) => {
            return problem(
                StatusCode::BAD_REQUEST,
                "invalid",
                format!(
                    "expected {{\"action\": \"approve\" | \"reject\" | \"promote\" | \"rollback\" | \"moveTo\", ...}}: {error}"
                ),
            );
        }
    };
    // In AWS this is the `control` function (or the UI's task): its AWS calls are its.
    let outcome =
        ferry_handlers::as_function(control.function, act(&control.deps, &actor, &id, action));
    match outcome.await {
        Ok(outcome) => (StatusCode::OK, axum::Json(outcome)).into_response(),
        Err(ActionError::Refused(refusal)) => refused(&refusal),
        Err(ActionError::Failed(error)) => {
            warn!(deployment = %id, %error, "action failed");
            let status = if error.error_type() == "Retryable" {
                StatusCode::SERVICE_UNAVAILABLE
            } else {
                StatusCode::INTERNAL_SERVER_ERROR
            };
            problem(status, error.error_type(), error.message)
        }
    }
}

/// The status of each refusal; the body is the refusal itself, typed, with its message.
fn refused(refusal: &Refusal) -> Response {
    let status = match refusal {
        Refusal::NotFound { .. } => StatusCode::NOT_FOUND,
        Refusal::NotApprover { .. } | Refusal::SelfApproval { .. } => StatusCode::FORBIDDEN,
        Refusal::NotAllowed { .. } | Refusal::AlreadyDecided { .. } => StatusCode::CONFLICT,
    };
    let mut body = serde_json::to_value(refusal).unwrap_or_default();
    body["message"] = json!(refusal.to_string());
    (status, axum::Json(body)).into_response()
}

async fn show(
    State(control): State<Arc<Control>>,
    Path(id): Path<String>,
    _reader: Authenticated,
) -> Response {
    match ferry_handlers::as_function(control.function, control.deps.store.get(&id)).await {
        Ok(Some(deployment)) => axum::Json(deployment.redacted()).into_response(),
        Ok(None) => refused(&Refusal::NotFound { deployment_id: id }),
        Err(error) => problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "Retryable",
            format!("reading the deployment record: {error}"),
        ),
    }
}

#[derive(Debug, Deserialize)]
struct ListQuery {
    /// `CLUSTER/SERVICE`: its latest deployments; without it, the deployments in flight.
    service: Option<String>,
    limit: Option<usize>,
}

async fn list(
    State(control): State<Arc<Control>>,
    Query(query): Query<ListQuery>,
    _reader: Authenticated,
) -> Response {
    let limit = query.limit.unwrap_or(20).clamp(1, MAX_LIMIT);
    let listed = match &query.service {
        Some(service) if !service.contains('/') => {
            return problem(
                StatusCode::BAD_REQUEST,
                "invalid",
                format!("service is written CLUSTER/SERVICE, found {service:?}"),
            );
        }
        Some(service) => {
            ferry_handlers::as_function(
                control.function,
                control.deps.store.list_for_service(service, limit),
            )
            .await
        }
        None => {
            ferry_handlers::as_function(control.function, control.deps.store.list_in_flight()).await
        }
    };
    match listed {
        Ok(deployments) => {
            let shown: Vec<_> = deployments
                .iter()
                .take(limit)
                .map(ferry_core::Deployment::redacted)
                .collect();
            axum::Json(shown).into_response()
        }
        Err(error) => problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "Retryable",
            format!("listing deployments: {error}"),
        ),
    }
}

/// The services' desired states (the latest push of each, and the pushes passed over): of
/// `service` (`CLUSTER/SERVICE`), or of every service whose latest push waits to deploy.
async fn desired(
    State(control): State<Arc<Control>>,
    Query(query): Query<ListQuery>,
    _reader: Authenticated,
) -> Response {
    let store = &control.deps.store;
    let read = match &query.service {
        Some(service) if !service.contains('/') => {
            return problem(
                StatusCode::BAD_REQUEST,
                "invalid",
                format!("service is written CLUSTER/SERVICE, found {service:?}"),
            );
        }
        Some(service) => ferry_handlers::as_function(control.function, store.get_desired(service))
            .await
            .map(|found| found.into_iter().collect::<Vec<_>>()),
        None => ferry_handlers::as_function(control.function, store.list_pending_desired()).await,
    };
    match read {
        Ok(states) => axum::Json(states).into_response(),
        Err(error) => problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "Retryable",
            format!("reading the desired states: {error}"),
        ),
    }
}

/// Refuses a request a browser sent from another site: its `Sec-Fetch-Site` says so, or its
/// `Origin` is not the host it was sent to. Requests without either (the CLI, scripts, signed
/// calls) pass: only browsers add them, and every browser in use does.
pub fn same_origin(headers: &http::HeaderMap) -> Result<(), String> {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    if let Some(site) = header("sec-fetch-site")
        && !matches!(site, "same-origin" | "none")
    {
        return Err(format!(
            "a {site} request cannot act on a deployment: open Ferry's own page to act"
        ));
    }
    if let Some(origin) = header("origin") {
        let host = header("x-forwarded-host").or_else(|| header("host"));
        let origin_host = origin
            .split_once("://")
            .map_or(origin, |(_, rest)| rest)
            .trim_end_matches('/');
        if host.is_none_or(|host| !host.eq_ignore_ascii_case(origin_host)) {
            return Err(format!(
                "a request from {origin} cannot act on a deployment: open Ferry's own page to act"
            ));
        }
    }
    Ok(())
}

/// Who the UI acts as.
async fn me(Authenticated(actor): Authenticated) -> Response {
    axum::Json(json!({
        "identity": actor.identity.to_string(),
        "name": actor.identity.person(),
        "via": actor.via,
    }))
    .into_response()
}

#[derive(Debug, Deserialize)]
struct OverviewQuery {
    service: Option<String>,
    status: Option<String>,
    limit: Option<usize>,
}

/// The deployments across services, in flight first (the UI's first page).
async fn overview(
    State(control): State<Arc<Control>>,
    Query(query): Query<OverviewQuery>,
    _reader: Authenticated,
) -> Response {
    let service = query.service.filter(|service| !service.is_empty());
    if let Some(service) = &service
        && !service.contains('/')
    {
        return problem(
            StatusCode::BAD_REQUEST,
            "invalid",
            format!("service is written CLUSTER/SERVICE, found {service:?}"),
        );
    }
    let filter = views::Filter {
        service,
        status: query.status.filter(|status| !status.is_empty()),
        limit: query.limit.unwrap_or(50).clamp(1, views::MAX_ROWS),
    };
    match ferry_handlers::as_function(control.function, views::overview(&control.deps, &filter))
        .await
    {
        Ok(overview) => axum::Json(overview).into_response(),
        Err(error) => problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "Retryable",
            format!("listing deployments: {error}"),
        ),
    }
}

/// A deployment as it stands in AWS now: weights, task sets, alarms, what may be done.
async fn live(
    State(control): State<Arc<Control>>,
    Path(id): Path<String>,
    _reader: Authenticated,
) -> Response {
    let deps = &control.deps;
    let read = async {
        match deps.store.get(&id).await {
            Ok(Some(deployment)) => Ok(Some(views::live(deps, &deployment).await)),
            Ok(None) => Ok(None),
            Err(error) => Err(error),
        }
    };
    match ferry_handlers::as_function(control.function, read).await {
        Ok(Some(live)) => axum::Json(live).into_response(),
        Ok(None) => refused(&Refusal::NotFound { deployment_id: id }),
        Err(error) => problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "Retryable",
            format!("reading the deployment record: {error}"),
        ),
    }
}

/// A service: what runs it, its deployments, its last plan, its latest push.
async fn service(
    State(control): State<Arc<Control>>,
    Path((cluster, service)): Path<(String, String)>,
    _reader: Authenticated,
) -> Response {
    let read = views::service(&control.deps, &cluster, &service);
    match ferry_handlers::as_function(control.function, read).await {
        Ok(view) => axum::Json(view).into_response(),
        Err(PortError::NotFound(message)) => problem(StatusCode::NOT_FOUND, "notFound", message),
        Err(error) => problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "Retryable",
            format!("reading service {cluster}/{service}: {error}"),
        ),
    }
}
