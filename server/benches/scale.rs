//! The two halves of `deploy/bench-scale` (issue 12 §1) that are not the server itself:
//!
//! - `load`: GETs one URL from `--concurrency` connections for `--seconds` and prints one line,
//!   `req_s p50_ms p95_ms p99_ms errors` (after a one-second warm-up that is not counted); with
//!   `--rate R`, it sends R requests a second on a fixed schedule instead (an open loop: a slow
//!   answer does not delay the next request, and each latency counts from when its request was
//!   due, so a stall shows in full), at most `--concurrency` × 8 in flight (a request that would
//!   exceed it counts as an error);
//! - `pair`: the same closed loop against two URLs in turns (`--url` with the token, then
//!   `--against`, without), half-second slices in the order A B B A A B ... until each has had
//!   `--seconds`; prints one line of each. The machine's own drift (another tenant, a clock step,
//!   a background flush) then falls on both alike instead of on whichever ran during it: on a
//!   shared 2-core machine two 5 s runs in a row of the same server differ by up to 30 %;
//! - `bare`: the bare handler the server is compared with: actix-web and a sqlx pool and nothing
//!   else, serving `GET /{name}` with the rows of the named statement of `--routes` (lines of
//!   `name<TAB>sql`) as a JSON array built by PostgreSQL (`json_agg`): the best the same SQL can
//!   do behind HTTP, with no authentication, no filters to parse, no model to map, on a pool set
//!   as the server's (`db::ping_when_idle`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::{App, HttpResponse, HttpServer, web};
use clap::{Parser, Subcommand};
use sqlx::postgres::PgPoolOptions;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    what: What,
}

#[derive(Subcommand)]
enum What {
    /// GETs one URL for a while from many connections; prints req/s and latency percentiles.
    Load {
        #[arg(long)]
        url: String,
        /// `Authorization: Bearer` token.
        #[arg(long)]
        token: Option<String>,
        /// A `Cookie` header (a dashboard session) for pages.
        #[arg(long)]
        cookie: Option<String>,
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
        /// Requests a second on a fixed schedule (open loop) instead of as fast as the
        /// connections go.
        #[arg(long)]
        rate: Option<f64>,
    },
    /// The closed loop of `load` against two URLs in alternating slices; prints two lines.
    Pair {
        /// Measured with the token.
        #[arg(long)]
        url: String,
        #[arg(long)]
        token: Option<String>,
        /// Measured without authentication (the bare handler).
        #[arg(long)]
        against: String,
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// Each URL's measured time, in all.
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
    },
    /// Serves the bare handlers until killed.
    Bare {
        #[arg(long)]
        database_url: String,
        #[arg(long)]
        listen: String,
        /// A file of `name<TAB>sql` lines.
        #[arg(long)]
        routes: std::path::PathBuf,
        #[arg(long, default_value_t = 16)]
        pool: u32,
    },
}

fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    match cli.what {
        What::Load {
            url,
            token,
            cookie,
            concurrency,
            seconds,
            rate,
        } => {
            let rt = runtime();
            let auth = Auth { token, cookie };
            let (times, errors) = match rate {
                Some(rate) => rt.block_on(load_at_rate(url, auth, concurrency, seconds, rate)),
                None => rt.block_on(load(url, auth, concurrency, seconds)),
            };
            print_figures(times, errors, seconds);
        }
        What::Pair {
            url,
            token,
            against,
            concurrency,
            seconds,
        } => {
            let rt = runtime();
            let a = Side {
                http: client(concurrency),
                url,
                auth: Auth {
                    token,
                    cookie: None,
                },
            };
            let b = Side {
                http: client(concurrency),
                url: against,
                auth: Auth {
                    token: None,
                    cookie: None,
                },
            };
            let ((ta, ea), (tb, eb)) = rt.block_on(pair(&a, &b, concurrency, seconds));
            print_figures(ta, ea, seconds);
            print_figures(tb, eb, seconds);
        }
        What::Bare {
            database_url,
            listen,
            routes,
            pool,
        } => {
            let text = std::fs::read_to_string(routes).unwrap();
            let routes: HashMap<String, String> = text
                .lines()
                .filter_map(|l| l.split_once('\t'))
                .map(|(n, sql)| {
                    (
                        n.to_owned(),
                        format!("select coalesce(json_agg(t), '[]'::json)::text from ({sql}) t"),
                    )
                })
                .collect();
            actix_web::rt::System::new().block_on(bare(database_url, listen, routes, pool));
        }
    }
}

/// The load's own runtime: two threads, as the machine's two cores.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// How the load authenticates: a bearer token (the API) or a session cookie (the dashboard).
#[derive(Clone)]
struct Auth {
    token: Option<String>,
    cookie: Option<String>,
}

/// One GET as `auth` says; answers whether it succeeded (a 2xx and the whole body read).
async fn get(http: &reqwest::Client, url: &str, auth: &Auth) -> bool {
    let mut req = http.get(url);
    if let Some(t) = &auth.token {
        req = req.bearer_auth(t);
    }
    if let Some(c) = &auth.cookie {
        req = req.header(reqwest::header::COOKIE, c);
    }
    match req.send().await {
        Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
        Err(_) => false,
    }
}

fn client(concurrency: usize) -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap()
}

/// Closed loop: `concurrency` connections, each sending its next request when the last answered.
async fn load(url: String, auth: Auth, concurrency: usize, seconds: f64) -> (Vec<Duration>, u64) {
    let side = Side {
        http: client(concurrency),
        url,
        auth,
    };
    closed_loop(&side, concurrency, Duration::from_secs(1), seconds).await
}

/// One URL of a measurement and the client (its kept-alive connections) that asks it.
struct Side {
    http: reqwest::Client,
    url: String,
    auth: Auth,
}

