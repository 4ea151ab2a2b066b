//! Running the rules for one stamp and keeping problems true: a problem opens when its
//! (rule, stamp, host, plan, subject) first fires, stays open (last_seen_at fresh) while it
//! fires, and resolves when it stops; a later recurrence is a new problem. One evaluator per
//! stamp at a time, across replicas, by a transaction-scoped advisory lock.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgConnection, PgPool};

use super::load::{self, CertCache};
use super::model::{Finding, OpenProblem, Severity};
use super::{RuleScope, evaluate_host, evaluate_plans, evaluate_stamp, rule_info};
use crate::metrics::Metrics;

/// What one evaluation did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub hosts: usize,
    pub findings: usize,
    pub opened: usize,
    pub resolved: usize,
}

type Identity = (String, Option<i64>, Option<i64>, String);

fn identity(f: &Finding) -> Identity {
    (f.rule.to_owned(), f.host_id, f.plan_id, f.subject.clone())
}

struct Existing {
    id: i64,
    severity: String,
    message: String,
    evidence: Value,
    acknowledged: bool,
}

/// How far a problem's `last_seen_at` may lag the last host run that found it: a run rewrites the
/// row only when its last sighting is older (whole runs record theirs on the stamp).
pub const LAST_SEEN_STEP: std::time::Duration = std::time::Duration::from_secs(60);

/// What to evaluate: the whole stamp, or some hosts (and the stamp-wide rules only when their
/// inputs changed); plan rules always run.
#[derive(Debug, Clone, Copy)]
pub enum Run<'a> {
    Whole,
    Hosts { ids: &'a [i64], stamp_rules: bool },
}

impl Run<'_> {
    fn hosts(&self) -> Option<&[i64]> {
        match self {
            Run::Whole => None,
            Run::Hosts { ids, .. } => Some(ids),
        }
    }

    fn stamp_rules(&self) -> bool {
        match self {
            Run::Whole => true,
            Run::Hosts { stamp_rules, .. } => *stamp_rules,
        }
    }
}

pub use super::queue::lock_stamp;

/// Resolves the open problems about a plan that is being deleted (with their
/// `problem.resolved` events), under the evaluation lock of each stamp they are on, whose
/// problem counts follow; the caller deletes the plan in the same transaction.
pub async fn resolve_plan_problems(
    conn: &mut PgConnection,
    plan_id: i64,
) -> Result<(), sqlx::Error> {
    let stamps = sqlx::query_scalar!(
        "select distinct stamp_id from problems where plan_id = $1 and resolved_at is null order by 1",
        plan_id
    )
    .fetch_all(&mut *conn)
    .await?;
    for stamp_id in &stamps {
        lock_stamp(conn, *stamp_id).await?;
    }
    let resolved = sqlx::query_scalar!(
        r#"update problems set resolved_at = greatest(now(), opened_at),
                  last_seen_at = problem_last_seen(last_seen_at, null, stamp_id)
           where plan_id = $1 and resolved_at is null returning id"#,
        plan_id
    )
    .fetch_all(&mut *conn)
    .await?;
    crate::webhooks::outbox::problem_events(conn, &[], &resolved).await?;
    for stamp_id in &stamps {
        crate::health::refresh_counts(conn, *stamp_id).await?;
    }
    Ok(())
}

/// Evaluates a stamp as `run` says. Writes problems, webhook events and the stamp's status in
/// one transaction.
pub async fn evaluate(
    pool: &PgPool,
    stamp_id: i64,
    run: Run<'_>,
    certs: &mut CertCache,
    metrics: Option<&Metrics>,
) -> Result<Outcome, sqlx::Error> {
    evaluate_at(pool, stamp_id, run, certs, metrics, Utc::now()).await
}

/// [`evaluate`] as if it were `now` for the rules (time-based rules, the service's outages);
/// tests use it to move the clock.
///
/// A retired stamp's hosts and stamp-wide rules are not evaluated: whatever they had open
/// resolves, and only its plans' `plan.stamp_missing` fires until it is brought back.
pub async fn evaluate_at(
    pool: &PgPool,
    stamp_id: i64,
    run: Run<'_>,
    certs: &mut CertCache,
    metrics: Option<&Metrics>,
    now: DateTime<Utc>,
) -> Result<Outcome, sqlx::Error> {
    evaluate_linked(pool, stamp_id, run, certs, metrics, now, &[]).await
}

