//! Typed configuration from flags and environment: every setting of the server is declared here,
//! once, with its variable and default (docs/CONFIGURATION.md lists them for operators).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// A value that must never reach a log or a debug print.
#[derive(Clone, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_owned()))
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "stampbook-server",
    version,
    about = "stampbook: the inventory of every WAP/VMM stamp"
)]
pub struct Cli {
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub log: LogArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct DatabaseArgs {
    /// PostgreSQL connection URL.
    #[arg(long, env = "DATABASE_URL", global = true, hide_env_values = true)]
    pub database_url: Option<Secret>,
    /// Connections in the server's pool.
    #[arg(
        long,
        env = "STAMPBOOK_DB_POOL_SIZE",
        default_value_t = 16,
        global = true
    )]
    pub db_pool_size: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct LogArgs {
    /// Log format on stderr.
    #[arg(long, env = "STAMPBOOK_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
}

#[derive(Debug, Subcommand)]
#[expect(
    clippy::large_enum_variant,
    reason = "parsed once at start and moved into the application: boxing buys nothing"
)]
pub enum Command {
    /// Apply pending migrations, then serve the API and the dashboard.
    Serve(ServeArgs),
    /// Apply pending migrations and exit.
    Migrate,
    /// Apply an inventory document (YAML or JSON), idempotently.
    ///
    /// Shows its progress on stderr (a bar on a terminal, plain lines otherwise) and prints the
    /// summary as JSON on stdout.
    Apply {
        /// The inventory document.
        file: PathBuf,
        /// Who is applying it (recorded in the audit log).
        #[arg(long, default_value = "cli")]
        actor: String,
    },
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it alone on stdout (only its hash is stored).
    Create {
        #[arg(long)]
        name: String,
        /// collector, read, operator or admin.
        #[arg(long)]
        scope: String,
        /// Restrict a collector token to one stamp.
        #[arg(long)]
        stamp: Option<String>,
    },
    /// List tokens (never the tokens themselves).
    List,
    /// Revoke a token by name or id.
    Revoke { name_or_id: String },
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "STAMPBOOK_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Read-only dashboard without login (for a wallboard on a trusted network).
    #[arg(long, env = "STAMPBOOK_OPEN_DASHBOARD", default_value_t = false)]
    pub open_dashboard: bool,
    /// Largest report body accepted (bytes, after gzip decoding).
    #[arg(long, env = "STAMPBOOK_MAX_REPORT_BYTES", default_value_t = 8 * 1024 * 1024)]
    pub max_report_bytes: usize,
    /// Largest body of any other request (bytes).
    #[arg(long, env = "STAMPBOOK_MAX_BODY_BYTES", default_value_t = 2 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Key that signs session cookies (at least 32 characters); random per process when unset,
    /// which logs everyone out on restart and does not work across replicas.
    #[arg(long, env = "STAMPBOOK_SESSION_KEY", hide_env_values = true)]
    pub session_key: Option<Secret>,
    /// Lifetime of a dashboard session, in seconds.
    #[arg(long, env = "STAMPBOOK_SESSION_TTL_S", default_value_t = 12 * 3600)]
    pub session_ttl_s: u64,
    /// Requests per minute allowed per token (0 disables the limit).
    #[arg(long, env = "STAMPBOOK_RATE_LIMIT_PER_MIN", default_value_t = 6000)]
    pub rate_limit_per_min: u32,
    /// Failed authentications (unknown or revoked tokens, refused logins) allowed per client
    /// address and minute before its attempts are answered 429 (0 disables the throttle).
    #[arg(long, env = "STAMPBOOK_AUTH_FAILURES_PER_MIN", default_value_t = 30)]
    pub auth_failures_per_min: u32,
    /// Seconds between full rule evaluations of every stamp (time-based rules: expiry, staleness).
    #[arg(long, env = "STAMPBOOK_EVALUATION_INTERVAL_S", default_value_t = 60)]
    pub evaluation_interval_s: u64,
    /// While this replica answers HTTP requests other than agents' reports and health probes
    /// (and for a second after the last), the rule evaluation lanes take turns, one stamp run at a time, and the
    /// lane whose turn it is rests this many times the length of its run (2: the evaluator works
    /// at most a third of the time, and requests keep the cores); 0 never rests. At most 2 s at
    /// once.
    #[arg(long, env = "STAMPBOOK_EVALUATION_REST", default_value_t = 2.0)]
    pub evaluation_rest: f64,
    /// Niceness of the background workers' threads (rule evaluation, deliveries, snapshots,
    /// retention, and the parsing and storing of agents' reports) above the request threads'
    /// (Linux): 10 lets requests take ~90% of a busy core; 0 gives both an even share. 0 to 19.
    #[arg(long, env = "STAMPBOOK_BACKGROUND_NICE", default_value_t = crate::background::DEFAULT_NICE,
          value_parser = clap::value_parser!(u8).range(0..=19))]
    pub background_nice: u8,
    /// Days accepted report ids are remembered (idempotency window).
    #[arg(long, env = "STAMPBOOK_REPORT_RETENTION_DAYS", default_value_t = 14)]
    pub report_retention_days: u32,
    /// HTTP worker threads (defaults to the number of cores).
    #[arg(long, env = "STAMPBOOK_WORKERS")]
    pub workers: Option<usize>,
    /// Do not run background workers (evaluator, webhook delivery) in this process.
    #[arg(long, env = "STAMPBOOK_NO_WORKERS", default_value_t = false)]
    pub no_workers: bool,
    /// Connections of the background workers' own pool (rule evaluator, webhook and
    /// Alertmanager delivery, capacity snapshots, retention), opened beside the
    /// `STAMPBOOK_DB_POOL_SIZE` ones, which then serve requests only; default a quarter of
    /// `STAMPBOOK_DB_POOL_SIZE`, at least the evaluation lanes (cores + 1, at most 4) plus 2.
    #[arg(long, env = "STAMPBOOK_DB_BACKGROUND_POOL_SIZE")]
    pub db_background_pool_size: Option<u32>,
    /// Seconds one webhook delivery may take, connection included.
    #[arg(long, env = "STAMPBOOK_WEBHOOK_TIMEOUT_S", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub webhook_timeout_s: u64,
    /// Attempts per webhook delivery before it is marked failed.
    #[arg(long, env = "STAMPBOOK_WEBHOOK_MAX_ATTEMPTS", default_value_t = 15, value_parser = clap::value_parser!(i32).range(1..=100))]
    pub webhook_max_attempts: i32,
    /// First retry delay of a webhook delivery in milliseconds; doubled per attempt (with
    /// ±20% jitter), at most an hour.
    #[arg(
        long,
        env = "STAMPBOOK_WEBHOOK_RETRY_BASE_MS",
        default_value_t = 10_000
    )]
    pub webhook_retry_base_ms: u64,
    /// Address ranges webhook targets may use although they are loopback, link-local, private or
    /// unique-local (comma-separated CIDRs, e.g. `10.20.0.0/16,127.0.0.1/32`); cloud metadata
    /// addresses stay refused.
    #[arg(long, env = "STAMPBOOK_WEBHOOK_ALLOW_CIDRS", value_delimiter = ',')]
    pub webhook_allow_cidrs: Vec<ipnet::IpNet>,
    /// Alertmanager instances open problems are sent to as alerts (`POST /api/v2/alerts`),
    /// comma-separated base URLs (e.g. `http://am-1:9093,http://am-2:9093`: every instance of an
    /// Alertmanager cluster gets every alert). The targets obey `STAMPBOOK_WEBHOOK_ALLOW_CIDRS`.
    #[arg(long, env = "STAMPBOOK_ALERTMANAGER_URLS", value_delimiter = ',')]
    pub alertmanager_urls: Vec<url::Url>,
    /// Seconds between two sends of an open problem to Alertmanager; each alert is sent with an
    /// `endsAt` four of these ahead, so Alertmanager resolves it by itself only if stampbook
    /// stops sending.
    #[arg(long, env = "STAMPBOOK_ALERTMANAGER_RESEND_S", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub alertmanager_resend_s: u64,
    /// The dashboard's address as operators reach it (e.g. `https://stampbook.example.net`):
    /// alerts link to a problem's page with it (Alertmanager's `generatorURL`).
    #[arg(long, env = "STAMPBOOK_PUBLIC_URL")]
    pub public_url: Option<url::Url>,
    /// Report bytes (after gzip decoding) parsed and stored at once by this process; a report
    /// waits for its share before it is parsed, which bounds the memory of many large reports
    /// in flight (a report holds about ten times its bytes while it is stored).
    #[arg(long, env = "STAMPBOOK_INGEST_BUDGET_BYTES", default_value_t = 12 * 1024 * 1024)]
    pub ingest_budget_bytes: usize,
    /// Days a quarantined report is kept (replayed or not).
    #[arg(
        long,
        env = "STAMPBOOK_QUARANTINE_RETENTION_DAYS",
        default_value_t = 30
    )]
    pub quarantine_retention_days: u32,
    /// Most quarantined reports kept; the oldest go first.
    #[arg(long, env = "STAMPBOOK_QUARANTINE_MAX", default_value_t = 10_000)]
    pub quarantine_max: u32,
    #[command(flatten)]
    pub limits: ReportLimits,
    #[command(flatten)]
    pub directory: DirectoryArgs,
    #[command(flatten)]
    pub reads: ReadArgs,
}

