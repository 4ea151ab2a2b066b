//! Building and running the application: shared state, middleware, routes, background workers.
//! Tests build it on port 0 exactly as `serve` does.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::http::Method;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::{DefaultHeaders, from_fn};
use actix_web::{App, HttpMessage, HttpServer, web};
use anyhow::Context;
use sqlx::PgPool;
use tracing_actix_web::{RequestId, TracingLogger};

use crate::config::ServeArgs;
use crate::state::AppState;

/// Answers `HEAD` like `GET` (uptime checkers and `curl -I` ask so): the request is routed as a
/// `GET`; the HTTP/1 codec, which noted the `HEAD` when it read the request, sends the headers
/// of the answer (its `Content-Length` included) without the body.
async fn head_as_get(
    mut req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    next.call(req).await
}

/// Echoes the request id of the tracing span as `x-request-id`, and gives it to the audit log.
async fn request_id_header(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    let id = req.extensions().get::<RequestId>().map(|id| id.to_string());
    // audit rows written while serving it name this request
    let mut res = match &id {
        Some(id) => crate::audit::with_request_id(id.clone(), next.call(req)).await?,
        None => next.call(req).await?,
    };
    if let Some(id) = id
        && let Ok(v) = HeaderValue::from_str(&id)
    {
        res.headers_mut()
            .insert(header::HeaderName::from_static("x-request-id"), v);
    }
    Ok(res)
}

fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ))
}

/// Every route of the application.
pub fn routes(cfg: &mut web::ServiceConfig) {
    // the API and the system routes (`/healthz`, `/readyz`, `/metrics`, `/api/openapi.json`,
    // `/api/docs/`): see `api::endpoints`; the dashboard: see `web`
    cfg.configure(crate::api::configure)
        .configure(crate::web::configure);
}

pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
    /// The lower-priority runtime (`crate::background`): agents' reports are parsed and stored
    /// there, and the background workers run there when this process has them.
    background: crate::background::Runtime,
}

impl Application {
    /// Binds the listener (port 0 picks a free one) and prepares the server; nothing runs yet.
    pub fn build(settings: ServeArgs, pool: PgPool) -> anyhow::Result<Application> {
        let listener = TcpListener::bind(settings.listen)
            .with_context(|| format!("while binding {}", settings.listen))?;
        let port = listener.local_addr()?.port();
        // a misconfigured Alertmanager target stops the start, not the first round
        crate::alertmanager::sink::Sink::from_settings(&settings)?;
        let workers = settings
            .workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
        let directory = crate::directory::Settings::from_args(&settings.directory)
            .context("directory login settings (STAMPBOOK_LDAP_*)")?
            .map(crate::directory::Directory::new);
        if let Some(d) = &directory {
            tracing::info!(url = %d.settings.url, grants = d.settings.grants.len(), "directory login enabled");
        }
        let reads = crate::db::read::Reads::from_args(pool.clone(), &settings.reads)
            .context("the read database (STAMPBOOK_READ_DATABASE_URL)")?;
        // a replica without workers takes reports too: they parse at the lower priority there
        let background = crate::background::Runtime::new(settings.background_nice)
            .context("while starting the background runtime")?;
        let mut state = AppState::new(pool, settings);
        state.directory = directory;
        state.reads = reads;
        state.reports_lane = background.handle().cloned();
        let health = web::Data::new(state.reads.health());
        let state = web::Data::new(state);
        let data = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(health.clone())
                .wrap(from_fn(crate::read_retry::middleware))
                .wrap(from_fn(head_as_get))
                .wrap(from_fn(crate::edge::middleware))
                .wrap(security_headers())
                .wrap(from_fn(request_id_header))
                .wrap(from_fn(crate::access_log::middleware))
                .wrap(from_fn(crate::in_flight::middleware))
                .wrap(TracingLogger::default())
                .configure(routes)
                .default_service(web::to(crate::web::not_found))
        })
        .workers(workers)
        .listen(listener)?
        .run();
        Ok(Application {
            port,
            server,
            state,
            background,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// Serves until the process is asked to stop (SIGINT/SIGTERM), then drains.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        // this replica accepts reports from now on, and says so while it does
        let mut workers = vec![tokio::spawn(crate::heartbeat::run(self.state.pool.clone()))];
        // bearer tokens are answered from memory only while this listener hears their changes
        workers.push(tokio::spawn(crate::auth::token_cache::listen(
            self.state.pool.clone(),
            self.state.token_cache.clone(),
        )));
        // where reads go is judged in every process, workers or not: requests depend on it
        if let Some(probe) = self.state.reads.probe() {
            workers.push(tokio::spawn(probe.run()));
        }
        if let Some(background) = self.background.handle()
            && !self.state.settings.no_workers
        {
            workers.extend(background_workers(&self.state, background));
        }
        let result = self.server.await;
        for w in workers {
            w.abort();
        }
        result
    }
}

/// Starts the background workers on `on` (the background runtime): the rule evaluator, retention,
/// capacity snapshots, webhook and Alertmanager delivery, all on their own pool, which never
/// holds the connections requests need.
fn background_workers(
    state: &web::Data<AppState>,
    on: &tokio::runtime::Handle,
) -> Vec<tokio::task::JoinHandle<()>> {
    let s = state.clone();
    let background = s.background_pool.clone();
    let mut workers = vec![on.spawn(crate::rules::worker::run(
        background.clone(),
        s.evaluator.clone(),
        s.settings.evaluation_interval(),
        crate::rules::engine::Pace::new(s.metrics.clone(), s.settings.evaluation_rest),
    ))];
    let retention = s.clone();
    workers.push(on.spawn(async move {
        crate::retention::run(&retention.background_pool, &retention.settings).await;
    }));
    workers.push(on.spawn(crate::capacity::snapshot::run(background.clone())));
    workers.push(on.spawn(crate::webhooks::deliver::run(
        background.clone(),
        s.metrics.clone(),
        crate::webhooks::deliver::Policy::from_settings(&s.settings),
    )));
    if let Ok(Some(sink)) = crate::alertmanager::sink::Sink::from_settings(&s.settings) {
        workers.push(on.spawn(crate::alertmanager::sink::run(
            background,
            sink,
            s.metrics.clone(),
        )));
    }
    workers
}
