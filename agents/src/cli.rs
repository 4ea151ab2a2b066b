//! The command line: `collect`, `push`, `run` and `simulate`, with every setting also readable
//! from a `STAMPBOOK_*` environment variable (what the systemd unit sets).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use reqwest::Url;
use stampbook_wire::{MY_STORE, ROOT_STORE, Role};

use crate::backoff::Backoff;
use crate::collect::CertDir;
use crate::duration::parse_duration;
use crate::spool::{SpoolLimits, SpoolLocation, default_dir};

/// Exit status: everything done.
pub const EXIT_OK: u8 = 0;
/// Exit status: the work failed (collection, delivery, I/O).
pub const EXIT_FAILURE: u8 = 1;
/// Exit status: the command line was wrong (clap uses it for its own errors too).
pub const EXIT_USAGE: u8 = 2;

#[derive(Debug, Parser)]
#[command(
    name = "stampbook-agent",
    version,
    about = "Collects Hyper-V / VMM / RD Gateway host facts and pushes them to stampbook",
    after_help = "Logs go to stderr (RUST_LOG sets the level, default info); reports to stdout."
)]
pub struct Cli {
    /// Log line format on stderr.
    #[arg(long, global = true, env = "STAMPBOOK_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Collect this host's facts and print the report (JSON) on stdout.
    Collect(CollectArgs),
    /// Collect, then send the report (replaying the spool first).
    Push(PushArgs),
    /// The daemon form of push: once at start, then every interval (±10%) until stopped.
    Run(RunArgs),
    /// Build a synthetic fleet and push it through the real API (demo data, load tests).
    Simulate(SimulateArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SourceKind {
    /// PowerShell on this Windows host.
    Windows,
    /// `ip -j`, certificate directories and systemd on this Linux host.
    Linux,
    /// Files written by `capture.ps1` on an air-gapped host.
    CaptureDir,
}

#[derive(Debug, Clone, Args)]
pub struct CollectArgs {
    /// Where the facts come from.
    #[arg(long, env = "STAMPBOOK_SOURCE", value_enum)]
    pub source: SourceKind,
    /// The capture folder, with `--source capture-dir`.
    #[arg(value_name = "DIR", required_if_eq("source", "capture-dir"))]
    pub dir: Option<PathBuf>,
    /// The stamp this host belongs to (overrides what the source says).
    #[arg(long, env = "STAMPBOOK_STAMP")]
    pub stamp: Option<String>,
    /// The scale unit this host belongs to.
    #[arg(long, env = "STAMPBOOK_SCALE_UNIT")]
    pub scale_unit: Option<String>,
    /// A role of this host; repeat (or comma-separate) for several.
    #[arg(long = "role", env = "STAMPBOOK_ROLES", value_delimiter = ',', value_parser = parse_role)]
    pub roles: Vec<Role>,
    /// This host's FQDN, when the system's own idea of it is wrong.
    #[arg(long, env = "STAMPBOOK_FQDN")]
    pub fqdn: Option<String>,
    /// A directory of PEM/DER certificates to report (Linux), as `[STORE=]PATH` where STORE is
    /// `my` (the default), `root` or a full store name; repeatable.
    #[arg(long = "cert-dir", env = "STAMPBOOK_CERT_DIRS", value_delimiter = ',', value_parser = parse_cert_dir)]
    pub cert_dirs: Vec<CertDir>,
    /// A service whose state and start time to report; repeatable (Windows: default per role).
    #[arg(long = "service", env = "STAMPBOOK_SERVICES", value_delimiter = ',')]
    pub services: Vec<String>,
    /// The PowerShell to run for `--source windows` (`powershell.exe` 5.1 or `pwsh.exe` 7).
    #[arg(long, env = "STAMPBOOK_POWERSHELL", default_value = "powershell.exe")]
    pub powershell: String,
    /// The WAP admin API whose plans a `wap_server` reports (`--source windows`).
    #[arg(
        long,
        env = "STAMPBOOK_WAP_ADMIN_URI",
        default_value = "https://localhost:30004"
    )]
    pub wap_admin_uri: String,
    /// The WAP Windows authentication site that issues the admin API token.
    #[arg(
        long,
        env = "STAMPBOOK_WAP_AUTH_SITE",
        default_value = "https://localhost:30072"
    )]
    pub wap_auth_site: String,
    /// Accept WAP's self-signed certificates (`-DisableCertificateValidation`).
    #[arg(long, env = "STAMPBOOK_WAP_SKIP_CERTIFICATE_CHECK")]
    pub wap_skip_certificate_check: bool,
}