/// The hosts a span names: their FQDNs, the first [`SPAN_HOSTS`] of them and how many more.
const SPAN_HOSTS: usize = 10;

fn span_hosts(fqdns: &[&str]) -> String {
    let mut named = fqdns[..fqdns.len().min(SPAN_HOSTS)].join(",");
    if fqdns.len() > SPAN_HOSTS {
        named.push_str(&format!(",+{} more", fqdns.len() - SPAN_HOSTS));
    }
    named
}

/// [`evaluate_at`] for a queued request: its span (`evaluate`, with `stamp_id`, `stamp`, and
/// `host`, the FQDNs of the hosts evaluated) links to each of `traceparents`, the spans that
/// queued it.
#[tracing::instrument(name = "evaluate", skip_all, fields(stamp_id = stamp_id, stamp, host, hosts = run.hosts().map_or(-1, |h| h.len() as i64), links = traceparents.len()))]
async fn evaluate_linked(
    pool: &PgPool,
    stamp_id: i64,
    run: Run<'_>,
    certs: &mut CertCache,
    metrics: Option<&Metrics>,
    now: DateTime<Utc>,
    traceparents: &[String],
) -> Result<Outcome, sqlx::Error> {
    let span = tracing::Span::current();
    crate::telemetry::link(&span, traceparents);
    let started = Instant::now();
    let mut tx = pool.begin().await?;
    lock_stamp(&mut tx, stamp_id).await?;
    let Some(mut ctx) = load::stamp_context(&mut tx, stamp_id).await? else {
        return Ok(Outcome::default());
    };
    span.record("stamp", ctx.name.as_str());
    let run = if ctx.retired { Run::Whole } else { run };
    let only = run.hosts();
    let stamp_rules = run.stamp_rules() && !ctx.retired;
    let (rc, roots) = load::remote_console(&mut tx, stamp_id, certs).await?;
    let hosts = if ctx.retired {
        Vec::new()
    } else {
        load::hosts(&mut tx, stamp_id, only, &roots, certs).await?
    };
    if !hosts.is_empty() {
        let fqdns: Vec<&str> = hosts.iter().map(|h| h.fqdn.as_str()).collect();
        span.record("host", span_hosts(&fqdns).as_str());
    }
    let plans = load::plans(&mut tx, stamp_id).await?;
    let wap = load::wap(&mut tx, stamp_id).await?;
    if !hosts.is_empty() {
        ctx.outages = crate::heartbeat::outages(&mut tx, now).await?;
    }

    let mut findings: Vec<Finding> = Vec::new();
    for h in &hosts {
        findings.extend(evaluate_host(&ctx, &rc, h, now));
    }
    if stamp_rules {
        // a whole run has every host's facts already: the stamp rules' inputs come from them
        let loaded = only.is_none().then_some(hosts.as_slice());
        let components = match loaded {
            Some(hosts) => load::components_of(hosts),
            None => load::components(&mut tx, stamp_id).await?,
        };
        let capacity = load::capacity(&mut tx, stamp_id, loaded).await?;
        let days = crate::capacity::history::days(&mut tx, stamp_id, now).await?;
        let forecasts = super::forecast::stamp_forecasts(&days);
        findings.extend(evaluate_stamp(
            &ctx,
            &rc,
            &components,
            &capacity,
            &forecasts,
            now,
        ));
    }

    // every open problem of the stamp (plan rules need them), with words and evidence only for
    // those this run may change
    let host_rules: Vec<String> = super::RULES
        .iter()
        .filter(|r| r.scope == RuleScope::Host)
        .map(|r| r.id.to_owned())
        .collect();
    let existing_rows = sqlx::query!(
        r#"select id, rule, severity, host_id, plan_id, subject,
                  problem_acknowledged(ack_at, ack_until) as "acknowledged!",
                  case when $2::bigint[] is null or p.host_id = any($2) or not (p.rule = any($3))
                       then message end as message,
                  case when $2::bigint[] is null or p.host_id = any($2) or not (p.rule = any($3))
                       then evidence end as evidence
           from problems p where stamp_id = $1 and resolved_at is null"#,
        stamp_id,
        only,
        &host_rules
    )
    .fetch_all(&mut *tx)
    .await?;
    let evaluated: HashSet<i64> = hosts.iter().map(|h| h.host_id).collect();
    let in_scope = |rule: &str, host_id: Option<i64>| match rule_info(rule).map(|r| r.scope) {
        Some(RuleScope::Host) => only.is_none() || host_id.is_some_and(|h| evaluated.contains(&h)),
        Some(RuleScope::Stamp) => stamp_rules || ctx.retired,
        Some(RuleScope::Plan) => true,
        // a rule that no longer exists: its problems end at the next full run
        None => only.is_none(),
    };
    let mut existing: HashMap<Identity, Existing> = HashMap::new();
    let mut outside: Vec<OpenProblem> = Vec::new();
    for r in existing_rows {
        let key = (r.rule.clone(), r.host_id, r.plan_id, r.subject.clone());
        let scoped = in_scope(&r.rule, r.host_id);
        if !scoped {
            outside.push(OpenProblem {
                rule: r.rule,
                severity: Severity::parse(&r.severity).unwrap_or(Severity::Warning),
                host_id: r.host_id,
                subject: r.subject,
                acknowledged: r.acknowledged,
            });
            continue;
        }
        existing.insert(
            key,
            Existing {
                id: r.id,
                severity: r.severity,
                message: r.message.unwrap_or_default(),
                evidence: r.evidence.unwrap_or_default(),
                acknowledged: r.acknowledged,
            },
        );
    }

    // plan rules see every problem open after this run (plan rules' own excluded by them)
    let mut open = outside;
    open.extend(findings.iter().map(|f| OpenProblem {
        rule: f.rule.to_owned(),
        severity: f.severity,
        host_id: f.host_id,
        subject: f.subject.clone(),
        acknowledged: existing.get(&identity(f)).is_some_and(|e| e.acknowledged),
    }));
    findings.extend(evaluate_plans(&ctx, &plans, &open));
    findings.extend(super::wap_plans::evaluate(&ctx, &wap));

    let whole = matches!(run, Run::Whole);
    let outcome = reconcile(&mut tx, stamp_id, &findings, existing, whole).await?;
    // host counts and the nearest expiry: always after a whole run, at most every 10 s after
    // host runs (their cost grows with the stamp, a host run's should not)
    let due = matches!(run, Run::Whole)
        || sqlx::query_scalar!(
            r#"select coalesce((select evaluated_at < now() - interval '10 seconds' from stamp_status where stamp_id = $1), true) as "due!""#,
            stamp_id
        )
        .fetch_one(&mut *tx)
        .await?;
    if due {
        refresh_status(&mut tx, stamp_id).await?;
    }
    if whole {
        // every problem still open was seen now (see `problem_last_seen` in the migrations)
        sqlx::query!(
            "update stamp_status set whole_evaluated_at = now() where stamp_id = $1",
            stamp_id
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    if let Some(m) = metrics {
        m.rule_run(started.elapsed());
    }
    tracing::debug!(
        duration_ms = started.elapsed().as_millis() as u64,
        opened = outcome.opened,
        resolved = outcome.resolved,
        "stamp evaluated"
    );
    Ok(Outcome {
        hosts: hosts.len(),
        findings: findings.len(),
        ..outcome
    })
}

async fn reconcile(
    tx: &mut PgConnection,
    stamp_id: i64,
    findings: &[Finding],
    mut existing: HashMap<Identity, Existing>,
    whole: bool,
) -> Result<Outcome, sqlx::Error> {
    let mut touch: Vec<i64> = Vec::new();
    let mut changed: Vec<(i64, &Finding)> = Vec::new();
    let mut fresh: Vec<&Finding> = Vec::new();
    let mut seen: HashSet<Identity> = HashSet::new();
    let mut severity_changed = false;
    for f in findings {
        let key = identity(f);
        if !seen.insert(key.clone()) {
            continue;
        }
        match existing.remove(&key) {
            Some(e)
                if e.severity == f.severity.as_str()
                    && e.message == f.message
                    && e.evidence == f.evidence =>
            {
                touch.push(e.id)
            }
            Some(e) => {
                severity_changed |= e.severity != f.severity.as_str();
                changed.push((e.id, f))
            }
            None => fresh.push(f),
        }
    }
    if !changed.is_empty() {
        // still firing, with new words or evidence (an age, a severity): one statement for all
        let ids: Vec<i64> = changed.iter().map(|(id, _)| *id).collect();
        let severities: Vec<String> = changed
            .iter()
            .map(|(_, f)| f.severity.as_str().to_owned())
            .collect();
        let messages: Vec<String> = changed.iter().map(|(_, f)| f.message.clone()).collect();
        let evidence: Vec<Value> = changed.iter().map(|(_, f)| f.evidence.clone()).collect();
        sqlx::query!(
            r#"update problems p set severity = x.s, message = x.m, evidence = x.e, last_seen_at = now()
               from unnest($1::bigint[], $2::text[], $3::text[], $4::jsonb[]) as x(id, s, m, e)
               where p.id = x.id"#,
            &ids,
            &severities,
            &messages,
            &evidence
        )
        .execute(&mut *tx)
        .await?;
    }
    // a whole run records its time on the stamp instead of rewriting every unchanged problem; a
    // host run moves the last sighting of what it still finds at most once a LAST_SEEN_STEP (its
    // plan rules run every time, and a stamp under a fleet's reports runs every few seconds)
    if !touch.is_empty() && !whole {
        sqlx::query!(
            "update problems set last_seen_at = now() where id = any($1) and last_seen_at < now() - make_interval(secs => $2)",
            &touch,
            LAST_SEEN_STEP.as_secs_f64()
        )
        .execute(&mut *tx)
        .await?;
    }
    let gone: Vec<i64> = existing.values().map(|e| e.id).collect();
    if !gone.is_empty() {
        sqlx::query!(
            r#"update problems set resolved_at = greatest(now(), opened_at),
                      last_seen_at = problem_last_seen(last_seen_at, null, stamp_id)
               where id = any($1)"#,
            &gone
        )
        .execute(&mut *tx)
        .await?;
    }
    let mut opened: Vec<i64> = Vec::new();
    if !fresh.is_empty() {
        let rules: Vec<String> = fresh.iter().map(|f| f.rule.to_owned()).collect();
        let severities: Vec<String> = fresh
            .iter()
            .map(|f| f.severity.as_str().to_owned())
            .collect();
        let hosts: Vec<i64> = fresh.iter().map(|f| f.host_id.unwrap_or(0)).collect();
        let plans: Vec<i64> = fresh.iter().map(|f| f.plan_id.unwrap_or(0)).collect();
        let subjects: Vec<String> = fresh.iter().map(|f| f.subject.clone()).collect();
        let messages: Vec<String> = fresh.iter().map(|f| f.message.clone()).collect();
        let evidence: Vec<Value> = fresh.iter().map(|f| f.evidence.clone()).collect();
        opened = sqlx::query_scalar!(
            r#"insert into problems (rule, severity, stamp_id, host_id, plan_id, subject, message, evidence)
               select r, s, $1, nullif(h, 0), nullif(p, 0), sub, m, e
               from unnest($2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::text[], $7::text[], $8::jsonb[])
                    as x(r, s, h, p, sub, m, e)
               returning id"#,
            stamp_id,
            &rules,
            &severities,
            &hosts,
            &plans,
            &subjects,
            &messages,
            &evidence
        )
        .fetch_all(&mut *tx)
        .await?;
    }
    crate::webhooks::outbox::problem_events(tx, &opened, &gone).await?;
    if severity_changed || !opened.is_empty() || !gone.is_empty() {
        crate::health::refresh_counts(tx, stamp_id).await?;
    }
    Ok(Outcome {
        hosts: 0,
        findings: 0,
        opened: opened.len(),
        resolved: gone.len(),
    })
}

/// The per-stamp figures the overview shows without scanning the fleet.
async fn refresh_status(tx: &mut PgConnection, stamp_id: i64) -> Result<(), sqlx::Error> {
    let nearest = sqlx::query!(
        r#"select nearest_cert_expiry as "not_after!", nearest_cert_thumbprint as "thumbprint!", fqdn::text as "fqdn!"
           from hosts where stamp_id = $1 and nearest_cert_expiry is not null
           order by nearest_cert_expiry limit 1"#,
        stamp_id
    )
    .fetch_optional(&mut *tx)
    .await?;
    sqlx::query!(
        r#"insert into stamp_status (stamp_id, evaluated_at, hosts_total, hosts_stale, nearest_cert_expiry,
               nearest_cert_thumbprint, nearest_cert_host, physical_cores, physical_memory_mb, physical_storage_gb,
               used_vms, used_vcpus, used_memory_mb)
           select $1, now(), count(*),
                  -- stale as host.stale says (the service's own outages excused), from the kept counts
                  coalesce((select sum(n) from stamp_problem_counts c
                            where c.stamp_id = $1 and c.rule = 'host.stale'), 0),
                  $2, $3, $4,
                  coalesce(sum(cpu_cores) filter (where 'hyperv_host' = any(roles)), 0),
                  coalesce(sum(memory_mb) filter (where 'hyperv_host' = any(roles)), 0),
                  coalesce(sum(storage_gb) filter (where 'hyperv_host' = any(roles)), 0),
                  coalesce(sum(vm_count) filter (where 'hyperv_host' = any(roles)), 0),
                  coalesce(sum(vm_vcpus) filter (where 'hyperv_host' = any(roles)), 0),
                  coalesce(sum(vm_memory_mb) filter (where 'hyperv_host' = any(roles)), 0)
           from hosts where stamp_id = $1
           on conflict (stamp_id) do update set
               evaluated_at = excluded.evaluated_at, hosts_total = excluded.hosts_total, hosts_stale = excluded.hosts_stale,
               nearest_cert_expiry = excluded.nearest_cert_expiry, nearest_cert_thumbprint = excluded.nearest_cert_thumbprint,
               nearest_cert_host = excluded.nearest_cert_host, physical_cores = excluded.physical_cores,
               physical_memory_mb = excluded.physical_memory_mb, physical_storage_gb = excluded.physical_storage_gb,
               used_vms = excluded.used_vms, used_vcpus = excluded.used_vcpus, used_memory_mb = excluded.used_memory_mb"#,
        stamp_id,
        nearest.as_ref().map(|n| n.not_after),
        nearest.as_ref().map(|n| n.thumbprint.clone()),
        nearest.as_ref().map(|n| n.fqdn.clone())
    )
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// A queued evaluation request: the stamp, its hosts (none: the whole stamp), whether the
/// stamp-wide rules run, and the `traceparent`s of what queued it.
pub type Taken = (i64, Option<Vec<i64>>, bool, Vec<String>);

/// Takes the longest-queued stamp (other replicas and lanes skip it) and removes it from the
/// queue: none or one. The pick is a materialized CTE: as `delete ... where stamp_id in (select
/// ... limit 1 for update skip locked)` the planner may run the sub-select once per queue row (a
/// nested-loop semi join, its choice whenever the queue's statistics say empty), and with
/// another lane locking rows meanwhile each run picks a different row: one call then deleted
/// dozens of queued stamps and evaluated one. The statement has no parameter, so PostgreSQL
/// plans it once per connection: with `limit $1` it planned it again on every call (a custom
/// plan each time, 0.15 ms, as long as the statement itself took).
pub async fn take(pool: &PgPool) -> Result<Vec<Taken>, sqlx::Error> {
    Ok(sqlx::query!(
        r#"with picked as materialized (
               select stamp_id from evaluation_queue
               order by requested_at, stamp_id
               limit 1
               for update skip locked
           )
           delete from evaluation_queue q using picked
           where q.stamp_id = picked.stamp_id
           returning q.stamp_id, q.host_ids, q.stamp_rules, q.traceparents"#
    )
    .fetch_all(pool)
    .await?
    .into_iter()
    .map(|r| (r.stamp_id, r.host_ids, r.stamp_rules, r.traceparents))
    .collect())
}

/// Queues every stamp for a whole evaluation (the timer's job: expiry and staleness move with time).
pub async fn request_all(pool: &PgPool) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query!(
        r#"insert into evaluation_queue (stamp_id, host_ids) select id, null from stamps
           on conflict (stamp_id) do update set host_ids = null"#
    )
    .execute(pool)
    .await?
    .rows_affected())
}

