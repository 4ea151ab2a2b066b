//! The application's state: what every handler reaches through `web::Data<AppState>` (the pool,
//! the settings, the limits in memory, the evaluator's doorbell, the counters, directory login),
//! and the caller of a request resolved from it (bearer token, else session cookie). Built by
//! `startup`; the layers below take the parts they need, never the whole.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, web};
use rand::RngCore;
use sqlx::PgPool;

use crate::auth::Principal;
use crate::auth::ratelimit::RateLimiter;
use crate::auth::session::Sessions;
use crate::config::ServeArgs;
use crate::error::ApiError;

/// What every handler can reach through `web::Data<AppState>`.
pub struct AppState {
    /// The primary: requests' writes, and reads that must see them (and the heartbeat).
    pub pool: PgPool,
    /// Read-only work: the hot standby when configured and healthy, else the primary.
    pub reads: crate::db::read::Reads,
    /// Serves the background workers only (`crate::db::background_pool`).
    pub background_pool: PgPool,
    pub settings: ServeArgs,
    /// Signs session cookies.
    pub session_key: Vec<u8>,
    pub limiter: RateLimiter,
    /// Report bytes being parsed and stored, in KiB permits (`ingest_budget_bytes`).
    pub ingest_budget: std::sync::Arc<tokio::sync::Semaphore>,
    /// Failed authentications per client address.
    pub failures: crate::auth::throttle::FailureThrottle,
    /// Bearer tokens resolved lately, while the server hears every change to the tokens
    /// (`startup` runs its listener).
    pub token_cache: std::sync::Arc<crate::auth::token_cache::TokenCache>,
    pub evaluator: crate::rules::worker::Evaluator,
    pub metrics: std::sync::Arc<crate::metrics::Metrics>,
    /// Directory (LDAP / AD) login, when configured (`Application::build` sets it).
    pub directory: Option<crate::directory::Directory>,
    /// Failed directory logins per account name (lower case).
    pub account_failures: crate::auth::throttle::FailureThrottle<String>,
    /// Where agents' reports are parsed and stored (`api::reports::post`): the background
    /// runtime, at its lower CPU priority (`startup::Application` sets it in every server); none
    /// (the HTTP worker parses) where no server was built.
    pub reports_lane: Option<tokio::runtime::Handle>,
}

impl AppState {
    pub fn new(pool: PgPool, settings: ServeArgs) -> Self {
        let session_key = match &settings.session_key {
            Some(k) if k.expose().len() >= 32 => k.expose().as_bytes().to_vec(),
            Some(_) => {
                tracing::warn!(
                    "STAMPBOOK_SESSION_KEY is shorter than 32 characters; using a random key instead"
                );
                random_key()
            }
            None => random_key(),
        };
        AppState {
            limiter: RateLimiter::new(settings.rate_limit_per_min),
            failures: crate::auth::throttle::FailureThrottle::new(settings.auth_failures_per_min),
            token_cache: Default::default(),
            ingest_budget: std::sync::Arc::new(tokio::sync::Semaphore::new(
                (settings.ingest_budget_bytes / 1024).max(1),
            )),
            evaluator: crate::rules::worker::Evaluator::default(),
            metrics: Default::default(),
            directory: None,
            reports_lane: None,
            account_failures: crate::auth::throttle::FailureThrottle::new(
                settings.directory.ldap_failures_per_account_per_min,
            ),
            reads: crate::db::read::Reads::primary_only(pool.clone()),
            background_pool: crate::db::background_pool(
                &pool,
                settings.db_background_pool_size,
                crate::rules::engine::lane_count(),
            ),
            pool,
            settings,
            session_key,
        }
    }

    /// What ingest needs.
    pub fn ingest(&self) -> crate::ingest::Ingest<'_> {
        crate::ingest::Ingest {
            pool: &self.pool,
            settings: &self.settings,
            metrics: &self.metrics,
        }
    }

    /// Session cookies: where they live, their key and their lifetime.
    pub fn sessions(&self) -> Sessions<'_> {
        Sessions {
            pool: &self.pool,
            key: &self.session_key,
            ttl_s: i64::try_from(self.settings.session_ttl_s).unwrap_or(i64::MAX),
        }
    }
}

fn random_key() -> Vec<u8> {
    let mut k = vec![0u8; 32];
    rand::rng().fill_bytes(&mut k);
    k
}

fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (kind, token) = value.trim().split_once(' ')?;
    kind.eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
}

/// Resolves the caller: a bearer token, else the dashboard session cookie.
pub async fn authenticate(req: &HttpRequest) -> Result<Principal, ApiError> {
    if let Some(p) = req.extensions().get::<Principal>() {
        return Ok(p.clone());
    }
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("application state missing")))?
        .clone();
    let principal = match bearer(req) {
        Some(token) => {
            let client = req.peer_addr().map(|a| a.ip());
            state.failures.check(client)?;
            match crate::auth::principal::resolve(&state.pool, &state.token_cache, &token).await? {
                Some(p) => p,
                None => {
                    state.failures.failed(client);
                    return Err(ApiError::unauthorized(
                        "the bearer token is unknown or revoked",
                    ));
                }
            }
        }
        None => match crate::auth::session::principal_from_cookie(state.sessions(), req).await? {
            // the API has no per-stamp filtering of its reads: a stamp-limited login stays in
            // the dashboard, whose pages enforce its stamp (web/stamp_limit.rs)
            Some(p) if p.limited_stamp().is_some() => {
                return Err(ApiError::forbidden(format!(
                    "'{}' may see only stamp '{}', in the dashboard; the API needs a token",
                    p.name,
                    p.limited_stamp().unwrap_or_default()
                )));
            }
            Some(p) => p,
            None => {
                return Err(ApiError::unauthorized(
                    "send 'Authorization: Bearer <token>' (create one with 'stampbook-server token create')",
                ));
            }
        },
    };
    state.limiter.check(principal.limit_key())?;
    req.extensions_mut().insert(principal.clone());
    Ok(principal)
}

impl FromRequest for Principal {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { authenticate(&req).await })
    }
}
