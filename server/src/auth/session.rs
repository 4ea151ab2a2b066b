//! Dashboard sessions: a signed cookie naming the token that logged in, when the session ends and
//! the session's random id, which is a row of `sessions`. Both are looked up on every request:
//! revoking the token ends its sessions at once, and logging out deletes the row, so a copy of
//! the cookie stops working too. A directory login's session names no token (the cookie's token
//! id is 0): its row holds the directory name, scope and stamp granted at login.

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite, time};
use chrono::Utc;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::{Principal, Scope};
use crate::error::ApiError;

pub const COOKIE_NAME: &str = "stampbook_session";

/// What session handling needs: where sessions live, the key that signs cookies and how long a
/// session lasts (`STAMPBOOK_SESSION_TTL_S`).
#[derive(Clone, Copy)]
pub struct Sessions<'a> {
    pub pool: &'a sqlx::PgPool,
    pub key: &'a [u8],
    pub ttl_s: i64,
}

type HmacSha256 = Hmac<Sha256>;

fn mac(key: &[u8], payload: &str) -> Option<HmacSha256> {
    let mut mac = HmacSha256::new_from_slice(key).ok()?;
    mac.update(payload.as_bytes());
    Some(mac)
}

/// The cookie value for a session of `token_id` that ends at `expires_unix`. A random part,
/// the session id, makes every login a distinct session (and so gives it its own CSRF token).
pub fn sign(key: &[u8], token_id: i64, expires_unix: i64) -> Option<String> {
    let mut nonce = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut nonce);
    let payload = format!("{token_id}.{expires_unix}.{}", hex::encode(nonce));
    let tag = hex::encode(mac(key, &payload)?.finalize().into_bytes());
    Some(format!("{payload}.{tag}"))
}

/// A signed cookie value (token id, end, session id), unexpired, as (token id, session id).
pub fn verify(key: &[u8], value: &str, now_unix: i64) -> Option<(i64, String)> {
    let (payload, tag) = value.rsplit_once('.')?;
    let mut parts = payload.split('.');
    let (id, exp, session) = (parts.next()?, parts.next()?, parts.next()?);
    let tag = hex::decode(tag).ok()?;
    mac(key, payload)?.verify_slice(&tag).ok()?;
    let exp: i64 = exp.parse().ok()?;
    (exp > now_unix).then_some(())?;
    Some((id.parse().ok()?, session.to_owned()))
}

/// Starts a session of `token_id` ending at `expires_unix`: the row, and the cookie value.
pub async fn create(
    pool: &sqlx::PgPool,
    key: &[u8],
    token_id: i64,
    expires_unix: i64,
) -> Result<String, ApiError> {
    let value = sign(key, token_id, expires_unix)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("the session key is unusable")))?;
    let (_, id) = verify(key, &value, i64::MIN)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("a fresh session does not verify")))?;
    let expires = chrono::DateTime::from_timestamp(expires_unix, 0).unwrap_or_default();
    sqlx::query!(
        "insert into sessions (id, token_id, expires_at) values ($1, $2, $3)",
        id,
        token_id,
        expires
    )
    .execute(pool)
    .await?;
    Ok(value)
}

/// The token id a directory session's cookie carries (token ids start at 1).
pub const DIRECTORY: i64 = 0;

/// What a directory login's session holds: who, and what their groups granted.
pub struct DirectorySession<'a> {
    /// `ldap:<login>`, as the audit log and acknowledgements show it.
    pub name: &'a str,
    pub scope: Scope,
    pub stamp_id: Option<i64>,
}

/// Starts a directory session ending at `expires_unix`: the row, and the cookie value.
pub async fn create_directory(
    pool: &sqlx::PgPool,
    key: &[u8],
    who: &DirectorySession<'_>,
    expires_unix: i64,
) -> Result<String, ApiError> {
    let value = sign(key, DIRECTORY, expires_unix)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("the session key is unusable")))?;
    let (_, id) = verify(key, &value, i64::MIN)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("a fresh session does not verify")))?;
    let expires = chrono::DateTime::from_timestamp(expires_unix, 0).unwrap_or_default();
    sqlx::query!(
        "insert into sessions (id, directory_user, scope, stamp_id, expires_at) values ($1, $2, $3, $4, $5)",
        id,
        who.name,
        who.scope.as_str(),
        who.stamp_id,
        expires
    )
    .execute(pool)
    .await?;
    Ok(value)
}

/// Ends the session of this cookie value (logout): every copy of the cookie stops working.
pub async fn end(sessions: Sessions<'_>, value: &str) -> Result<(), ApiError> {
    if let Some((_, id)) = verify(sessions.key, value, i64::MIN) {
        sqlx::query!("delete from sessions where id = $1", id)
            .execute(sessions.pool)
            .await?;
    }
    Ok(())
}

