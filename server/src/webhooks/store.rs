//! Webhook subscriptions and their delivery log: validation of a new subscription, the secret
//! (generated when not given, shown once, never listed), soft deletion that stops deliveries.

use base64::Engine;
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::format::{FORMATS, Format};
use super::outbox::EVENTS;
use super::target::TargetPolicy;
use crate::error::ApiError;

/// Every generated secret starts with this.
pub const SECRET_PREFIX: &str = "whsec_";

/// An event a webhook can subscribe to (what the OpenAPI document lists for `events`; the
/// handlers compare names with [`EVENTS`]).
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub enum WebhookEvent {
    #[serde(rename = "problem.opened")]
    ProblemOpened,
    #[serde(rename = "problem.resolved")]
    ProblemResolved,
}

/// A new subscription (`POST /api/v1/webhooks`).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// Where events are POSTed: an `http` or `https` URL without credentials in it.
    #[schema(
        example = "https://billing.example.net/hooks/stampbook",
        min_length = 1,
        max_length = 2048,
        pattern = "^[Hh][Tt][Tt][Pp][Ss]?://"
    )]
    pub url: String,
    /// Events to receive: `problem.opened`, `problem.resolved` (at least one).
    #[schema(value_type = Vec<WebhookEvent>, example = json!(["problem.opened", "problem.resolved"]), min_items = 1)]
    pub events: Vec<String>,
    /// The HMAC key the deliveries are signed with, 16 to 256 characters; generated (and
    /// answered once) when left out.
    #[schema(min_length = 16, max_length = 256)]
    pub secret: Option<String>,
    /// Free text shown in lists (at most 200 characters).
    #[schema(max_length = 200)]
    pub description: Option<String>,
    /// How deliveries look: `stampbook` (the signed event JSON, the default), `slack` (a Slack
    /// incoming-webhook message) or `teams` (a Microsoft Teams Workflows-webhook message).
    #[schema(value_type = Option<Format>)]
    pub format: Option<String>,
}

/// A change to a subscription (`PATCH /api/v1/webhooks/{id}`): what is given replaces what it
/// had, what is left out stays. The URL and the secret are not changed: subscribe anew instead.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookChange {
    /// Events to receive: `problem.opened`, `problem.resolved` (at least one).
    #[schema(value_type = Option<Vec<WebhookEvent>>, min_items = 1)]
    pub events: Option<Vec<String>>,
    /// Free text shown in lists (at most 200 characters).
    #[schema(max_length = 200)]
    pub description: Option<String>,
    /// `stampbook`, `slack` or `teams`; pending deliveries are sent in the new format.
    #[schema(value_type = Option<Format>)]
    pub format: Option<String>,
}

/// A subscription as listed: never its secret.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Webhook {
    pub id: i64,
    pub url: String,
    pub events: Vec<String>,
    pub description: String,
    /// `stampbook`, `slack` or `teams`.
    #[schema(value_type = Format)]
    pub format: String,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    /// When it was deleted (deliveries stopped); null while active.
    pub deleted_at: Option<DateTime<Utc>>,
}

/// The answer to a creation: the subscription and its secret, shown this once.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub webhook: Webhook,
    /// The HMAC-SHA256 key of `X-Stampbook-Signature`; shown this once.
    pub secret: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Not delivered yet; `next_attempt_at` says when it is tried (again).
    Pending,
    /// A 2xx answer was received.
    Delivered,
    /// Gave up after the last attempt, or the webhook was deleted.
    Failed,
}

/// One try to deliver an event.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Attempt {
    pub at: DateTime<Utc>,
    /// The receiver's HTTP status; null when no answer came (connection refused, timeout).
    pub status: Option<i32>,
    /// Why the attempt failed; null when it succeeded.
    pub error: Option<String>,
    pub duration_ms: i32,
}

/// One event for one webhook, with every attempt made.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Delivery {
    /// Also sent as `X-Stampbook-Delivery`.
    pub id: i64,
    pub event: String,
    /// Also sent as `X-Stampbook-Event-Id` and in the body.
    pub event_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub status: DeliveryStatus,
    /// When the next attempt is due; null once delivered or failed.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub failed_at: Option<DateTime<Utc>>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    /// Oldest first.
    pub attempts: Vec<Attempt>,
}

