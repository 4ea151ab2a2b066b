//! `/login` and `/logout`: a token (read, operator or admin) becomes a signed session cookie.
//! The login form carries its own CSRF token, bound to a short-lived nonce cookie, so another
//! site cannot log a browser in under a token of its choosing. With a directory configured the
//! form also takes a name and password (web/login_directory.rs); tokens keep working (machines,
//! break-glass).

use actix_web::cookie::{Cookie, SameSite, time};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::Utc;
use rand::RngCore;
use serde::Deserialize;

use super::access::{self, Ctx, constant_time_eq, csrf_token, safe_next};
use super::error::WebError;
use super::page::{self, Chrome};
use crate::auth::principal;
use crate::auth::session;
use crate::state::AppState;

const NONCE_COOKIE: &str = "stampbook_login";
const NONCE_TTL_S: i64 = 3600;

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub chrome: Chrome,
    pub next: String,
    pub csrf: String,
    pub error: String,
    pub notice: String,
    pub open_dashboard: bool,
    /// A directory is configured: offer name + password.
    pub directory: bool,
    /// The name typed in the refused attempt (never the password).
    pub user: String,
}

#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    pub next: Option<String>,
    /// The session ended (expired, revoked): say so.
    pub ended: Option<String>,
    /// Just logged out.
    pub out: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    pub token: String,
    /// Directory login: the account name and its password.
    #[serde(default)]
    pub user: String,
    #[serde(default)]
    pub password: String,
    pub next: Option<String>,
    pub csrf: Option<String>,
}

fn nonce_cookie(req: &HttpRequest, value: String) -> Cookie<'static> {
    Cookie::build(NONCE_COOKIE, value)
        .path("/login")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(req.connection_info().scheme() == "https")
        .max_age(time::Duration::seconds(NONCE_TTL_S))
        .finish()
}

fn login_csrf(state: &AppState, nonce: &str) -> String {
    csrf_token(&state.session_key, &format!("login:{nonce}"))
}

/// The login form, with a fresh nonce cookie behind its CSRF token.
pub(super) fn form(
    state: &AppState,
    req: &HttpRequest,
    status: StatusCode,
    next: String,
    error: String,
    notice: String,
) -> Result<HttpResponse, WebError> {
    form_for(state, req, status, next, error, notice, String::new())
}

/// The login form, the name of a refused directory login filled in again.
pub(super) fn form_for(
    state: &AppState,
    req: &HttpRequest,
    status: StatusCode,
    next: String,
    error: String,
    notice: String,
    user: String,
) -> Result<HttpResponse, WebError> {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    let nonce = hex::encode(bytes);
    let page = LoginPage {
        chrome: Chrome::bare("Log in", Utc::now()),
        next,
        csrf: login_csrf(state, &nonce),
        error,
        notice,
        open_dashboard: state.settings.open_dashboard,
        directory: state.directory.is_some(),
        user,
    };
    let mut resp = page::render(&page)?;
    *resp.status_mut() = status;
    resp.add_cookie(&nonce_cookie(req, nonce))
        .map_err(|e| WebError::Internal(e.into()))?;
    Ok(resp)
}

pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    q: web::Query<LoginQuery>,
) -> Result<HttpResponse, WebError> {
    let next = safe_next(q.next.as_deref());
    if session::principal_from_cookie(state.sessions(), &req)
        .await?
        .is_some_and(|p| p.scope.can_read())
    {
        return Ok(page::see_other(&next));
    }
    let notice = if q.out.is_some() {
        "You are logged out."
    } else if q.ended.is_some() {
        "Your session has ended (it expired or its token was revoked): log in again."
    } else {
        ""
    };
    form(
        &state,
        &req,
        StatusCode::OK,
        next,
        String::new(),
        notice.to_owned(),
    )
}