/// How the evaluator gives way to requests: while requests other than agents' reports are
/// being answered (reports are the evaluator's input: it keeps up with them), counting the
/// gaps between them (one was answered less than [`Pace::QUIET`] ago: at 100 requests a second
/// the next is due within 10 ms, and a stamp run started in the gap would meet it), the lanes
/// take turns (one stamp run at a time: [`Pace::admit`]) and the lane whose turn it is rests
/// `rest` times the length of the run it just made before giving the turn back (2: the
/// evaluator as a whole works at most a third of that time, however many lanes it has), never
/// more than [`Pace::MAX_REST`] at once. The default (tools, tests) neither rests nor counts
/// runs.
#[derive(Clone)]
pub struct Pace {
    metrics: Option<Arc<Metrics>>,
    rest: f64,
    quiet: std::time::Duration,
    turn: Arc<tokio::sync::Semaphore>,
}

impl Default for Pace {
    fn default() -> Pace {
        Pace {
            metrics: None,
            rest: 0.0,
            quiet: Pace::QUIET,
            turn: Arc::new(tokio::sync::Semaphore::new(1)),
        }
    }
}

impl Pace {
    pub const MAX_REST: std::time::Duration = std::time::Duration::from_secs(2);
    /// How long after the last request was answered the evaluator still gives way.
    pub const QUIET: std::time::Duration = std::time::Duration::from_secs(1);