/// Forgets sessions past their end.
pub async fn prune(pool: &sqlx::PgPool) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query!("delete from sessions where expires_at < now()")
            .execute(pool)
            .await?
            .rows_affected(),
    )
}

/// A new session for this token and its cookie: HttpOnly, SameSite=Strict, Secure when the
/// request came over TLS (directly or through a proxy that says so).
pub async fn start(
    sessions: Sessions<'_>,
    req: &HttpRequest,
    token_id: i64,
) -> Result<Cookie<'static>, ApiError> {
    let ttl = sessions.ttl_s;
    let value = create(
        sessions.pool,
        sessions.key,
        token_id,
        Utc::now().timestamp() + ttl,
    )
    .await?;
    Ok(cookie(req, value, ttl))
}

/// A new session for a directory login, and its cookie.
pub async fn start_directory(
    sessions: Sessions<'_>,
    req: &HttpRequest,
    who: &DirectorySession<'_>,
) -> Result<Cookie<'static>, ApiError> {
    let ttl = sessions.ttl_s;
    let value = create_directory(
        sessions.pool,
        sessions.key,
        who,
        Utc::now().timestamp() + ttl,
    )
    .await?;
    Ok(cookie(req, value, ttl))
}

fn cookie(req: &HttpRequest, value: String, ttl: i64) -> Cookie<'static> {
    let secure = req.connection_info().scheme() == "https";
    Cookie::build(COOKIE_NAME, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .max_age(time::Duration::seconds(ttl))
        .finish()
}

/// A cookie that removes the session.
pub fn removal() -> Cookie<'static> {
    let mut c = Cookie::build(COOKIE_NAME, "")
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .finish();
    c.make_removal();
    c
}

/// The principal of the request's session cookie, when it is valid and its token active.
pub async fn principal_from_cookie(
    sessions: Sessions<'_>,
    req: &HttpRequest,
) -> Result<Option<Principal>, ApiError> {
    let Some(cookie) = req.cookie(COOKIE_NAME) else {
        return Ok(None);
    };
    let Some((token_id, session)) = verify(sessions.key, cookie.value(), Utc::now().timestamp())
    else {
        return Ok(None);
    };
    if token_id == DIRECTORY {
        return directory_principal(sessions.pool, &session).await;
    }
    let row = sqlx::query!(
        r#"select t.id, t.name, t.scope, t.stamp_id, s.name as "stamp_name?"
           from sessions x join tokens t on t.id = x.token_id
           left join stamps s on s.id = t.stamp_id
           where x.id = $2 and x.token_id = $1 and x.expires_at > now() and t.revoked_at is null"#,
        token_id,
        session
    )
    .fetch_optional(sessions.pool)
    .await?;
    Ok(row.map(|r| Principal {
        token_id: r.id,
        name: r.name,
        scope: Scope::parse(&r.scope).unwrap_or(Scope::Read),
        stamp_id: r.stamp_id,
        stamp_name: r.stamp_name,
        directory: false,
    }))
}

async fn directory_principal(
    pool: &sqlx::PgPool,
    session: &str,
) -> Result<Option<Principal>, ApiError> {
    let row = sqlx::query!(
        r#"select x.directory_user as "name!", x.scope as "scope!", x.stamp_id, s.name as "stamp_name?"
           from sessions x left join stamps s on s.id = x.stamp_id
           where x.id = $1 and x.token_id is null and x.expires_at > now()"#,
        session
    )
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| Principal {
        token_id: DIRECTORY,
        name: r.name,
        // a scope the row does not name grants nothing beyond reading
        scope: Scope::parse(&r.scope).unwrap_or(Scope::Read),
        stamp_id: r.stamp_id,
        stamp_name: r.stamp_name,
        directory: true,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_cookie_round_trips_and_rejects_tampering_and_expiry() {
        let key = b"0123456789abcdef0123456789abcdef";
        let v = sign(key, 42, 2_000).unwrap();
        assert_eq!(verify(key, &v, 1_000).map(|(id, _)| id), Some(42));
        assert_eq!(verify(key, &v, 2_000), None, "expired");
        assert_eq!(verify(b"another key 0123456789abcdef0123", &v, 1_000), None);
        let tampered = v.replacen("42.", "43.", 1);
        assert_eq!(verify(key, &tampered, 1_000), None);
        assert_ne!(
            sign(key, 42, 2_000).unwrap(),
            v,
            "every session is distinct"
        );
        assert_eq!(verify(key, "garbage", 1_000), None);
    }
}
