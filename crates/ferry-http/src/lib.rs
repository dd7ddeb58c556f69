//! Ferry's one HTTP application. Every front end that speaks HTTP mounts this router with the
//! parts it serves:
//!
//! | route | part | mounted by |
//! | --- | --- | --- |
//! | `POST /webhooks/github` (and `POST /`) | [`App::intake`] | `webhook-intake` (function URL, auth `NONE`), `ferry serve` |
//! | `POST /api/deployments/{id}/actions` | [`App::control`] | `control` (function URL, auth `AWS_IAM`), `ferry serve --local` |
//! | `GET /api/deployments[?service=CLUSTER/SERVICE]`, `GET /api/deployments/{id}` | [`App::control`] | the same |
//! | `GET /api/me`, `/api/overview`, `/api/deployments/{id}/live`, `/api/services/{cluster}/{service}` | [`App::control`] | the same, and `ferry-ui` (the web UI's Fargate task) |
//! | `GET /`, `/deployments/{id}`, `/services/{cluster}/{service}`, `/assets/{name}` | [`App::ui`] | `ferry serve`, `ferry-ui` |
//! | `POST /slack/interactions` | [`App::slack`] | `slack-callback` (function URL, auth `NONE`: Slack signs), `ferry serve` |
//! | `GET /healthz` | always | all |
//!
//! A part that is not configured is not routed at all: the public webhook URL cannot reach the
//! control API. Who asks the control API is decided by the mount's [`Authenticate`] (the IAM
//! principal AWS verified, or the trusted local user), never by the request body.
//! [`lambda`] serves the router from a Lambda function URL.

mod auth;
mod control;
#[cfg(feature = "lambda")]
pub mod lambda;
mod ui;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use ferry_webhook::Intake;
use ferry_webhook::inspect::MAX_BODY_BYTES;

pub use auth::{Authenticate, AwsIam, AwsPrincipal, LocalTrusted, Unauthenticated, from_browser};
pub use control::{Control, same_origin};
pub use ui::{Asset, Ui};

/// The parts a mount serves.
#[derive(Default)]
pub struct App {
    /// GitHub webhooks.
    pub intake: Option<Intake>,
    /// The control API: actions and deployment records, as an authenticated actor.
    pub control: Option<Control>,
    /// Slack's button clicks, verified with the app's signing secret.
    pub slack: Option<Arc<ferry_slack::Interactions>>,
    /// The web UI's pages; they read and act through [`App::control`], so they are served
    /// only beside it.
    pub ui: Option<Ui>,
}

/// A Slack interaction is a small form; anything bigger is not one.
const MAX_SLACK_BYTES: usize = 64 * 1024;

/// The router for `app`.
pub fn router(app: App) -> Router {
    let mut router = Router::new().route("/healthz", get(|| async { "ok\n" }));
    if let Some(intake) = app.intake {
        router = router.merge(
            Router::new()
                .route("/webhooks/github", post(github_webhook))
                // The webhook function's URL is given to GitHub as is: its root is the intake.
                .route("/", post(github_webhook))
                // One byte over GitHub's cap still reaches the intake, which answers 413 with a
                // reason; anything bigger is cut off by axum with a plain 413.
                .layer(DefaultBodyLimit::max(MAX_BODY_BYTES + 1))
                .with_state(Arc::new(intake)),
        );
    }
    if let Some(control) = app.control {
        router = router.merge(control::routes(control));
        if let Some(ui) = app.ui {
            router = router.merge(ui::routes(ui));
        }
    }
    if let Some(slack) = app.slack {
        router = router.merge(
            Router::new()
                .route("/slack/interactions", post(slack_interaction))
                .layer(DefaultBodyLimit::max(MAX_SLACK_BYTES))
                .with_state(slack),
        );
    }
    router
}

/// Answers Slack as soon as the action is taken (well within its 3 seconds); what Slack should
/// show afterwards (the message updated, an ephemeral refusal) follows in the background.
async fn slack_interaction(
    State(slack): State<Arc<ferry_slack::Interactions>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    let handled = slack
        .handle(
            header("x-slack-request-timestamp"),
            header("x-slack-signature"),
            &body,
            time::OffsetDateTime::now_utc(),
        )
        .await;
    if let Some(follow_up) = handled.follow_up {
        if slack.follow_up_inline {
            // Lambda: nothing may run after the answer; Slack allows 3 s in all.
            let _ =
                tokio::time::timeout(ferry_slack::interactions::INLINE_FOLLOW_UP, follow_up).await;
        } else {
            tokio::spawn(follow_up);
        }
    }
    let status = StatusCode::from_u16(handled.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, handled.body).into_response()
}

async fn github_webhook(
    State(intake): State<Arc<Intake>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let response = intake.handle(&headers, &body).await;
    let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(response.body)).into_response()
}

#[cfg(test)]
mod tests;