    pub fn new(metrics: Arc<Metrics>, rest: f64) -> Pace {
        Pace {
            metrics: Some(metrics),
            rest: if rest.is_finite() { rest.max(0.0) } else { 0.0 },
            ..Pace::default()
        }
    }

    /// The same, giving way until `quiet` after the last request (tests).
    pub fn quiet_after(self, quiet: std::time::Duration) -> Pace {
        Pace { quiet, ..self }
    }

    fn requests_lately(&self) -> bool {
        self.rest > 0.0
            && self
                .metrics
                .as_deref()
                .is_some_and(|m| m.others_lately(self.quiet))
    }

    /// Before a stamp run: while requests are being answered, waits for the evaluator's one
    /// turn and answers it (held through the run and its rest); otherwise answers `None` at
    /// once, and every lane runs.
    pub async fn admit(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        if !self.requests_lately() {
            return None;
        }
        // the semaphore is never closed
        self.turn.clone().acquire_owned().await.ok()
    }

    /// How long to rest after a run that took `took`, as things stand now.
    pub fn rest_after(&self, took: std::time::Duration) -> Option<std::time::Duration> {
        self.requests_lately()
            .then(|| took.mul_f64(self.rest).min(Pace::MAX_REST))
    }

    async fn after(&self, took: std::time::Duration) {
        if let (Some(rest), Some(m)) = (self.rest_after(took), self.metrics.as_deref()) {
            tokio::time::sleep(rest).await;
            m.evaluation_rested(rest);
        }
    }
}

