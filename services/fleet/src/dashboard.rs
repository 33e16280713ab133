//! The staff dashboard (`web/admin`), served by the development edge at `/admin/` from its built
//! bundle (`npm run build` in `web/admin` writes `web/admin/dist`). In production the same
//! bundle is static files behind any web server or CDN; the API stays on the edge's origin.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use std::path::{Component, Path, PathBuf};

/// Where the dashboard is served.
pub const PATH_PREFIX: &str = "/admin";

/// The built bundle of this checkout.
pub fn bundle_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web/admin/dist")
}

fn content_type(path: &Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
    {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// The file under `root` that `relative` names, refusing anything that would leave it.
fn resolve(root: &Path, relative: &str) -> Option<PathBuf> {
    let relative = Path::new(relative.trim_start_matches('/'));
    relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
        .then(|| root.join(relative))
}

/// `GET /admin/...`: a file of the bundle, or its `index.html` for the app's own routes
/// (`/admin/members/...`), which the browser app resolves itself.
pub async fn serve(req: HttpRequest) -> HttpResponse {
    let root = bundle_dir();
    let index = root.join("index.html");
    if !index.is_file() {
        return HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("The dashboard is not built: run `npm ci && npm run build` in web/admin.\n");
    }
    let relative = req.path().strip_prefix(PATH_PREFIX).unwrap_or_default();
    let file = resolve(&root, relative)
        .filter(|p| p.is_file())
        .unwrap_or(index);
    match tokio::fs::read(&file).await {
        Ok(bytes) => {
            let mut response = HttpResponse::Ok();
            response.content_type(content_type(&file));
            // Hashed assets never change; the page itself is always asked for again.
            if file.starts_with(root.join("assets")) {
                response
                    .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"));
            } else {
                response.insert_header((header::CACHE_CONTROL, "no-cache"));
            }
            response.body(bytes)
        }
        Err(_) => HttpResponse::NotFound().finish(),
    }
}

/// `/admin` without the slash: to the app's root, so its relative asset paths resolve.
pub async fn redirect_to_root() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, format!("{PATH_PREFIX}/")))
        .finish()
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(PATH_PREFIX, web::get().to(redirect_to_root))
        .route(&format!("{PATH_PREFIX}/{{tail:.*}}"), web::get().to(serve));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_cannot_leave_the_bundle() {
        let root = Path::new("/srv/dist");
        assert_eq!(
            resolve(root, "/assets/app.js"),
            Some(root.join("assets/app.js"))
        );
        assert_eq!(resolve(root, "/../secret"), None);
        assert_eq!(resolve(root, "/assets/../../secret"), None);
        assert_eq!(resolve(root, "/"), Some(root.to_path_buf()));
    }
}