/// Read-only work (API lists and gets, dashboard pages, exports) on a PostgreSQL hot standby,
/// with the primary as fallback (server/src/db/read.rs, deploy/REPLICAS.md).
#[derive(Debug, Clone, Args)]
pub struct ReadArgs {
    /// URL of a hot standby (streaming replica) of `DATABASE_URL`'s database; unset: every read
    /// goes to the primary.
    #[arg(long, env = "STAMPBOOK_READ_DATABASE_URL", hide_env_values = true)]
    pub read_database_url: Option<Secret>,
    /// Seconds the standby may be behind the primary and still serve reads; beyond it, or when
    /// it does not answer, reads go to the primary until it is back within the bound.
    #[arg(long, env = "STAMPBOOK_READ_MAX_LAG_S", default_value_t = 30, value_parser = clap::value_parser!(u64).range(0..=86_400))]
    pub read_max_lag_s: u64,
    /// Connections in the pool to the standby.
    #[arg(long, env = "STAMPBOOK_READ_POOL_SIZE", default_value_t = 16, value_parser = clap::value_parser!(u32).range(2..=1000))]
    pub read_pool_size: u32,
    /// Seconds between two checks of the standby (reachable, still a standby, its lag).
    #[arg(long, env = "STAMPBOOK_READ_PROBE_INTERVAL_S", default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=300))]
    pub read_probe_interval_s: u64,
}

