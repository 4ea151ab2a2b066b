//! What goes wrong on a page, as a page: a login redirect, or an HTML error page with a status,
//! a message a person can act on and a way back. Causes of 5xx are logged once, never shown.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use super::assets;
use super::format;
use crate::auth::session;
use crate::error::ApiError;

#[derive(Debug)]
pub enum WebError {
    /// No usable session: go to `/login`, then back to `next`.
    Login {
        next: String,
        ended: bool,
    },
    /// This viewer's page is elsewhere (a stamp-limited login asking for `/`): 303 to it.
    Elsewhere(String),
    NotFound(String),
    Forbidden(String),
    /// A form that cannot be accepted as sent (422).
    Invalid(String),
    BadRequest(String),
    Conflict(String),
    Unavailable(String),
    Internal(anyhow::Error),
}

impl std::fmt::Display for WebError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WebError::Login { next, .. } => write!(f, "login needed for {next}"),
            WebError::Elsewhere(to) => write!(f, "see {to}"),
            WebError::NotFound(m)
            | WebError::Forbidden(m)
            | WebError::Invalid(m)
            | WebError::BadRequest(m)
            | WebError::Conflict(m)
            | WebError::Unavailable(m) => f.write_str(m),
            WebError::Internal(e) => write!(f, "internal error: {e}"),
        }
    }
}

impl From<sqlx::Error> for WebError {
    fn from(e: sqlx::Error) -> Self {
        WebError::from(ApiError::from(e))
    }
}

impl From<askama::Error> for WebError {
    fn from(e: askama::Error) -> Self {
        WebError::Internal(anyhow::Error::new(e).context("while rendering a template"))
    }
}

impl From<ApiError> for WebError {
    fn from(e: ApiError) -> Self {
        match e.status {
            StatusCode::NOT_FOUND => WebError::NotFound(e.message),
            StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED => WebError::Forbidden(e.message),
            StatusCode::UNPROCESSABLE_ENTITY => WebError::Invalid(e.message),
            StatusCode::CONFLICT => WebError::Conflict(e.message),
            StatusCode::SERVICE_UNAVAILABLE => WebError::Unavailable(e.message),
            s if s.is_client_error() => WebError::BadRequest(e.message),
            _ => WebError::Internal(
                e.source
                    .unwrap_or_else(|| anyhow::anyhow!("{}: {}", e.code, e.message)),
            ),
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub status: u16,
    pub heading: &'static str,
    pub message: String,
    pub css: String,
    pub js: String,
    pub icon: String,
}

impl WebError {
    /// A stable code for the access log.
    pub fn code(&self) -> &'static str {
        match self {
            WebError::Login { .. } => "login_needed",
            WebError::Elsewhere(_) => "see_other",
            WebError::NotFound(_) => "not_found",
            WebError::Forbidden(_) => "forbidden",
            WebError::Invalid(_) => "invalid",
            WebError::BadRequest(_) => "bad_request",
            WebError::Conflict(_) => "conflict",
            WebError::Unavailable(_) => "unavailable",
            WebError::Internal(_) => "internal",
        }
    }

    fn heading(&self) -> &'static str {
        match self {
            WebError::Login { .. } => "Log in",
            WebError::Elsewhere(_) => "See other",
            WebError::NotFound(_) => "Not found",
            WebError::Forbidden(_) => "Not allowed",
            WebError::Invalid(_) => "Not accepted",
            WebError::BadRequest(_) => "Bad request",
            WebError::Conflict(_) => "Already done",
            WebError::Unavailable(_) => "Unavailable",
            WebError::Internal(_) => "Something went wrong",
        }
    }

    fn message(&self) -> String {
        match self {
            WebError::Internal(_) => {
                "The server could not build this page; the cause is in its log.".to_owned()
            }
            other => other.to_string(),
        }
    }
}

impl ResponseError for WebError {
    fn status_code(&self) -> StatusCode {
        match self {
            WebError::Login { .. } | WebError::Elsewhere(_) => StatusCode::SEE_OTHER,
            WebError::NotFound(_) => StatusCode::NOT_FOUND,
            WebError::Forbidden(_) => StatusCode::FORBIDDEN,
            WebError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::Conflict(_) => StatusCode::CONFLICT,
            WebError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let WebError::Elsewhere(to) = self {
            return super::page::see_other(to);
        }
        if let WebError::Login { next, ended } = self {
            let mut location = format!("/login?next={}", format::encode(next));
            if *ended {
                location.push_str("&ended=1");
            }
            let mut resp = HttpResponse::SeeOther();
            resp.insert_header((header::LOCATION, location))
                .insert_header((header::CACHE_CONTROL, "no-store"));
            if *ended {
                resp.cookie(session::removal());
            }
            return resp.finish();
        }
        if let WebError::Internal(cause) = self {
            tracing::error!(error.cause_chain = ?cause, "page failed");
        }
        let status = self.status_code();
        let page = ErrorPage {
            status: status.as_u16(),
            heading: self.heading(),
            message: self.message(),
            css: assets::CSS.url(),
            js: assets::JS.url(),
            icon: assets::ICON.url(),
        };
        let body = page.render().unwrap_or_else(|e| {
            tracing::error!(error = %e, "the error page did not render");
            format!("{} {}", status.as_u16(), self.heading())
        });
        HttpResponse::build(status)
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .content_type("text/html; charset=utf-8")
            .body(body)
    }
}

/// The HTML 404 page for any path no route takes (the API keeps its JSON 404 under `/api`).
pub async fn not_found(req: actix_web::HttpRequest) -> HttpResponse {
    if req.path().starts_with("/api") || req.path() == "/metrics" {
        return match crate::api::not_found().await {
            Ok(r) => r,
            Err(e) => e.error_response(),
        };
    }
    WebError::NotFound(format!(
        "There is no page at {}. Start again from the overview.",
        req.path()
    ))
    .error_response()
}