/// Timeouts, retries and trust for talking to the server.
#[derive(Debug, Clone, Args)]
pub struct TransportArgs {
    /// Extra trusted CA certificates (PEM) for a server certificate from a private CA.
    #[arg(long, env = "STAMPBOOK_CA_FILE")]
    pub ca_file: Option<PathBuf>,
    /// Whole-request timeout, in seconds.
    #[arg(long, env = "STAMPBOOK_TIMEOUT_S", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout_s: u64,
    /// Connection timeout, in seconds.
    #[arg(long, env = "STAMPBOOK_CONNECT_TIMEOUT_S", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=600))]
    pub connect_timeout_s: u64,
    /// Attempts per request (the first included) on connect errors, timeouts, 408, 429 and
    /// 5xx [default: 5; simulate: as many as --retry-for allows].
    #[arg(long, env = "STAMPBOOK_MAX_ATTEMPTS", value_parser = clap::value_parser!(u32).range(1..=100))]
    pub max_attempts: Option<u32>,
}

/// Attempts per request of `push` and `run` when `--max-attempts` is not given.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

impl TransportArgs {
    pub fn backoff(&self) -> Backoff {
        Backoff {
            max_attempts: self.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS),
            ..Backoff::default()
        }
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_s)
    }

    pub fn connect_timeout(&self) -> Duration {
        Duration::from_secs(self.connect_timeout_s)
    }
}

#[derive(Debug, Clone, Args)]
pub struct ServerArgs {
    /// The stampbook server's base URL.
    #[arg(long, env = "STAMPBOOK_SERVER", value_parser = parse_server_url)]
    pub server: Url,
    /// A file holding the bearer token (collector scope).
    #[arg(long, env = "STAMPBOOK_TOKEN_FILE")]
    pub token_file: PathBuf,
    #[command(flatten)]
    pub transport: TransportArgs,
}

#[derive(Debug, Clone, Args)]
pub struct SpoolArgs {
    /// Keep undelivered reports here and replay them, in order, on the next push [default:
    /// %ProgramData%\stampbook\spool on Windows, /var/lib/stampbook-agent/spool elsewhere,
    /// skipped with a warning when it cannot be created].
    #[arg(long, env = "STAMPBOOK_SPOOL_DIR")]
    pub spool_dir: Option<PathBuf>,
    /// No spool: a report that cannot be delivered now is lost (wins over --spool-dir).
    #[arg(long, env = "STAMPBOOK_NO_SPOOL")]
    pub no_spool: bool,
    /// At most this many spooled reports; the oldest is dropped first.
    #[arg(long, env = "STAMPBOOK_SPOOL_MAX", default_value_t = 500, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub spool_max: u64,
    /// At most this many bytes of spooled reports; the oldest is dropped first.
    #[arg(long, env = "STAMPBOOK_SPOOL_MAX_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub spool_max_bytes: u64,
    /// At most this many reports kept in `rejected/`.
    #[arg(long, env = "STAMPBOOK_REJECTED_MAX", default_value_t = 100)]
    pub rejected_max: u64,
    /// A spooled report the server answered with a server error (5xx but 502/503/504) in this
    /// many push cycles goes to `rejected/`, so that it cannot block the reports behind it.
    #[arg(long, env = "STAMPBOOK_SPOOL_MAX_FAILURES", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub spool_max_failures: u32,
}

