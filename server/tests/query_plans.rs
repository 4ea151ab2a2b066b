//! Plan checks: on a 100,000-host fleet across 1,000 stamps (deploy/scale/fleet.sql, loaded in
//! the test database in seconds), every list statement of the API, run with its real parameters
//! under `EXPLAIN (ANALYZE, FORMAT JSON)`, reads through an index and about the rows it returns
//! (first pages, cursor pages, filtered pages). Each statement is run as a prepared statement
//! twice: with the generic plan (`plan_cache_mode = force_generic_plan`: what PostgreSQL may
//! settle on after five runs of a cached statement, the plan that made the old catch-all lists
//! walk the whole fleet) and with a custom plan. The statements are the very strings the lists
//! run (`query_file!` of the same files), so this cannot drift from the code.
//!
//! The bound: no scan of any table may read (rows returned + rows removed by its filters, over
//! all its loops) more than `SLACK` × (`LIMIT` + 1) rows, the page and the row that says there
//! is a next one. A few walks are bounded by something that does not grow with the fleet, and
//! say so in their case: a filter that does not pick the walk (a role, staleness: the walk
//! reads page ÷ share of the hosts that match), one certificate's installations. Sequential scans fail, except of
//! `stamps` (a row per stamp, hundreds: read whole when that is cheaper than its index).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{PgConnection, PgPool};
use stampbook_server::facts::{history, list};
use stampbook_server::ingest::quarantine;
use stampbook_server::inventory::store;
use stampbook_server::problems::{self, statements as problem_sql};
use stampbook_server::{audit, facts::read};

const FLEET: &str = include_str!("../../deploy/scale/fleet.sql");
const HOSTS: i32 = 100_000;
const STAMPS: i32 = 1_000;
/// Plans fleet.sql declares on each stamp.
const PLANS_PER_STAMP: i32 = 10;
/// The page size the checks ask for; the lists fetch one more row to know there is a next page.
const LIMIT: i64 = 50;
/// Rows a scan may read per row fetched (LIMIT + 1) before the list no longer costs what it returns.
const SLACK: i64 = 3;
/// Tables small enough that reading them whole can be the planner's best choice.
const SMALL_TABLES: &[&str] = &["stamps"];

#[derive(Clone, Debug)]
enum P {
    Text(Option<String>),
    Int(Option<i32>),
    Big(Option<i64>),
    Bool(Option<bool>),
    Time(Option<DateTime<Utc>>),
    Texts(Vec<String>),
    Bigs(Vec<i64>),
}

fn text(s: &str) -> P {
    P::Text(Some(s.to_owned()))
}

const NO_TEXT: P = P::Text(None);

struct Case {
    name: &'static str,
    sql: &'static str,
    params: Vec<P>,
    /// Rows any one scan may read (rows returned, removed by filters, over all its loops).
    max_read: i64,
    /// Tables the case may read whole (said why where it is built).
    whole: &'static [&'static str],
}

/// A case whose walk is bounded by something that does not grow with the fleet (said why).
fn bounded(case: Case, max_read: i64) -> Case {
    Case { max_read, ..case }
}

fn page_case(name: &'static str, sql: &'static str, params: Vec<P>) -> Case {
    Case {
        name,
        sql,
        params,
        max_read: SLACK * (LIMIT + 1),
        whole: &[],
    }
}

