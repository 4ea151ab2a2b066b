//! Load and timing figures for `deploy/bench-ingest`, `deploy/bench-rules` and
//! `deploy/bench-background` (run with
//! `cargo bench -p stampbook-server --bench bench -- <ingest|rules|push> ...`): a simulated fleet
//! pushed over real HTTP to a running server, latencies and throughput measured here, and the
//! rule engine timed in-process against the same database. The long phases show their progress
//! on stderr (a bar on a terminal, plain lines otherwise); stdout carries the figures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use chrono::Utc;
use clap::{Parser, Subcommand};
use futures_util::StreamExt;
use reqwest::Client;
use sqlx::PgPool;
use stampbook_agent::simulate::certs::FleetCerts;
use stampbook_agent::simulate::{Fleet, FleetOptions};
use stampbook_progress::{Out, Progress};
use stampbook_server::rules::engine;
use stampbook_server::rules::load::CertCache;
use stampbook_wire::Report;

#[derive(Parser)]
struct Cli {
    #[arg(long)]
    server: String,
    #[arg(long)]
    token: String,
    #[arg(long)]
    database_url: String,
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    #[command(subcommand)]
    what: What,
}

#[derive(Subcommand)]
enum What {
    /// First-seen and unchanged reports over HTTP; writes the equivalent pgbench script.
    Ingest {
        #[arg(long, default_value_t = 20)]
        stamps: usize,
        #[arg(long, default_value_t = 100)]
        hosts: usize,
        #[arg(long)]
        pgbench_script: std::path::PathBuf,
    },
    /// A full re-evaluation of an already loaded database, timed.
    Full,
    /// Where the time of one stamp's evaluation goes, phase by phase (on a loaded database).
    Profile {
        #[arg(long, default_value_t = 1)]
        stamp_id: i64,
    },
    /// Changed reports for the hosts of a fleet loaded in SQL by deploy/scale/fleet.sql (host
    /// i is `host-000000i.example.net` in stamp `st(i mod stamps + 1)`), host after host from
    /// `first`, pushed over HTTP for `seconds`: at `rate` reports/s, or as fast as
    /// `--concurrency` allows (rate 0), at most `count` of them. One report in `fault_every`
    /// (the one at `fault_offset`, default `fault_every / 2`) carries a machine certificate
    /// that expired days ago (`cert.expired` opens); their ids go to `faults_out`. `pass`
    /// moves the VM count of every report, so that hosts pushed before report changed facts
    /// again (a fleet's steady state) rather than facts that replace everything stored.
    Push {
        #[arg(long)]
        hosts: usize,
        #[arg(long)]
        stamps: usize,
        #[arg(long, default_value_t = 1)]
        first: usize,
        #[arg(long, default_value_t = 0.0)]
        rate: f64,
        #[arg(long)]
        seconds: f64,
        #[arg(long, default_value_t = 10)]
        fault_every: usize,
        #[arg(long)]
        fault_offset: Option<usize>,
        #[arg(long)]
        faults_out: Option<std::path::PathBuf>,
        #[arg(long, default_value_t = 0)]
        pass: usize,
        #[arg(long)]
        count: Option<usize>,
        /// The two report templates, kept here across pushes (made on the first): the same
        /// certificates in every push, so that a second push over the same hosts changes only
        /// what `pass` moves.
        #[arg(long)]
        templates: Option<std::path::PathBuf>,
    },
    /// A fleet loaded over HTTP, then full and incremental rule evaluation timed.
    Rules {
        #[arg(long, default_value_t = 100)]
        stamps: usize,
        #[arg(long, default_value_t = 1000)]
        hosts: usize,
        #[arg(long, default_value_t = 200)]
        incremental: usize,
    },
}

