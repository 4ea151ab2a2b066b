//! The delivery worker: takes due outbox rows (`FOR UPDATE SKIP LOCKED`, so any number of
//! replicas share the work), POSTs each stored payload, signed, and records every attempt.
//!
//! A claimed row's `next_attempt_at` moves past the request timeout before the request is made
//! (a lease, committed at once: no transaction stays open while a receiver thinks), so a
//! replica that dies mid-delivery leaves the row due again: delivery is at least once, and
//! receivers deduplicate by `event_id`. A 2xx answer delivers; anything else (another status,
//! a redirect, no answer within the timeout) is retried after base × 2^(n−1) ±20%, at most an
//! hour, until `webhook_max_attempts`, then the row is marked failed. Deliveries of one webhook
//! may arrive out of order.

use std::time::{Duration, Instant};

use rand::Rng;
use serde_json::Value;
use sqlx::PgPool;
use tokio::task::JoinSet;
use uuid::Uuid;

use std::sync::Arc;

use super::format::{self, Format};
use super::signature;
use super::target::{CheckedResolver, TargetPolicy};
use crate::metrics::Metrics;

/// Deliveries in flight at once per replica.
const CONCURRENCY: usize = 16;
/// How often an idle worker looks for due rows.
const POLL: Duration = Duration::from_secs(1);
/// Longest wait between two attempts.
const MAX_DELAY: Duration = Duration::from_secs(3600);

/// What the worker needs to know; taken from the server settings.
#[derive(Debug, Clone)]
pub struct Policy {
    pub timeout: Duration,
    pub max_attempts: i32,
    pub retry_base: Duration,
    /// Where deliveries may connect.
    pub targets: Arc<TargetPolicy>,
    /// The dashboard's address, for the links of chat messages.
    pub public_url: Option<url::Url>,
}

impl Policy {
    pub fn from_settings(s: &crate::config::ServeArgs) -> Self {
        Policy {
            timeout: s.webhook_timeout(),
            max_attempts: s.webhook_max_attempts.max(1),
            retry_base: Duration::from_millis(s.webhook_retry_base_ms),
            targets: Arc::new(TargetPolicy::from_settings(s)),
            public_url: s.public_url.clone(),
        }
    }

    /// The wait after the `attempt`-th failed attempt (1-based).
    pub fn backoff(&self, attempt: i32) -> Duration {
        let exp = attempt.saturating_sub(1).clamp(0, 30) as u32;
        let raw = self.retry_base.saturating_mul(2u32.saturating_pow(exp));
        let jittered = raw.mul_f64(rand::rng().random_range(0.8..=1.2));
        jittered.min(MAX_DELAY)
    }
}

/// One claimed delivery.
#[derive(Debug)]
struct Due {
    id: i64,
    event: String,
    event_id: Uuid,
    payload: Value,
    /// This attempt's number (1-based).
    attempt: i32,
    url: String,
    secret: String,
    format: Format,
}

/// The HTTP client of the deliveries: timeouts, no redirects, no proxy (the client must connect
/// to the address it checked), and a resolver that answers only allowed addresses.
pub fn client(policy: &Policy) -> reqwest::Result<reqwest::Client> {
    // reqwest is built without a crypto provider; sqlx and rustls agree on ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .connect_timeout(policy.timeout.min(Duration::from_secs(5)))
        .timeout(policy.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .dns_resolver(CheckedResolver {
            policy: policy.targets.clone(),
        })
        .user_agent(concat!("stampbook/", env!("CARGO_PKG_VERSION")))
        .build()
}

async fn claim(pool: &PgPool, n: usize, lease: Duration) -> Result<Vec<Due>, sqlx::Error> {
    let rows = sqlx::query!(
        // materialized: inlined, the locking pick could run more than once (see `engine::take`)
        r#"with due as materialized (
               select d.id from webhook_deliveries d
               join webhooks w on w.id = d.webhook_id
               where d.delivered_at is null and d.failed_at is null
                 and d.next_attempt_at <= now() and w.deleted_at is null
               order by d.next_attempt_at, d.id
               limit $1
               for update of d skip locked
           )
           update webhook_deliveries d
           set next_attempt_at = now() + make_interval(secs => $2), attempts = d.attempts + 1
           from due, webhooks w
           where d.id = due.id and w.id = d.webhook_id
           returning d.id, d.event, d.event_id, d.payload, d.attempts, w.url, w.secret, w.format"#,
        n as i64,
        lease.as_secs_f64()
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Due {
            id: r.id,
            event: r.event,
            event_id: r.event_id,
            payload: r.payload,
            attempt: r.attempts,
            url: r.url,
            secret: r.secret,
            format: Format::parse(&r.format).unwrap_or_default(),
        })
        .collect())
}

