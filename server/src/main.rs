//! `stampbook-server`: serve, migrate, apply, token. Everything else lives in the library.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use stampbook_server::auth::tokens;
use stampbook_server::config::{Cli, Command, TokenCommand};
use stampbook_server::inventory::apply;
use stampbook_server::startup::Application;
use stampbook_server::{db, telemetry};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // one TLS crypto provider for every client of the process (OTLP export, webhooks, database)
    let _ = rustls::crypto::ring::default_provider().install_default();
    let _guard = match telemetry::init(cli.log.log_format) {
        Ok(g) => g,
        Err(e) => {
            eprintln!("stampbook-server: cannot set up logging: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("stampbook-server: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("stampbook-server: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let url = cli
        .database
        .database_url
        .as_ref()
        .context("DATABASE_URL is not set (flag --database-url or environment)")?;
    let pool = db::pool(url.expose(), cli.database.db_pool_size)
        .context("while preparing the database pool")?;
    match cli.command {
        Command::Serve(args) => {
            db::migrate(&pool)
                .await
                .context("while applying migrations")?;
            let listen = args.listen;
            let application = Application::build(args, pool)?;
            tracing::info!(%listen, port = application.port(), "stampbook-server serving");
            application
                .run_until_stopped()
                .await
                .context("while serving")?;
        }
        Command::Migrate => {
            db::migrate(&pool)
                .await
                .context("while applying migrations")?;
            eprintln!("migrations applied");
        }
        Command::Apply { file, actor } => {
            let bytes = std::fs::read(&file)
                .with_context(|| format!("while reading {}", file.display()))?;
            let yaml = !file
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("json"));
            let doc = apply::parse_document(&bytes, yaml)
                .map_err(|e| cli_error(e, Some(&file.display().to_string())))?;
            // progress on stderr: stdout carries only the summary, for scripts to read
            let summary =
                apply::apply_showing(&pool, &doc, &actor, stampbook_progress::Out::Stderr)
                    .await
                    .map_err(|e| cli_error(e, None))?;
            println!("{}", serde_json::to_string_pretty(&summary)?);
        }
        Command::Token(t) => token(&pool, t).await?,
    }
    Ok(())
}

/// A library error as the command line says it: what (with the file it is about), where in the
/// input (`at stamps[2].name`), and for a failure of the server's side its causes, which `main`
/// prints as a chain (`{:#}`).
fn cli_error(e: stampbook_server::error::ApiError, file: Option<&str>) -> anyhow::Error {
    let at = e
        .field
        .as_deref()
        .map(|f| format!(" (at {f})"))
        .unwrap_or_default();
    let what = match file {
        Some(file) => format!("{file}: {e}{at}"),
        None => format!("{e}{at}"),
    };
    match e.source {
        Some(cause) => cause.context(what),
        None => anyhow::anyhow!(what),
    }
}

async fn token(pool: &sqlx::PgPool, cmd: TokenCommand) -> anyhow::Result<()> {
    let err = |e| cli_error(e, None);
    match cmd {
        TokenCommand::Create { name, scope, stamp } => {
            let created = tokens::create(pool, &name, &scope, stamp.as_deref(), "cli")
                .await
                .map_err(err)?;
            println!("{}", created.token);
        }
        TokenCommand::List => {
            println!(
                "{:<6} {:<24} {:<10} {:<12} {:<14} {:<25} revoked",
                "id", "name", "scope", "stamp", "prefix", "last used"
            );
            for t in tokens::list(pool).await.map_err(err)? {
                println!(
                    "{:<6} {:<24} {:<10} {:<12} {:<14} {:<25} {}",
                    t.id,
                    t.name,
                    t.scope.as_str(),
                    t.stamp.as_deref().unwrap_or("-"),
                    t.prefix,
                    t.last_used_at
                        .map(|d| d.to_rfc3339())
                        .unwrap_or_else(|| "never".into()),
                    t.revoked_at
                        .map(|d| d.to_rfc3339())
                        .unwrap_or_else(|| "no".into())
                );
            }
        }
        TokenCommand::Revoke { name_or_id } => {
            let t = tokens::revoke(pool, &name_or_id, "cli")
                .await
                .map_err(err)?;
            eprintln!("revoked token {} ({})", t.id, t.name);
        }
    }
    Ok(())
}
