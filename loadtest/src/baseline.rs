//! The baseline for reads: a bare actix-web handler answering the balance endpoint's JSON with
//! no token check, no database and no middleware.

use actix_web::{web, App, HttpResponse, HttpServer};
use serde::Serialize;
use std::net::TcpListener;
use uuid::Uuid;

/// The balance endpoint's answer, field for field.
#[derive(Serialize)]
struct Balance {
    user_id: Uuid,
    total_points: i64,
    available_points: i64,
    pending_points: i64,
    on_hold_points: i64,
    expiring_within_30_days: i64,
    tier: &'static str,
    tier_multiplier: f64,
    tier_override_reason: Option<String>,
    tier_override_expires_at: Option<chrono::DateTime<chrono::Utc>>,
    qualifying_spend: i64,
    next_tier: Option<NextTier>,
    tier_period_ends_at: chrono::DateTime<chrono::Utc>,
    lifetime_points: i64,
}

#[derive(Serialize)]
struct NextTier {
    tier: &'static str,
    spend_needed: i64,
}

async fn balance(path: web::Path<Uuid>) -> HttpResponse {
    HttpResponse::Ok().json(Balance {
        user_id: path.into_inner(),
        total_points: 1_000_000,
        available_points: 1_000_000,
        pending_points: 0,
        on_hold_points: 0,
        expiring_within_30_days: 0,
        tier: "BRONZE",
        tier_multiplier: 1.0,
        tier_override_reason: None,
        tier_override_expires_at: None,
        qualifying_spend: 0,
        next_tier: Some(NextTier {
            tier: "SILVER",
            spend_needed: 100_000,
        }),
        tier_period_ends_at: chrono::Utc::now(),
        lifetime_points: 1_000_000,
    })
}

/// The server on `listener` with `workers` workers (0: actix's default).
pub fn serve(listener: TcpListener, workers: usize) -> std::io::Result<actix_web::dev::Server> {
    let mut server = HttpServer::new(|| {
        App::new().route("/api/v1/points/{user_id}/balance", web::get().to(balance))
    });
    if workers > 0 {
        server = server.workers(workers);
    }
    Ok(server.listen(listener)?.run())
}