fn generate_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "{SECRET_PREFIX}{}",
        // standard base64, as Standard Webhooks receiver libraries decode it
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

/// Events to subscribe to: a non-empty subset of [`EVENTS`], duplicates collapsed.
fn check_events(asked: &[String]) -> Result<Vec<String>, ApiError> {
    if asked.is_empty() {
        return Err(ApiError::invalid(
            "invalid_events",
            format!("subscribe to at least one of {}", EVENTS.join(", ")),
            "events",
        ));
    }
    let mut events: Vec<String> = Vec::new();
    for (i, e) in asked.iter().enumerate() {
        if !EVENTS.contains(&e.as_str()) {
            return Err(ApiError::invalid(
                "invalid_events",
                format!("unknown event '{e}': use {}", EVENTS.join(", ")),
                format!("events[{i}]"),
            ));
        }
        if !events.contains(e) {
            events.push(e.clone());
        }
    }
    Ok(events)
}

fn check_description(d: &str) -> Result<String, ApiError> {
    if d.chars().count() > 200 || d.contains('\0') {
        return Err(ApiError::invalid(
            "invalid_description",
            "a description is at most 200 characters",
            "description",
        ));
    }
    Ok(d.to_owned())
}

fn check_format(f: &str) -> Result<Format, ApiError> {
    Format::parse(f).ok_or_else(|| {
        ApiError::invalid(
            "invalid_format",
            format!("unknown format '{f}': use {}", FORMATS.join(", ")),
            "format",
        )
    })
}

/// A new subscription checked and ready to store.
#[derive(Debug)]
struct Checked {
    url: String,
    events: Vec<String>,
    secret: String,
    description: String,
    format: Format,
}

