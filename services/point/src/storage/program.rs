//! The program's settings, its sources' return windows and its tiers.

use crate::domain::program::Program;
use crate::domain::{ProgramSettings, Rounding, Tier};
use kernel::money::Currency;
use sqlx::PgConnection;

/// The whole program as it stands (four small reads; callers keep the result, see
/// `core::program::current`).
pub async fn load(conn: &mut PgConnection) -> Result<Program, sqlx::Error> {
    let settings = settings(&mut *conn).await?;
    let tiers = tiers(&mut *conn).await?;
    let rules = super::rules::live(&mut *conn).await?;
    let pending_days = sqlx::query!("SELECT source, pending_days FROM source_settings")
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|row| (row.source, row.pending_days))
        .collect();
    Ok(Program {
        settings,
        tiers,
        rules,
        pending_days,
    })
}

struct SettingsRow {
    currency: String,
    points_per_unit: i32,
    expiry_months: i32,
    cap_per_transaction: Option<i64>,
    cap_per_day: Option<i64>,
    rounding: String,
    allow_negative_balance: bool,
}

pub async fn settings(conn: &mut PgConnection) -> Result<ProgramSettings, sqlx::Error> {
    let row = sqlx::query_as!(
        SettingsRow,
        "SELECT currency, points_per_unit, expiry_months, cap_per_transaction, cap_per_day,
                rounding, allow_negative_balance FROM program"
    )
    .fetch_one(conn)
    .await?;
    Ok(ProgramSettings {
        currency: Currency::parse(&row.currency)
            .map_err(|e| sqlx::Error::Decode(format!("program currency: {e}").into()))?,
        points_per_unit: row.points_per_unit,
        expiry_months: row.expiry_months,
        cap_per_transaction: row.cap_per_transaction,
        cap_per_day: row.cap_per_day,
        rounding: Rounding::parse(&row.rounding).unwrap_or(Rounding::Down),
        allow_negative_balance: row.allow_negative_balance,
    })
}

pub async fn update_settings(
    conn: &mut PgConnection,
    s: &ProgramSettings,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE program SET currency = $1, points_per_unit = $2, expiry_months = $3,
                cap_per_transaction = $4, cap_per_day = $5, rounding = $6,
                allow_negative_balance = $7, updated_at = now()",
        s.currency.code(),
        s.points_per_unit,
        s.expiry_months,
        s.cap_per_transaction,
        s.cap_per_day,
        s.rounding.as_str(),
        s.allow_negative_balance,
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_pending_days(
    conn: &mut PgConnection,
    source: &str,
    days: i32,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "INSERT INTO source_settings (source, pending_days) VALUES ($1, $2)
         ON CONFLICT (source) DO UPDATE SET pending_days = EXCLUDED.pending_days, updated_at = now()",
        source,
        days,
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn tiers(conn: &mut PgConnection) -> Result<Vec<Tier>, sqlx::Error> {
    sqlx::query_as!(
        Tier,
        "SELECT code, rank, multiplier_bp, min_qualifying_spend FROM tiers ORDER BY rank"
    )
    .fetch_all(conn)
    .await
}