fn build(stamps: usize, hosts: usize, faults: bool) -> (Fleet, Vec<Report>) {
    let fleet = Fleet::build(FleetOptions {
        stamps,
        hosts_per_stamp: hosts,
        faults,
        seed: 7,
        now: Utc::now(),
    });
    let certs = FleetCerts::generate(fleet.options.now).unwrap();
    let mut progress = Progress::to(Out::Stderr, "building the fleet: stamps", stamps as u64);
    let reports: Vec<Report> = (0..stamps)
        .flat_map(|i| {
            let reports = fleet.stamp_reports(i, &certs).unwrap();
            progress.advance(1, "");
            reports
        })
        .collect();
    progress.finish();
    (fleet, reports)
}

fn encode(r: &Report) -> Vec<u8> {
    stampbook_agent::push::gzip(&serde_json::to_vec(r).unwrap()).unwrap()
}

struct Run {
    count: usize,
    wall: Duration,
    latencies: Vec<Duration>,
}

impl Run {
    fn per_s(&self) -> f64 {
        self.count as f64 / self.wall.as_secs_f64()
    }
    fn pct(&self, p: f64) -> f64 {
        let mut l = self.latencies.clone();
        l.sort();
        let i = ((l.len() as f64 * p).ceil() as usize).clamp(1, l.len()) - 1;
        l[i].as_secs_f64() * 1000.0
    }
}

/// Pushes `bodies`, `cli.concurrency` at a time; `what` names them in the progress shown (none
/// when `what` is empty: one report of a loop that shows its own).
async fn push_all(http: &Client, cli: &Cli, what: &str, bodies: Vec<Vec<u8>>) -> Run {
    let url = format!("{}/api/v1/reports", cli.server);
    let out = if what.is_empty() {
        Out::Hidden
    } else {
        Out::Stderr
    };
    let mut progress = Progress::to(out, what, bodies.len() as u64);
    let started = Instant::now();
    let latencies: Vec<Duration> = futures_util::stream::iter(bodies)
        .map(|body| {
            let (http, url, token) = (http.clone(), url.clone(), cli.token.clone());
            async move {
                let t = Instant::now();
                let r = http
                    .post(&url)
                    .bearer_auth(token)
                    .header("content-type", "application/json")
                    .header("content-encoding", "gzip")
                    .body(body)
                    .send()
                    .await
                    .expect("request");
                assert_eq!(r.status(), 202, "{}", r.text().await.unwrap_or_default());
                t.elapsed()
            }
        })
        .buffer_unordered(cli.concurrency)
        .inspect(|_| progress.advance(1, ""))
        .collect()
        .await;
    progress.finish();
    Run {
        count: latencies.len(),
        wall: started.elapsed(),
        latencies,
    }
}

async fn apply(http: &Client, cli: &Cli, fleet: &Fleet) {
    let r = http
        .put(format!("{}/api/v1/inventory", cli.server))
        .bearer_auth(&cli.token)
        .json(&fleet.inventory())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
}

async fn wal(pool: &PgPool) -> i64 {
    sqlx::query_scalar("select (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint")
        .fetch_one(pool)
        .await
        .unwrap()
}

fn again(reports: &[Report]) -> Vec<Vec<u8>> {
    reports
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r.report_id = uuid::Uuid::new_v4();
            r.collected_at = Utc::now();
            encode(&r)
        })
        .collect()
}

fn print(label: &str, run: &Run) {
    println!(
        "{label}: {} reports in {:.2} s = {:.1} reports/s, p50 {:.1} ms, p99 {:.1} ms",
        run.count,
        run.wall.as_secs_f64(),
        run.per_s(),
        run.pct(0.50),
        run.pct(0.99)
    );
}