/// POSTs one delivery; `Ok(status)` for a 2xx, else the status (if any) and why.
async fn post(
    client: &reqwest::Client,
    policy: &Policy,
    d: &Due,
) -> Result<u16, (Option<u16>, String)> {
    let targets = &policy.targets;
    // a literal address is connected to without the resolver: check it here (the subscription
    // may predate the allow-list it was checked against)
    let url = reqwest::Url::parse(&d.url).map_err(|e| (None, format!("bad URL: {e}")))?;
    if let Some(why) = targets.refuses_url(&url) {
        return Err((None, format!("target not allowed: {why}")));
    }
    // a chat format is made from the stored event now; every format is signed as sent
    let payload = format::body(d.format, &d.payload, policy.public_url.as_ref());
    let body = serde_json::to_vec(&payload).map_err(|e| (None, e.to_string()))?;
    let sig = signature::sign(&d.secret, &body)
        .ok_or_else(|| (None, "the payload could not be signed".to_owned()))?;
    let (msg_id, sent_at) = (d.event_id.to_string(), chrono::Utc::now().timestamp());
    let standard = signature::standard_sign(&d.secret, &msg_id, sent_at, &body)
        .ok_or_else(|| (None, "the payload could not be signed".to_owned()))?;
    let resp = client
        .post(&d.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("X-Stampbook-Event", &d.event)
        .header("X-Stampbook-Delivery", d.id.to_string())
        .header("X-Stampbook-Event-Id", d.event_id.to_string())
        .header("X-Stampbook-Attempt", d.attempt.to_string())
        .header(signature::HEADER, sig)
        .header("webhook-id", msg_id)
        .header("webhook-timestamp", sent_at.to_string())
        .header("webhook-signature", standard)
        .body(body)
        .send()
        .await
        .map_err(|e| (None, describe(&e)))?;
    let status = resp.status();
    if status.is_success() {
        return Ok(status.as_u16());
    }
    if status.is_redirection() {
        let to = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("?")
            .to_owned();
        return Err((
            Some(status.as_u16()),
            format!("HTTP {status}: redirects are not followed (to {to})"),
        ));
    }
    // the receiver's body is neither read nor kept: the log holds status and timing only
    Err((Some(status.as_u16()), format!("HTTP {status}")))
}

fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut msg = format!("{kind}: {e}");
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        msg.push_str(&format!(": {s}"));
        source = s.source();
    }
    msg
}