/// Checks a new subscription.
fn validate(new: &NewWebhook, targets: &TargetPolicy) -> Result<Checked, ApiError> {
    let bad_url = |why: &str| ApiError::invalid("invalid_url", why.to_owned(), "url");
    if new.url.len() > 2048 {
        return Err(bad_url("a webhook URL is at most 2048 characters"));
    }
    let url =
        reqwest::Url::parse(new.url.trim()).map_err(|e| bad_url(&format!("not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad_url("a webhook URL is http:// or https://"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad_url("a webhook URL names a host"));
    }
    if let Some(why) = targets.refuses_url(&url) {
        return Err(ApiError::invalid(
            "webhook_target_not_allowed",
            format!("webhooks may not be sent there: {why}"),
            "url",
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad_url(
            "put no credentials in the URL (it is listed); receivers check the signature instead",
        ));
    }
    let events = check_events(&new.events)?;
    let secret = match &new.secret {
        None => generate_secret(),
        Some(s) if (16..=256).contains(&s.chars().count()) && !s.chars().any(char::is_control) => {
            s.clone()
        }
        Some(_) => {
            return Err(ApiError::invalid(
                "invalid_secret",
                "a secret is 16 to 256 printable characters (leave it out to get a generated one)",
                "secret",
            ));
        }
    };
    let description = check_description(new.description.as_deref().unwrap_or_default())?;
    let format = new
        .format
        .as_deref()
        .map(check_format)
        .transpose()?
        .unwrap_or_default();
    Ok(Checked {
        url: url.to_string(),
        events,
        secret,
        description,
        format,
    })
}

pub async fn create(
    conn: &mut PgConnection,
    new: &NewWebhook,
    created_by: &str,
    targets: &TargetPolicy,
) -> Result<CreatedWebhook, ApiError> {
    let Checked {
        url,
        events,
        secret,
        description,
        format,
    } = validate(new, targets)?;
    let webhook = sqlx::query_as!(
        Webhook,
        r#"insert into webhooks (url, events, secret, description, format, created_by)
           values ($1, $2, $3, $4, $5, $6)
           returning id, url, events, description, format, created_at, created_by, deleted_at"#,
        url,
        &events,
        secret,
        description,
        format.as_str(),
        created_by
    )
    .fetch_one(conn)
    .await?;
    Ok(CreatedWebhook { webhook, secret })
}

/// By id, after `after_id`; deleted ones only when asked for.
pub async fn list(
    pool: &PgPool,
    include_deleted: bool,
    after_id: Option<i64>,
    limit: i64,
) -> Result<Vec<Webhook>, sqlx::Error> {
    sqlx::query_as!(
        Webhook,
        r#"select id, url, events, description, format, created_at, created_by, deleted_at
           from webhooks
           where ($1 or deleted_at is null) and ($2::bigint is null or id > $2)
           order by id
           limit $3"#,
        include_deleted,
        after_id,
        limit
    )
    .fetch_all(pool)
    .await
}

pub async fn get(conn: &mut PgConnection, id: i64) -> Result<Option<Webhook>, sqlx::Error> {
    sqlx::query_as!(
        Webhook,
        r#"select id, url, events, description, format, created_at, created_by, deleted_at
           from webhooks where id = $1"#,
        id
    )
    .fetch_optional(conn)
    .await
}

/// Marks the webhook deleted (again is a no-op) and gives up its pending deliveries.
/// Applies `change` to a subscription that is not deleted; `Ok(None)` when there is none such.
/// The change is checked first (a refusal names its field).
pub async fn update(
    conn: &mut PgConnection,
    id: i64,
    change: &WebhookChange,
) -> Result<Option<Webhook>, ApiError> {
    let events = change.events.as_deref().map(check_events).transpose()?;
    let description = change
        .description
        .as_deref()
        .map(check_description)
        .transpose()?;
    let format = change.format.as_deref().map(check_format).transpose()?;
    Ok(sqlx::query_as!(
        Webhook,
        r#"update webhooks
           set events = coalesce($2, events), description = coalesce($3, description),
               format = coalesce($4, format)
           where id = $1 and deleted_at is null
           returning id, url, events, description, format, created_at, created_by, deleted_at"#,
        id,
        events.as_deref(),
        description,
        format.map(Format::as_str)
    )
    .fetch_optional(conn)
    .await?)
}

pub async fn delete(conn: &mut PgConnection, id: i64) -> Result<Option<Webhook>, sqlx::Error> {
    let Some(webhook) = sqlx::query_as!(
        Webhook,
        r#"update webhooks set deleted_at = coalesce(deleted_at, now()) where id = $1
           returning id, url, events, description, format, created_at, created_by, deleted_at"#,
        id
    )
    .fetch_optional(&mut *conn)
    .await?
    else {
        return Ok(None);
    };
    sqlx::query!(
        r#"update webhook_deliveries
           set failed_at = now(), last_error = 'the webhook was deleted'
           where webhook_id = $1 and delivered_at is null and failed_at is null"#,
        id
    )
    .execute(conn)
    .await?;
    Ok(Some(webhook))
}

/// Newest first, before `before_id`, each with its attempts.
pub async fn deliveries(
    pool: &PgPool,
    webhook_id: i64,
    before_id: Option<i64>,
    limit: i64,
) -> Result<Vec<Delivery>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select id, event, event_id, created_at, next_attempt_at, delivered_at, failed_at,
                  last_status, last_error
           from webhook_deliveries
           where webhook_id = $1 and ($2::bigint is null or id < $2)
           order by id desc
           limit $3"#,
        webhook_id,
        before_id,
        limit
    )
    .fetch_all(pool)
    .await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let attempts = sqlx::query!(
        r#"select delivery_id, at, status, error, duration_ms
           from webhook_attempts where delivery_id = any($1) order by delivery_id, id"#,
        &ids
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let status = if r.delivered_at.is_some() {
                DeliveryStatus::Delivered
            } else if r.failed_at.is_some() {
                DeliveryStatus::Failed
            } else {
                DeliveryStatus::Pending
            };
            Delivery {
                attempts: attempts
                    .iter()
                    .filter(|a| a.delivery_id == r.id)
                    .map(|a| Attempt {
                        at: a.at,
                        status: a.status,
                        error: a.error.clone(),
                        duration_ms: a.duration_ms,
                    })
                    .collect(),
                id: r.id,
                event: r.event,
                event_id: r.event_id,
                created_at: r.created_at,
                next_attempt_at: (status == DeliveryStatus::Pending).then_some(r.next_attempt_at),
                delivered_at: r.delivered_at,
                failed_at: r.failed_at,
                last_status: r.last_status,
                last_error: r.last_error,
                status,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_events_are_the_events_handled() {
        let documented =
            serde_json::to_value([WebhookEvent::ProblemOpened, WebhookEvent::ProblemResolved])
                .unwrap();
        assert_eq!(documented, serde_json::json!(EVENTS));
    }

    fn new(url: &str, events: &[&str], secret: Option<&str>) -> NewWebhook {
        NewWebhook {
            url: url.into(),
            events: events.iter().map(|e| (*e).to_owned()).collect(),
            secret: secret.map(str::to_owned),
            description: None,
            format: None,
        }
    }

    /// Validation where loopback is allow-listed (the target rules have tests of their own).
    fn check(n: &NewWebhook) -> Result<Checked, ApiError> {
        validate(n, &TargetPolicy::new(vec!["127.0.0.0/8".parse().unwrap()]))
    }

    #[test]
    fn internal_targets_are_refused_naming_the_url() {
        let e = validate(
            &new("http://10.0.0.5/hook", &["problem.opened"], None),
            &TargetPolicy::default(),
        )
        .unwrap_err();
        assert_eq!(e.code, "webhook_target_not_allowed");
        assert_eq!(e.field.as_deref(), Some("url"));
    }

    #[test]
    fn urls_are_http_or_https_with_a_host_and_no_credentials() {
        assert!(check(&new("https://h.example/x", &["problem.opened"], None)).is_ok());
        assert!(check(&new("http://127.0.0.1:9/", &["problem.opened"], None)).is_ok());
        for bad in [
            "ftp://h.example/",
            "file:///etc/passwd",
            "not a url",
            "https://user:pw@h.example/",
        ] {
            let e = check(&new(bad, &["problem.opened"], None)).unwrap_err();
            assert_eq!(
                (e.code, e.field.as_deref()),
                ("invalid_url", Some("url")),
                "{bad}"
            );
        }
    }

    #[test]
    fn events_are_a_non_empty_subset_and_duplicates_collapse() {
        let Checked { events, .. } = check(&new(
            "https://h.example/",
            &["problem.resolved", "problem.resolved"],
            None,
        ))
        .unwrap();
        assert_eq!(events, ["problem.resolved"]);
        assert_eq!(
            check(&new("https://h.example/", &[], None))
                .unwrap_err()
                .code,
            "invalid_events"
        );
        let e = check(&new(
            "https://h.example/",
            &["problem.opened", "stamp.deleted"],
            None,
        ))
        .unwrap_err();
        assert_eq!(e.field.as_deref(), Some("events[1]"));
    }

    #[test]
    fn secrets_are_generated_strong_or_checked() {
        let a = check(&new("https://h.example/", &["problem.opened"], None))
            .unwrap()
            .secret;
        let b = check(&new("https://h.example/", &["problem.opened"], None))
            .unwrap()
            .secret;
        // 32 random bytes in standard base64 (with its padding), as receiver libraries read it
        assert!(a.starts_with(SECRET_PREFIX) && a.len() == SECRET_PREFIX.len() + 44);
        assert_ne!(a, b);
        assert_eq!(
            check(&new(
                "https://h.example/",
                &["problem.opened"],
                Some("short")
            ))
            .unwrap_err()
            .code,
            "invalid_secret"
        );
    }

    #[test]
    fn the_format_is_stampbook_unless_slack_or_teams_is_asked_for() {
        let mut n = new("https://h.example/", &["problem.opened"], None);
        assert_eq!(check(&n).unwrap().format, Format::Stampbook);
        for (asked, got) in [
            ("slack", Format::Slack),
            ("teams", Format::Teams),
            ("stampbook", Format::Stampbook),
        ] {
            n.format = Some(asked.to_owned());
            assert_eq!(check(&n).unwrap().format, got);
        }
        n.format = Some("discord".to_owned());
        let e = check(&n).unwrap_err();
        assert_eq!(
            (e.code, e.field.as_deref()),
            ("invalid_format", Some("format"))
        );
    }
}
