//! Dashboard login with a directory account, against a real OpenLDAP (`slapd` started by the
//! test on 127.0.0.1, LDAPS and StartTLS with a test CA): groups grant scopes, nested groups
//! count, wrong and empty passwords and injected filters are refused, failures are throttled and
//! audited, a stamp-limited grant sees only its stamp, and the directory name is what the audit
//! log and acknowledgements show.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod dashboard;
mod directory;

use dashboard::{Browser, Page, evaluate, load_fleet};
use directory::{ALICE, BOB, CAROL, DAVE, ERIN, Slapd};
use reqwest::StatusCode;
use sqlx::PgPool;
use stampbook_server::auth::session;
use stampbook_server::config::{DirectoryArgs, ServeArgs};

use crate::common::TestApp;

/// A second server on a database another one already filled (its admin token exists): the base URL.
async fn second_app(pool: PgPool, directory: DirectoryArgs) -> String {
    let app = stampbook_server::startup::Application::build(
        ServeArgs {
            directory,
            ..dashboard::settings()
        },
        pool,
    )
    .unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    base
}

async fn app_with(pool: PgPool, directory: DirectoryArgs, failures_per_min: u32) -> TestApp {
    common::spawn_with(
        pool,
        ServeArgs {
            directory,
            auth_failures_per_min: failures_per_min,
            ..dashboard::settings()
        },
    )
    .await
}

/// Posts the login form with a directory name and password.
async fn login(b: &mut Browser, user: &str, password: &str) -> Page {
    let form = b.get("/login").await;
    assert_eq!(form.status, StatusCode::OK, "login form");
    let csrf = form.csrf();
    b.post(
        "/login",
        &[
            ("user", user),
            ("password", password),
            ("csrf", &csrf),
            ("next", "/"),
        ],
    )
    .await
}

async fn session_scope(pool: &PgPool, name: &str) -> Option<(String, Option<i64>)> {
    sqlx::query_as("select scope, stamp_id from sessions where directory_user = $1")
        .bind(name)
        .fetch_optional(pool)
        .await
        .unwrap()
}