/// A pgbench transaction that writes what a first-seen report writes: the same statements and,
/// on average, the same rows.
fn pgbench_script(reports: &[Report]) -> String {
    let n = reports.len() as f64;
    let avg = |f: &dyn Fn(&Report) -> usize| {
        ((reports.iter().map(f).sum::<usize>() as f64) / n)
            .round()
            .max(1.0) as u32
    };
    let certs = avg(&|r| r.certificates.as_ref().map_or(0, Vec::len));
    let mut distinct = std::collections::HashSet::new();
    for r in reports {
        for c in r.certificates.iter().flatten() {
            distinct.insert(c.der.clone());
        }
    }
    let new_certs = ((distinct.len() as f64) / n).ceil().max(1.0) as u32;
    let routes = avg(&|r| r.routes.as_ref().map_or(0, Vec::len));
    let ifaces = avg(&|r| r.interfaces.as_ref().map_or(0, Vec::len));
    let services = avg(&|r| r.services.as_ref().map_or(0, Vec::len));
    let comps = avg(&|r| {
        r.settings
            .as_ref()
            .and_then(|s| s.components.collected())
            .map_or(0, Vec::len)
    });
    let shared = certs.saturating_sub(new_certs);
    format!(
        r#"-- what one first-seen report writes (averages of the bench fleet): {certs} certificates
-- ({new_certs} new), {routes} routes, {ifaces} interfaces, {services} services, {comps} components
\set n random(1, 2000000000)
BEGIN;
SELECT h.fqdn FROM reports r JOIN hosts h ON h.id = r.host_id WHERE r.report_id = (SELECT gen_random_uuid());
\set stamp random(1, 20)
SELECT id, retired_at FROM stamps WHERE name = 'pgbench-' || :stamp;
SELECT id, stamp_id, last_collected_at, facts_digest FROM hosts WHERE fqdn = 'h' || :client_id || '-' || :n || '.pgbench' FOR UPDATE;
INSERT INTO hosts (fqdn, stamp_id, scale_unit, roles, os_name, os_version, cpu_cores, memory_mb, storage_gb,
    vm_count, vm_vcpus, vm_memory_mb, agent_name, agent_version, first_seen_at, last_report_at, last_collected_at,
    last_report_id, facts_digest, sections)
  VALUES ('h' || :client_id || '-' || :n || '.pgbench', :stamp, 'compute-r1', '{{hyperv_host}}', 'Windows Server 2012 R2', '6.3.9600',
    32, 262144, 2000, 20, 80, 163840, 'stampbook-agent', '0.1.0', now(), now(), now(), gen_random_uuid(),
    sha256(random()::text::bytea), '{{certificates,routes,interfaces,services,components,vmm}}')
  RETURNING id AS host \gset
WITH fresh AS (
  INSERT INTO certificates (thumbprint, der, subject, subject_cn, issuer, serial, not_before, not_after,
      signature_algorithm, signature_hash, key_algorithm, key_bits, key_usage, eku, san_dns, self_signed)
  SELECT upper(md5(random()::text) || substr(md5(random()::text), 1, 8)), decode(repeat(md5(g::text), 25), 'hex'),
         'CN=h.pgbench', 'h.pgbench', 'CN=ca', '0A' || g, now(), now() + interval '1 year',
         'sha256WithRSAEncryption', 'sha256', 'rsa', 2048, '{{digitalSignature}}', '{{1.3.6.1.5.5.7.3.2}}', '{{h.pgbench}}', false
  FROM generate_series(1, {new_certs}) g
  ON CONFLICT (thumbprint) DO NOTHING RETURNING thumbprint)
INSERT INTO host_certificates (host_id, store, thumbprint, has_private_key, provider, added_at, first_seen_at)
  SELECT :host, 'LocalMachine\My', thumbprint, true, null, null, now() FROM fresh
  UNION ALL
  SELECT :host, 'LocalMachine\Root', upper(md5(g::text) || substr(md5((g + 1)::text), 1, 8)), false, null, now(), now()
  FROM generate_series(1, {shared}) g;
INSERT INTO host_routes (host_id, position, destination, next_hop, interface, metric, persistent)
  SELECT :host, g, ('10.' || g || '.0.0/16')::cidr, '10.0.0.1'::inet, 'Management', 266, false FROM generate_series(1, {routes}) g;
INSERT INTO host_interfaces (host_id, name, addresses, gateway)
  SELECT :host, 'nic' || g, array[('10.0.' || g || '.21/24')::inet], '10.0.0.1'::inet FROM generate_series(1, {ifaces}) g;
INSERT INTO host_services (host_id, name, state, started_at)
  SELECT :host, 'svc' || g, 'running', now() FROM generate_series(1, {services}) g;
INSERT INTO host_settings (host_id, vmm, hyperv_terminal_service, rd_gateway)
  VALUES (:host, null, '{{"trusted_issuer_certificate_hashes": ["90D0A19F51A0EA8B4D9925D6A956485C8D06F805"], "allowed_hash_algorithms": []}}', null)
  ON CONFLICT (host_id) DO UPDATE SET hyperv_terminal_service = excluded.hyperv_terminal_service;
INSERT INTO host_components (host_id, name, version) SELECT :host, 'c' || g, '3.2.8169.0' FROM generate_series(1, {comps}) g;
INSERT INTO fact_changes (host_id, report_id, at, kind, key, change, before, after)
  VALUES (:host, gen_random_uuid(), now(), 'host', 'h', 'appeared', null, '{{"stamp": "pgbench-01"}}');
INSERT INTO reports (report_id, host_id, collected_at, received_at, outcome, changes, payload)
  VALUES (gen_random_uuid(), :host, now(), now(), 'stored', 1, null) ON CONFLICT (report_id) DO NOTHING;
INSERT INTO evaluation_queue (stamp_id, host_ids) VALUES (:stamp, array[:host::bigint])
  ON CONFLICT (stamp_id) DO UPDATE SET host_ids = CASE WHEN evaluation_queue.host_ids IS NULL THEN NULL
      WHEN cardinality(evaluation_queue.host_ids) >= 256 THEN NULL
      WHEN :host = any(evaluation_queue.host_ids) THEN evaluation_queue.host_ids ELSE evaluation_queue.host_ids || :host::bigint END;
COMMIT;
"#
    )
}

