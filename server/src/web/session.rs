//! Dashboard sessions: a signed cookie naming the token that logged in and when the session ends.
//! The token is looked up on every request, so revoking it ends its sessions at once.

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, SameSite, time};
use chrono::Utc;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::auth::{Principal, Scope};
use crate::error::ApiError;
use crate::startup::AppState;

pub const COOKIE_NAME: &str = "stampbook_session";

type HmacSha256 = Hmac<Sha256>;

fn mac(key: &[u8], payload: &str) -> Option<HmacSha256> {
    let mut mac = HmacSha256::new_from_slice(key).ok()?;
    mac.update(payload.as_bytes());
    Some(mac)
}

/// The cookie value for a session of `token_id` that ends at `expires_unix`. A random part makes
/// every login a distinct session (and so gives it its own CSRF token).
pub fn sign(key: &[u8], token_id: i64, expires_unix: i64) -> Option<String> {
    let mut nonce = [0u8; 12];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut nonce);
    let payload = format!("{token_id}.{expires_unix}.{}", hex::encode(nonce));
    let tag = hex::encode(mac(key, &payload)?.finalize().into_bytes());
    Some(format!("{payload}.{tag}"))
}

/// The token id of a valid, unexpired cookie value.
pub fn verify(key: &[u8], value: &str, now_unix: i64) -> Option<i64> {
    let (payload, tag) = value.rsplit_once('.')?;
    let mut parts = payload.split('.');
    let (id, exp) = (parts.next()?, parts.next()?);
    let tag = hex::decode(tag).ok()?;
    mac(key, payload)?.verify_slice(&tag).ok()?;
    let exp: i64 = exp.parse().ok()?;
    (exp > now_unix).then_some(())?;
    id.parse().ok()
}

/// A session cookie for this token: HttpOnly, SameSite=Strict, Secure when the request came
/// over TLS (directly or through a proxy that says so).
pub fn cookie_for(state: &AppState, req: &HttpRequest, token_id: i64) -> Option<Cookie<'static>> {
    let ttl = state.settings.session_ttl_s as i64;
    let value = sign(&state.session_key, token_id, Utc::now().timestamp() + ttl)?;
    let secure = req.connection_info().scheme() == "https";
    Some(
        Cookie::build(COOKIE_NAME, value)
            .path("/")
            .http_only(true)
            .same_site(SameSite::Strict)
            .secure(secure)
            .max_age(time::Duration::seconds(ttl))
            .finish(),
    )
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
    state: &AppState,
    req: &HttpRequest,
) -> Result<Option<Principal>, ApiError> {
    let Some(cookie) = req.cookie(COOKIE_NAME) else {
        return Ok(None);
    };
    let Some(token_id) = verify(&state.session_key, cookie.value(), Utc::now().timestamp()) else {
        return Ok(None);
    };
    let row = sqlx::query!(
        r#"select t.id, t.name, t.scope, t.stamp_id, s.name as "stamp_name?"
           from tokens t left join stamps s on s.id = t.stamp_id
           where t.id = $1 and t.revoked_at is null"#,
        token_id
    )
    .fetch_optional(&state.pool)
    .await?;
    Ok(row.map(|r| Principal {
        token_id: r.id,
        name: r.name,
        scope: Scope::parse(&r.scope).unwrap_or(Scope::Read),
        stamp_id: r.stamp_id,
        stamp_name: r.stamp_name,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_cookie_round_trips_and_rejects_tampering_and_expiry() {
        let key = b"0123456789abcdef0123456789abcdef";
        let v = sign(key, 42, 2_000).unwrap();
        assert_eq!(verify(key, &v, 1_000), Some(42));
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