pub async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    f: web::Form<LoginForm>,
) -> Result<HttpResponse, WebError> {
    let next = safe_next(f.next.as_deref());
    let nonce = req.cookie(NONCE_COOKIE).map(|c| c.value().to_owned());
    let csrf_ok = match (&nonce, &f.csrf) {
        (Some(n), Some(sent)) => constant_time_eq(sent, &login_csrf(&state, n)),
        _ => false,
    };
    if !csrf_ok {
        return form(
            &state,
            &req,
            StatusCode::FORBIDDEN,
            next,
            "The login form expired or did not come from this server: try again.".to_owned(),
            String::new(),
        );
    }
    let client = req.peer_addr().map(|a| a.ip());
    if let Err(e) = state.failures.check(client) {
        let wait = e.retry_after_s.unwrap_or(60);
        let mut resp = form(
            &state,
            &req,
            StatusCode::TOO_MANY_REQUESTS,
            next,
            format!("Too many failed logins from this address: try again in {wait} s."),
            String::new(),
        )?;
        resp.headers_mut().insert(
            actix_web::http::header::RETRY_AFTER,
            actix_web::http::header::HeaderValue::from(wait),
        );
        return Ok(resp);
    }
    if state.directory.is_some() && (!f.user.trim().is_empty() || !f.password.is_empty()) {
        return super::login_directory::submit(&state, &req, &f, next, client).await;
    }
    let token = f.token.trim();
    let principal = if token.is_empty() {
        None
    } else {
        principal::resolve(&state.pool, &state.token_cache, token).await?
    };
    let Some(p) = principal else {
        state.failures.failed(client);
        tracing::info!("dashboard login refused: unknown or revoked token");
        return form(
            &state,
            &req,
            StatusCode::UNAUTHORIZED,
            next,
            "That token is unknown or has been revoked.".to_owned(),
            String::new(),
        );
    };
    if !p.scope.can_read() {
        return form(
            &state,
            &req,
            StatusCode::FORBIDDEN,
            next,
            format!(
                "Token '{}' has scope '{}', which can only push reports: log in with a read, operator or admin token.",
                p.name,
                p.scope.as_str()
            ),
            String::new(),
        );
    }
    let cookie = session::start(state.sessions(), &req, p.token_id).await?;
    tracing::info!(token = %p.name, scope = p.scope.as_str(), "dashboard login");
    logged_in(&req, cookie, &next)
}

/// The answer to a successful login: the session cookie, the nonce cookie removed, on to `next`.
pub(super) fn logged_in(
    req: &HttpRequest,
    cookie: Cookie<'static>,
    next: &str,
) -> Result<HttpResponse, WebError> {
    let mut removal = nonce_cookie(req, String::new());
    removal.make_removal();
    let mut resp = page::see_other(next);
    resp.add_cookie(&cookie)
        .and_then(|()| resp.add_cookie(&removal))
        .map_err(|e| WebError::Internal(e.into()))?;
    Ok(resp)
}

#[derive(Template)]
#[template(path = "logout.html")]
pub struct LogoutPage {
    pub chrome: Chrome,
}

/// `GET /logout` asks; only the form's POST logs out (a link must not end a session).
pub async fn confirm(ctx: Ctx) -> Result<HttpResponse, WebError> {
    if ctx.principal.is_none() {
        return Ok(page::see_other("/"));
    }
    page::render(&LogoutPage {
        chrome: Chrome::new(&ctx, "Log out", ""),
    })
}

#[derive(Debug, Deserialize)]
pub struct LogoutForm {
    pub csrf: Option<String>,
}

pub async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    f: web::Form<LogoutForm>,
) -> Result<HttpResponse, WebError> {
    if let Some(cookie) = req.cookie(session::COOKIE_NAME)
        && session::principal_from_cookie(state.sessions(), &req)
            .await?
            .is_some()
    {
        let expected = access::csrf_token(&state.session_key, cookie.value());
        if !f
            .csrf
            .as_deref()
            .is_some_and(|c| constant_time_eq(c, &expected))
        {
            return Err(WebError::Forbidden(
                "The form's security token is missing or stale: reload the page and try again."
                    .to_owned(),
            ));
        }
    }
    if let Some(cookie) = req.cookie(session::COOKIE_NAME) {
        session::end(state.sessions(), cookie.value()).await?;
    }
    let mut resp = page::see_other("/login?out=1");
    resp.add_cookie(&session::removal())
        .map_err(|e| WebError::Internal(e.into()))?;
    Ok(resp)
}