impl Default for ReadArgs {
    fn default() -> Self {
        ReadArgs {
            read_database_url: None,
            read_max_lag_s: 30,
            read_pool_size: 16,
            read_probe_interval_s: 2,
        }
    }
}

/// Dashboard login with a directory (LDAP / Active Directory) account, beside token login.
/// Off unless `STAMPBOOK_LDAP_URL` is set; checked at start (server/src/directory/settings.rs).
#[derive(Debug, Clone, Default, Args)]
pub struct DirectoryArgs {
    /// `ldaps://host:636`, or `ldap://host:389` with `--ldap-starttls`.
    #[arg(long, env = "STAMPBOOK_LDAP_URL")]
    pub ldap_url: Option<String>,
    /// Upgrade an `ldap://` connection with StartTLS before anything is sent.
    #[arg(long, env = "STAMPBOOK_LDAP_STARTTLS", default_value_t = false)]
    pub ldap_starttls: bool,
    /// Allow `ldap://` without StartTLS: passwords cross the network in clear. Tests only.
    #[arg(
        long,
        env = "STAMPBOOK_LDAP_INSECURE_PLAINTEXT",
        default_value_t = false
    )]
    pub ldap_insecure_plaintext: bool,
    /// PEM file of the CA(s) that issued the directory's certificate (default: the system's).
    #[arg(long, env = "STAMPBOOK_LDAP_CA_FILE")]
    pub ldap_ca_file: Option<PathBuf>,
    /// DN of the service account that searches for users.
    #[arg(long, env = "STAMPBOOK_LDAP_BIND_DN")]
    pub ldap_bind_dn: Option<String>,
    /// File holding the service account's password (never given on the command line or logged).
    #[arg(long, env = "STAMPBOOK_LDAP_BIND_PASSWORD_FILE")]
    pub ldap_bind_password_file: Option<PathBuf>,
    /// Where users are searched (subtree), e.g. `OU=Staff,DC=corp,DC=example`.
    #[arg(long, env = "STAMPBOOK_LDAP_USER_BASE")]
    pub ldap_user_base: Option<String>,
    /// Attributes a login name is matched against (any of them), comma-separated:
    /// `sAMAccountName,userPrincipalName` for Active Directory, `uid` for OpenLDAP.
    #[arg(
        long,
        env = "STAMPBOOK_LDAP_USER_ATTRIBUTES",
        value_delimiter = ',',
        default_value = "sAMAccountName,userPrincipalName"
    )]
    pub ldap_user_attributes: Vec<String>,
    /// Filter every user must also match, e.g. `(objectClass=user)` or one excluding disabled
    /// AD accounts.
    #[arg(
        long,
        env = "STAMPBOOK_LDAP_USER_FILTER",
        default_value = "(objectClass=person)"
    )]
    pub ldap_user_filter: String,
    /// Group → scope grants, `;`-separated, each `SCOPE[@STAMP]=GROUP DN`; SCOPE is read,
    /// operator or admin, `@STAMP` limits the grant to one stamp.
    #[arg(long, env = "STAMPBOOK_LDAP_GROUPS")]
    pub ldap_groups: Option<String>,
    /// How nested groups are followed: `in-chain` (Active Directory's matching rule
    /// 1.2.840.113556.1.4.1941), `walk` (`memberOf` of each group, for OpenLDAP's memberof
    /// overlay) or `direct` (no nesting).
    #[arg(long, env = "STAMPBOOK_LDAP_NESTED", default_value = "in-chain")]
    pub ldap_nested: String,
    /// Group levels `walk` follows at most.
    #[arg(long, env = "STAMPBOOK_LDAP_NESTED_DEPTH", default_value_t = 8)]
    pub ldap_nested_depth: u32,
    /// Seconds one directory operation (connect, search, bind) may take.
    #[arg(long, env = "STAMPBOOK_LDAP_TIMEOUT_S", default_value_t = 10)]
    pub ldap_timeout_s: u64,
    /// Failed directory logins allowed per account name and minute (0 disables).
    #[arg(
        long,
        env = "STAMPBOOK_LDAP_FAILURES_PER_ACCOUNT_PER_MIN",
        default_value_t = 5
    )]
    pub ldap_failures_per_account_per_min: u32,
}