impl SpoolArgs {
    pub fn limits(&self) -> SpoolLimits {
        SpoolLimits {
            max_reports: usize::try_from(self.spool_max).unwrap_or(usize::MAX),
            max_bytes: self.spool_max_bytes,
            max_rejected: usize::try_from(self.rejected_max).unwrap_or(usize::MAX),
            max_failures: self.spool_max_failures,
        }
    }

    /// Where the spool is: off, the folder given, or the platform's default.
    pub fn location(&self) -> SpoolLocation {
        match (&self.spool_dir, self.no_spool) {
            (_, true) => SpoolLocation::Off,
            (Some(dir), false) => SpoolLocation::Chosen(dir.clone()),
            (None, false) => SpoolLocation::Default(default_dir()),
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct PushArgs {
    #[command(flatten)]
    pub collect: CollectArgs,
    #[command(flatten)]
    pub server: ServerArgs,
    #[command(flatten)]
    pub spool: SpoolArgs,
}

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// The interval between pushes: `30s`, `5m`, `1h`... (jittered by ±10%).
    #[arg(long, env = "STAMPBOOK_EVERY", value_parser = parse_duration, default_value = "5m")]
    pub every: Duration,
    #[command(flatten)]
    pub push: PushArgs,
}

#[derive(Debug, Clone, Args)]
pub struct SimulateArgs {
    /// The stampbook server's base URL (not needed with --dry-run-dir).
    #[arg(long, env = "STAMPBOOK_SERVER", value_parser = parse_server_url, required_unless_present = "dry_run_dir")]
    pub server: Option<Url>,
    /// Token for the reports: admin, or collector without a stamp restriction.
    #[arg(
        long,
        env = "STAMPBOOK_TOKEN_FILE",
        required_unless_present = "dry_run_dir"
    )]
    pub token_file: Option<PathBuf>,
    /// Admin token for --apply-inventory and retiring stamps (default: --token-file).
    #[arg(long, env = "STAMPBOOK_ADMIN_TOKEN_FILE")]
    pub admin_token_file: Option<PathBuf>,
    /// Number of stamps.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=250))]
    pub stamps: u16,
    /// Hosts per stamp (8 infrastructure servers, the rest Hyper-V hosts).
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u16).range(10..=2000))]
    pub hosts_per_stamp: u16,
    /// Inject faults so that every problem rule fires somewhere in the fleet.
    #[arg(long)]
    pub faults: bool,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub concurrency: u16,
    /// Seed of the fleet (same seed, same fleet); random when absent, and printed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// PUT the fleet's inventory document (admin) before pushing the reports.
    #[arg(long)]
    pub apply_inventory: bool,
    /// Write the inventory document and the reports under this folder instead of sending.
    #[arg(long, conflicts_with = "server")]
    pub dry_run_dir: Option<PathBuf>,
    /// After the reports, import this many days of plausible daily capacity history of the
    /// fleet (`POST /api/v1/capacity/history`, admin token): growth, seasonality, a scale unit
    /// added, one stamp filling within 30 days. 0: none.
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=730), conflicts_with = "dry_run_dir")]
    pub backfill_days: u32,
    /// How long to keep retrying a request (connect errors, timeouts, 408, 429, 5xx) before
    /// counting it as failed: `30s`, `5m`... Rides out a server restart.
    #[arg(long, env = "STAMPBOOK_RETRY_FOR", value_parser = parse_duration, default_value = "60s")]
    pub retry_for: Duration,
    #[command(flatten)]
    pub transport: TransportArgs,
}

impl SimulateArgs {
    /// Retries bounded by `--retry-for`, and by `--max-attempts` only when given.
    pub fn backoff(&self) -> Backoff {
        Backoff {
            max_attempts: self.transport.max_attempts.unwrap_or(u32::MAX),
            budget: Some(self.retry_for),
            ..Backoff::default()
        }
    }
}

