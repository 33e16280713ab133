//! The `users` table. Email and phone are stored encrypted and found by their keyed hash; this
//! module is the only place that sees both forms.

use crate::domain::{Channel, Email, NewUser, PhoneNumber, PiiCipher, ProfileChange, User};
use auth::Role;
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

struct UserRow {
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

impl UserRow {
    fn decrypt(self, pii: &PiiCipher) -> anyhow::Result<User> {
        let email = match &self.email_ciphertext {
            Some(c) => pii.decrypt(c)?,
            None => anyhow::bail!("user {} has no email", self.id),
        };
        let phone_number = self
            .phone_ciphertext
            .as_deref()
            .map(|c| pii.decrypt(c))
            .transpose()?;
        Ok(User {
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

fn email_hash(pii: &PiiCipher, email: &Email) -> Vec<u8> {
    pii.lookup_hash("email", email.as_str())
}

fn phone_hash(pii: &PiiCipher, phone: &PhoneNumber) -> Vec<u8> {
    pii.lookup_hash("phone", phone.as_str())
}

/// What inserting an account did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    Created,
    /// An account with this email exists (the unique index on the email's hash said so).
    EmailTaken,
}

pub async fn insert(
    conn: &mut PgConnection,
    pii: &PiiCipher,
    id: Uuid,
    user: &NewUser,
    password_hash: &str,
    role: Role,
    created_by: Option<Uuid>,
) -> anyhow::Result<Inserted> {
    let phone = user.phone_number.as_ref();
    let done = sqlx::query!(
        "INSERT INTO users (id, email_hash, email_ciphertext, password_hash, first_name, last_name,
                            phone_hash, phone_ciphertext, role, marketing_consent,
                            marketing_consent_updated_at, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now(), $11)
         ON CONFLICT (email_hash) DO NOTHING",
        id,
        email_hash(pii, &user.email),
        pii.encrypt(user.email.as_str())?,
        password_hash,
        user.first_name.as_str(),
        user.last_name.as_str(),
        phone.map(|p| phone_hash(pii, p)),
        phone.map(|p| pii.encrypt(p.as_str())).transpose()?,
        role.as_str(),
        user.marketing_consent,
        created_by,
    )
    .execute(conn)
    .await?;
    Ok(if done.rows_affected() == 1 {
        Inserted::Created
    } else {
        Inserted::EmailTaken
    })
}

/// A member account for an address an identity provider verified: confirmed from the start, and
/// with a password hash nobody knows the password of.
pub async fn insert_verified(
    conn: &mut PgConnection,
    pii: &PiiCipher,
    id: Uuid,
    email: &Email,
    names: (&str, &str),
    password_hash: &str,
) -> anyhow::Result<Inserted> {
    let done = sqlx::query!(
        "INSERT INTO users (id, email_hash, email_ciphertext, password_hash, first_name, last_name,
                            role, email_verified_at, marketing_consent, marketing_consent_updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'customer', now(), false, now())
         ON CONFLICT (email_hash) DO NOTHING",
        id,
        email_hash(pii, email),
        pii.encrypt(email.as_str())?,
        password_hash,
        names.0,
        names.1,
    )
    .execute(conn)
    .await?;
    Ok(if done.rows_affected() == 1 {
        Inserted::Created
    } else {
        Inserted::EmailTaken
    })
}

pub async fn find_by_email(
    conn: &mut PgConnection,
    pii: &PiiCipher,
    email: &Email,
) -> anyhow::Result<Option<User>> {
    let row = sqlx::query_as!(
        UserRow,
        "SELECT id, email_ciphertext, password_hash, first_name, last_name, phone_ciphertext, role,
                email_verified_at, phone_verified_at, marketing_consent,
                marketing_consent_updated_at, created_at
           FROM users WHERE email_hash = $1 AND erased_at IS NULL",
        email_hash(pii, email),
    )
    .fetch_optional(conn)
    .await?;
    row.map(|r| r.decrypt(pii)).transpose()
}

pub async fn find_by_id(
    conn: &mut PgConnection,
    pii: &PiiCipher,
    id: Uuid,
) -> anyhow::Result<Option<User>> {
    let row = sqlx::query_as!(
        UserRow,
        "SELECT id, email_ciphertext, password_hash, first_name, last_name, phone_ciphertext, role,
                email_verified_at, phone_verified_at, marketing_consent,
                marketing_consent_updated_at, created_at
           FROM users WHERE id = $1 AND erased_at IS NULL",
        id,
    )
    .fetch_optional(conn)
    .await?;
    row.map(|r| r.decrypt(pii)).transpose()
}

pub async fn update_profile(
    conn: &mut PgConnection,
    pii: &PiiCipher,
    id: Uuid,
    change: &ProfileChange,
) -> anyhow::Result<()> {
    let phone = change.phone_number.as_ref();
    let new_phone = phone.and_then(|p| p.as_ref());
    sqlx::query!(
        "UPDATE users SET
            first_name = COALESCE($2, first_name),
            last_name = COALESCE($3, last_name),
            phone_hash = CASE WHEN $4 THEN $5 ELSE phone_hash END,
            phone_ciphertext = CASE WHEN $4 THEN $6 ELSE phone_ciphertext END,
            -- A new number has to be verified again.
            phone_verified_at = CASE WHEN $4 AND phone_hash IS DISTINCT FROM $5 THEN NULL ELSE phone_verified_at END,
            marketing_consent_updated_at = CASE WHEN $7::boolean IS NOT NULL AND $7 <> marketing_consent
                                                THEN now() ELSE marketing_consent_updated_at END,
            marketing_consent = COALESCE($7, marketing_consent),
            updated_at = now()
          WHERE id = $1 AND erased_at IS NULL",
        id,
        change.first_name.as_ref().map(|n| n.as_str()),
        change.last_name.as_ref().map(|n| n.as_str()),
        phone.is_some(),
        new_phone.map(|p| phone_hash(pii, p)),
        new_phone.map(|p| pii.encrypt(p.as_str())).transpose()?,
        change.marketing_consent,
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_password(
    conn: &mut PgConnection,
    id: Uuid,
    password_hash: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "UPDATE users SET password_hash = $2, updated_at = now() WHERE id = $1",
        id,
        password_hash,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Records that the email or the phone number was confirmed (the first time counts).
pub async fn mark_verified(
    conn: &mut PgConnection,
    id: Uuid,
    channel: Channel,
) -> Result<(), sqlx::Error> {
    match channel {
        Channel::Email => sqlx::query!(
            "UPDATE users SET email_verified_at = COALESCE(email_verified_at, now()),
                    updated_at = now()
              WHERE id = $1",
            id,
        ),
        Channel::Phone => sqlx::query!(
            "UPDATE users SET phone_verified_at = COALESCE(phone_verified_at, now()),
                    updated_at = now()
              WHERE id = $1",
            id,
        ),
    }
    .execute(conn)
    .await?;
    Ok(())
}

/// Erases a user: contact details and names gone, the password unusable, the id kept only so
/// that other records pointing at it stay consistent. Returns false if already erased.
pub async fn erase(conn: &mut PgConnection, id: Uuid) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!(
        "UPDATE users SET email = NULL, email_hash = NULL, email_ciphertext = NULL,
                phone_number = NULL, phone_hash = NULL, phone_ciphertext = NULL,
                first_name = '', last_name = '', password_hash = '!erased',
                marketing_consent = false, marketing_consent_updated_at = now(),
                erased_at = now(), updated_at = now()
          WHERE id = $1 AND erased_at IS NULL",
        id,
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A row written before contact details were encrypted.
pub struct PlaintextContacts {
    pub id: Uuid,
    pub email: String,
    pub phone_number: Option<String>,
}

pub async fn plaintext_contacts(
    conn: &mut PgConnection,
) -> Result<Vec<PlaintextContacts>, sqlx::Error> {
    sqlx::query_as!(
        PlaintextContacts,
        r#"SELECT id, email AS "email!", phone_number FROM users
            WHERE email IS NOT NULL AND erased_at IS NULL"#,
    )
    .fetch_all(conn)
    .await
}

/// Stores a row's contact details encrypted and clears their plaintext.
pub async fn encrypt_contacts(
    conn: &mut PgConnection,
    pii: &PiiCipher,
    id: Uuid,
    email: &Email,
    phone: Option<&PhoneNumber>,
) -> anyhow::Result<()> {
    sqlx::query!(
        "UPDATE users SET email_hash = $2, email_ciphertext = $3, phone_hash = $4,
                phone_ciphertext = $5, email = NULL, phone_number = NULL
          WHERE id = $1",
        id,
        email_hash(pii, email),
        pii.encrypt(email.as_str())?,
        phone.map(|p| phone_hash(pii, p)),
        phone.map(|p| pii.encrypt(p.as_str())).transpose()?,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The members (customers, not erased) whose confirmed phone number is `phone`: a number is
/// unique per account but not across accounts, so this can be more than one.
pub async fn members_by_confirmed_phone(
    conn: &mut PgConnection,
    pii: &PiiCipher,
    phone: &PhoneNumber,
) -> anyhow::Result<Vec<User>> {
    let rows = sqlx::query_as!(
        UserRow,
        "SELECT id, email_ciphertext, password_hash, first_name, last_name, phone_ciphertext, role,
                email_verified_at, phone_verified_at, marketing_consent,
                marketing_consent_updated_at, created_at
           FROM users
          WHERE phone_hash = $1 AND phone_verified_at IS NOT NULL AND role = 'customer'
            AND erased_at IS NULL
          LIMIT 2",
        phone_hash(pii, phone),
    )
    .fetch_all(conn)
    .await?;
    rows.into_iter().map(|r| r.decrypt(pii)).collect()
}
