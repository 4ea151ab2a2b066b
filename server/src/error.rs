//! The one error type of the HTTP API: a status, a stable snake_case code, a message a person
//! can act on, and the field that is wrong; rendered as `{"error": {"code", "message", "field"}}`.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    pub retry_after_s: Option<u64>,
    /// The cause of a 5xx; logged once, never sent to the client.
    pub source: Option<anyhow::Error>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: Inner<'a>,
}

#[derive(Serialize)]
struct Inner<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
            retry_after_s: None,
            source: None,
        }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        let field = field.into();
        if !field.is_empty() {
            self.field = Some(field);
        }
        self
    }

    /// 400: the request cannot be read (not JSON, wrong types, ...).
    pub fn malformed(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "malformed", message)
    }

    /// 400 with a code of its own (a bad query parameter, a bad cursor, ...).
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 422: well-formed but semantically wrong.
    pub fn invalid(
        code: &'static str,
        message: impl Into<String>,
        field: impl Into<String>,
    ) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message).with_field(field)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{} not found", what.into()),
        )
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    pub fn too_large(limit_bytes: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the body is larger than the limit of {limit_bytes} bytes"),
        )
    }

    pub fn unsupported_media_type(expected: &str) -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("send the body as {expected}"),
        )
    }

    pub fn not_acceptable(offered: &str) -> Self {
        Self::new(
            StatusCode::NOT_ACCEPTABLE,
            "not_acceptable",
            format!("this resource is available as {offered}"),
        )
    }

    pub fn too_many_requests(retry_after_s: u64) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many requests for this token; retry after {retry_after_s} s"),
        );
        e.retry_after_s = Some(retry_after_s);
        e
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }

    pub fn internal(source: anyhow::Error) -> Self {
        let mut e = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; the cause is in the server log",
        );
        e.source = Some(source);
        e
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

/// The cause of a 5xx is the error's source: a command line printing `{:#}` shows the chain.
impl std::error::Error for ApiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|e| -> &(dyn std::error::Error + 'static) { e.as_ref() })
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        if let Some(source) = &self.source {
            tracing::error!(error.cause_chain = ?source, status = self.status.as_u16(), "request failed");
        }
        let mut resp = HttpResponse::build(self.status);
        if let Some(s) = self.retry_after_s {
            resp.insert_header((header::RETRY_AFTER, HeaderValue::from(s)));
        }
        resp.json(Body {
            error: Inner {
                code: self.code,
                message: &self.message,
                field: self.field.as_deref(),
            },
        })
    }
}

/// Maps a unique or foreign-key violation to a 409/422 by constraint name, "no rows" to 404,
/// a database that cannot be reached to 503, anything else to 500.
impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        if unreachable(&err) {
            let mut e = database_unavailable();
            e.source = Some(err.into());
            return e;
        }
        match &err {
            sqlx::Error::RowNotFound => ApiError::not_found("resource"),
            sqlx::Error::Database(db) => {
                let constraint = db.constraint().unwrap_or_default();
                if db.is_unique_violation() {
                    let (code, msg, field) = describe_unique(constraint);
                    ApiError::conflict(code, msg).with_field(field)
                } else if db.is_foreign_key_violation() {
                    ApiError::invalid(
                        "reference_missing",
                        format!("a referenced object does not exist ({constraint})"),
                        "",
                    )
                } else if matches!(db.code().as_deref(), Some("22021" | "22P05")) {
                    // PostgreSQL text cannot hold NUL (U+0000)
                    ApiError::invalid(
                        "invalid_text",
                        "a text value contains a NUL character (U+0000), which cannot be stored",
                        "",
                    )
                } else if db.code().as_deref() == Some("54000") {
                    // e.g. a value too long for an index row: the input's fault, not ours
                    ApiError::invalid("value_too_large", "a value is too large to be stored", "")
                } else if db.is_check_violation() {
                    ApiError::invalid(
                        "constraint_violated",
                        format!("a value is out of range ({constraint})"),
                        "",
                    )
                } else {
                    ApiError::internal(err.into())
                }
            }
            _ => ApiError::internal(err.into()),
        }
    }
}

/// 503 `database_unavailable`: the database cannot be reached or is shutting down.
fn database_unavailable() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "database_unavailable",
        "the database is unreachable; try again shortly",
    )
}

/// The database cannot be reached, or is there but not serving.
fn unreachable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::Io(_)
        | sqlx::Error::PoolClosed
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().as_deref().is_some_and(is_unavailable),
        _ => false,
    }
}

/// SQLSTATEs of a database that is there but not serving: connection exceptions (08),
/// too many connections, shutting down, starting up, and a hot standby that cancelled a read for
/// a conflict with the WAL it replays ("canceling statement due to conflict with recovery",
/// 40001; stampbook runs nothing at serializable isolation, so only a standby answers it).
fn is_unavailable(code: &str) -> bool {
    code.starts_with("08") || matches!(code, "53300" | "57P01" | "57P02" | "57P03" | "40001")
}

fn describe_unique(constraint: &str) -> (&'static str, String, &'static str) {
    match constraint {
        "stamps_name_key" => (
            "stamp_exists",
            "a stamp with this name exists".into(),
            "name",
        ),
        "networks_stamp_name_key" => (
            "network_exists",
            "this stamp already has a network with this name".into(),
            "name",
        ),
        "scale_units_stamp_name_key" => (
            "scale_unit_exists",
            "this stamp already has a scale unit with this name".into(),
            "name",
        ),
        "plans_wap_plan_id_key" => (
            "plan_exists",
            "a plan with this wap_plan_id exists".into(),
            "wap_plan_id",
        ),
        "tokens_name_key" => (
            "token_exists",
            "a token with this name exists".into(),
            "name",
        ),
        other => (
            "conflict",
            format!("conflicts with an existing object ({other})"),
            "",
        ),
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(err: anyhow::Error) -> Self {
        match err.downcast::<sqlx::Error>() {
            Ok(db) => db.into(),
            Err(other) => ApiError::internal(other),
        }
    }
}
