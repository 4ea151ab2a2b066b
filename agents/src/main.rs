//! The `stampbook-agent` binary: parses the command line, sets up logging on stderr and runs
//! the command. Exit status: 0 done, 1 failed, 2 usage error.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use chrono::{SubsecRound, Utc};
use clap::Parser;
use stampbook_agent::backoff::Backoff;
use stampbook_agent::cli::{
    Cli, CollectArgs, Command, EXIT_FAILURE, EXIT_USAGE, LogFormat, PushArgs, RunArgs, ServerArgs,
    SimulateArgs, SpoolArgs, TransportArgs,
};
use stampbook_agent::collect::CollectError;
use stampbook_agent::daemon::{run_every, shutdown_on_signals};
use stampbook_agent::deliver::{CycleReport, Outcome, deliver};
use stampbook_agent::push::{PushConfig, Pusher, ensure_crypto_provider};
use stampbook_agent::simulate::runner::{self, Sink};
use stampbook_agent::simulate::{Fleet, FleetOptions};
use stampbook_agent::source;
use stampbook_agent::spool::Spool;
use stampbook_agent::token::Token;
use stampbook_wire::Report;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    // Usage errors end here with status 2 (clap's convention), --help and --version with 0.
    let cli = Cli::parse();
    init_tracing(cli.log_format);
    ensure_crypto_provider();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            tracing::error!(error = %e, "cannot start the async runtime");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    match runtime.block_on(dispatch(cli.command)) {
        Ok(code) => code,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::from(exit_status(&e))
        }
    }
}

/// 2 when the flags cannot work (what a collector says about its options), else 1.
fn exit_status(error: &anyhow::Error) -> u8 {
    let usage = error
        .chain()
        .any(|cause| matches!(cause.downcast_ref(), Some(CollectError::Options(_))));
    if usage { EXIT_USAGE } else { EXIT_FAILURE }
}

fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only on a terminal: journald and log files get plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

async fn dispatch(command: Command) -> Result<ExitCode> {
    match command {
        Command::Collect(args) => {
            let report = collect(&args).await?;
            let json =
                serde_json::to_string_pretty(&report).context("while encoding the report")?;
            println!("{json}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Push(args) => push(args).await,
        Command::Run(args) => run(args).await,
        Command::Simulate(args) => simulate(args).await,
    }
}

/// Collection reads files and runs PowerShell or iproute2: off the async workers.
async fn collect(args: &CollectArgs) -> Result<Report> {
    let args = args.clone();
    tokio::task::spawn_blocking(move || source::collect(&args, Utc::now()))
        .await
        .context("the collection task stopped")?
        .context("while collecting")
}

fn pusher(
    server: &reqwest::Url,
    token: Token,
    transport: &TransportArgs,
    backoff: Backoff,
) -> Result<Pusher> {
    let mut config = PushConfig::new(server.clone(), token);
    config.ca_file.clone_from(&transport.ca_file);
    config.connect_timeout = transport.connect_timeout();
    config.request_timeout = transport.timeout();
    config.backoff = backoff;
    Pusher::new(config).context("while preparing the HTTP client")
}

fn server_pusher(args: &ServerArgs) -> Result<Pusher> {
    let token = Token::from_file(&args.token_file).context("while reading the token")?;
    pusher(
        &args.server,
        token,
        &args.transport,
        args.transport.backoff(),
    )
}

fn open_spool(args: &SpoolArgs) -> Result<Option<Spool>> {
    let location = args.location();
    location
        .open(args.limits())
        .with_context(|| format!("while opening the spool ({location:?})"))
}

fn log_cycle(cycle: &CycleReport) {
    let (replayed, waiting) = (cycle.replayed, cycle.waiting);
    match &cycle.outcome {
        Outcome::Delivered(accepted) => tracing::info!(
            report_id = %accepted.report_id,
            host = %accepted.host,
            duplicate = accepted.duplicate,
            replayed,
            waiting,
            "report delivered"
        ),
        Outcome::Spooled { reason } => {
            tracing::warn!(replayed, waiting, reason = %reason, "report spooled for later");
        }
        Outcome::Rejected { reason } => {
            tracing::error!(replayed, reason = %reason, "report rejected by the server");
        }
    }
    if cycle.replay_rejected > 0 {
        tracing::warn!(
            count = cycle.replay_rejected,
            "spooled reports moved to rejected/"
        );
    }
}

async fn push(args: PushArgs) -> Result<ExitCode> {
    let pusher = server_pusher(&args.server)?;
    let spool = open_spool(&args.spool)?;
    let report = collect(&args.collect).await?;
    let cycle = deliver(&pusher, spool.as_ref(), report)
        .await
        .context("while delivering the report")?;
    log_cycle(&cycle);
    Ok(if cycle.delivered() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILURE)
    })
}

