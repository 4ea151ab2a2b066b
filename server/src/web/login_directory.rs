//! The directory half of `POST /login`: name + password checked against LDAP / Active Directory,
//! failures throttled per address and per account name and written to the audit log, and a
//! session carrying the person's directory name, scope and stamp.

use std::net::IpAddr;

use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderValue, RETRY_AFTER};
use actix_web::{HttpRequest, HttpResponse};
use serde_json::json;

use super::error::WebError;
use super::login::{LoginForm, form_for, logged_in};
use crate::audit;
use crate::auth::session::{self, DirectorySession};
use crate::directory::{DirectoryUser, LoginError};
use crate::state::AppState;

/// Longest account name written to the audit log (the name is typed by anyone).
const MAX_LOGGED_NAME: usize = 200;

/// The name a directory login is known by in the audit log and on acknowledgements.
pub fn actor(login: &str) -> String {
    format!(
        "ldap:{}",
        login.chars().take(MAX_LOGGED_NAME).collect::<String>()
    )
}

/// The account throttle's key: the name as typed, trimmed and in lower case (directories compare
/// login names without case), so `Alice` and `alice ` share one allowance.
fn account_key(user: &str) -> String {
    user.trim()
        .chars()
        .take(MAX_LOGGED_NAME)
        .collect::<String>()
        .to_lowercase()
}

async fn audit_attempt(
    state: &AppState,
    action: &str,
    name: &str,
    details: serde_json::Value,
) -> Result<(), WebError> {
    let mut conn = state
        .pool
        .acquire()
        .await
        .map_err(|e| WebError::Internal(e.into()))?;
    audit::record(
        &mut conn,
        audit::Entry {
            actor: &actor(name),
            action,
            entity: "session",
            key: &actor(name),
            before: None,
            after: Some(details),
        },
    )
    .await
    .map_err(|e| WebError::Internal(e.into()))
}

fn throttled(
    state: &AppState,
    req: &HttpRequest,
    next: String,
    user: &str,
    wait: u64,
    what: &str,
) -> Result<HttpResponse, WebError> {
    let mut resp = form_for(
        state,
        req,
        StatusCode::TOO_MANY_REQUESTS,
        next,
        format!("Too many failed logins {what}: try again in {wait} s."),
        String::new(),
        user.to_owned(),
    )?;
    resp.headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from(wait));
    Ok(resp)
}

pub async fn submit(
    state: &AppState,
    req: &HttpRequest,
    f: &LoginForm,
    next: String,
    client: Option<IpAddr>,
) -> Result<HttpResponse, WebError> {
    let Some(directory) = &state.directory else {
        return Err(WebError::NotFound(
            "directory login is not configured".to_owned(),
        ));
    };
    let user = f.user.trim();
    let key = account_key(user);
    if let Err(e) = state.account_failures.check(Some(key.clone())) {
        tracing::info!(account = %actor(user), "directory login throttled for this account");
        return throttled(
            state,
            req,
            next,
            user,
            e.retry_after_s.unwrap_or(60),
            "for this account",
        );
    }
    let address = client.map(|a| a.to_string());
    let outcome = directory.login(user, &f.password).await;
    let refusal = match outcome {
        Ok(who) => return start(state, req, &who, next, address).await,
        Err(e) => e,
    };
    let (status, message, counts) = match &refusal {
        LoginError::EmptyPassword => (
            StatusCode::UNAUTHORIZED,
            "Enter your directory password.".to_owned(),
            true,
        ),
        LoginError::UnknownUser | LoginError::WrongPassword => (
            StatusCode::UNAUTHORIZED,
            "That name or password is wrong.".to_owned(),
            true,
        ),
        LoginError::NoGroup(_) => (
            StatusCode::FORBIDDEN,
            "Your directory account is in no group that grants access to stampbook: ask an admin."
                .to_owned(),
            false,
        ),
        LoginError::Unavailable(e) => {
            tracing::warn!(error = %e, "directory login: the directory is unavailable");
            return form_for(
                state,
                req,
                StatusCode::SERVICE_UNAVAILABLE,
                next,
                "The directory could not be reached: try again shortly, or log in with a token."
                    .to_owned(),
                String::new(),
                user.to_owned(),
            );
        }
    };
    if counts {
        state.failures.failed(client);
        state.account_failures.failed(Some(key));
    }
    tracing::info!(account = %actor(user), reason = %refusal, "directory login refused");
    audit_attempt(
        state,
        "login_refused",
        user,
        json!({"reason": refusal.to_string(), "address": address}),
    )
    .await?;
    form_for(
        state,
        req,
        status,
        next,
        message,
        String::new(),
        user.to_owned(),
    )
}

/// A session for the person the directory vouched for.
async fn start(
    state: &AppState,
    req: &HttpRequest,
    who: &DirectoryUser,
    next: String,
    address: Option<String>,
) -> Result<HttpResponse, WebError> {
    let stamp_id = match &who.stamp {
        None => None,
        Some(stamp) => {
            let id = sqlx::query_scalar!("select id from stamps where name = $1", stamp)
                .fetch_optional(&state.pool)
                .await
                .map_err(|e| WebError::Internal(e.into()))?;
            // a grant for a stamp that is not in the inventory grants nothing (never everything)
            let Some(id) = id else {
                audit_attempt(
                    state,
                    "login_refused",
                    &who.login,
                    json!({"reason": format!("group {} grants stamp '{stamp}', which is not in the inventory", who.group), "address": address}),
                )
                .await?;
                return form_for(
                    state,
                    req,
                    StatusCode::FORBIDDEN,
                    next,
                    format!(
                        "Your group grants access to stamp '{stamp}', which is not in the inventory: ask an admin."
                    ),
                    String::new(),
                    who.login.clone(),
                );
            };
            Some(id)
        }
    };
    let name = actor(&who.login);
    let cookie = session::start_directory(
        state.sessions(),
        req,
        &DirectorySession {
            name: &name,
            scope: who.scope,
            stamp_id,
        },
    )
    .await?;
    audit_attempt(
        state,
        "login",
        &who.login,
        json!({"dn": who.dn, "group": who.group, "scope": who.scope.as_str(), "stamp": who.stamp, "address": address}),
    )
    .await?;
    tracing::info!(account = %name, scope = who.scope.as_str(), stamp = ?who.stamp, "dashboard login with a directory account");
    logged_in(req, cookie, &next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_account_is_one_throttle_key_whatever_its_case_and_blanks() {
        assert_eq!(account_key(" Alice "), account_key("alice"));
        assert_eq!(actor("alice"), "ldap:alice");
        assert_eq!(
            actor(&"x".repeat(5000)).len(),
            "ldap:".len() + MAX_LOGGED_NAME
        );
    }
}