/// A parameter as a typed SQL literal (the tests' own values).
fn literal(p: &P) -> String {
    fn or_null<T>(v: &Option<T>, ty: &str, f: impl Fn(&T) -> String) -> String {
        match v {
            Some(v) => format!("{}::{ty}", f(v)),
            None => format!("null::{ty}"),
        }
    }
    match p {
        P::Text(v) => or_null(v, "text", |s| format!("'{}'", s.replace('\'', "''"))),
        P::Int(v) => or_null(v, "int", i32::to_string),
        P::Big(v) => or_null(v, "bigint", i64::to_string),
        P::Bool(v) => or_null(v, "bool", bool::to_string),
        P::Time(v) => or_null(v, "timestamptz", |t| format!("'{}'", t.to_rfc3339())),
        P::Bigs(v) => format!(
            "array[{}]::bigint[]",
            v.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
        ),
        P::Texts(v) => format!(
            "array[{}]::text[]",
            v.iter()
                .map(|s| format!("'{}'", s.replace('\'', "''")))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The plans a case is checked with: the list pool's sessions (`db::LIST_SETTINGS`: the generic
/// plan, where the API's lists run), and a custom plan (PostgreSQL's default chooses between the
/// two for the statements run elsewhere).
const LISTS: &str = "the list pool's settings (generic plan)";
const MODES: [&str; 2] = [LISTS, "force_custom_plan"];

/// The case's statement prepared (as sqlx prepares it) and explained with its parameters, under
/// `mode` (one of [`MODES`]).
async fn explain(conn: &mut PgConnection, case: &Case, mode: &str) -> Value {
    // the statement is one of the lists' own constants, the parameters are bound
    let settings = match mode {
        LISTS => stampbook_server::db::LIST_SETTINGS.to_owned(),
        _ => format!("set plan_cache_mode = {mode}"),
    };
    let prepare = format!("reset all; {settings}; prepare plan_check as {}", case.sql);
    sqlx::raw_sql(sqlx::AssertSqlSafe(prepare))
        .execute(&mut *conn)
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", case.name));
    // EXECUTE takes its arguments as SQL literals (a utility statement has no bound parameters)
    let args = case
        .params
        .iter()
        .map(literal)
        .collect::<Vec<_>>()
        .join(", ");
    let args = if args.is_empty() {
        args
    } else {
        format!("({args})")
    };
    let sql = format!("explain (analyze, format json) execute plan_check{args}");
    let q = sqlx::query_scalar::<_, Value>(sqlx::AssertSqlSafe(sql)).persistent(false);
    let explained = q
        .fetch_one(&mut *conn)
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", case.name));
    sqlx::raw_sql("deallocate plan_check")
        .execute(&mut *conn)
        .await
        .unwrap();
    explained
}

/// Every node of a plan, sub-plans and init-plans included.
fn nodes(plan: &Value, out: &mut Vec<Value>) {
    out.push(plan.clone());
    for child in plan["Plans"].as_array().into_iter().flatten() {
        nodes(child, out);
    }
}

fn rows_read(node: &Value) -> i64 {
    let n = |k: &str| node[k].as_f64().unwrap_or(0.0);
    ((n("Actual Rows") + n("Rows Removed by Filter") + n("Rows Removed by Index Recheck"))
        * n("Actual Loops").max(1.0)) as i64
}

/// The plan's failures against the case's bounds (none: it passes).
fn judge(case: &Case, mode: &str, explained: &Value) -> Vec<String> {
    let mut all = Vec::new();
    nodes(&explained[0]["Plan"], &mut all);
    let mut failures = Vec::new();
    let mut indexed = false;
    for node in &all {
        let kind = node["Node Type"].as_str().unwrap_or_default();
        let relation = node["Relation Name"].as_str().unwrap_or_default();
        if SMALL_TABLES.contains(&relation) || case.whole.contains(&relation) {
            continue;
        }
        if kind == "Seq Scan" {
            failures.push(format!(
                "{} ({mode}): a sequential scan of {relation}",
                case.name
            ));
        }
        if kind.contains("Index") {
            indexed = true;
        }
        if kind.contains("Scan") && rows_read(node) > case.max_read {
            failures.push(format!(
                "{} ({mode}): {kind} on {} ({}) reads {} rows, more than {}",
                case.name,
                node["Relation Name"],
                node["Index Name"],
                rows_read(node),
                case.max_read
            ));
        }
    }
    if !indexed {
        failures.push(format!("{} ({mode}): no index in the plan", case.name));
    }
    failures
}

async fn load_fleet(pool: &PgPool, stamps: i32) {
    let mut conn = pool.acquire().await.unwrap();
    sqlx::raw_sql(FLEET).execute(&mut *conn).await.unwrap();
    sqlx::query("select pg_temp.load_fleet($1, $2)")
        .bind(HOSTS)
        .bind(stamps)
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::raw_sql("vacuum analyze")
        .execute(&mut *conn)
        .await
        .unwrap();
}

fn host_params(after: Option<&str>, stamp: Option<&str>) -> Vec<P> {
    match stamp {
        // the unfiltered page of a stamp has no filter parameters
        Some(s) => vec![
            text(s),
            P::Text(after.map(str::to_owned)),
            P::Big(Some(LIMIT + 1)),
        ],
        None => host_filter_params(after, None, None, None),
    }
}

fn host_filter_params(
    after: Option<&str>,
    stamp: Option<&str>,
    role: Option<&str>,
    stale: Option<bool>,
) -> Vec<P> {
    let after = P::Text(after.map(str::to_owned));
    let rest = [
        P::Text(role.map(str::to_owned)),
        P::Bool(stale),
        NO_TEXT,
        P::Big(Some(LIMIT + 1)),
    ];
    match stamp {
        Some(s) => [vec![text(s), after], rest.to_vec()].concat(),
        None => [vec![after], rest.to_vec()].concat(),
    }
}

fn cert_params(f: &read::CertFilter) -> Vec<P> {
    let c = f.after.clone();
    vec![
        P::Text(f.stamp.clone()),
        P::Int(f.within_days),
        P::Text(f.store.clone()),
        P::Bool(f.has_private_key),
        P::Text(f.host.clone()),
        P::Text(f.thumbprint.clone()),
        P::Time(c.as_ref().map(|c| c.not_after)),
        P::Text(c.as_ref().map(|c| c.thumbprint.clone())),
        P::Text(c.as_ref().map(|c| c.host.clone())),
        P::Text(c.as_ref().map(|c| c.store.clone())),
        P::Big(Some(LIMIT + 1)),
    ]
}

fn problem_params(state: &str, f: &problems::Filter) -> Vec<P> {
    vec![
        text(state),
        P::Text(f.stamp.clone()),
        P::Text(f.severity.clone()),
        P::Text(f.rule.clone()),
        P::Text(f.host.clone()),
        P::Text(f.plan.clone()),
        P::Bool(f.acknowledged),
        P::Big(f.before_id),
        P::Big(Some(LIMIT + 1)),
    ]
}

/// The cursor a real first page of the list gives out, read through the list's own code.
async fn host_cursor(pool: &PgPool, stamp: Option<&str>) -> String {
    let f = read::HostFilter {
        stamp: stamp.map(str::to_owned),
        ..Default::default()
    };
    let page = list::list_hosts(pool, &f, LIMIT).await.unwrap();
    assert_eq!(page.len() as i64, LIMIT, "a full first page of hosts");
    page.last().unwrap().fqdn.clone()
}

async fn cert_cursor(pool: &PgPool, f: &read::CertFilter) -> read::CertCursor {
    let page = list::list_certificates(pool, f, LIMIT).await.unwrap();
    assert_eq!(
        page.len() as i64,
        LIMIT,
        "a full first page of certificates"
    );
    page.last().unwrap().cursor()
}

async fn problem_cursor(pool: &PgPool, f: &problems::Filter) -> i64 {
    let page = problems::list(pool, f, LIMIT).await.unwrap();
    assert_eq!(page.len() as i64, LIMIT, "a full first page of problems");
    page.last().unwrap().id
}

async fn cases(pool: &PgPool) -> Vec<Case> {
    let stamp = "st0500";
    let mut out = Vec::new();

    // hosts: fleet-wide and of one stamp, first and next page
    let fleet_after = host_cursor(pool, None).await;
    out.push(page_case(
        "hosts, first page",
        list::HOSTS_PAGE,
        host_params(None, None),
    ));
    out.push(page_case(
        "hosts, next page",
        list::HOSTS_PAGE,
        host_params(Some(&fleet_after), None),
    ));
    // a role or staleness filters the FQDN walk: it reads the page ÷ the share of hosts that
    // match (1 in 50 are VMM servers, 1 in 20 stale in the fleet), however large the fleet
    out.push(bounded(
        page_case(
            "VMM servers (1 host in 50)",
            list::HOSTS_PAGE,
            host_filter_params(None, None, Some("vmm_server"), None),
        ),
        SLACK * (LIMIT + 1) * 50,
    ));
    out.push(bounded(
        page_case(
            "stale hosts (1 in 20)",
            list::HOSTS_PAGE,
            host_filter_params(None, None, None, Some(true)),
        ),
        SLACK * (LIMIT + 1) * 20,
    ));
    out.push(Case {
        max_read: 3,
        ..page_case(
            "one host",
            list::HOST_BY_FQDN,
            vec![text("HOST-0050000.example.net")],
        )
    });

    // certificates: fleet-wide by expiry (all, and expiring within 30 days), of a stamp, of a
    // host, of a thumbprint
    let fleet = read::CertFilter::default();
    let fleet_next = read::CertFilter {
        after: Some(cert_cursor(pool, &fleet).await),
        ..Default::default()
    };
    let expiring = read::CertFilter {
        within_days: Some(30),
        ..Default::default()
    };
    let of_host = read::CertFilter {
        host: Some("host-0050000.example.net".to_owned()),
        ..Default::default()
    };
    let ca = sqlx::query_scalar::<_, String>(
        "select thumbprint from certificates where self_signed order by thumbprint limit 1",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    let of_thumbprint = read::CertFilter {
        thumbprint: Some(ca),
        ..Default::default()
    };
    out.push(page_case(
        "certificates, first page",
        list::CERTIFICATES_PAGE,
        cert_params(&fleet),
    ));
    out.push(page_case(
        "certificates, next page",
        list::CERTIFICATES_PAGE,
        cert_params(&fleet_next),
    ));
    out.push(page_case(
        "certificates expiring within 30 days",
        list::CERTIFICATES_PAGE,
        cert_params(&expiring),
    ));
    out.push(page_case(
        "certificates of a host",
        list::CERTIFICATES_OF_HOST_PAGE,
        cert_params(&of_host),
    ));
    out.push(page_case(
        "installations of a certificate",
        list::CERTIFICATES_BY_THUMBPRINT_PAGE,
        cert_params(&of_thumbprint),
    ));

    // problems: open fleet-wide, open of a stamp, all of a stamp, of a host, all fleet-wide
    let open = problems::Filter::default();
    let open_next = problems::Filter {
        before_id: Some(problem_cursor(pool, &open).await),
        ..Default::default()
    };
    let all = problems::Filter {
        state: problems::State::All,
        ..Default::default()
    };
    let all_next = problems::Filter {
        before_id: Some(problem_cursor(pool, &all).await),
        ..all.clone()
    };
    let host = problems::Filter {
        host: Some("host-0050000.example.net".to_owned()),
        state: problems::State::All,
        ..Default::default()
    };
    out.push(page_case(
        "open problems, first page",
        problem_sql::OPEN_PAGE,
        problem_params("open", &open),
    ));
    out.push(page_case(
        "open problems, next page",
        problem_sql::OPEN_PAGE,
        problem_params("open", &open_next),
    ));
    out.push(page_case(
        "all problems, first page",
        problem_sql::PAGE,
        problem_params("all", &all),
    ));
    out.push(page_case(
        "all problems, next page",
        problem_sql::PAGE,
        problem_params("all", &all_next),
    ));
    // the unfiltered pages (the ones above run for a rule, a plan, an acknowledgement state)
    let limit = || P::Big(Some(LIMIT + 1));
    for (name, sql, before) in [
        (
            "open problems, unfiltered, first page",
            problem_sql::OPEN_UNFILTERED_PAGE,
            None,
        ),
        (
            "open problems, unfiltered, next page",
            problem_sql::OPEN_UNFILTERED_PAGE,
            open_next.before_id,
        ),
        (
            "all problems, unfiltered, first page",
            problem_sql::UNFILTERED_PAGE,
            None,
        ),
        (
            "all problems, unfiltered, next page",
            problem_sql::UNFILTERED_PAGE,
            all_next.before_id,
        ),
    ] {
        out.push(page_case(name, sql, vec![P::Big(before), limit()]));
    }
    out.push(page_case(
        "problems of a host",
        problem_sql::OF_HOST_PAGE,
        problem_params("all", &host),
    ));

    let critical = problems::Filter {
        severity: Some("critical".to_owned()),
        ..Default::default()
    };
    out.push(page_case(
        "open critical problems",
        problem_sql::OPEN_OF_SEVERITY_PAGE,
        problem_params("open", &critical),
    ));

    // plans: fleet-wide and of one stamp, first and next page
    let plan_limit = P::Big(Some(LIMIT + 1));
    out.push(page_case(
        "plans, first page",
        store::PLANS_PAGE,
        vec![NO_TEXT, plan_limit.clone()],
    ));
    out.push(page_case(
        "plans, next page",
        store::PLANS_PAGE,
        vec![text("plan-st0400-5"), plan_limit.clone()],
    ));
    out.push(page_case(
        "plans of a stamp",
        store::PLANS_OF_STAMP_PAGE,
        vec![text(stamp), NO_TEXT, plan_limit.clone()],
    ));
    out.push(page_case(
        "plans of a stamp, next page",
        store::PLANS_OF_STAMP_PAGE,
        vec![text(stamp), text("plan-st0500-3"), plan_limit],
    ));

    // the audit log, the quarantine, a host's history
    let limit = P::Big(Some(LIMIT + 1));
    out.push(page_case(
        "audit log, first page",
        audit::PAGE,
        vec![P::Big(None), limit.clone()],
    ));
    out.push(page_case(
        "audit log, next page",
        audit::PAGE,
        vec![P::Big(Some(2500)), limit.clone()],
    ));
    // one of the 5 kinds of entity: the planner may walk the primary key and skip the other
    // kinds (fewer pages than the (entity, id) index's scattered rows): the page × 5 at most,
    // whatever the size of the log
    out.push(bounded(
        page_case(
            "audit log of one entity (1 in 5)",
            audit::OF_ENTITY_PAGE,
            vec![text("plan"), P::Big(Some(2500)), limit.clone()],
        ),
        SLACK * (LIMIT + 1) * 5,
    ));
    out.push(page_case(
        "pending quarantined reports",
        quarantine::PENDING_PAGE,
        vec![P::Big(Some(1500)), limit.clone()],
    ));
    out.push(page_case(
        "quarantined reports",
        quarantine::PAGE,
        vec![P::Big(None), limit.clone()],
    ));
    // pending reports of one of the 20 unknown stamp names (2 in 3 pending): the generic plan
    // may walk the primary key and keep that stamp's pending ones, the page × 30; the
    // quarantine is not the fleet (reports refused, kept for replay)
    out.push(bounded(
        page_case(
            "pending quarantined reports of a stamp (1 in 30)",
            quarantine::OF_STAMP_PAGE,
            vec![
                text("unknown-7"),
                P::Bool(Some(true)),
                P::Big(None),
                limit.clone(),
            ],
        ),
        (LIMIT + 1) * 30 * 2,
    ));
    let host: String =
        sqlx::query_scalar("select fqdn::text from hosts where id % 1000 = 1 limit 1")
            .fetch_one(pool)
            .await
            .unwrap();
    out.push(page_case(
        "a host's history",
        history::PAGE,
        vec![text(&host.to_uppercase()), P::Big(None), limit.clone()],
    ));
    out.push(page_case(
        "a host's history of one kind",
        history::OF_KIND_PAGE,
        vec![text(&host), text("route"), P::Big(None), limit],
    ));
    out.extend(stamp_cases(pool, stamp).await);
    out.extend(lookups());
    out.extend(wap_rule_inputs(pool).await);
    out.extend(wap_plan_reads(pool).await);
    out
}

/// The lists of one stamp: its hosts, certificate installations and problems, first and next
/// pages (the cursor a real first page gives out).
async fn stamp_cases(pool: &PgPool, stamp: &str) -> Vec<Case> {
    let mut out = Vec::new();
    let stamp_after = host_cursor(pool, Some(stamp)).await;
    out.push(page_case(
        "hosts of a stamp, first page",
        list::HOSTS_OF_STAMP_PAGE,
        host_params(None, Some(stamp)),
    ));
    out.push(page_case(
        "hosts of a stamp, next page",
        list::HOSTS_OF_STAMP_PAGE,
        host_params(Some(&stamp_after), Some(stamp)),
    ));
    // a filtered page of a stamp (Hyper-V hosts: most of them): with the filters in the where
    // clause, their estimates made the generic plan sort every host of the stamp
    out.push(page_case(
        "Hyper-V hosts of a stamp",
        list::HOSTS_OF_STAMP_FILTERED_PAGE,
        host_filter_params(None, Some(stamp), Some("hyperv_host"), None),
    ));
    let of_stamp = read::CertFilter {
        stamp: Some(stamp.to_owned()),
        ..Default::default()
    };
    let of_stamp_next = read::CertFilter {
        after: Some(cert_cursor(pool, &of_stamp).await),
        ..of_stamp.clone()
    };
    // a stamp's installations walk the stamp's expiry index: a page reads its rows, not the
    // stamp's 300 installations (nor 3,000 in a stamp of 1,000 hosts)
    out.push(page_case(
        "certificates of a stamp, first page",
        list::CERTIFICATES_OF_STAMP_PAGE,
        cert_params(&of_stamp),
    ));
    out.push(page_case(
        "certificates of a stamp, next page",
        list::CERTIFICATES_OF_STAMP_PAGE,
        cert_params(&of_stamp_next),
    ));
    // a store filters inside the lookups (2 installations in 3 are machine certificates): the
    // walk reads the page ÷ that share
    let of_stamp_my = read::CertFilter {
        store: Some("LocalMachine\\My".to_owned()),
        has_private_key: Some(true),
        ..of_stamp.clone()
    };
    out.push(bounded(
        page_case(
            "machine certificates of a stamp",
            list::CERTIFICATES_OF_STAMP_PAGE,
            cert_params(&of_stamp_my),
        ),
        SLACK * (LIMIT + 1) * 3 / 2,
    ));
    let stamp_open = problems::Filter {
        stamp: Some(stamp.to_owned()),
        ..Default::default()
    };
    let stamp_all = problems::Filter {
        stamp: Some(stamp.to_owned()),
        state: problems::State::All,
        ..Default::default()
    };
    out.push(page_case(
        "open problems of a stamp",
        problem_sql::OPEN_OF_STAMP_UNFILTERED_PAGE,
        vec![text(stamp), P::Big(None), P::Big(Some(LIMIT + 1))],
    ));
    // pages of 10 (the stamp has about 100 open problems): a plan that reads every open problem
    // of the stamp and sorts them reads more than the bound
    let small = |case: Case| Case {
        max_read: SLACK * 11,
        ..case
    };
    let mut open_10 = problem_params("open", &stamp_open);
    *open_10.last_mut().unwrap() = P::Big(Some(11));
    out.push(small(page_case(
        "open problems of a stamp, 10 a page",
        problem_sql::OPEN_OF_STAMP_UNFILTERED_PAGE,
        vec![text(stamp), P::Big(None), P::Big(Some(11))],
    )));
    // one severity of a stamp walks the stamp's open problems of that severity (the stamp's
    // criticals: 1 open problem in 10), not the stamp's open problems filtered
    let critical = problems::Filter {
        severity: Some("critical".to_owned()),
        ..stamp_open.clone()
    };
    let mut critical_10 = problem_params("open", &critical);
    *critical_10.last_mut().unwrap() = P::Big(Some(11));
    out.push(small(page_case(
        "open critical problems of a stamp, 10 a page",
        problem_sql::OPEN_OF_STAMP_SEVERITY_PAGE,
        critical_10,
    )));
    // the filtered statement without a filter (the walk every other filter of a stamp takes;
    // with the filters in the where clause, the generic plan sorted the stamp's open problems)
    out.push(small(page_case(
        "open problems of a stamp with the filtered statement, 10 a page",
        problem_sql::OPEN_OF_STAMP_PAGE,
        open_10,
    )));
    // with the filters in the where clause, the generic plan sorted every problem of the stamp
    out.push(page_case(
        "all problems of a stamp",
        problem_sql::OF_STAMP_PAGE,
        problem_params("all", &stamp_all),
    ));
    out
}

/// What the plans API and pages read of WAP's side (fleet.sql: one WAP server a stamp, reporting
/// the stamp's 10 plans and a trial plan only WAP knows): the reports of a page's plans or of one
/// plan, a plan's open problems and history, never the fleet's hosts or history.
async fn wap_plan_reads(pool: &PgPool) -> Vec<Case> {
    use stampbook_server::facts::wap;
    use stampbook_server::rules::load;
    use stampbook_server::web::wap_plan;
    let stamp_id: i64 = sqlx::query_scalar("select id from stamps where name = 'st0500'")
        .fetch_one(pool)
        .await
        .unwrap();
    // a plans page: its 100 declared plans and the first 100 plans only WAP knows
    let keys: Vec<String> = sqlx::query_scalar(
        "(select lower(wap_plan_id) from plans order by wap_plan_id limit 100)
         union all (select 'trial-' || name from stamps order by name limit 100)",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let held: String =
        sqlx::query_scalar("select lower(wap_plan_id) from plans where id % 20 = 0 limit 1")
            .fetch_one(pool)
            .await
            .unwrap();
    let reported = i64::from(PLANS_PER_STAMP) + 1;
    // a plans page of 100 declared plans: the 10 stamps they are on
    let page_stamps: Vec<i64> = sqlx::query_scalar(
        "select distinct stamp_id from (select stamp_id from plans order by wap_plan_id limit 100) p",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let n_stamps = i64::try_from(page_stamps.len()).unwrap();
    vec![
        // per stamp: its kept counts (a row per rule and severity), its acknowledged open
        // problems, one VMM server found, its hosts blind to a chain input (none here)
        bounded(
            page_case(
                "the health of a plans page's stamps",
                stampbook_server::health::STAMP_HEALTH,
                vec![P::Bigs(page_stamps)],
            ),
            SLACK * 10 * n_stamps,
        ),
        bounded(
            page_case(
                "the declared plans of a plans page's 200 keys",
                load::DECLARED_PLANS_OF_KEYS,
                vec![P::Texts(keys.clone())],
            ),
            SLACK * 200,
        ),
        bounded(
            page_case(
                "the WAP reports of a plans page's 200 plans",
                wap::WITH_KEYS,
                vec![P::Texts(keys)],
            ),
            SLACK * 200,
        ),
        bounded(
            page_case(
                "the WAP reports of a stamp",
                wap::OF_STAMPS,
                vec![P::Bigs(vec![stamp_id])],
            ),
            SLACK * reported,
        ),
        // every WAP report of the fleet against the declared plans (hashed, or looked up one
        // by one): the fleet's reported and declared plans (11 and 10 a stamp), not its hosts
        Case {
            whole: &["plans"],
            ..bounded(
                page_case(
                    "the plans only WAP knows",
                    wap::UNDECLARED_KEYS,
                    vec![P::Big(Some(101))],
                ),
                SLACK * reported * i64::from(STAMPS),
            )
        },
        bounded(
            page_case(
                "the plans only a stamp's WAP knows",
                wap::UNDECLARED_KEYS_OF_STAMP,
                vec![text("st0500"), P::Big(Some(101))],
            ),
            SLACK * reported,
        ),
        page_case(
            "a WAP plan's open problems",
            wap_plan::OPEN_PROBLEMS,
            vec![text(&held)],
        ),
        page_case(
            "a WAP plan's history",
            wap_plan::history::HISTORY,
            vec![text(&held), P::Big(Some(100))],
        ),
    ]
}

/// Statements of ingest that find one row: an index lookup, whatever the fleet's size (a changed
/// report's host is found and locked by its FQDN on every report).
fn lookups() -> Vec<Case> {
    let rules = stampbook_server::rules::RESOLVED_BY_A_REPORT
        .iter()
        .map(|r| (*r).to_owned())
        .collect();
    vec![bounded(
        page_case(
            "the host a changed report writes, locked",
            stampbook_server::facts::report::HOST_FOR_REPORT,
            vec![text("host-0050001.example.net"), P::Texts(rules)],
        ),
        SLACK,
    )]
}

/// What the stamp-wide and WAP plan rules of one stamp read: about the stamp's own hosts and plans
/// (fleet.sql declares 10 a stamp) and what its WAP servers report, never the whole fleet.
async fn wap_rule_inputs(pool: &PgPool) -> Vec<Case> {
    use stampbook_server::rules::load;
    let stamp_id: i64 = sqlx::query_scalar("select id from stamps where name = 'st0500'")
        .fetch_one(pool)
        .await
        .unwrap();
    let two_hosts: Vec<i64> =
        sqlx::query_scalar("select id from hosts where stamp_id = $1 order by id limit 2")
            .bind(stamp_id)
            .fetch_all(pool)
            .await
            .unwrap();
    let plans = SLACK * (i64::from(PLANS_PER_STAMP) + 1);
    let keys = |v: &[&str]| P::Texts(v.iter().map(|s| (*s).to_owned()).collect());
    vec![
        // every run of a stamp, host runs too: its VMM servers' settings (fleet.sql: 2 a stamp)
        bounded(
            page_case(
                "the VMM settings of a stamp",
                load::VMM_SETTINGS_OF_STAMP,
                vec![P::Big(Some(stamp_id))],
            ),
            SLACK * (2 + 1),
        ),
        // a stamp run for the hosts reports changed: those hosts, not the stamp's 100
        bounded(
            page_case(
                "the hosts of a stamp that reports changed",
                load::HOSTS_OF_STAMP_AMONG,
                vec![P::Big(Some(stamp_id)), P::Bigs(two_hosts.clone())],
            ),
            SLACK * (2 + 1),
        ),
        // a whole run: the stamp's 100 hosts
        bounded(
            page_case(
                "the hosts of a stamp",
                load::HOSTS_OF_STAMP,
                vec![P::Big(Some(stamp_id))],
            ),
            SLACK * i64::from(HOSTS / STAMPS),
        ),
        // a stamp's 100 hosts, one or two components each
        bounded(
            page_case(
                "the components of a stamp's hosts",
                load::COMPONENTS_OF_STAMP,
                vec![P::Big(Some(stamp_id))],
            ),
            SLACK * 2 * i64::from(HOSTS / STAMPS),
        ),
        bounded(
            page_case(
                "the declared plans of a stamp",
                load::DECLARED_PLANS_OF_STAMP,
                vec![P::Big(Some(stamp_id))],
            ),
            plans,
        ),
        // three reported ids: one declared there, one declared elsewhere, one nowhere
        bounded(
            page_case(
                "which reported plan ids are declared",
                load::DECLARED_AMONG,
                vec![keys(&[
                    "plan-st0500-3",
                    "plan-st0123-1",
                    "gold-not-declared",
                ])],
            ),
            SLACK * 3,
        ),
        // the plans naming two clouds: fleet.sql names one cloud per stamp, on its 10 plans
        bounded(
            page_case(
                "the stamps declaring a reported cloud",
                load::CLOUD_STAMPS_AMONG,
                vec![keys(&["cloud st0500", "cloud st0777", "no such cloud"])],
            ),
            SLACK * 2 * (i64::from(PLANS_PER_STAMP) + 1),
        ),
    ]
}

/// Every case under each of `modes`: the failures (none: all pass).
async fn check(pool: &PgPool, cases: &[Case]) -> Vec<String> {
    let mut conn = pool.acquire().await.unwrap();
    let mut failures = Vec::new();
    for mode in MODES {
        for case in cases {
            let explained = explain(&mut conn, case, mode).await;
            failures.extend(judge(case, mode, &explained));
        }
    }
    failures
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn every_list_reads_about_the_rows_it_returns_on_a_100000_host_fleet(pool: PgPool) {
    load_fleet(&pool, STAMPS).await;
    let failures = check(&pool, &cases(&pool).await).await;
    assert!(
        failures.is_empty(),
        "lists that read more than they return:\n{}",
        failures.join("\n")
    );
}

/// The same fleet in 100 stamps of 1,000 hosts: the walk of a stamp's list is its own index
/// from the cursor, not every row of the stamp sorted (which a generic plan may prefer when it
/// estimates the stamp's rows after the filters at one or two: at 100 hosts a stamp the sort
/// reads no more than the bound and the check above cannot tell them apart).
#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn a_stamps_lists_read_about_the_rows_they_return_in_stamps_of_1000_hosts(pool: PgPool) {
    load_fleet(&pool, 100).await;
    let cases = stamp_cases(&pool, "st0050").await;
    let failures = check(&pool, &cases).await;
    assert!(
        failures.is_empty(),
        "lists of a stamp that read more than they return:\n{}",
        failures.join("\n")
    );
}
