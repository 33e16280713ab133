//! The `users` table. Email and phone are stored encrypted and found by their keyed hash; this
//! module is the only place that sees both forms.

use crate::domain::{Email, NewUser, PhoneNumber, PiiCipher};
use auth::Role;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

#[derive(Debug, Clone)]
pub struct UserRecord {
    pub id: Uuid,
    pub email: String,
    pub password_hash: String,
    pub first_name: String,
    pub last_name: String,
    pub phone_number: Option<String>,
    pub role: Role,
    pub email_verified_at: Option<DateTime<Utc>>,
    pub phone_verified_at: Option<DateTime<Utc>>,
    pub marketing_consent: bool,
    pub marketing_consent_updated_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    email_ciphertext: Option<Vec<u8>>,
    password_hash: String,
    first_name: String,
    last_name: String,
    phone_ciphertext: Option<Vec<u8>>,
    role: String,
    email_verified_at: Option<DateTime<Utc>>,
    phone_verified_at: Option<DateTime<Utc>>,
    marketing_consent: bool,
    marketing_consent_updated_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

impl Row {
    fn decrypt(self, pii: &PiiCipher) -> anyhow::Result<UserRecord> {
        let email = match &self.email_ciphertext {
            Some(c) => pii.decrypt(c)?,
            None => anyhow::bail!("user {} has no email", self.id),
        };
        let phone_number = self
            .phone_ciphertext
            .as_deref()
            .map(|c| pii.decrypt(c))
            .transpose()?;
        Ok(UserRecord {
            id: self.id,
            email,
            password_hash: self.password_hash,
            first_name: self.first_name,
            last_name: self.last_name,
            phone_number,
            // The column's CHECK constraint allows only known roles.
            role: Role::parse(&self.role).unwrap_or(Role::Customer),
            email_verified_at: self.email_verified_at,
            phone_verified_at: self.phone_verified_at,
            marketing_consent: self.marketing_consent,
            marketing_consent_updated_at: self.marketing_consent_updated_at,
            created_at: self.created_at,
        })
    }
}

const COLUMNS: &str = "id, email_ciphertext, password_hash, first_name, last_name, phone_ciphertext, role,
    email_verified_at, phone_verified_at, marketing_consent, marketing_consent_updated_at, created_at";

#[derive(Debug, thiserror::Error)]
pub enum InsertUserError {
    #[error("the email is already registered")]
    DuplicateEmail,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Encryption(#[from] anyhow::Error),
}

pub fn email_hash(pii: &PiiCipher, email: &Email) -> Vec<u8> {
    pii.lookup_hash("email", email.as_str())
}

pub fn phone_hash(pii: &PiiCipher, phone: &PhoneNumber) -> Vec<u8> {
    pii.lookup_hash("phone", phone.as_str())
}

pub async fn insert(
    conn: &mut PgConnection,
    pii: &PiiCipher,
    id: Uuid,
    user: &NewUser,
    password_hash: &str,
    role: Role,
    created_by: Option<Uuid>,
) -> Result<(), InsertUserError> {
    let phone = user.phone_number.as_ref();
    sqlx::query(
        "INSERT INTO users (id, email_hash, email_ciphertext, password_hash, first_name, last_name,
                            phone_hash, phone_ciphertext, role, marketing_consent,
                            marketing_consent_updated_at, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now(), $11)",
    )
    .bind(id)
    .bind(email_hash(pii, &user.email))
    .bind(pii.encrypt(user.email.as_str())?)
    .bind(password_hash)
    .bind(user.first_name.as_str())
    .bind(user.last_name.as_str())
    .bind(phone.map(|p| phone_hash(pii, p)))
    .bind(phone.map(|p| pii.encrypt(p.as_str())).transpose()?)
    .bind(role.as_str())
    .bind(user.marketing_consent)
    .bind(created_by)
    .execute(conn)
    .await
    .map_err(|e| match &e {
        sqlx::Error::Database(db) if db.constraint() == Some("users_email_hash_key") => {
            InsertUserError::DuplicateEmail
        }
        _ => InsertUserError::Database(e),
    })?;
    Ok(())
}

async fn fetch_one_where(
    pool: &PgPool,
    pii: &PiiCipher,
    condition: &str,
    bind: impl for<'q> sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres> + Send + 'static,
) -> anyhow::Result<Option<UserRecord>> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM users WHERE {condition} AND erased_at IS NULL"
    ))
    .bind(bind)
    .fetch_optional(pool)
    .await?;
    row.map(|r| r.decrypt(pii)).transpose()
}

pub async fn find_by_email(
    pool: &PgPool,
    pii: &PiiCipher,
    email: &Email,
) -> anyhow::Result<Option<UserRecord>> {
    fetch_one_where(pool, pii, "email_hash = $1", email_hash(pii, email)).await
}