fn parse_role(text: &str) -> Result<Role, String> {
    Role::parse(text).ok_or_else(|| {
        let known: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
        format!("unknown role `{text}` (one of: {})", known.join(", "))
    })
}

fn parse_cert_dir(text: &str) -> Result<CertDir, String> {
    let (store, path) = match text.split_once('=') {
        Some((store, path)) => {
            let store = match store.to_ascii_lowercase().as_str() {
                "my" => MY_STORE.to_owned(),
                "root" => ROOT_STORE.to_owned(),
                "" => return Err(format!("`{text}`: empty store name before `=`")),
                _ => store.to_owned(),
            };
            (store, path)
        }
        None => (MY_STORE.to_owned(), text),
    };
    if path.is_empty() {
        return Err(format!("`{text}`: no directory"));
    }
    Ok(CertDir {
        store,
        path: PathBuf::from(path),
    })
}

fn parse_server_url(text: &str) -> Result<Url, String> {
    let mut url = Url::parse(text).map_err(|e| format!("`{text}` is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "`{text}`: the server URL must be http:// or https://"
        ));
    }
    // `join("api/v1/...")` keeps a path prefix only when it ends with a slash.
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("stampbook-agent").chain(args.iter().copied()))
    }

    #[test]
    fn clap_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn collect_capture_dir_takes_the_folder_and_repeated_roles() {
        let cli = parse(&[
            "collect",
            "--source",
            "capture-dir",
            "/tmp/cap",
            "--role",
            "hyperv_host",
            "--role",
            "rd_gateway",
            "--stamp",
            "ams-01",
        ])
        .unwrap();
        let Command::Collect(args) = cli.command else {
            panic!("collect expected")
        };
        assert_eq!(args.source, SourceKind::CaptureDir);
        assert_eq!(args.dir, Some(PathBuf::from("/tmp/cap")));
        assert_eq!(args.roles, vec![Role::HypervHost, Role::RdGateway]);
        assert_eq!(args.stamp.as_deref(), Some("ams-01"));
    }

    #[test]
    fn capture_dir_without_a_folder_is_a_usage_error() {
        let err = parse(&["collect", "--source", "capture-dir"]).unwrap_err();
        assert_eq!(err.exit_code(), i32::from(EXIT_USAGE));
        let err = parse(&["collect", "--source", "linux", "--role", "king"]).unwrap_err();
        assert_eq!(err.exit_code(), i32::from(EXIT_USAGE));
    }

    #[test]
    fn cert_dirs_name_their_store() {
        let cli = parse(&[
            "collect",
            "--source",
            "linux",
            "--stamp",
            "ams-01",
            "--cert-dir",
            "/etc/pki/tls/certs",
            "--cert-dir",
            "root=/etc/ssl/certs",
            "--cert-dir",
            "LocalMachine\\CA=/srv/ca",
        ])
        .unwrap();
        let Command::Collect(args) = cli.command else {
            panic!("collect expected")
        };
        let stores: Vec<&str> = args.cert_dirs.iter().map(|d| d.store.as_str()).collect();
        assert_eq!(stores, vec![MY_STORE, ROOT_STORE, "LocalMachine\\CA"]);
        assert_eq!(args.cert_dirs[1].path, PathBuf::from("/etc/ssl/certs"));
        assert!(parse(&["collect", "--source", "linux", "--cert-dir", "root="]).is_err());
    }

    #[test]
    fn run_parses_the_interval_and_server_url_gets_a_trailing_slash() {
        let cli = parse(&[
            "run",
            "--every",
            "30s",
            "--source",
            "linux",
            "--server",
            "https://sb.example.net/prefix",
            "--token-file",
            "/etc/stampbook/token",
        ])
        .unwrap();
        let Command::Run(args) = cli.command else {
            panic!("run expected")
        };
        assert_eq!(args.every, Duration::from_secs(30));
        assert_eq!(
            args.push.server.server.as_str(),
            "https://sb.example.net/prefix/"
        );
        assert_eq!(args.push.spool.spool_max, 500);
        assert!(parse(&["run", "--every", "5", "--source", "linux"]).is_err());
    }

    fn spool_of(args: &[&str]) -> SpoolArgs {
        let base = [
            "push",
            "--source",
            "linux",
            "--server",
            "https://sb",
            "--token-file",
            "t",
        ];
        let all: Vec<&str> = base.iter().chain(args).copied().collect();
        let Command::Push(push) = parse(&all).unwrap().command else {
            panic!("push expected")
        };
        push.spool
    }

    #[test]
    fn the_spool_is_on_by_default_in_the_system_state_folder_and_can_be_moved_or_turned_off() {
        assert_eq!(
            spool_of(&[]).location(),
            SpoolLocation::Default(default_dir())
        );
        if cfg!(windows) {
            assert!(default_dir().ends_with(r"stampbook\spool"));
        } else {
            assert_eq!(
                default_dir(),
                PathBuf::from("/var/lib/stampbook-agent/spool")
            );
        }
        assert_eq!(
            spool_of(&["--spool-dir", "/srv/spool"]).location(),
            SpoolLocation::Chosen(PathBuf::from("/srv/spool"))
        );
        assert_eq!(spool_of(&["--no-spool"]).location(), SpoolLocation::Off);
        assert_eq!(
            spool_of(&["--spool-dir", "/srv/spool", "--no-spool"]).location(),
            SpoolLocation::Off,
            "--no-spool wins, also over STAMPBOOK_SPOOL_DIR"
        );
        let limits = spool_of(&["--spool-max-failures", "3"]).limits();
        assert_eq!(limits.max_failures, 3);
        assert_eq!(spool_of(&[]).limits(), SpoolLimits::default());
    }

    #[test]
    fn simulate_retries_for_a_time_budget_and_push_for_five_attempts() {
        let cli = parse(&["simulate", "--dry-run-dir", "/tmp/x"]).unwrap();
        let Command::Simulate(args) = cli.command else {
            panic!("simulate expected")
        };
        assert_eq!(args.retry_for, Duration::from_secs(60));
        let backoff = args.backoff();
        assert_eq!(backoff.budget, Some(Duration::from_secs(60)));
        assert!(backoff.allows_retry(1_000, Duration::from_secs(59)));

        let cli = parse(&[
            "simulate",
            "--dry-run-dir",
            "/tmp/x",
            "--retry-for",
            "5m",
            "--max-attempts",
            "9",
        ])
        .unwrap();
        let Command::Simulate(args) = cli.command else {
            panic!("simulate expected")
        };
        assert_eq!(args.backoff().budget, Some(Duration::from_secs(300)));
        assert_eq!(args.backoff().max_attempts, 9);

        let cli = parse(&[
            "push",
            "--source",
            "linux",
            "--server",
            "https://sb",
            "--token-file",
            "t",
        ])
        .unwrap();
        let Command::Push(args) = cli.command else {
            panic!("push expected")
        };
        assert_eq!(args.server.transport.backoff(), Backoff::default());
    }

    #[test]
    fn simulate_needs_a_server_unless_dry_run() {
        assert!(parse(&["simulate", "--stamps", "2"]).is_err());
        let cli = parse(&[
            "simulate",
            "--dry-run-dir",
            "/tmp/x",
            "--faults",
            "--seed",
            "7",
        ])
        .unwrap();
        let Command::Simulate(args) = cli.command else {
            panic!("simulate expected")
        };
        assert!(args.faults);
        assert_eq!(args.seed, Some(7));
        assert_eq!(args.concurrency, 16);
        assert!(
            parse(&[
                "simulate",
                "--dry-run-dir",
                "/tmp/x",
                "--hosts-per-stamp",
                "3"
            ])
            .is_err()
        );
    }
}
