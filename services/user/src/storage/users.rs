use crate::domain::NewUser;
use auth::Role;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRecord {
    pub id: Uuid,
    pub email: String,
    pub password_hash: String,
    pub first_name: String,
    pub last_name: String,
    pub phone_number: Option<String>,
    pub role: String,
    pub email_verified_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl UserRecord {
    pub fn role(&self) -> Role {
        // The column's CHECK constraint allows only known roles.
        Role::parse(&self.role).unwrap_or(Role::Customer)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InsertUserError {
    #[error("the email is already registered")]
    DuplicateEmail,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

pub async fn insert(
    conn: &mut PgConnection,
    id: Uuid,
    user: &NewUser,
    password_hash: &str,
    role: Role,
) -> Result<(), InsertUserError> {
    sqlx::query(
        "INSERT INTO users (id, email, password_hash, first_name, last_name, phone_number, role, marketing_consent_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, CASE WHEN $8 THEN now() END)",
    )
    .bind(id)
    .bind(user.email.as_str())
    .bind(password_hash)
    .bind(user.first_name.as_str())
    .bind(user.last_name.as_str())
    .bind(user.phone_number.as_ref().map(|p| p.as_str()))
    .bind(role.as_str())
    .bind(user.marketing_consent)
    .execute(conn)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(db) if db.constraint() == Some("users_email_key") => InsertUserError::DuplicateEmail,
        _ => InsertUserError::Database(e),
    })?;
    Ok(())
}

const COLUMNS: &str = "id, email, password_hash, first_name, last_name, phone_number, role, email_verified_at, created_at";

pub async fn find_by_email(pool: &PgPool, email: &str) -> Result<Option<UserRecord>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE email = $1"))
        .bind(email)
        .fetch_optional(pool)
        .await
}

pub async fn find_by_id(pool: &PgPool, id: Uuid) -> Result<Option<UserRecord>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}
