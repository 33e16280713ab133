//! Demo accounts for local runs. Only the fleet runner calls this; no production path does.

use crate::core;
use crate::domain::{NewUser, PiiCipher, Registration, StaffPosition};
use auth::Role;
use sqlx::PgPool;

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
        let user = NewUser::parse(Registration {
            email: account.email,
            password: account.password,
            first_name: account.first_name,
            last_name: "Demo",
            phone_number: None,
            marketing_consent: false,
        })
        .map_err(|errors| {
            anyhow::anyhow!("demo account {} is invalid: {errors:?}", account.email)
        })?;
        // The demo business's staff; the super admin and the member belong to no business.
        let position = matches!(account.role, Role::Admin | Role::Support).then(|| StaffPosition {
            business_id: kernel::DEMO_BUSINESS_ID,
            store_ids: Vec::new(),
        });
        core::staff::seed_account(pool, pii, user, account.role, position).await?;
    }
    Ok(())
}
