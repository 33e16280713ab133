//! Access tokens for testing one service on its own: a signing key whose JWKS is served over
//! real HTTP on a free port, so the service under test verifies tokens exactly as in the fleet.

use actix_web::{web, App, HttpResponse, HttpServer};
use auth::{Access, Jwks, PrincipalKind, Role, SigningKey};
use kernel::DEMO_BUSINESS_ID;
use std::sync::Arc;
use uuid::Uuid;

const TTL_SECS: i64 = 900;

pub struct TokenIssuer {
    key: Arc<SigningKey>,
    jwks_url: String,
    server: actix_web::dev::ServerHandle,
}

impl TokenIssuer {
    /// Generates a key and starts serving its JWKS.
    pub async fn start() -> anyhow::Result<Self> {
        let key = Arc::new(SigningKey::generate()?);
        let jwks = web::Data::new(Jwks {
            keys: vec![key.jwk()],
        });
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let server = HttpServer::new(move || {
            App::new().app_data(jwks.clone()).route(
                "/.well-known/jwks.json",
                web::get().to(|jwks: web::Data<Jwks>| async move {
                    HttpResponse::Ok().json(jwks.get_ref())
                }),
            )
        })
        .workers(1)
        .disable_signals()
        .listen(listener)?
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Ok(Self {
            key,
            jwks_url: format!("http://127.0.0.1:{port}/.well-known/jwks.json"),
            server: handle,
        })
    }

    /// The URL to give the service under test as its `jwks_url`.
    pub fn jwks_url(&self) -> &str {
        &self.jwks_url
    }

    /// A member (role customer) token for `member_id`.
    pub fn member(&self, member_id: Uuid) -> String {
        self.user(member_id, Role::Customer)
    }

    /// A member's token, or a staff token with the given role in the demo business (which owns
    /// everything not yet stored with its business); super admins act in none.
    pub fn user(&self, subject: Uuid, role: Role) -> String {
        let business = match role {
            Role::Customer | Role::SuperAdmin => None,
            _ => Some(DEMO_BUSINESS_ID),
        };
        self.staff_in(subject, role, business, Vec::new())
    }

    /// A staff token with `role` in `business`, at `stores` for store-level roles.
    pub fn staff_in(
        &self,
        subject: Uuid,
        role: Role,
        business: Option<Uuid>,
        stores: Vec<Uuid>,
    ) -> String {
        self.sign(
            subject,
            PrincipalKind::User,
            Access::staff(role, business, stores),
        )
    }

    /// A partner client token of the demo business carrying exactly `scopes`.
    pub fn partner(&self, client_id: Uuid, scopes: &[&str]) -> String {
        self.partner_in(client_id, DEMO_BUSINESS_ID, scopes)
    }

    /// A partner client token of `business` carrying exactly `scopes`.
    pub fn partner_in(&self, client_id: Uuid, business: Uuid, scopes: &[&str]) -> String {
        let access = Access {
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            business: Some(business),
            ..Access::default()
        };
        self.sign(client_id, PrincipalKind::Partner, access)
    }

    fn sign(&self, subject: Uuid, kind: PrincipalKind, access: Access) -> String {
        self.key
            .issue_with(subject, kind, access, TTL_SECS)
            .expect("signing a test token")
    }

    /// A token that expired an hour ago, signed with the right key.
    pub fn expired_member(&self, member_id: Uuid) -> String {
        self.key
            .issue(
                member_id,
                PrincipalKind::User,
                Some(Role::Customer),
                Vec::new(),
                -3600,
            )
            .expect("signing a test token")
    }

    pub async fn stop(self) {
        self.server.stop(false).await;
    }
}
