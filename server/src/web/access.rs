//! Who is looking at a page and what they may do: the session's principal (read scope at least),
//! or an anonymous viewer on an `--open-dashboard` server; CSRF tokens for the write forms; and
//! the rule that a `next` redirect target is a local path.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::Method;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::error::WebError;
use crate::auth::session::{self, COOKIE_NAME};
use crate::auth::{Principal, Scope};
use crate::state::AppState;

/// The request as every page handler sees it.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The logged-in principal; `None` on an open dashboard without a session.
    pub principal: Option<Principal>,
    /// The CSRF token of the session (empty without one).
    pub csrf: String,
    /// `?wallboard=1`: large type, dark, refreshing.
    pub wallboard: bool,
    /// Path and query of this request (where `next` brings the viewer back to).
    pub here: String,
    pub path: String,
    /// `scheme://host` as the client reached this server (for the commands pages suggest).
    pub origin: String,
    pub now: DateTime<Utc>,
}

impl Ctx {
    pub fn can_operate(&self) -> bool {
        self.principal
            .as_ref()
            .is_some_and(|p| p.scope.can_operate())
    }

    pub fn is_admin(&self) -> bool {
        self.principal
            .as_ref()
            .is_some_and(|p| p.scope == Scope::Admin)
    }

    /// A write needs a logged-in principal of `scope` and the session's CSRF token.
    pub fn authorize_write(
        &self,
        need_admin: bool,
        csrf: Option<&str>,
    ) -> Result<&Principal, WebError> {
        let Some(p) = &self.principal else {
            return Err(WebError::Forbidden(
                "This dashboard is open for viewing only: log in with an operator or admin token to change anything."
                    .to_owned(),
            ));
        };
        if self.csrf.is_empty() || !csrf.is_some_and(|c| constant_time_eq(c, &self.csrf)) {
            return Err(WebError::Forbidden(
                "The form's security token is missing or stale: reload the page and try again."
                    .to_owned(),
            ));
        }
        let allowed = if need_admin {
            p.scope == Scope::Admin
        } else {
            p.scope.can_operate()
        };
        if !allowed {
            // "Token 'x'" or "'ldap:x'" at the start of a sentence
            let mut who = p.describe();
            if let Some(first) = who.get_mut(0..1) {
                first.make_ascii_uppercase();
            }
            return Err(WebError::Forbidden(format!(
                "{who} has scope '{}'; this needs '{}'.",
                p.scope.as_str(),
                if need_admin { "admin" } else { "operator" }
            )));
        }
        Ok(p)
    }
}

type HmacSha256 = Hmac<Sha256>;

/// The CSRF token bound to one session cookie value: HMAC-SHA256 under the session key, so a
/// page of another site can neither read nor compute it, and it dies with the session.
pub fn csrf_token(key: &[u8], bound_to: &str) -> String {
    match HmacSha256::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(b"stampbook csrf\0");
            mac.update(bound_to.as_bytes());
            hex::encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

pub fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// `next` only ever leads to a path of this server: `/x`, never `//host`, `/\host` or a URL.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/\\")
                && !n.chars().any(|c| c.is_control() || c == '\\')
                && !n.starts_with("/login")
                && !n.starts_with("/logout") =>
        {
            n.to_owned()
        }
        _ => "/".to_owned(),
    }
}

fn wallboard_requested(query: &str) -> bool {
    query.split('&').any(|kv| {
        matches!(
            kv.split_once('=').unwrap_or((kv, "")),
            ("wallboard", "1" | "true" | "on")
        )
    })
}

async fn resolve(req: HttpRequest) -> Result<Ctx, WebError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| WebError::Internal(anyhow::anyhow!("application state missing")))?
        .clone();
    let here = match req.uri().query() {
        Some(q) if !q.is_empty() => format!("{}?{q}", req.path()),
        _ => req.path().to_owned(),
    };
    let cookie = req.cookie(COOKIE_NAME).map(|c| c.value().to_owned());
    let principal = session::principal_from_cookie(state.sessions(), &req)
        .await
        .map_err(WebError::from)?
        .filter(|p| p.scope.can_read());
    if let Some(stamp) = principal.as_ref().and_then(|p| p.limited_stamp()) {
        super::stamp_limit::check(&state, &req, stamp).await?;
    }
    let csrf = match (&principal, &cookie) {
        (Some(_), Some(value)) => csrf_token(&state.session_key, value),
        _ => String::new(),
    };
    if principal.is_none() && !state.settings.open_dashboard {
        // a form posted without a session is refused outright: it could not be resubmitted
        // after logging in anyway
        if !matches!(*req.method(), Method::GET | Method::HEAD) {
            return Err(WebError::Forbidden(
                "Log in with an operator or admin token to change anything.".to_owned(),
            ));
        }
        return Err(WebError::Login {
            next: here,
            // a cookie that no longer works: expired, tampered with, or its token revoked
            ended: cookie.is_some_and(|c| !c.is_empty()),
        });
    }
    Ok(Ctx {
        principal,
        csrf,
        wallboard: wallboard_requested(req.query_string()),
        path: req.path().to_owned(),
        origin: {
            let info = req.connection_info();
            format!("{}://{}", info.scheme(), info.host())
        },
        here,
        now: Utc::now(),
    })
}

impl FromRequest for Ctx {
    type Error = WebError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(resolve(req.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_always_a_local_path() {
        assert_eq!(safe_next(Some("/stamps/ams-01?x=1")), "/stamps/ams-01?x=1");
        for bad in [
            "https://evil.example",
            "//evil.example/x",
            "/\\evil.example",
            "/a\\b",
            "javascript:alert(1)",
            "",
            "/login?next=/x",
            "/ok\r\nSet-Cookie: x=1",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn csrf_tokens_are_bound_to_the_session_and_key() {
        let key = b"0123456789abcdef0123456789abcdef";
        let a = csrf_token(key, "1.100.aa");
        assert_eq!(a.len(), 64);
        assert_eq!(a, csrf_token(key, "1.100.aa"));
        assert_ne!(a, csrf_token(key, "1.100.ab"));
        assert_ne!(
            a,
            csrf_token(b"another key 0123456789abcdef0123", "1.100.aa")
        );
        assert!(constant_time_eq(&a, &a.clone()));
        assert!(!constant_time_eq(&a, &a[1..]));
    }

    #[test]
    fn wallboard_flag_is_read_from_the_query() {
        assert!(wallboard_requested("wallboard=1"));
        assert!(wallboard_requested("sort=name&wallboard=true"));
        assert!(!wallboard_requested("wallboard=0"));
        assert!(!wallboard_requested("xwallboard=1"));
        assert!(!wallboard_requested(""));
    }
}