async fn refusals(pool: &PgPool, actor: &str) -> Vec<String> {
    sqlx::query_scalar(
        "select after->>'reason' from audit_log where actor = $1 and action = 'login_refused' order by id",
    )
    .bind(actor)
    .fetch_all(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn an_ldaps_login_maps_groups_to_scopes_nested_groups_included(pool: PgPool) {
    let Some(ldap) = Slapd::start().await else {
        return;
    };
    let app = app_with(pool.clone(), ldap.args("ams-01"), 30).await;

    let mut anon = Browser::new(&app.base);
    anon.get("/login").await.assert_contains(&[
        "name=\"user\"",
        "name=\"password\"",
        "name=\"token\"",
    ]);

    let mut admin = Browser::new(&app.base);
    let r = login(&mut admin, ALICE.0, ALICE.1).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), "/");
    assert!(admin.cookies.contains_key(session::COOKIE_NAME));
    assert_eq!(admin.get("/").await.status, StatusCode::OK);
    assert_eq!(
        session_scope(&pool, "ldap:alice").await,
        Some(("admin".to_owned(), None))
    );

    // bob is in noc-night-shift, which is in noc-operators: operator through the nesting
    let mut operator = Browser::new(&app.base);
    let r = login(&mut operator, BOB.0, BOB.1).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        session_scope(&pool, "ldap:bob").await,
        Some(("operator".to_owned(), None))
    );

    let mut reader = Browser::new(&app.base);
    assert_eq!(
        login(&mut reader, ERIN.0, ERIN.1).await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        session_scope(&pool, "ldap:erin").await,
        Some(("read".to_owned(), None))
    );

    // a correct password in no mapped group is refused, and audited
    let mut nobody = Browser::new(&app.base);
    let r = login(&mut nobody, DAVE.0, DAVE.1).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    r.assert_contains(&["in no group that grants access"]);
    assert!(!nobody.cookies.contains_key(session::COOKIE_NAME));
    assert_eq!(refusals(&pool, "ldap:dave").await.len(), 1);

    // the successful logins are in the audit log under the directory name
    let logins: Vec<String> = sqlx::query_scalar(
        "select actor from audit_log where action = 'login' and entity = 'session' order by id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(logins, ["ldap:alice", "ldap:bob", "ldap:erin"]);

    // token login stays (break-glass and machines)
    let mut machine = Browser::new(&app.base);
    let r = machine.login(&app.admin, "/").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn a_wrong_password_is_refused_audited_and_throttled_per_account(pool: PgPool) {
    let Some(ldap) = Slapd::start().await else {
        return;
    };
    // the per-address allowance is high here: the account's own limit (5 a minute) must act
    let app = app_with(pool.clone(), ldap.args("ams-01"), 1000).await;
    let mut b = Browser::new(&app.base);
    for _ in 0..5 {
        let r = login(&mut b, ALICE.0, "not-her-password").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        r.assert_contains(&["name or password is wrong"]);
        assert!(
            !r.body.contains("not-her-password"),
            "the password is never echoed"
        );
    }
    assert!(!b.cookies.contains_key(session::COOKIE_NAME));
    let reasons = refusals(&pool, "ldap:alice").await;
    assert_eq!(reasons.len(), 5);
    assert!(reasons[0].contains("refused the password"), "{reasons:?}");

    // the sixth attempt is not even tried, with the right password too
    let r = login(&mut b, ALICE.0, ALICE.1).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers.contains_key("retry-after"));
    r.assert_contains(&["Too many failed logins for this account"]);
    assert!(!b.cookies.contains_key(session::COOKIE_NAME));
    // another account from the same address is not affected
    assert_eq!(
        login(&mut b, ERIN.0, ERIN.1).await.status,
        StatusCode::SEE_OTHER
    );
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn failed_logins_are_throttled_per_address_across_accounts(pool: PgPool) {
    let Some(ldap) = Slapd::start().await else {
        return;
    };
    let app = app_with(pool.clone(), ldap.args("ams-01"), 3).await;
    let mut b = Browser::new(&app.base);
    for user in ["alice", "bob", "nobody-at-all"] {
        let r = login(&mut b, user, "guess").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{user}");
    }
    let r = login(&mut b, ERIN.0, ERIN.1).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    r.assert_contains(&["from this address"]);
    // an unknown account is refused like a wrong password, and audited under the typed name
    assert_eq!(refusals(&pool, "ldap:nobody-at-all").await.len(), 1);
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn an_empty_password_is_refused_without_an_anonymous_bind(pool: PgPool) {
    let Some(ldap) = Slapd::start().await else {
        return;
    };
    let app = app_with(pool.clone(), ldap.args("ams-01"), 30).await;
    let mut b = Browser::new(&app.base);
    // the browser's `required` aside, a form can be posted with the password empty
    let r = login(&mut b, ALICE.0, "").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    r.assert_contains(&["Enter your directory password"]);
    assert!(!b.cookies.contains_key(session::COOKIE_NAME));
    assert_eq!(session_scope(&pool, "ldap:alice").await, None);
    let reasons = refusals(&pool, "ldap:alice").await;
    assert_eq!(reasons.len(), 1);
    assert!(reasons[0].contains("empty password"), "{reasons:?}");
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn a_login_name_that_injects_a_filter_finds_nobody(pool: PgPool) {
    let Some(ldap) = Slapd::start().await else {
        return;
    };
    let app = app_with(pool.clone(), ldap.args("ams-01"), 30).await;
    for injected in ["*)(uid=*", "*", "alice)(|(uid=*", "ali*"] {
        let mut b = Browser::new(&app.base);
        // with any user's password: unescaped, `*` would match every entry or alice's
        let r = login(&mut b, injected, ALICE.1).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{injected}: {}", r.body);
        r.assert_contains(&["name or password is wrong"]);
        assert!(!b.cookies.contains_key(session::COOKIE_NAME), "{injected}");
    }
    let sessions: i64 = sqlx::query_scalar("select count(*) from sessions")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(sessions, 0);
    let reasons = refusals(&pool, "ldap:*)(uid=*").await;
    assert_eq!(
        reasons,
        ["no single directory entry matches this login name"]
    );
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn a_stamp_limited_group_sees_only_its_stamp(pool: PgPool) {
    let Some(ldap) = Slapd::start().await else {
        return;
    };
    let loader = dashboard::spawn(pool.clone()).await;
    load_fleet(&loader, 2, 4, 5).await;
    evaluate(&pool).await;
    let stamps: Vec<String> = sqlx::query_scalar("select name from stamps order by name")
        .fetch_all(&pool)
        .await
        .unwrap();
    let (own, other) = (stamps[0].clone(), stamps[1].clone());
    let host_of = |stamp: String| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, String>(
                "select h.fqdn::text from hosts h join stamps s on s.id = h.stamp_id where s.name = $1 order by 1 limit 1",
            )
            .bind(stamp)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    let (own_host, other_host) = (host_of(own.clone()).await, host_of(other.clone()).await);
    let base = second_app(pool.clone(), ldap.args(&own)).await;

    let mut b = Browser::new(&base);
    let r = login(&mut b, CAROL.0, CAROL.1).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let home = b.get("/").await;
    assert_eq!(home.status, StatusCode::SEE_OTHER);
    assert_eq!(home.location(), format!("/stamps/{own}"));
    assert_eq!(
        b.get(&format!("/stamps/{own}")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        b.get(&format!("/hosts/{own_host}")).await.status,
        StatusCode::OK
    );
    let own_problems = b.get(&format!("/problems?stamp={own}")).await;
    assert_eq!(own_problems.status, StatusCode::OK);

    assert_eq!(
        b.get(&format!("/stamps/{other}")).await.status,
        StatusCode::FORBIDDEN
    );
    let r = b.get(&format!("/hosts/{other_host}")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    r.assert_contains(&["Your access is limited to stamp", &own]);
    let all = b.get("/problems").await;
    assert_eq!(all.status, StatusCode::SEE_OTHER);
    assert_eq!(all.location(), format!("/problems?stamp={own}"));
    assert_eq!(
        b.get(&format!("/problems?stamp={other}")).await.location(),
        format!("/problems?stamp={own}")
    );
    for across in [
        "/plans",
        "/capacity",
        "/capacity.csv",
        "/certificates",
        "/quarantine",
    ] {
        assert_eq!(
            b.get(across).await.status,
            StatusCode::FORBIDDEN,
            "{across}"
        );
    }
    // the API has no per-stamp reads: the session does not open it
    let api = b.get("/api/v1/stamps").await;
    assert_eq!(api.status, StatusCode::FORBIDDEN, "{}", api.body);
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn starttls_works_and_acknowledgements_carry_the_directory_name(pool: PgPool) {
    let Some(ldap) = Slapd::start().await else {
        return;
    };
    let loader = dashboard::spawn(pool.clone()).await;
    load_fleet(&loader, 1, 4, 5).await;
    evaluate(&pool).await;
    let id = dashboard::open_problem(&pool).await;
    let base = second_app(pool.clone(), ldap.starttls_args("ams-01")).await;

    let mut b = Browser::new(&base);
    let r = login(&mut b, BOB.0, BOB.1).await;
    assert_eq!(
        r.status,
        StatusCode::SEE_OTHER,
        "StartTLS login: {}",
        r.body
    );
    let csrf = b.get("/problems").await.csrf();
    let r = b
        .post(
            &format!("/problems/{id}/acknowledge"),
            &[
                ("csrf", &csrf),
                ("note", "INC-7 looking"),
                ("for", "4h"),
                ("return", "/problems"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let by: Option<String> = sqlx::query_scalar("select ack_by from problems where id = $1")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(by.as_deref(), Some("ldap:bob"));
    b.get(&format!("/problems?acked={id}"))
        .await
        .assert_contains(&["ldap:bob"]);
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn an_unreachable_directory_is_unavailable_not_a_wrong_password(pool: PgPool) {
    let Some(ldap) = Slapd::start().await else {
        return;
    };
    let mut args = ldap.args("ams-01");
    // nothing listens there
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    args.ldap_url = Some(format!("ldaps://127.0.0.1:{closed}"));
    let app = app_with(pool.clone(), args, 30).await;
    let mut b = Browser::new(&app.base);
    let r = login(&mut b, ALICE.0, ALICE.1).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    r.assert_contains(&["could not be reached", "log in with a token"]);
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn the_in_chain_rule_on_a_directory_without_it_still_counts_direct_groups(pool: PgPool) {
    let Some(ldap) = Slapd::start().await else {
        return;
    };
    // OpenLDAP has no LDAP_MATCHING_RULE_IN_CHAIN: configured anyway, direct memberships still
    // grant, and a membership only through nesting grants nothing (never more than it should)
    let args = DirectoryArgs {
        ldap_nested: "in-chain".to_owned(),
        ..ldap.args("ams-01")
    };
    let app = app_with(pool.clone(), args, 30).await;
    let mut alice = Browser::new(&app.base);
    assert_eq!(
        login(&mut alice, ALICE.0, ALICE.1).await.status,
        StatusCode::SEE_OTHER
    );
    let mut bob = Browser::new(&app.base);
    let r = login(&mut bob, BOB.0, BOB.1).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    r.assert_contains(&["in no group that grants access"]);
}
