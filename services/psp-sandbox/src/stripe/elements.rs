//! Card fields for a merchant's web page, in the manner of Stripe Elements: the page frames
//! `GET /elements/card`, served from the PSP's origin, so the card details the customer types
//! go straight from that frame to `POST /v1/payment_methods` and the merchant's page only ever
//! receives the token. The frame talks to the one page origin it was loaded for, by
//! `postMessage`, and only that origin may frame it.
//!
//! Messages from the page: `{type: "tessera:tokenize", requestId}`. To the page:
//! `tessera:ready`, `tessera:change` (`{complete, brand, error}`), and per request
//! `tessera:token` (`{requestId, token, card: {brand, last4, exp_month, exp_year}}`) or
//! `tessera:error` (`{requestId, message}`).

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::Deserialize;

use super::auth::is_publishable_key;
use super::StripeState;

const SCRIPT: &str = include_str!("elements_card.js");

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/elements/card", web::get().to(card_fields))
        .route("/elements/card.js", web::get().to(card_script));
}

#[derive(Deserialize)]
struct FieldsQuery {
    /// The merchant's publishable key.
    key: String,
    /// The origin of the page that frames the fields (`https://shop.example`).
    origin: String,
}

async fn card_fields(
    query: web::Query<FieldsQuery>,
    state: web::Data<StripeState>,
) -> HttpResponse {
    if !is_publishable_key(&state, &query.key) {
        return HttpResponse::Unauthorized()
            .content_type("text/plain; charset=utf-8")
            .body("Invalid publishable key.");
    }
    let Some(origin) = web_origin(&query.origin) else {
        return HttpResponse::BadRequest()
            .content_type("text/plain; charset=utf-8")
            .body("origin must be the framing page's origin, such as https://shop.example.");
    };
    // Both values were checked above: the key is the configured one, the origin is
    // scheme://host[:port] of a restricted alphabet; neither needs escaping.
    let page = format!(
        r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Card details</title>
<style>body{{margin:0;font-family:system-ui,sans-serif}}label{{display:block;margin:.3rem 0;font-size:.9rem}}
input{{width:100%;box-sizing:border-box;padding:.4rem;font-size:1rem}}.row{{display:flex;gap:.5rem}}
#error{{color:#b00020;min-height:1.2em;font-size:.9rem}}</style></head>
<body data-parent-origin="{origin}" data-key="{key}">
<label>Card number <input id="number" name="cardnumber" autocomplete="cc-number" inputmode="numeric" placeholder="1234 1234 1234 1234"></label>
<div class="row">
<label>Expiry <input id="expiry" name="exp-date" autocomplete="cc-exp" inputmode="numeric" placeholder="MM / YY"></label>
<label>CVC <input id="cvc" name="cvc" autocomplete="cc-csc" inputmode="numeric" placeholder="CVC"></label>
</div>
<div id="error" role="alert"></div>
<script src="/elements/card.js"></script>
</body>
</html>
"#,
        key = query.key,
    );
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            format!(
                "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; \
                 connect-src 'self'; frame-ancestors {origin}"
            ),
        ))
        .body(page)
}

async fn card_script() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .body(SCRIPT)
}

/// `scheme://host[:port]` for http(s), and nothing else (no path, no quotes, no spaces).
fn web_origin(origin: &str) -> Option<String> {
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))?;
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']');
    (!rest.is_empty() && rest.chars().all(allowed)).then(|| origin.to_owned())
}

#[cfg(test)]
mod tests {
    use super::web_origin;

    #[test]
    fn only_bare_web_origins_are_accepted() {
        assert!(web_origin("https://shop.example").is_some());
        assert!(web_origin("http://127.0.0.1:8080").is_some());
        for bad in [
            "https://shop.example/path",
            "javascript:alert(1)",
            "https://a\" onload=\"x",
            "https://",
            "*",
        ] {
            assert!(web_origin(bad).is_none(), "{bad}");
        }
    }
}