pub async fn find_by_phone(
    pool: &PgPool,
    pii: &PiiCipher,
    phone: &PhoneNumber,
) -> anyhow::Result<Option<UserRecord>> {
    fetch_one_where(pool, pii, "phone_hash = $1", phone_hash(pii, phone)).await
}

pub async fn find_by_id(
    pool: &PgPool,
    pii: &PiiCipher,
    id: Uuid,
) -> anyhow::Result<Option<UserRecord>> {
    fetch_one_where(pool, pii, "id = $1", id).await
}

/// A profile change; `None` leaves the field as it is.
#[derive(Debug, Default)]
pub struct ProfileChange {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// `Some(None)` removes the phone number.
    pub phone_number: Option<Option<PhoneNumber>>,
    pub marketing_consent: Option<bool>,
}

pub async fn update_profile(
    conn: &mut PgConnection,
    pii: &PiiCipher,
    id: Uuid,
    change: &ProfileChange,
) -> anyhow::Result<()> {
    let phone = change.phone_number.as_ref();
    let new_phone = phone.and_then(|p| p.as_ref());
    sqlx::query(
        "UPDATE users SET
            first_name = COALESCE($2, first_name),
            last_name = COALESCE($3, last_name),
            phone_hash = CASE WHEN $4 THEN $5 ELSE phone_hash END,
            phone_ciphertext = CASE WHEN $4 THEN $6 ELSE phone_ciphertext END,
            -- A new number has to be verified again.
            phone_verified_at = CASE WHEN $4 AND phone_hash IS DISTINCT FROM $5 THEN NULL ELSE phone_verified_at END,
            marketing_consent_updated_at = CASE WHEN $7 IS NOT NULL AND $7 <> marketing_consent
                                                THEN now() ELSE marketing_consent_updated_at END,
            marketing_consent = COALESCE($7, marketing_consent),
            updated_at = now()
          WHERE id = $1 AND erased_at IS NULL",
    )
    .bind(id)
    .bind(change.first_name.as_deref())
    .bind(change.last_name.as_deref())
    .bind(phone.is_some())
    .bind(new_phone.map(|p| phone_hash(pii, p)))
    .bind(new_phone.map(|p| pii.encrypt(p.as_str())).transpose()?)
    .bind(change.marketing_consent)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_password(
    conn: &mut PgConnection,
    id: Uuid,
    password_hash: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1")
        .bind(id)
        .bind(password_hash)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn mark_verified(
    conn: &mut PgConnection,
    id: Uuid,
    channel: crate::domain::Channel,
) -> Result<(), sqlx::Error> {
    let column = match channel {
        crate::domain::Channel::Email => "email_verified_at",
        crate::domain::Channel::Phone => "phone_verified_at",
    };
    sqlx::query(&format!(
        "UPDATE users SET {column} = COALESCE({column}, now()), updated_at = now() WHERE id = $1"
    ))
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Erases a user: contact details and names gone, the password unusable, the id kept only so
/// that other records pointing at it stay consistent. Returns false if already erased.
pub async fn erase(conn: &mut PgConnection, id: Uuid) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE users SET email = NULL, email_hash = NULL, email_ciphertext = NULL,
                phone_number = NULL, phone_hash = NULL, phone_ciphertext = NULL,
                first_name = '', last_name = '', password_hash = '!erased',
                marketing_consent = false, marketing_consent_updated_at = now(),
                erased_at = now(), updated_at = now()
          WHERE id = $1 AND erased_at IS NULL",
    )
    .bind(id)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Encrypts rows written before contact details were encrypted, then clears their plaintext.
pub async fn encrypt_legacy_rows(pool: &PgPool, pii: &PiiCipher) -> anyhow::Result<u64> {
    let rows: Vec<(Uuid, String, Option<String>)> = sqlx::query_as(
        "SELECT id, email, phone_number FROM users WHERE email IS NOT NULL AND erased_at IS NULL",
    )
    .fetch_all(pool)
    .await?;
    for (id, email, phone) in &rows {
        let email = Email::parse(email).map_err(|e| anyhow::anyhow!("user {id}: email {e}"))?;
        let phone = phone
            .as_deref()
            .map(PhoneNumber::parse)
            .transpose()
            .map_err(|e| anyhow::anyhow!("user {id}: phone {e}"))?;
        sqlx::query(
            "UPDATE users SET email_hash = $2, email_ciphertext = $3, phone_hash = $4,
                    phone_ciphertext = $5, email = NULL, phone_number = NULL
              WHERE id = $1",
        )
        .bind(id)
        .bind(email_hash(pii, &email))
        .bind(pii.encrypt(email.as_str())?)
        .bind(phone.as_ref().map(|p| phone_hash(pii, p)))
        .bind(
            phone
                .as_ref()
                .map(|p| pii.encrypt(p.as_str()))
                .transpose()?,
        )
        .execute(pool)
        .await?;
    }
    Ok(rows.len() as u64)
}