async fn ingest(cli: &Cli, stamps: usize, hosts: usize, script: &std::path::Path) {
    let http = Client::new();
    let pool = PgPool::connect(&cli.database_url).await.unwrap();
    let (fleet, reports) = build(stamps, hosts, false);
    apply(&http, cli, &fleet).await;
    std::fs::write(script, pgbench_script(&reports)).unwrap();
    let first: Vec<Vec<u8>> = reports.iter().map(encode).collect();
    let a = push_all(&http, cli, "(a) first-seen reports", first).await;
    print("(a) first-seen", &a);
    let bodies = again(&reports);
    // unchanged reports must not depend on the evaluator's work of phase (a)
    sqlx::query("checkpoint").execute(&pool).await.unwrap();
    let before = wal(&pool).await;
    let b = push_all(&http, cli, "(b) unchanged reports", bodies).await;
    let after = wal(&pool).await;
    print("(b) unchanged", &b);
    println!(
        "wal_bytes_per_unchanged_report: {:.0}",
        (after - before) as f64 / b.count as f64
    );
    println!("a_reports_per_s: {:.1}", a.per_s());
    println!("b_reports_per_s: {:.1}", b.per_s());
}

async fn rules(cli: &Cli, stamps: usize, hosts: usize, incremental: usize) {
    let http = Client::new();
    let pool = PgPool::connect(&cli.database_url).await.unwrap();
    let t = Instant::now();
    let (fleet, reports) = build(stamps, hosts, true);
    println!(
        "fleet built: {} reports in {:.1} s",
        reports.len(),
        t.elapsed().as_secs_f64()
    );
    apply(&http, cli, &fleet).await;
    let load = push_all(
        &http,
        cli,
        "loading the fleet: reports",
        reports.iter().map(encode).collect(),
    )
    .await;
    print("loaded", &load);
    sqlx::query("delete from evaluation_queue")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("vacuum analyze").execute(&pool).await.unwrap();

    let mut certs = engine::lanes();
    for label in [
        "full re-evaluation (cold certificate cache)",
        "full re-evaluation (warm certificate cache)",
    ] {
        engine::request_all(&pool).await.unwrap();
        let t = Instant::now();
        let n = engine::drain(&pool, &mut certs).await.unwrap();
        let took = t.elapsed();
        let problems: i64 =
            sqlx::query_scalar("select count(*) from problems where resolved_at is null")
                .fetch_one(&pool)
                .await
                .unwrap();
        println!(
            "{label}: {n} stamps, {} hosts in {:.2} s ({problems} open problems)",
            reports.len(),
            took.as_secs_f64()
        );
    }

    // incremental: one changed report, then the evaluation it queued
    let step = (reports.len() / incremental.max(1)).max(1);
    let mut eval = Duration::ZERO;
    let mut ingest = Duration::ZERO;
    let mut n = 0;
    let mut progress = Progress::to(
        Out::Stderr,
        "incremental: changed reports",
        reports.iter().step_by(step).take(incremental).count() as u64,
    );
    for r in reports.iter().step_by(step).take(incremental) {
        let mut r = r.clone();
        r.report_id = uuid::Uuid::new_v4();
        r.collected_at = Utc::now();
        if let Some(v) = r.host.vitals.as_mut() {
            v.vm_count = Some(v.vm_count.unwrap_or(0) + 1);
        }
        let run = push_all(&http, cli, "", vec![encode(&r)]).await;
        ingest += run.wall;
        let t = Instant::now();
        engine::drain(&pool, &mut certs).await.unwrap();
        eval += t.elapsed();
        n += 1;
        progress.advance(1, "");
    }
    progress.finish();
    println!(
        "incremental, one report at a time: {n} changed reports, ingest {:.2} ms/report, evaluation {:.2} ms/report (added cost)",
        ingest.as_secs_f64() * 1000.0 / n as f64,
        eval.as_secs_f64() * 1000.0 / n as f64
    );

    // as in production: a burst of changed reports across the fleet, then the evaluator's drain
    let burst: Vec<Vec<u8>> = reports
        .iter()
        .step_by(step)
        .take(incremental * 5)
        .map(|r| {
            let mut r = r.clone();
            r.report_id = uuid::Uuid::new_v4();
            r.collected_at = Utc::now();
            if let Some(v) = r.host.vitals.as_mut() {
                v.vm_count = Some(v.vm_count.unwrap_or(0) + 2);
            }
            encode(&r)
        })
        .collect();
    let sent = push_all(&http, cli, "incremental: a burst of changed reports", burst).await;
    let t = Instant::now();
    let stamps = engine::drain(&pool, &mut certs).await.unwrap();
    println!(
        "incremental, a burst: {} changed reports over {stamps} stamps evaluated in {:.2} s = {:.2} ms/report (added cost)",
        sent.count,
        t.elapsed().as_secs_f64(),
        t.elapsed().as_secs_f64() * 1000.0 / sent.count as f64
    );
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        match &cli.what {
            What::Ingest {
                stamps,
                hosts,
                pgbench_script,
            } => ingest(&cli, *stamps, *hosts, pgbench_script).await,
            What::Rules {
                stamps,
                hosts,
                incremental,
            } => rules(&cli, *stamps, *hosts, *incremental).await,
            What::Push {
                hosts,
                stamps,
                first,
                rate,
                seconds,
                fault_every,
                fault_offset,
                faults_out,
                pass,
                count,
                templates,
            } => {
                let fleet = FleetSql {
                    hosts: *hosts,
                    stamps: *stamps,
                };
                let plan = PushPlan {
                    first: *first,
                    pass: *pass,
                    rate: *rate,
                    seconds: *seconds,
                    count: *count,
                    fault_every: *fault_every,
                    fault_offset: fault_offset.unwrap_or(*fault_every / 2),
                };
                let templates = kept_templates(templates.as_deref());
                push(&cli, fleet, &plan, &templates, faults_out.as_deref()).await
            }
            What::Profile { stamp_id } => profile(&cli, *stamp_id).await,
            What::Full => full(&cli).await,
        }
    });
}