/// The most one report may carry per section (422 naming the section above), and how much
/// history one report may write in detail.
#[derive(Debug, Clone, Args)]
pub struct ReportLimits {
    /// Routes per report.
    #[arg(long, env = "STAMPBOOK_MAX_ROUTES", default_value_t = 5_000)]
    pub max_routes: usize,
    /// Certificates per report (all stores together).
    #[arg(long, env = "STAMPBOOK_MAX_CERTIFICATES", default_value_t = 2_000)]
    pub max_certificates: usize,
    /// Network interfaces per report.
    #[arg(long, env = "STAMPBOOK_MAX_INTERFACES", default_value_t = 512)]
    pub max_interfaces: usize,
    /// Addresses per interface.
    #[arg(
        long,
        env = "STAMPBOOK_MAX_ADDRESSES_PER_INTERFACE",
        default_value_t = 256
    )]
    pub max_addresses_per_interface: usize,
    /// Services per report.
    #[arg(long, env = "STAMPBOOK_MAX_SERVICES", default_value_t = 2_000)]
    pub max_services: usize,
    /// Components per report, and entries of any other list (trusted issuers, hash algorithms,
    /// collection errors, WAP plans and their quotas).
    #[arg(long, env = "STAMPBOOK_MAX_LIST_ITEMS", default_value_t = 1_000)]
    pub max_list_items: usize,
    /// Changes of one kind (routes, certificates...) one report writes to history row by row;
    /// beyond it the report writes one summary row for that kind (counts, no detail).
    #[arg(long, env = "STAMPBOOK_HISTORY_DETAIL_MAX", default_value_t = 200)]
    pub history_detail_max: usize,
}

impl Default for ReportLimits {
    fn default() -> Self {
        ReportLimits {
            max_routes: 5_000,
            max_certificates: 2_000,
            max_interfaces: 512,
            max_addresses_per_interface: 256,
            max_services: 2_000,
            max_list_items: 1_000,
            history_detail_max: 200,
        }
    }
}

impl ServeArgs {
    /// Settings for tests and embedding: port 0 on loopback, defaults elsewhere.
    pub fn for_tests() -> Self {
        ServeArgs {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            open_dashboard: false,
            max_report_bytes: 8 * 1024 * 1024,
            max_body_bytes: 2 * 1024 * 1024,
            session_key: Some(Secret::new("test-session-key-0123456789abcdef0123456789")),
            session_ttl_s: 3600,
            rate_limit_per_min: 0,
            auth_failures_per_min: 30,
            evaluation_interval_s: 3600,
            evaluation_rest: 2.0,
            background_nice: crate::background::DEFAULT_NICE,
            report_retention_days: 14,
            workers: Some(2),
            // tests run the evaluator themselves (rules::engine::evaluate_queued), deterministically
            no_workers: true,
            db_background_pool_size: None,
            webhook_timeout_s: 10,
            webhook_max_attempts: 15,
            webhook_retry_base_ms: 10_000,
            webhook_allow_cidrs: Vec::new(),
            alertmanager_urls: Vec::new(),
            alertmanager_resend_s: 60,
            public_url: None,
            ingest_budget_bytes: 12 * 1024 * 1024,
            quarantine_retention_days: 30,
            quarantine_max: 10_000,
            limits: ReportLimits::default(),
            directory: DirectoryArgs::default(),
            reads: ReadArgs::default(),
        }
    }

    pub fn evaluation_interval(&self) -> Duration {
        Duration::from_secs(self.evaluation_interval_s.max(1))
    }

    pub fn webhook_timeout(&self) -> Duration {
        Duration::from_secs(self.webhook_timeout_s.max(1))
    }
}
