//! A loopback stand-in for the Hugging Face hub, serving a local folder of model folders
//! the way the hub does: `GET /api/models/{org}/{name}/revision/{rev}` lists the files, and
//! `GET /{org}/{name}/resolve/{rev}/{path}` serves one, honouring `Range` (206 with
//! `content-range`) and sending the `etag` and `x-repo-commit` headers clients check.
//! Repository `org/name` maps to the folder `name`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

struct Shared {
    root: PathBuf,
    /// Files served (whole or ranges), for tests that check something was downloaded.
    requests: AtomicU64,
}

pub struct HubServer {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for HubServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl HubServer {
    pub async fn start(root: &Path) -> HubServer {
        let shared = Arc::new(Shared {
            root: root.to_owned(),
            requests: AtomicU64::new(0),
        });
        let app = Router::new()
            .route("/api/models/{org}/{name}/revision/{rev}", get(info))
            .route("/{org}/{name}/resolve/{rev}/{*path}", get(file))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind hub");
        let addr = listener.local_addr().expect("addr");
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        HubServer { addr, shared, task }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn file_requests(&self) -> u64 {
        self.shared.requests.load(Ordering::SeqCst)
    }
}

fn list(dir: &Path, prefix: &str, out: &mut Vec<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let rel = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        if e.path().is_dir() {
            list(&e.path(), &rel, out);
        } else {
            out.push(rel);
        }
    }
}

async fn info(
    State(s): State<Arc<Shared>>,
    UrlPath((org, name, _rev)): UrlPath<(String, String, String)>,
) -> Response {
    let dir = s.root.join(&name);
    if !dir.is_dir() {
        return (StatusCode::NOT_FOUND, format!("no repo {org}/{name}")).into_response();
    }
    let mut files = Vec::new();
    list(&dir, "", &mut files);
    files.sort();
    let siblings: Vec<_> = files
        .iter()
        .map(|f| serde_json::json!({"rfilename": f}))
        .collect();
    Json(serde_json::json!({"id": format!("{org}/{name}"), "sha": COMMIT, "siblings": siblings}))
        .into_response()
}

async fn file(
    State(s): State<Arc<Shared>>,
    UrlPath((_org, name, _rev, path)): UrlPath<(String, String, String, String)>,
    headers: HeaderMap,
) -> Response {
    if path.split('/').any(|c| c == ".." || c.is_empty()) {
        return StatusCode::BAD_REQUEST.into_response();
    }
    let Ok(bytes) = tokio::fs::read(s.root.join(&name).join(&path)).await else {
        return (StatusCode::NOT_FOUND, "no such file").into_response();
    };
    s.requests.fetch_add(1, Ordering::SeqCst);
    let size = bytes.len();
    let etag = format!("\"{size:x}-{}\"", path.len());
    let range = headers
        .get("range")
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.split_once('-'))
        .and_then(|(a, b)| Some((a.parse::<usize>().ok()?, b.parse::<usize>().ok()?)));
    let builder = Response::builder()
        .header("etag", &etag)
        .header("x-repo-commit", COMMIT)
        .header("accept-ranges", "bytes");
    match range {
        Some((start, end)) if start < size => {
            let end = end.min(size - 1);
            builder
                .status(StatusCode::PARTIAL_CONTENT)
                .header("content-range", format!("bytes {start}-{end}/{size}"))
                .body(axum::body::Body::from(bytes[start..=end].to_vec()))
                .unwrap_or_default()
        }
        _ => builder
            .body(axum::body::Body::from(bytes))
            .unwrap_or_default(),
    }
}