async fn profile(cli: &Cli, stamp_id: i64) {
    use stampbook_server::rules::load;
    let pool = PgPool::connect(&cli.database_url).await.unwrap();
    let mut conn = pool.acquire().await.unwrap();
    let mut certs = CertCache::default();
    for round in 0..2 {
        let t = Instant::now();
        let ctx = load::stamp_context(&mut conn, stamp_id)
            .await
            .unwrap()
            .unwrap();
        let t_ctx = t.elapsed();
        let t = Instant::now();
        let (rc, roots) = load::remote_console(&mut conn, stamp_id, &mut certs)
            .await
            .unwrap();
        let t_rc = t.elapsed();
        let t = Instant::now();
        let hosts = load::hosts(&mut conn, stamp_id, None, &roots, &mut certs)
            .await
            .unwrap();
        let t_hosts = t.elapsed();
        let one: Vec<i64> = hosts.iter().take(1).map(|h| h.host_id).collect();
        let t = Instant::now();
        let _ = load::hosts(&mut conn, stamp_id, Some(&one), &roots, &mut certs)
            .await
            .unwrap();
        let t_one = t.elapsed();
        let t = Instant::now();
        let comps = load::components(&mut conn, stamp_id).await.unwrap();
        let cap = load::capacity(&mut conn, stamp_id, None).await.unwrap();
        let plans = load::plans(&mut conn, stamp_id).await.unwrap();
        let t_agg = t.elapsed();
        let t = Instant::now();
        let now = Utc::now();
        let mut n = 0;
        for h in &hosts {
            n += stampbook_server::rules::evaluate_host(&ctx, &rc, h, now).len();
        }
        let t_rules = t.elapsed();
        let t = Instant::now();
        n += stampbook_server::rules::evaluate_stamp(&ctx, &rc, &comps, &cap, &[], now).len();
        let _ = plans;
        let t_stamp = t.elapsed();
        let t = Instant::now();
        engine::evaluate(&pool, stamp_id, engine::Run::Whole, &mut certs, None)
            .await
            .unwrap();
        let t_full = t.elapsed();
        let t = Instant::now();
        engine::evaluate(
            &pool,
            stamp_id,
            engine::Run::Hosts {
                ids: &one,
                stamp_rules: false,
            },
            &mut certs,
            None,
        )
        .await
        .unwrap();
        let t_incr = t.elapsed();
        println!(
            "round {round}: {} hosts, {n} findings | context {:?} | remote console {:?} | hosts {:?} | one host {:?} | components+capacity+plans {:?} | host rules {:?} | stamp rules {:?} || evaluate(all) {:?} | evaluate(one host) {:?}",
            hosts.len(),
            t_ctx,
            t_rc,
            t_hosts,
            t_one,
            t_agg,
            t_rules,
            t_stamp,
            t_full,
            t_incr
        );
    }
}

