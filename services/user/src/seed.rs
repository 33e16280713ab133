//! Demo accounts for local runs. Only the fleet runner calls this; no production path does.

use crate::domain::{self, NewUser, PiiCipher, RegistrationRequest};
use crate::storage::users::{self, InsertUserError};
use auth::Role;
use secrecy::SecretString;
use sqlx::PgPool;
use uuid::Uuid;

pub struct DemoAccount {
    pub email: &'static str,
    pub password: &'static str,
    pub role: Role,
    pub first_name: &'static str,
}

pub const DEMO_ACCOUNTS: &[DemoAccount] = &[
    DemoAccount {
        email: "admin@example.com",
        password: "demo-admin-password",
        role: Role::Admin,
        first_name: "Ada",
    },
    DemoAccount {
        email: "support@example.com",
        password: "demo-support-password",
        role: Role::Support,
        first_name: "Sam",
    },
    DemoAccount {
        email: "superadmin@example.com",
        password: "demo-superadmin-password",
        role: Role::SuperAdmin,
        first_name: "Sol",
    },
    DemoAccount {
        email: "member@example.com",
        password: "demo-member-password",
        role: Role::Customer,
        first_name: "Mia",
    },
];

/// Creates the demo accounts that do not exist yet (safe to run at every start).
pub async fn demo_accounts(pool: &PgPool, pii: &PiiCipher) -> anyhow::Result<()> {
    for account in DEMO_ACCOUNTS {
        let user = NewUser::try_from(RegistrationRequest {
            email: account.email.into(),
            password: account.password.into(),
            first_name: account.first_name.into(),
            last_name: "Demo".into(),
            phone_number: None,
            marketing_consent: false,
        })
        .map_err(|errors| {
            anyhow::anyhow!("demo account {} is invalid: {errors:?}", account.email)
        })?;
        let hash = domain::hash_password(SecretString::from(account.password.to_owned())).await?;
        let id = Uuid::now_v7();
        let mut tx = pool.begin().await?;
        match users::insert(&mut tx, pii, id, &user, &hash, account.role, None).await {
            Ok(()) => {
                events::outbox::enqueue(
                    &mut tx,
                    &crate::events::user_registered(id, account.role, false),
                )
                .await?;
                tx.commit().await?;
            }
            Err(InsertUserError::DuplicateEmail) => {}
            Err(InsertUserError::Database(e)) => return Err(e.into()),
            Err(InsertUserError::Encryption(e)) => return Err(e),
        }
    }
    Ok(())
}
