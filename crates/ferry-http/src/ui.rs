//! The web UI's pages: one HTML shell for every page path, and its static assets, embedded in
//! the binary that mounts them (`ferry-ui` holds them). The pages read and act through the
//! control API beside them, as the user the mount authenticates.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// One embedded file.
#[derive(Debug, Clone, Copy)]
pub struct Asset {
    /// The file name, served at `/assets/<name>`; `index.html` is the page shell.
    pub name: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

/// The UI's files.
#[derive(Debug, Clone, Copy)]
pub struct Ui {
    pub assets: &'static [Asset],
}

const SHELL: &str = "index.html";

/// Scripts, styles and data from this origin only; no frames, no plugins, no inline script.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

struct Served {
    assets: &'static [Asset],
    /// A validator per asset (FNV-1a of its bytes), so a reload revalidates with a 304.
    etags: Vec<String>,
}

pub(crate) fn routes(ui: Ui) -> Router {
    let etags = ui
        .assets
        .iter()
        .map(|asset| format!("\"{:016x}\"", fnv1a(asset.body)))
        .collect();
    let served = Arc::new(Served {
        assets: ui.assets,
        etags,
    });
    Router::new()
        .route("/", get(shell))
        .route("/deployments/{id}", get(shell))
        .route("/services/{cluster}/{service}", get(shell))
        .route("/assets/{name}", get(asset))
        .with_state(served)
}

async fn shell(State(served): State<Arc<Served>>, headers: HeaderMap) -> Response {
    serve(&served, SHELL, &headers)
}

async fn asset(
    State(served): State<Arc<Served>>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    if name == SHELL {
        return StatusCode::NOT_FOUND.into_response();
    }
    serve(&served, &name, &headers)
}

fn serve(served: &Served, name: &str, request: &HeaderMap) -> Response {
    let Some(index) = served.assets.iter().position(|asset| asset.name == name) else {
        return (StatusCode::NOT_FOUND, "no such file\n").into_response();
    };
    let asset = served.assets[index];
    let etag = &served.etags[index];
    let fresh = request
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.split(',').any(|tag| tag.trim() == etag));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, asset.content_type)], asset.body).into_response()
    };
    let headers = response.headers_mut();
    let set = |headers: &mut HeaderMap, name, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    set(headers, header::ETAG, etag);
    // Always revalidated: a new binary serves new files at the same names.
    set(headers, header::CACHE_CONTROL, "no-cache");
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::REFERRER_POLICY, "same-origin");
    if name == SHELL {
        set(
            headers,
            header::CONTENT_SECURITY_POLICY,
            CONTENT_SECURITY_POLICY,
        );
        set(headers, header::X_FRAME_OPTIONS, "DENY");
    }
    response
}

/// FNV-1a, 64 bits: a stable validator, not a security measure.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}
