//! The caller of a request, resolved from its bearer token (from memory while the server hears
//! every change to the tokens, `token_cache`, else from the database), and the scope checks
//! routes make.

use std::time::Instant;

use chrono::{DateTime, Utc};
use sha2::Digest;

use super::token_cache::TokenCache;
use super::tokens::{self, Scope};
use crate::error::ApiError;

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

/// The caller a request's bearer token names, or `None` (unknown or revoked): from `cache` when
/// it holds the token, else from the database (and kept in `cache` when it may be).
pub async fn resolve(
    pool: &sqlx::PgPool,
    cache: &TokenCache,
    token: &str,
) -> Result<Option<Principal>, ApiError> {
    if !token.starts_with(tokens::TOKEN_PREFIX) {
        return Ok(None);
    }
    let hash = tokens::hash(token);
    if let Some((principal, last_used)) = cache.get(&hash, Instant::now()) {
        if touch_last_used(pool, principal.token_id, last_used) {
            cache.used(&hash, Utc::now());
        }
        return Ok(Some(principal));
    }
    // taken before the read: a change heard while it runs keeps its answer out of the cache
    let seen = cache.generation();
    let Some((principal, last_used)) = read(pool, &hash).await? else {
        return Ok(None);
    };
    let last_used = if touch_last_used(pool, principal.token_id, last_used) {
        Some(Utc::now())
    } else {
        last_used
    };
    if let Some(seen) = seen {
        cache.store(seen, hash, principal.clone(), last_used, Instant::now());
    }
    Ok(Some(principal))
}

/// The active token with this hash, and when its use was last recorded.
async fn read(
    pool: &sqlx::PgPool,
    hash: &[u8],
) -> Result<Option<(Principal, Option<DateTime<Utc>>)>, ApiError> {
    let row = sqlx::query!(
        r#"select t.id, t.name, t.scope, t.stamp_id, s.name as "stamp_name?", t.last_used_at
           from tokens t left join stamps s on s.id = t.stamp_id
           where t.token_hash = $1 and t.revoked_at is null"#,
        hash
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|row| {
        let principal = Principal {
            token_id: row.id,
            name: row.name,
            scope: Scope::parse(&row.scope).unwrap_or(Scope::Read),
            stamp_id: row.stamp_id,
            stamp_name: row.stamp_name,
            directory: false,
        };
        (principal, row.last_used_at)
    }))
}

/// Records use at most once a minute per token, off the request path; `true` when it does.
fn touch_last_used(pool: &sqlx::PgPool, id: i64, last: Option<DateTime<Utc>>) -> bool {
    let fresh = last.is_some_and(|t| Utc::now() - t < chrono::Duration::seconds(60));
    if fresh {
        return false;
    }
    let pool = pool.clone();
    actix_web::rt::spawn(async move {
        if let Err(e) = sqlx::query!("update tokens set last_used_at = now() where id = $1", id)
            .execute(&pool)
            .await
        {
            tracing::warn!(error = %e, "could not record token use");
        }
    });
    true
}
