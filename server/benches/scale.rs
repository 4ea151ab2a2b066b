//! The two halves of `deploy/bench-scale` (issue 12 §1) that are not the server itself:
//!
//! - `load`: GETs one URL from `--concurrency` connections for `--seconds` and prints one line,
//!   `req_s p50_ms p95_ms p99_ms errors` (after a one-second warm-up that is not counted);
//! - `bare`: the bare handler the server is compared with: actix-web and a sqlx pool and nothing
//!   else, serving `GET /{name}` with the rows of the named statement of `--routes` (lines of
//!   `name<TAB>sql`) as a JSON array built by PostgreSQL (`json_agg`): the best the same SQL can
//!   do behind HTTP, with no authentication, no filters to parse, no model to map.
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
        } => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(load(url, Auth { token, cookie }, concurrency, seconds));
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

/// How the load authenticates: a bearer token (the API) or a session cookie (the dashboard).
#[derive(Clone)]
struct Auth {
    token: Option<String>,
    cookie: Option<String>,
}

async fn load(url: String, auth: Auth, concurrency: usize, seconds: f64) {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();
    let warm_until = Instant::now() + Duration::from_secs(1);
    let until = warm_until + Duration::from_secs_f64(seconds);
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (http, url, auth) = (http.clone(), url.clone(), auth.clone());
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::new();
            let mut errors = 0u64;
            loop {
                let start = Instant::now();
                if start >= until {
                    break;
                }
                let mut req = http.get(&url);
                if let Some(t) = &auth.token {
                    req = req.bearer_auth(t);
                }
                if let Some(c) = &auth.cookie {
                    req = req.header(reqwest::header::COOKIE, c);
                }
                let ok = match req.send().await {
                    Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                    Err(_) => false,
                };
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
    let db = PgPoolOptions::new()
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