/// Records an attempt and the delivery's new state.
async fn record(
    pool: &PgPool,
    policy: &Policy,
    d: &Due,
    result: &Result<u16, (Option<u16>, String)>,
    took: Duration,
) -> Result<(), sqlx::Error> {
    let (status, error) = match result {
        Ok(s) => (Some(i32::from(*s)), None),
        Err((s, e)) => (s.map(i32::from), Some(e.clone())),
    };
    let duration_ms = i32::try_from(took.as_millis()).unwrap_or(i32::MAX);
    let give_up = result.is_err() && d.attempt >= policy.max_attempts;
    let retry_in = policy.backoff(d.attempt).as_secs_f64();
    let mut tx = pool.begin().await?;
    sqlx::query!(
        r#"insert into webhook_attempts (delivery_id, status, error, duration_ms)
           values ($1, $2, $3, $4)"#,
        d.id,
        status,
        error,
        duration_ms
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        r#"update webhook_deliveries
           set last_status = $2, last_error = $3,
               delivered_at = case when $4 then now() end,
               failed_at = case when $5 then now() end,
               next_attempt_at = case when $4 or $5 then next_attempt_at
                                      else now() + make_interval(secs => $6) end
           where id = $1 and delivered_at is null and failed_at is null"#,
        d.id,
        status,
        error,
        result.is_ok(),
        give_up,
        retry_in
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

async fn deliver(
    pool: &PgPool,
    metrics: &Metrics,
    client: &reqwest::Client,
    policy: &Policy,
    d: Due,
) {
    let started = Instant::now();
    let result = post(client, policy, &d).await;
    let took = started.elapsed();
    metrics.webhook_delivery(result.is_ok());
    match &result {
        Ok(status) => tracing::info!(
            delivery = d.id, event = %d.event, status, duration_ms = took.as_millis() as u64,
            "webhook delivered"
        ),
        Err((status, error)) => tracing::warn!(
            delivery = d.id, event = %d.event, attempt = d.attempt, status, %error,
            "webhook delivery failed"
        ),
    }
    if let Err(e) = record(pool, policy, &d, &result, took).await {
        // the lease runs out and the row is tried again: at least once
        tracing::warn!(delivery = d.id, error = %e, "could not record a webhook attempt");
    }
}

/// Claims and delivers what is due now, waiting for every delivery; answers how many were
/// attempted. Tests drive the outbox with this, deterministically.
pub async fn deliver_due(
    pool: &PgPool,
    metrics: &Metrics,
    client: &reqwest::Client,
    policy: &Policy,
) -> usize {
    let lease = policy.timeout + Duration::from_secs(30);
    let batch = match claim(pool, CONCURRENCY, lease).await {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(error = %e, "could not claim webhook deliveries");
            return 0;
        }
    };
    let n = batch.len();
    futures_util::future::join_all(
        batch
            .into_iter()
            .map(|d| deliver(pool, metrics, client, policy, d)),
    )
    .await;
    n
}

/// The worker loop of one replica: keeps up to [`CONCURRENCY`] deliveries in flight, so one
/// slow receiver never holds up the others, and looks for due rows every second when idle.
pub async fn run(pool: PgPool, metrics: Arc<Metrics>, policy: Policy) {
    let client = match client(&policy) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "webhook delivery is off: no HTTP client");
            return;
        }
    };
    let lease = policy.timeout + Duration::from_secs(30);
    let mut inflight = JoinSet::new();
    loop {
        let room = CONCURRENCY.saturating_sub(inflight.len());
        let mut claimed = 0;
        if room > 0 {
            match claim(&pool, room, lease).await {
                Ok(batch) => {
                    claimed = batch.len();
                    for d in batch {
                        let (pool, metrics, client, policy) = (
                            pool.clone(),
                            metrics.clone(),
                            client.clone(),
                            policy.clone(),
                        );
                        inflight.spawn(async move {
                            deliver(&pool, &metrics, &client, &policy, d).await;
                        });
                    }
                }
                Err(e) => tracing::warn!(error = %e, "could not claim webhook deliveries"),
            }
        }
        if claimed > 0 && claimed == room {
            // there may be more due: wait only for a free slot
            let _ = inflight.join_next().await;
            continue;
        }
        tokio::select! {
            Some(_) = inflight.join_next(), if !inflight.is_empty() => {}
            _ = tokio::time::sleep(POLL) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_stops_at_an_hour() {
        let p = Policy {
            timeout: Duration::from_secs(10),
            max_attempts: 15,
            retry_base: Duration::from_secs(10),
            targets: Arc::default(),
            public_url: None,
        };
        for (attempt, base) in [(1, 10.0), (2, 20.0), (3, 40.0), (6, 320.0)] {
            let d = p.backoff(attempt).as_secs_f64();
            assert!(d >= base * 0.8 && d <= base * 1.2, "{attempt}: {d}");
        }
        assert_eq!(p.backoff(12), MAX_DELAY);
        assert_eq!(p.backoff(100), MAX_DELAY);
        let zero = Policy {
            retry_base: Duration::ZERO,
            ..p
        };
        assert_eq!(zero.backoff(3), Duration::ZERO);
    }
}