/// Evaluates everything queued until the queue is empty, with one lane per certificate cache
/// in `caches` (lanes take different stamps, so they use the cores side by side); answers how
/// many stamps ran. A stamp whose evaluation fails goes back to the queue.
pub async fn drain(pool: &PgPool, caches: &mut Vec<CertCache>) -> Result<usize, sqlx::Error> {
    drain_paced(pool, caches, &Pace::default()).await
}

/// [`drain`], giving way to requests and counting runs in `/metrics` as `pace` says (the
/// server's evaluator).
pub async fn drain_paced(
    pool: &PgPool,
    caches: &mut Vec<CertCache>,
    pace: &Pace,
) -> Result<usize, sqlx::Error> {
    if caches.is_empty() {
        caches.push(CertCache::default());
    }
    let lanes: Vec<_> = std::mem::take(caches)
        .into_iter()
        .map(|mut certs| {
            let (pool, pace) = (pool.clone(), pace.clone());
            tokio::spawn(async move {
                let result = lane(&pool, &mut certs, &pace).await;
                (certs, result)
            })
        })
        .collect();
    let mut done = 0;
    let mut failure = None;
    for lane in lanes {
        match lane.await {
            Ok((certs, result)) => {
                caches.push(certs);
                match result {
                    Ok(n) => done += n,
                    Err(e) => failure = Some(e),
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "an evaluation lane stopped");
                caches.push(CertCache::default());
            }
        }
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(done),
    }
}