async fn full(cli: &Cli) {
    let pool = PgPool::connect(&cli.database_url).await.unwrap();
    let mut lanes = engine::lanes();
    for label in ["cold", "warm"] {
        engine::request_all(&pool).await.unwrap();
        let t = Instant::now();
        let n = engine::drain(&pool, &mut lanes).await.unwrap();
        println!(
            "full re-evaluation ({label} certificate cache, {} lanes): {n} stamps in {:.2} s, peak RSS {} MiB",
            lanes.len(),
            t.elapsed().as_secs_f64(),
            peak_rss_kib().map_or("?".to_owned(), |k| (k / 1024).to_string())
        );
    }
}

/// The process's peak resident set (`VmHWM` of /proc/self/status), in KiB.
fn peak_rss_kib() -> Option<u64> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// The shape of a fleet loaded by deploy/scale/fleet.sql.
#[derive(Clone, Copy)]
struct FleetSql {
    hosts: usize,
    stamps: usize,
}

/// Two reports of a simulated Hyper-V host to dress as fleet.sql's hosts: a clean one, and one
/// whose machine certificate expired (the simulator's `CertExpired` fault).
fn templates() -> (Report, Report) {
    use stampbook_agent::simulate::faults::FaultKind;
    let (fleet, reports) = build(4, 30, true);
    let faulty_host = fleet
        .faults
        .injections
        .iter()
        .find(|i| i.fault == FaultKind::CertExpired)
        .and_then(|i| i.host.clone())
        .expect("the simulated fleet has an expired certificate");
    let faulty = reports
        .iter()
        .find(|r| r.host.fqdn == faulty_host)
        .cloned()
        .unwrap();
    let clean = reports
        .iter()
        .find(|r| {
            r.host.roles == [stampbook_wire::Role::HypervHost]
                && !fleet
                    .faults
                    .injections
                    .iter()
                    .any(|i| i.stamp == r.host.stamp)
        })
        .or_else(|| {
            reports.iter().find(|r| {
                r.host.roles == [stampbook_wire::Role::HypervHost]
                    && !fleet
                        .faults
                        .injections
                        .iter()
                        .any(|i| i.host.as_deref() == Some(r.host.fqdn.as_str()))
            })
        })
        .cloned()
        .expect("a clean Hyper-V host");
    (
        clean.clone(),
        with_expired_machine_certificate(clean, &faulty),
    )
}

