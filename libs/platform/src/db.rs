//! Postgres pools. Every service owns one schema; its pool sets `search_path` to that schema so
//! its SQL never names it, and the same code runs against a shared or a dedicated database.

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgPool};
use std::str::FromStr;
use std::time::Duration;

pub async fn connect(
    url: &SecretString,
    schema: &str,
    max_connections: u32,
) -> anyhow::Result<PgPool> {
    anyhow::ensure!(
        !schema.is_empty() && schema.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
        "schema name must be lowercase letters and underscores, got {schema:?}"
    );
    let options = PgConnectOptions::from_str(url.expose_secret())
        .context("DATABASE_URL is not a valid Postgres URL")?
        .log_statements(tracing::log::LevelFilter::Trace);
    ensure_schema(&options, schema).await?;
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options.options([
            ("search_path", schema),
            // A transaction left open by a stalled or lost client gives its locks back: a
            // member's account must not stay locked for as long as the connection lives.
            ("idle_in_transaction_session_timeout", "60s"),
        ]))
        .await
        .with_context(|| format!("connecting to Postgres for schema {schema}"))?;
    Ok(pool)
}

async fn ensure_schema(options: &PgConnectOptions, schema: &str) -> anyhow::Result<()> {
    let mut conn = sqlx::PgConnection::connect_with(options)
        .await
        .context("connecting to Postgres")?;
    // The schema name was checked above to be a plain identifier.
    sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
        .execute(&mut conn)
        .await
        .or_else(|e| match &e {
            // Two services racing to create the same schema: the loser sees a unique violation.
            sqlx::Error::Database(db) if db.code().as_deref() == Some("23505") => {
                Ok(Default::default())
            }
            _ => Err(e),
        })
        .with_context(|| format!("creating schema {schema}"))?;
    conn.close().await.ok();
    Ok(())
}