async fn lane(pool: &PgPool, certs: &mut CertCache, pace: &Pace) -> Result<usize, sqlx::Error> {
    let metrics = pace.metrics.as_deref();
    let mut done = 0;
    loop {
        // the turn before the take: a stamp waiting for a turn out of the queue would be queued
        // again by the next report of it, and evaluated twice
        let turn = pace.admit().await;
        let taken = take(pool).await?;
        if taken.is_empty() {
            return Ok(done);
        }
        // whatever was taken is evaluated, or queued again: nothing leaves the queue unseen
        for (i, (stamp_id, hosts, stamp_rules, traceparents)) in taken.iter().enumerate() {
            let run = match hosts.as_deref() {
                None => Run::Whole,
                Some(ids) => Run::Hosts {
                    ids,
                    stamp_rules: *stamp_rules,
                },
            };
            let started = Instant::now();
            match evaluate_linked(
                pool,
                *stamp_id,
                run,
                certs,
                metrics,
                Utc::now(),
                traceparents,
            )
            .await
            {
                Ok(_) => {
                    done += 1;
                    pace.after(started.elapsed()).await;
                }
                Err(e) => {
                    tracing::error!(stamp_id, error = %e, "rule evaluation failed; queued again");
                    let mut conn = pool.acquire().await?;
                    for (stamp_id, ..) in &taken[i..] {
                        super::queue::request_stamp(&mut conn, *stamp_id).await?;
                    }
                    return Err(e);
                }
            }
            certs.trim();
        }
        drop(turn);
    }
}

