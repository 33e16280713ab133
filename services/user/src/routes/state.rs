use crate::core;
use actix_web::HttpRequest;

/// What every handler of this service can reach.
pub struct AppState {
    pub core: core::Context,
}

impl AppState {
    /// The caller's IP for rate limiting: the socket peer, or, behind the proxies named in
    /// `trusted_proxies`, the right-most `X-Forwarded-For` hop none of them wrote.
    pub fn client_ip(&self, req: &HttpRequest) -> String {
        self.core.settings.service.trusted_proxies.client_of(req)
    }
}