/// The clean host's report with its machine certificate replaced by the faulty host's expired
/// one, and nothing else changed. The faulty host is of another simulated stamp, whose VMConnect
/// certificate (in `Root` and `My`) differs: sent as it was, each faulty report also replaced its
/// host's Root store, which queues a whole stamp's evaluation, something real fleets do rarely.
fn with_expired_machine_certificate(mut clean: Report, faulty: &Report) -> Report {
    use base64::Engine;
    let expired = |c: &stampbook_wire::Certificate| {
        base64::engine::general_purpose::STANDARD
            .decode(&c.der)
            .ok()
            .and_then(|der| stampbook_server::facts::x509::parse_der(&der).ok())
            .is_some_and(|p| p.not_after < Utc::now())
    };
    let faulty_certs = faulty.certificates.as_deref().unwrap_or_default();
    let at = faulty_certs
        .iter()
        .position(|c| c.store == stampbook_wire::MY_STORE && expired(c))
        .expect("the faulty report has an expired machine certificate");
    let certs = clean
        .certificates
        .as_mut()
        .expect("the clean report has certificates");
    assert_eq!(
        certs[at].store,
        stampbook_wire::MY_STORE,
        "the same layout of certificates"
    );
    certs[at] = faulty_certs[at].clone();
    clean
}

/// What one push sends (see `What::Push`).
struct PushPlan {
    first: usize,
    pass: usize,
    rate: f64,
    seconds: f64,
    count: Option<usize>,
    fault_every: usize,
    fault_offset: usize,
}

impl PushPlan {
    fn faulty(&self, n: usize) -> bool {
        self.fault_every > 0 && n % self.fault_every == self.fault_offset % self.fault_every
    }
}

/// Report `n` of a push from host `first`: fleet.sql's host, its stamp, facts that differ from
/// what is stored (the VM count moves with each pass over the fleet, and with `pass`).
fn dressed(template: &Report, fleet: FleetSql, plan: &PushPlan, n: usize) -> Report {
    let first = plan.first;
    let i = (first - 1 + n) % fleet.hosts + 1;
    let pass = (first - 1 + n) / fleet.hosts + plan.pass;
    let mut r = template.clone();
    r.report_id = uuid::Uuid::new_v4();
    r.collected_at = Utc::now();
    r.host.fqdn = format!("host-{i:07}.example.net");
    r.host.stamp = format!("st{:04}", i % fleet.stamps + 1);
    r.host.scale_unit = Some("su-01".to_owned());
    if let Some(v) = r.host.vitals.as_mut() {
        v.vm_count = Some(1000 + pass as u32);
    }
    r
}

