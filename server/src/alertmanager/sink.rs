//! The sink's rounds: every few seconds one replica (the one holding a transaction-scoped
//! advisory lock; the others skip the round) posts to every configured Alertmanager the open
//! problems not sent within the re-send interval, each with an `endsAt` four intervals ahead,
//! and the resolved problems Alertmanager still holds as firing, with their resolution as
//! `endsAt`. What was taken is recorded in `alertmanager_alerts`; what was not is tried again
//! next round. Alertmanager keeps alerts in memory only: one that restarts has them all back
//! within an interval.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use sqlx::PgPool;

use serde_json::{Value, json};

use super::alert::{self, ProblemRow};
use crate::config::ServeArgs;
use crate::metrics::Metrics;
use crate::webhooks::deliver;
use crate::webhooks::target::TargetPolicy;

/// Longest pause between two rounds (shorter when the re-send interval is).
const POLL: Duration = Duration::from_secs(5);
/// Alerts per request.
const CHUNK: usize = 500;
/// How many re-send intervals an alert's `endsAt` lies ahead (as Prometheus does).
const ENDS_AFTER_INTERVALS: u32 = 4;

#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("STAMPBOOK_ALERTMANAGER_URLS: {0}")]
    Target(String),
    #[error("no HTTP client for Alertmanager: {0}")]
    Client(#[from] reqwest::Error),
}

/// Where alerts go and how often.
#[derive(Debug, Clone)]
pub struct Sink {
    pub urls: Vec<url::Url>,
    pub resend: Duration,
    pub public_url: Option<url::Url>,
    targets: Arc<TargetPolicy>,
    client: reqwest::Client,
}

/// What a round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    /// False when another replica held the round.
    pub ran: bool,
    /// Open problems sent (firing).
    pub firing: usize,
    /// Resolved problems sent (ended).
    pub resolved: usize,
    /// Whether every Alertmanager took every alert.
    pub taken: bool,
}

impl Sink {
    /// The sink of these settings; `None` when no Alertmanager is configured. A URL that is not
    /// http(s) or points where webhooks may not go is refused here, at start.
    pub fn from_settings(s: &ServeArgs) -> Result<Option<Sink>, SinkError> {
        if s.alertmanager_urls.is_empty() {
            return Ok(None);
        }
        let policy = deliver::Policy::from_settings(s);
        for u in &s.alertmanager_urls {
            if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
                return Err(SinkError::Target(format!("{u} is not an http(s) URL")));
            }
            if let Some(why) = policy.targets.refuses_url(u) {
                return Err(SinkError::Target(format!("{u}: {why}")));
            }
        }
        Ok(Some(Sink {
            urls: s.alertmanager_urls.clone(),
            resend: Duration::from_secs(s.alertmanager_resend_s.max(1)),
            public_url: s.public_url.clone(),
            client: deliver::client(&policy)?,
            targets: policy.targets,
        }))
    }

    fn endpoint(&self, base: &url::Url) -> String {
        format!("{}/api/v2/alerts", base.as_str().trim_end_matches('/'))
    }

    /// Posts `alerts` to one Alertmanager; `Err` says why it did not take them.
    async fn post(&self, base: &url::Url, alerts: &[&Value]) -> Result<(), String> {
        if let Some(why) = self.targets.refuses_url(base) {
            return Err(format!("target not allowed: {why}"));
        }
        for chunk in alerts.chunks(CHUNK) {
            let resp = self
                .client
                .post(self.endpoint(base))
                .json(chunk)
                .send()
                .await
                .map_err(|e| format!("{e}"))?;
            let status = resp.status();
            if !status.is_success() {
                let body = resp.text().await.unwrap_or_default();
                let body: String = body.chars().take(300).collect();
                return Err(format!("HTTP {status}: {}", body.trim()));
            }
        }
        Ok(())
    }
}

