//! API tokens: generation, hashing, storage. A token is shown once; only its SHA-256 is kept.

use base64::Engine;
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use crate::audit::{self, Entry};
use crate::error::ApiError;

/// Every token starts with this, so that secret scanners and people recognise it.
pub const TOKEN_PREFIX: &str = "sbk_";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Push reports (optionally for one stamp only).
    Collector,
    /// Read everything except tokens.
    Read,
    /// Read, and acknowledge problems.
    Operator,
    /// Everything, tokens included.
    Admin,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Collector => "collector",
            Scope::Read => "read",
            Scope::Operator => "operator",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        match s {
            "collector" => Some(Scope::Collector),
            "read" => Some(Scope::Read),
            "operator" => Some(Scope::Operator),
            "admin" => Some(Scope::Admin),
            _ => None,
        }
    }

    /// May a holder of this scope read the inventory, facts and problems?
    pub fn can_read(self) -> bool {
        matches!(self, Scope::Read | Scope::Operator | Scope::Admin)
    }

    /// May a holder of this scope acknowledge problems?
    pub fn can_operate(self) -> bool {
        matches!(self, Scope::Operator | Scope::Admin)
    }
}

/// A freshly generated token: 32 random bytes, base64url, with the `sbk_` prefix.
pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

pub fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// What a list of tokens shows: never the token.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TokenInfo {
    pub id: i64,
    pub name: String,
    pub scope: Scope,
    /// The stamp a collector token is restricted to.
    pub stamp: Option<String>,
    /// The first characters of the token, to recognise it.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub info: TokenInfo,
    /// The token itself; shown this once.
    pub token: String,
}

/// Creates a token; validates scope and stamp. The stamp restriction only applies to collectors.
pub async fn create(
    pool: &PgPool,
    name: &str,
    scope: &str,
    stamp: Option<&str>,
    created_by: &str,
) -> Result<CreatedToken, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(ApiError::invalid(
            "invalid_name",
            "a token name is 1 to 100 characters",
            "name",
        ));
    }
    let scope = Scope::parse(scope).ok_or_else(|| {
        ApiError::invalid(
            "invalid_scope",
            format!("unknown scope '{scope}': use collector, read, operator or admin"),
            "scope",
        )
    })?;
    let stamp_id = match stamp {
        None => None,
        Some(_) if scope != Scope::Collector => {
            return Err(ApiError::invalid(
                "invalid_stamp",
                "only collector tokens can be restricted to a stamp",
                "stamp",
            ));
        }
        Some(s) => Some(
            sqlx::query_scalar!("select id from stamps where name = $1", s)
                .fetch_optional(pool)
                .await?
                .ok_or_else(|| {
                    ApiError::invalid("unknown_stamp", format!("no stamp named '{s}'"), "stamp")
                })?,
        ),
    };
    let token = generate();
    let prefix: String = token.chars().take(TOKEN_PREFIX.len() + 6).collect();
    let mut tx = pool.begin().await?;
    let row = sqlx::query!(
        r#"insert into tokens (name, scope, stamp_id, token_hash, prefix, created_by)
           values ($1, $2, $3, $4, $5, $6)
           returning id, created_at"#,
        name,
        scope.as_str(),
        stamp_id,
        hash(&token),
        prefix,
        created_by,
    )
    .fetch_one(&mut *tx)
    .await?;
    let info = TokenInfo {
        id: row.id,
        name: name.to_owned(),
        scope,
        stamp: stamp.map(str::to_owned),
        prefix,
        created_at: row.created_at,
        created_by: created_by.to_owned(),
        last_used_at: None,
        revoked_at: None,
    };
    audit::record(
        &mut tx,
        Entry {
            actor: created_by,
            action: "create",
            entity: "token",
            key: &info.name,
            before: None,
            after: audit::json(&info),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(CreatedToken { info, token })
}

pub async fn list(pool: &PgPool) -> Result<Vec<TokenInfo>, ApiError> {
    let rows = sqlx::query!(
        r#"select t.id, t.name, t.scope, s.name as "stamp?", t.prefix, t.created_at, t.created_by,
                  t.last_used_at, t.revoked_at
           from tokens t left join stamps s on s.id = t.stamp_id
           order by t.id"#
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| TokenInfo {
            id: r.id,
            name: r.name,
            scope: Scope::parse(&r.scope).unwrap_or(Scope::Read),
            stamp: r.stamp,
            prefix: r.prefix,
            created_at: r.created_at,
            created_by: r.created_by,
            last_used_at: r.last_used_at,
            revoked_at: r.revoked_at,
        })
        .collect())
}

/// Revokes by id (all digits) or name, as `actor` (audited); answers the revoked token, or 404.
pub async fn revoke(pool: &PgPool, name_or_id: &str, actor: &str) -> Result<TokenInfo, ApiError> {
    let id: Option<i64> = name_or_id.parse().ok();
    let revoked = sqlx::query_scalar!(
        r#"update tokens set revoked_at = coalesce(revoked_at, now())
           where ($1::bigint is not null and id = $1) or ($1::bigint is null and name = $2)
           returning id"#,
        id,
        name_or_id
    )
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| ApiError::not_found(format!("token '{name_or_id}'")))?;
    let info = list(pool)
        .await?
        .into_iter()
        .find(|t| t.id == revoked)
        .ok_or_else(|| ApiError::not_found(format!("token '{name_or_id}'")))?;
    let mut conn = pool.acquire().await?;
    audit::record(
        &mut conn,
        Entry {
            actor,
            action: "revoke",
            entity: "token",
            key: &info.name,
            before: None,
            after: audit::json(&info),
        },
    )
    .await?;
    Ok(info)
}

/// Creates the first admin token unless one is active; returns it only when created.
pub async fn ensure_admin(pool: &PgPool, name: &str) -> Result<Option<String>, ApiError> {
    let exists = sqlx::query_scalar!(
        "select exists (select 1 from tokens where name = $1 and revoked_at is null) as \"e!\"",
        name
    )
    .fetch_one(pool)
    .await?;
    if exists {
        return Ok(None);
    }
    Ok(Some(
        create(pool, name, "admin", None, "bootstrap").await?.token,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_long_random_and_prefixed() {
        let a = generate();
        let b = generate();
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 43);
        assert_ne!(a, b);
        assert_eq!(hash(&a).len(), 32);
        assert_ne!(hash(&a), hash(&b));
    }
}