/// `pair`: a one-second warm-up of each, then slices of at most half a second in turns, A B B A
/// A B ..., until each side has had `seconds`.
async fn pair(
    a: &Side,
    b: &Side,
    concurrency: usize,
    seconds: f64,
) -> ((Vec<Duration>, u64), (Vec<Duration>, u64)) {
    let warm = Duration::from_secs(1);
    closed_loop(a, concurrency, warm, 0.0).await;
    closed_loop(b, concurrency, warm, 0.0).await;
    let slices = (seconds / 0.5).ceil().max(1.0);
    let slice = seconds / slices;
    let (mut ra, mut rb) = ((Vec::new(), 0), (Vec::new(), 0));
    for i in 0..slices as u64 {
        // A B, B A, A B, ...: a drift across a pair of slices falls on both
        let order = if i % 2 == 0 {
            [true, false]
        } else {
            [false, true]
        };
        for first in order {
            let (side, into) = if first { (a, &mut ra) } else { (b, &mut rb) };
            let (t, e) = closed_loop(side, concurrency, Duration::ZERO, slice).await;
            into.0.extend(t);
            into.1 += e;
        }
    }
    (ra, rb)
}

/// `concurrency` tasks GET the side's URL back to back for `warm` (not counted), then for
/// `seconds`; answers the counted latencies and failures.
async fn closed_loop(
    side: &Side,
    concurrency: usize,
    warm: Duration,
    seconds: f64,
) -> (Vec<Duration>, u64) {
    let warm_until = Instant::now() + warm;
    let until = warm_until + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (http, url, auth) = (side.http.clone(), side.url.clone(), side.auth.clone());
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::new();
            let mut errors = 0u64;
            loop {
                let start = Instant::now();
                if start >= until {
                    break;
                }
                let ok = get(&http, &url, &auth).await;
                if start >= warm_until {
                    times.push(start.elapsed());
                    if !ok {
                        errors += 1;
                    }
                }
            }
            (times, errors)
        }));
    }
    let mut times = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (t, e) = t.await.unwrap();
        times.extend(t);
        errors += e;
    }
    (times, errors)
}

/// Open loop: request k is due at k / `rate` seconds, sent then whatever the earlier ones are
/// doing, and its latency counts from when it was due (a late send is the server's stall, not
/// the client's: no coordinated omission). At most `concurrency` × 8 in flight; a request due
/// beyond that is not sent and counts as an error.
async fn load_at_rate(
    url: String,
    auth: Auth,
    concurrency: usize,
    seconds: f64,
    rate: f64,
) -> (Vec<Duration>, u64) {
    assert!(rate.is_finite() && rate > 0.0, "--rate must be above 0");
    let http = client(concurrency);
    let cap = concurrency.max(1) * 8;
    let in_flight = Arc::new(tokio::sync::Semaphore::new(cap));
    let start = tokio::time::Instant::now();
    let warm_until = start + Duration::from_secs(1);
    let until = warm_until + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::new();
    let mut refused = 0u64;
    for k in 0u64.. {
        let due = start + Duration::from_secs_f64(k as f64 / rate);
        if due >= until {
            break;
        }
        tokio::time::sleep_until(due).await;
        let counted = due >= warm_until;
        let Ok(permit) = in_flight.clone().try_acquire_owned() else {
            refused += u64::from(counted);
            continue;
        };
        let (http, url, auth) = (http.clone(), url.clone(), auth.clone());
        tasks.push(tokio::spawn(async move {
            let ok = get(&http, &url, &auth).await;
            drop(permit);
            counted.then(|| (due.elapsed(), ok))
        }));
    }
    let mut times = Vec::new();
    let mut errors = refused;
    for t in tasks {
        if let Some((took, ok)) = t.await.unwrap() {
            times.push(took);
            errors += u64::from(!ok);
        }
    }
    (times, errors)
}

/// Prints `req_s p50_ms p95_ms p99_ms errors` of the counted requests.
fn print_figures(mut times: Vec<Duration>, errors: u64, seconds: f64) {
    times.sort();
    let pct = |p: f64| {
        if times.is_empty() {
            return 0.0;
        }
        let i = ((times.len() as f64 * p).ceil() as usize).clamp(1, times.len()) - 1;
        times[i].as_secs_f64() * 1000.0
    };
    println!(
        "{:.1} {:.2} {:.2} {:.2} {errors}",
        times.len() as f64 / seconds,
        pct(0.50),
        pct(0.95),
        pct(0.99)
    );
}

async fn bare(database_url: String, listen: String, routes: HashMap<String, String>, pool: u32) {
    // the server's own pool setting (no ping before each statement): the comparison is of what
    // the server does per request, not of how its driver is tuned
    let db = stampbook_server::db::ping_when_idle(PgPoolOptions::new())
        .max_connections(pool)
        .connect(&database_url)
        .await
        .unwrap();
    let routes = Arc::new(routes);
    HttpServer::new(move || {
        let (db, routes) = (db.clone(), routes.clone());
        App::new().route(
            "/{name}",
            web::get().to(move |name: web::Path<String>| {
                let (db, routes) = (db.clone(), routes.clone());
                async move {
                    let Some(sql) = routes.get(name.as_str()) else {
                        return HttpResponse::NotFound().finish();
                    };
                    // the bench's own statements, from deploy/bench-scale
                    match sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql.clone()))
                        .fetch_one(&db)
                        .await
                    {
                        Ok(body) => HttpResponse::Ok()
                            .content_type("application/json")
                            .body(body),
                        Err(e) => HttpResponse::InternalServerError().body(e.to_string()),
                    }
                }
            }),
        )
    })
    .workers(2)
    .bind(&listen)
    .unwrap()
    .run()
    .await
    .unwrap();
}