/// One round: sends what is due to every Alertmanager and records what was taken.
pub async fn sync_once(
    pool: &PgPool,
    sink: &Sink,
    metrics: &Metrics,
) -> Result<Round, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let mine = sqlx::query_scalar!(
        r#"select pg_try_advisory_xact_lock(hashtext('stampbook.alertmanager')) as "mine!""#
    )
    .fetch_one(&mut *tx)
    .await?;
    if !mine {
        return Ok(Round::default());
    }
    let resend_s = sink.resend.as_secs_f64();
    let due = sqlx::query!(
        r#"select p.id, p.rule, p.severity, s.name as stamp, h.fqdn::text as host,
                  pl.wap_plan_id as "plan?", p.subject, p.message, p.opened_at
           from problems p
           join stamps s on s.id = p.stamp_id
           left join hosts h on h.id = p.host_id
           left join plans pl on pl.id = p.plan_id
           left join alertmanager_alerts a on a.problem_id = p.id
           where p.resolved_at is null
             and (a.sent_at is null or a.sent_at <= now() - make_interval(secs => $1))"#,
        resend_s
    )
    .fetch_all(&mut *tx)
    .await?;
    // sent as firing, and since resolved or deleted: ended with the labels they fired with,
    // unless an open problem fires with the same labels (its identity opened again under a new
    // id): ending it would end that one too
    let gone = sqlx::query!(
        r#"select a.problem_id, a.alert, coalesce(p.resolved_at, now()) as "ended_at!",
                  exists (select 1 from alertmanager_alerts o
                          join problems op on op.id = o.problem_id and op.resolved_at is null
                          where o.alert -> 'labels' = a.alert -> 'labels') as "shadowed!"
           from alertmanager_alerts a
           left join problems p on p.id = a.problem_id
           where p.id is null or p.resolved_at is not null"#
    )
    .fetch_all(&mut *tx)
    .await?;
    let now = Utc::now();
    let ends_at = now
        + chrono::Duration::from_std(sink.resend * ENDS_AFTER_INTERVALS)
            .unwrap_or(chrono::Duration::hours(1));
    let mut firing: Vec<(i64, Value)> = Vec::new();
    for r in due {
        let row = ProblemRow {
            id: r.id,
            rule: r.rule,
            severity: r.severity,
            stamp: r.stamp,
            host: r.host,
            plan: r.plan,
            subject: r.subject,
            message: r.message,
            opened_at: r.opened_at,
            resolved_at: None,
        };
        let a = alert::alert(&row, ends_at, sink.public_url.as_ref());
        firing.push((row.id, serde_json::to_value(&a).unwrap_or(Value::Null)));
    }
    let (mut ended, mut forgotten) = (Vec::new(), Vec::new());
    let mut ended_alerts = Vec::new();
    for r in gone {
        let labels = r.alert.get("labels");
        if r.shadowed || firing.iter().any(|(_, f)| f.get("labels") == labels) {
            forgotten.push(r.problem_id);
            continue;
        }
        let mut a = r.alert;
        if let Some(o) = a.as_object_mut() {
            o.insert("endsAt".to_owned(), json!(r.ended_at));
        }
        ended.push(r.problem_id);
        ended_alerts.push(a);
    }
    let mut round = Round {
        ran: true,
        firing: firing.len(),
        resolved: ended.len(),
        taken: true,
    };
    let alerts: Vec<&Value> = firing.iter().map(|(_, a)| a).chain(&ended_alerts).collect();
    if !alerts.is_empty() {
        let alerts = &alerts;
        let results = futures_util::future::join_all(
            sink.urls
                .iter()
                .map(|u| async move { (u, sink.post(u, alerts).await) }),
        )
        .await;
        for (u, result) in results {
            metrics.alertmanager_post(result.is_ok(), alerts.len());
            if let Err(why) = result {
                round.taken = false;
                tracing::warn!(alertmanager = %u, alerts = alerts.len(), error = %why,
                    "Alertmanager did not take the alerts; they are sent again next round");
            }
        }
    }
    if round.taken {
        let (ids, sent): (Vec<i64>, Vec<Value>) = firing.into_iter().unzip();
        sqlx::query!(
            r#"insert into alertmanager_alerts (problem_id, alert, sent_at)
               select id, alert, now() from unnest($1::bigint[], $2::jsonb[]) as f(id, alert)
               on conflict (problem_id) do update set alert = excluded.alert, sent_at = excluded.sent_at"#,
            &ids,
            &sent
        )
        .execute(&mut *tx)
        .await?;
        ended.extend(forgotten);
    } else {
        // what was not taken everywhere is due again next round; a shadowed one needs no send
        ended = forgotten;
    }
    sqlx::query!(
        "delete from alertmanager_alerts where problem_id = any($1)",
        &ended
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    if round.firing + round.resolved > 0 {
        tracing::info!(
            firing = round.firing,
            resolved = round.resolved,
            taken = round.taken,
            "alerts sent to Alertmanager"
        );
    }
    Ok(round)
}

/// The sink's loop on one replica (every replica runs it; the advisory lock lets one a round).
pub async fn run(pool: PgPool, sink: Sink, metrics: Arc<Metrics>) {
    let pause = POLL.min(sink.resend);
    loop {
        if let Err(e) = sync_once(&pool, &sink, &metrics).await {
            tracing::warn!(error = %e, "the Alertmanager round failed");
        }
        tokio::time::sleep(pause).await;
    }
}
