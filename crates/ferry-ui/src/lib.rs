//! Ferry's web UI: the files of its pages, embedded here so that every binary that serves it
//! (`ferry serve`, `ferry-ui`) carries them and no Node runtime is needed at run time; and
//! [`AlbOidc`], how the Fargate trial knows who is asking.
//!
//! The pages are plain HTML, CSS and an ES module in `assets/`, without a build step. They read
//! and act through the control API (`ferry_http`), which checks every action like the CLI's and
//! Slack's.

mod alb;

pub use alb::{AlbOidc, ElbPublicKeys, PublicKeys};
use ferry_http::{Asset, Ui};

macro_rules! asset {
    ($name:literal, $content_type:literal) => {
        Asset {
            name: $name,
            content_type: $content_type,
            body: include_bytes!(concat!("../assets/", $name)),
        }
    };
}

/// Every file the pages use.
pub static ASSETS: &[Asset] = &[
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("app.js", "text/javascript; charset=utf-8"),
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("favicon.svg", "image/svg+xml"),
];

/// The UI part of `ferry_http::App`: the embedded files, or, when `FERRY_UI_ASSETS_DIR` names
/// a folder (working on the pages), the same files read from there once at start.
pub fn ui() -> Ui {
    match std::env::var_os("FERRY_UI_ASSETS_DIR") {
        Some(folder) if !folder.is_empty() => Ui {
            assets: from_folder(std::path::Path::new(&folder)),
        },
        _ => Ui { assets: ASSETS },
    }
}

/// [`ASSETS`] read from `folder`; a file missing there stays the embedded one.
fn from_folder(folder: &std::path::Path) -> &'static [Asset] {
    let assets: Vec<Asset> = ASSETS
        .iter()
        .map(|asset| match std::fs::read(folder.join(asset.name)) {
            // Read once per process: leaking them is what `'static` asks.
            Ok(body) => Asset {
                body: Box::leak(body.into_boxed_slice()),
                ..*asset
            },
            Err(_) => *asset,
        })
        .collect();
    Box::leak(assets.into_boxed_slice())
}
