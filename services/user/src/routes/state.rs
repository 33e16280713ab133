use crate::core;
use actix_web::HttpRequest;

/// What every handler of this service can reach.
pub struct AppState {
    pub core: core::Context,
}

impl AppState {
    /// The caller's IP for rate limiting: the socket peer, or the first `X-Forwarded-For` hop
    /// when the service sits behind a proxy that sets it (and strips what clients send).
    pub fn client_ip(&self, req: &HttpRequest) -> String {
        if self.core.settings.trust_forwarded_for {
            if let Some(ip) = req
                .headers()
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
            {
                return ip.trim().to_owned();
            }
        }
        req.peer_addr()
            .map(|a| a.ip().to_string())
            .unwrap_or_else(|| "unknown".into())
    }
}