/// [`templates`], read from `path` when an earlier push kept them there (else made and kept).
fn kept_templates(path: Option<&std::path::Path>) -> (Report, Report) {
    let Some(path) = path else {
        return templates();
    };
    if let Ok(bytes) = std::fs::read(path) {
        return serde_json::from_slice(&bytes).expect("the kept report templates read back");
    }
    let made = templates();
    std::fs::write(path, serde_json::to_vec(&made).unwrap()).unwrap();
    made
}

async fn push(
    cli: &Cli,
    fleet: FleetSql,
    plan: &PushPlan,
    (clean, faulty): &(Report, Report),
    faults_out: Option<&std::path::Path>,
) {
    let (first, rate, seconds) = (plan.first, plan.rate, plan.seconds);
    // the bodies are encoded before the clock starts: the push measures the server, not gzip
    let count = if rate > 0.0 {
        (rate * seconds).ceil() as usize
    } else {
        // as fast as it goes: more than 2 cores have ever stored
        (1500.0 * seconds).ceil() as usize
    };
    let count = plan.count.map_or(count, |c| c.min(count));
    let mut progress = Progress::to(Out::Stderr, "encoding the reports", count as u64);
    let mut faults = Vec::new();
    let bodies: Vec<Vec<u8>> = (0..count)
        .map(|n| {
            let fault = plan.faulty(n);
            let r = dressed(if fault { faulty } else { clean }, fleet, plan, n);
            if fault {
                faults.push((n, r.report_id));
            }
            progress.advance(1, "");
            encode(&r)
        })
        .collect();
    progress.finish();
    let http = Client::new();
    let url = format!("{}/api/v1/reports", cli.server);
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let results: Vec<(usize, Duration, bool)> =
        futures_util::stream::iter(bodies.into_iter().enumerate())
            .take_while(|_| std::future::ready(Instant::now() < deadline))
            .map(|(n, body)| {
                let (http, url, token) = (http.clone(), url.clone(), cli.token.clone());
                async move {
                    if rate > 0.0 {
                        tokio::time::sleep_until(
                            (started + Duration::from_secs_f64(n as f64 / rate)).into(),
                        )
                        .await;
                    }
                    let t = Instant::now();
                    let ok = match http
                        .post(&url)
                        .bearer_auth(token)
                        .header("content-type", "application/json")
                        .header("content-encoding", "gzip")
                        .body(body)
                        .send()
                        .await
                    {
                        Ok(r) if r.status() == 202 => true,
                        Ok(r) => {
                            eprintln!(
                                "report {n}: {} {}",
                                r.status(),
                                r.text().await.unwrap_or_default()
                            );
                            false
                        }
                        Err(e) => {
                            eprintln!("report {n}: {e}");
                            false
                        }
                    };
                    (n, t.elapsed(), ok)
                }
            })
            .buffer_unordered(cli.concurrency)
            .collect()
            .await;
    let wall = started.elapsed();
    let errors = results.iter().filter(|r| !r.2).count();
    let sent: std::collections::HashSet<usize> = results.iter().map(|r| r.0).collect();
    let run = Run {
        count: results.len(),
        wall,
        latencies: results.iter().map(|r| r.1).collect(),
    };
    if run.count == 0 {
        println!("pushed: 0 reports");
        return;
    }
    print("pushed", &run);
    println!("push_reports: {}", run.count);
    println!("push_errors: {errors}");
    println!("push_reports_per_s: {:.1}", run.per_s());
    println!("push_last_host_offset: {}", first - 1 + run.count);
    if let Some(path) = faults_out {
        let lines: String = faults
            .iter()
            .filter(|(n, _)| sent.contains(n))
            .map(|(_, id)| format!("{id}\n"))
            .collect();
        std::fs::write(path, lines).unwrap();
    }
}