/// The most lanes [`lanes`] makes: each keeps a certificate cache of its own (up to 250,000
/// certificates), which bounds the evaluator's memory.
pub const MAX_LANES: usize = 4;

/// Lanes for [`drain`]: one more than the cores (at least 2, at most [`MAX_LANES`]). A lane
/// alternates between building its stamp's findings and waiting for the database, so with one
/// lane per core a core idles whenever a lane waits: on 2 cores, 3 lanes re-evaluate 1,000,000
/// hosts in 49–55 s where 2 took 61–64 s (docs/PERFORMANCE.md).
pub fn lanes() -> Vec<CertCache> {
    (0..lane_count()).map(|_| CertCache::default()).collect()
}

/// How many lanes [`lanes`] makes (what the background pool is sized for).
pub fn lane_count() -> usize {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    (cores + 1).clamp(2, MAX_LANES)
}

/// For tests and tools: evaluate every stamp now, synchronously.
pub async fn evaluate_all(pool: &PgPool) -> Result<usize, sqlx::Error> {
    request_all(pool).await?;
    drain(pool, &mut lanes()).await
}

/// For tests: evaluate what is queued now.
pub async fn evaluate_queued(pool: &PgPool) -> Result<usize, sqlx::Error> {
    drain(pool, &mut lanes()).await
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::metrics::RequestKind;

    #[test]
    fn one_lane_more_than_cores_so_that_none_idles_while_a_lane_waits_on_the_database() {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        assert_eq!(lanes().len(), (cores + 1).clamp(2, MAX_LANES));
        assert_eq!(lane_count(), lanes().len());
    }

    #[test]
    fn a_lane_rests_while_requests_other_than_reports_are_answered_and_just_after() {
        let m = Arc::new(Metrics::default());
        let pace = Pace::new(m.clone(), 2.0);
        let run = Duration::from_millis(30);
        assert_eq!(pace.rest_after(run), None, "no request in flight: no rest");
        let reporting = m.request_begun(RequestKind::Report);
        assert_eq!(pace.rest_after(run), None, "an agent's report: no rest");
        drop(reporting);
        let answering = m.request_begun(RequestKind::Other);
        assert_eq!(pace.rest_after(run), Some(Duration::from_millis(60)));
        assert_eq!(
            pace.rest_after(Duration::from_secs(10)),
            Some(Pace::MAX_REST),
            "a long run rests at most MAX_REST"
        );
        assert_eq!(Pace::new(m.clone(), 0.0).rest_after(run), None, "0: never");
        assert_eq!(Pace::new(m.clone(), f64::NAN).rest_after(run), None);
        assert_eq!(Pace::default().rest_after(run), None);
        drop(answering);
        assert_eq!(m.others_in_flight(), 0);
        assert_eq!(
            pace.rest_after(run),
            Some(Duration::from_millis(60)),
            "a request was just answered: the next may be on its way"
        );
    }

    #[tokio::test]
    async fn health_probes_and_metrics_scrapes_do_not_make_the_evaluator_give_way() {
        // a load balancer probing every second would otherwise hold the lanes back for good
        let m = Arc::new(Metrics::default());
        let pace = Pace::new(m.clone(), 2.0);
        let probing = m.request_begun(RequestKind::Probe);
        assert_eq!(pace.rest_after(Duration::from_millis(30)), None);
        assert!(pace.admit().await.is_none());
        drop(probing);
        assert_eq!(
            pace.rest_after(Duration::from_millis(30)),
            None,
            "nor once answered"
        );
        assert!(pace.admit().await.is_none());
    }

    #[tokio::test]
    async fn the_evaluator_gives_way_in_the_gaps_between_requests_and_stops_once_they_stop() {
        let m = Arc::new(Metrics::default());
        let pace = Pace::new(m.clone(), 2.0).quiet_after(Duration::from_millis(100));
        let run = Duration::from_millis(30);
        drop(m.request_begun(RequestKind::Other));
        assert!(
            pace.rest_after(run).is_some(),
            "between two requests: rests"
        );
        assert!(
            pace.admit().await.is_some(),
            "between two requests: one lane at a time"
        );
        drop(m.request_begun(RequestKind::Report));
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(
            pace.rest_after(run),
            None,
            "quiet for longer than the window: no rest"
        );
        assert!(pace.admit().await.is_none(), "and every lane runs");
    }

    #[tokio::test]
    async fn while_requests_are_answered_one_lane_runs_at_a_time_and_without_them_all_do() {
        let m = Arc::new(Metrics::default());
        // no window after a request: only what is in flight counts (the window has its test)
        let pace = Pace::new(m.clone(), 2.0).quiet_after(Duration::ZERO);
        let (a, b) = (pace.admit().await, pace.admit().await);
        assert!(
            a.is_none() && b.is_none(),
            "no request in flight: every lane runs"
        );
        let answering = m.request_begun(RequestKind::Other);
        let first = pace.admit().await;
        assert!(
            first.is_some(),
            "a request in flight: a lane takes the evaluator's one turn"
        );
        let second = pace.clone();
        let waiting = tokio::spawn(async move { second.admit().await.is_some() });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "a second lane waits for the turn");
        drop(first);
        assert!(
            waiting.await.unwrap(),
            "and runs when the first gives it back"
        );
        drop(answering);
        let reporting = m.request_begun(RequestKind::Report);
        assert!(
            pace.admit().await.is_none(),
            "an agent's report does not hold lanes back"
        );
        drop(reporting);
        let unpaced = Pace::new(m.clone(), 0.0);
        let _answering = m.request_begun(RequestKind::Other);
        assert!(unpaced.admit().await.is_none(), "0 never holds lanes back");
        assert!(Pace::default().admit().await.is_none());
    }
}
