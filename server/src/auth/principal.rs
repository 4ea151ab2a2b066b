//! The caller of a request, resolved from its bearer token on every request (no cache, so a
//! revocation takes effect at once), and the scope checks routes make.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, web};
use chrono::{DateTime, Utc};
use sha2::Digest;

use super::tokens::{self, Scope};
use crate::error::ApiError;
use crate::startup::AppState;

#[derive(Debug, Clone)]
pub struct Principal {
    pub token_id: i64,
    pub name: String,
    pub scope: Scope,
    /// A collector token restricted to one stamp, or a directory login whose group grants only
    /// one stamp.
    pub stamp_id: Option<i64>,
    pub stamp_name: Option<String>,
    /// A person logged in with a directory account (`name` is `ldap:<login>`), not a token.
    pub directory: bool,
}

impl Principal {
    /// The per-caller request budget's key: the token id, or for a directory login a negative
    /// number derived from the name (token ids are positive).
    pub fn limit_key(&self) -> i64 {
        if !self.directory {
            return self.token_id;
        }
        let digest = sha2::Sha256::digest(self.name.as_bytes());
        let mut b = [0u8; 8];
        b.copy_from_slice(&digest[..8]);
        -((i64::from_be_bytes(b) & i64::MAX).max(1))
    }

    /// A reader, operator or admin limited to one stamp (a directory login's stamp grant).
    pub fn limited_stamp(&self) -> Option<&str> {
        match self.scope {
            Scope::Collector => None,
            _ => self.stamp_name.as_deref(),
        }
    }

    /// Read access: read, operator, admin.
    pub fn require_read(&self) -> Result<(), ApiError> {
        if self.scope.can_read() {
            Ok(())
        } else {
            Err(self.lacks("read"))
        }
    }

    /// Acknowledging problems: operator, admin.
    pub fn require_operator(&self) -> Result<(), ApiError> {
        if self.scope.can_operate() {
            Ok(())
        } else {
            Err(self.lacks("operator"))
        }
    }

    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.scope == Scope::Admin {
            Ok(())
        } else {
            Err(self.lacks("admin"))
        }
    }

    /// Pushing a report: a collector (unrestricted, or restricted to this stamp) or an admin.
    pub fn require_collector_for(&self, stamp: &str) -> Result<(), ApiError> {
        match self.scope {
            Scope::Admin => Ok(()),
            Scope::Collector => match &self.stamp_name {
                Some(own) if own != stamp => Err(ApiError::forbidden(format!(
                    "token '{}' may only report for stamp '{own}', not '{stamp}'",
                    self.name
                ))
                .with_field("host.stamp")),
                _ => Ok(()),
            },
            _ => Err(self.lacks("collector")),
        }
    }

    /// Is the caller allowed to push reports at all (before the body is read)?
    pub fn require_any_collector(&self) -> Result<(), ApiError> {
        match self.scope {
            Scope::Admin | Scope::Collector => Ok(()),
            _ => Err(self.lacks("collector")),
        }
    }

    /// How messages name the caller: `token 'x'`, or the directory login `'ldap:x'`.
    pub fn describe(&self) -> String {
        if self.directory {
            format!("'{}'", self.name)
        } else {
            format!("token '{}'", self.name)
        }
    }

    fn lacks(&self, scope: &str) -> ApiError {
        ApiError::forbidden(format!(
            "{} has scope '{}'; this needs '{scope}'",
            self.describe(),
            self.scope.as_str()
        ))
    }
}

/// Finds the active token with this value, or `None`.
pub async fn lookup(state: &AppState, token: &str) -> Result<Option<Principal>, ApiError> {
    if !token.starts_with(tokens::TOKEN_PREFIX) {
        return Ok(None);
    }
    let row = sqlx::query!(
        r#"select t.id, t.name, t.scope, t.stamp_id, s.name as "stamp_name?", t.last_used_at
           from tokens t left join stamps s on s.id = t.stamp_id
           where t.token_hash = $1 and t.revoked_at is null"#,
        tokens::hash(token)
    )
    .fetch_optional(&state.pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    touch_last_used(state, row.id, row.last_used_at);
    Ok(Some(Principal {
        token_id: row.id,
        name: row.name,
        scope: Scope::parse(&row.scope).unwrap_or(Scope::Read),
        stamp_id: row.stamp_id,
        stamp_name: row.stamp_name,
        directory: false,
    }))
}

/// Records use at most once a minute per token, off the request path.
fn touch_last_used(state: &AppState, id: i64, last: Option<DateTime<Utc>>) {
    let fresh = last.is_some_and(|t| Utc::now() - t < chrono::Duration::seconds(60));
    if fresh {
        return;
    }
    let pool = state.pool.clone();
    actix_web::rt::spawn(async move {
        if let Err(e) = sqlx::query!("update tokens set last_used_at = now() where id = $1", id)
            .execute(&pool)
            .await
        {
            tracing::warn!(error = %e, "could not record token use");
        }
    });
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
            match lookup(&state, &token).await? {
                Some(p) => p,
                None => {
                    state.failures.failed(client);
                    return Err(ApiError::unauthorized(
                        "the bearer token is unknown or revoked",
                    ));
                }
            }
        }
        None => match crate::web::session::principal_from_cookie(&state, req).await? {
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