async fn run(args: RunArgs) -> Result<ExitCode> {
    let shutdown = shutdown_on_signals();
    let pusher = server_pusher(&args.push.server)?.with_shutdown(shutdown.clone());
    let spool = open_spool(&args.push.spool)?;
    let (pusher, spool, collect_args) = (&pusher, spool.as_ref(), &args.push.collect);
    tracing::info!(every_s = args.every.as_secs(), server = %args.push.server.server, "agent started");
    run_every(args.every, shutdown, || async move {
        let report = match collect(collect_args).await {
            Ok(report) => report,
            Err(e) => {
                tracing::error!("{e:#}");
                return;
            }
        };
        match deliver(pusher, spool, report).await {
            Ok(cycle) => log_cycle(&cycle),
            Err(e) => tracing::error!(error = %e, "delivery failed"),
        }
    })
    .await;
    Ok(ExitCode::SUCCESS)
}

async fn simulate(args: SimulateArgs) -> Result<ExitCode> {
    let seed = args.seed.unwrap_or_else(rand::random);
    let options = FleetOptions {
        stamps: usize::from(args.stamps),
        hosts_per_stamp: usize::from(args.hosts_per_stamp),
        faults: args.faults,
        seed,
        // Whole seconds: the reports read like the ones Windows hosts send.
        now: Utc::now().trunc_subsecs(0),
    };
    tracing::info!(
        seed,
        stamps = options.stamps,
        hosts_per_stamp = options.hosts_per_stamp,
        "building the fleet"
    );
    let fleet = Arc::new(
        tokio::task::spawn_blocking(move || Fleet::build(options))
            .await
            .context("the fleet builder stopped")?,
    );
    if args.faults {
        print!("{}", fleet.faults.render());
        print!("{}", elsewhere(&fleet, args.backfill_days));
    }
    let sink = match &args.dry_run_dir {
        Some(dir) => Sink::DryRun(dir.clone()),
        None => {
            let server = args.server.as_ref().context("--server is required")?;
            let token_file = args
                .token_file
                .as_ref()
                .context("--token-file is required")?;
            let token = Token::from_file(token_file).context("while reading the token")?;
            let admin_token = match &args.admin_token_file {
                Some(file) => Token::from_file(file).context("while reading the admin token")?,
                None => token.clone(),
            };
            let backoff = args.backoff();
            Sink::Server {
                reports: Box::new(pusher(server, token, &args.transport, backoff)?),
                admin: Box::new(pusher(server, admin_token, &args.transport, backoff)?),
            }
        }
    };
    let concurrency = usize::from(args.concurrency);
    let summary = runner::run(fleet.clone(), sink, concurrency, args.apply_inventory)
        .await
        .context("while simulating")?;
    for failure in &summary.admin_failures {
        tracing::error!("{failure}");
    }
    println!("seed: {seed}");
    println!("{}", summary.line());
    if args.backfill_days > 0 {
        backfill(&args, &fleet).await?;
    }
    Ok(if summary.succeeded() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILURE)
    })
}

/// `--backfill-days`: the fleet's capacity history through the admin API.
async fn backfill(args: &SimulateArgs, fleet: &Fleet) -> Result<()> {
    let server = args.server.as_ref().context("--server is required")?;
    let file = args
        .admin_token_file
        .as_ref()
        .or(args.token_file.as_ref())
        .context("--token-file is required")?;
    let token = Token::from_file(file).context("while reading the admin token")?;
    let admin = pusher(server, token, &args.transport, args.backoff())?;
    let done = stampbook_agent::simulate::history::backfill(
        fleet,
        &admin,
        args.backfill_days,
        fleet.options.now,
    )
    .await
    .context("while backfilling the capacity history")?;
    println!("{}", done.line());
    Ok(())
}

/// Where the rules no fault of the plan makes fire come from in this run: the WAP servers'
/// plans that disagree with the inventory, and the stamp the capacity backfill fills.
fn elsewhere(fleet: &Fleet, backfill_days: u32) -> String {
    use stampbook_agent::simulate::{history, wap};
    let mut out = String::new();
    for (i, drift) in wap::drifts(&fleet.stamps) {
        out.push_str(&format!(
            "  {:<58} {:<8} (WAP server) WAP's plans disagree with the inventory\n",
            drift.rule(),
            fleet.stamps[i].name
        ));
    }
    match history::filling_stamp(fleet) {
        Some((i, resource)) if backfill_days > 0 => out.push_str(&format!(
            "  {:<58} {:<8} (stamp)    {resource:?} use forecast to fill within 30 days\n",
            "capacity.exhaustion_soon", fleet.stamps[i].name
        )),
        _ => out.push_str("  capacity.exhaustion_soon: no capacity history (--backfill-days 0)\n"),
    }
    out
}
