//! Where the collector was blind, end to end through the API: collection errors stored and judged
//! (`host.collection_failed`), Remote Console readiness `unknown` naming the input and the host,
//! unknown roles named in the answer, settings parts cleared by `null`, dropped reports counted.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chrono::Utc;
use common::{TestApp, spec_document};
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::PgPool;
use stampbook_agent::certgen::{self, CertSpec, GeneratedCert};
use stampbook_server::config::ServeArgs;
use stampbook_server::rules::engine;

const ENHANCED: &str = "Microsoft Enhanced RSA and AES Cryptographic Provider";
const VMM: &str = "vmm01.ams-01.example.net";
const RDGW: &str = "rdgw01.ams-01.example.net";

/// A private CA and the VMConnect certificate it issued (also the RD Gateway's public one).
struct Chain {
    ca: GeneratedCert,
    leaf: GeneratedCert,
}

fn chain() -> Chain {
    let ca = certgen::self_signed(&CertSpec::ca("Contoso Root CA")).unwrap();
    let leaf = certgen::issued_by(
        &CertSpec {
            dns_names: vec!["console.ams-01.example.net".into()],
            ..CertSpec::new("Remote Console Connect")
        },
        &ca,
    )
    .unwrap();
    Chain { ca, leaf }
}

fn report(fqdn: &str, roles: &[&str]) -> Value {
    json!({
        "schema": "stampbook.report/v1",
        "report_id": uuid::Uuid::new_v4(),
        "collected_at": Utc::now(),
        "agent": {"name": "stampbook-agent", "version": "0.1.0"},
        "host": {"fqdn": fqdn, "stamp": "ams-01", "roles": roles},
    })
}

fn vmm_report(c: &Chain) -> Value {
    let mut r = report(VMM, &["vmm_server"]);
    r["certificates"] = json!([{"store": "VMM", "der": c.leaf.der_base64(), "has_private_key": true,
                                "provider": ENHANCED}]);
    r["settings"] = json!({"vmm": {"vmconnect_gateway_certificate_thumbprint": c.leaf.thumbprint,
                                   "vmconnect_hyperv_certificate_thumbprint": c.leaf.thumbprint}});
    r
}

fn rdgw_certificates(c: &Chain) -> Value {
    json!([
        {"store": "LocalMachine\\My", "der": c.leaf.der_base64(), "has_private_key": true},
        {"store": "LocalMachine\\Root", "der": c.ca.der_base64()}
    ])
}

fn rdgw_settings(c: &Chain, authorization: &str) -> Value {
    json!({"trusted_issuer_certificates": [c.leaf.thumbprint],
           "authentication_plugin": "FedAuthorizationPlugin", "authorization_plugin": authorization,
           "ssl_certificate_thumbprint": c.leaf.thumbprint})
}

/// The RD Gateway, with its settings collected.
fn rdgw_report(c: &Chain) -> Value {
    let mut r = report(RDGW, &["rd_gateway"]);
    r["certificates"] = rdgw_certificates(c);
    r["settings"] = json!({"rd_gateway": rdgw_settings(c, "FedAuthorizationPlugin")});
    r
}

/// The RD Gateway whose agent may not read `Win32_TSGatewayServerSettings`.
fn rdgw_denied(c: &Chain) -> Value {
    let mut r = report(RDGW, &["rd_gateway"]);
    r["certificates"] = rdgw_certificates(c);
    r["collection_errors"] = json!([{"section": "settings.rd_gateway",
                                     "source": "Win32_TSGatewayServerSettings",
                                     "message": "Access denied"}]);
    r
}

/// The application, with its dashboard open for reading (pages are checked without a login).
async fn spawn(pool: PgPool) -> TestApp {
    let settings = ServeArgs {
        open_dashboard: true,
        ..ServeArgs::for_tests()
    };
    common::spawn_with(pool, settings).await
}

async fn push(app: &TestApp, report: &Value) -> Value {
    let r = app
        .send_json(Method::POST, "/api/v1/reports", &app.admin, report)
        .await;
    assert_eq!(r.status(), 202);
    let body: Value = r.json().await.unwrap();
    engine::evaluate_queued(&app.pool).await.unwrap();
    body
}

async fn open_rules(app: &TestApp) -> Vec<String> {
    let items = app.get_json("/api/v1/problems?stamp=ams-01").await["items"].clone();
    let mut rules: Vec<String> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["rule"].as_str().unwrap().to_owned())
        .collect();
    rules.sort();
    rules
}

async fn console(app: &TestApp) -> Value {
    app.get_json("/api/v1/stamps/ams-01/health").await["remote_console"].clone()
}

async fn page(app: &TestApp, path: &str) -> String {
    let r = app.http.get(app.url(path)).send().await.unwrap();
    assert_eq!(r.status(), 200, "{path}");
    r.text().await.unwrap()
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn a_stamp_whose_vmm_never_reported_is_unknown_not_ready(pool: PgPool) {
    let app = spawn(pool).await;
    app.put_inventory(&spec_document()).await;
    let rc = console(&app).await;
    assert_eq!(rc["state"], "unknown");
    assert_eq!(rc["ready"], false);
    assert_eq!(
        rc["unknown"],
        json!([{"link": "vmm_certificate", "input": "settings.vmm", "hosts": [], "hosts_total": 0}])
    );
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn a_failed_rd_gateway_section_makes_readiness_unknown_and_opens_collection_failed(
    pool: PgPool,
) {
    let app = spawn(pool).await;
    app.put_inventory(&spec_document()).await;
    let c = chain();
    push(&app, &vmm_report(&c)).await;
    push(&app, &rdgw_report(&c)).await;
    assert_eq!(open_rules(&app).await, Vec::<String>::new());
    assert_eq!(console(&app).await["state"], "ready");

    // the agent loses the right to read the gateway's settings
    push(&app, &rdgw_denied(&c)).await;
    assert_eq!(open_rules(&app).await, ["host.collection_failed"]);
    let problem = &app
        .get_json("/api/v1/problems?rule=host.collection_failed")
        .await["items"][0];
    assert_eq!(problem["severity"], "warning");
    assert_eq!(problem["host"], RDGW);
    assert!(
        problem["message"]
            .as_str()
            .unwrap()
            .contains("settings.rd_gateway (Win32_TSGatewayServerSettings: Access denied)"),
        "{problem}"
    );
    assert_eq!(
        problem["evidence"]["collection_errors"][0]["section"],
        "settings.rd_gateway"
    );

    let rc = console(&app).await;
    assert_eq!(rc["state"], "unknown");
    assert_eq!(rc["broken_links"], json!([]));
    assert_eq!(rc["unknown_links"], json!(["rd_gateway_trust"]));
    assert_eq!(
        rc["unknown"],
        json!([{"link": "rd_gateway_trust", "input": "settings.rd_gateway", "hosts": [RDGW], "hosts_total": 1}])
    );
    // a WAP integration asking about the plan hears it, and the plan is not held for it alone
    let plan = app.get_json("/api/v1/plans/gold-ams").await;
    assert_eq!(plan["stamp_health"]["remote_console"]["state"], "unknown");
    assert!(
        !open_rules(&app)
            .await
            .contains(&"plan.stamp_unhealthy".to_owned())
    );

    let host = app.get_json(&format!("/api/v1/hosts/{RDGW}")).await;
    assert_eq!(
        host["collection_errors"],
        json!([{"section": "settings.rd_gateway", "source": "Win32_TSGatewayServerSettings",
                "message": "Access denied"}])
    );
    let overview = page(&app, "/").await;
    assert!(overview.contains("UNKNOWN"), "overview tile");
    assert!(overview.contains("settings.rd_gateway on rdgw01.ams-01.example.net"));
    let stamp = page(&app, "/stamps/ams-01").await;
    assert!(stamp.contains("Hosts with failed sections"));
    assert!(
        stamp.contains("<li class=\"unknown\">"),
        "chain link marked unknown"
    );
    assert!(stamp.contains("Access denied"));
    let host_page = page(&app, &format!("/hosts/{RDGW}")).await;
    assert!(host_page.contains("Not collected"));
    assert!(host_page.contains("Win32_TSGatewayServerSettings"));

    // collected again: ready, and the problem resolves
    let mut fixed = rdgw_report(&c);
    fixed["collection_errors"] = json!([]);
    push(&app, &fixed).await;
    assert_eq!(open_rules(&app).await, Vec::<String>::new());
    assert_eq!(console(&app).await["state"], "ready");
    assert_eq!(
        app.get_json(&format!("/api/v1/hosts/{RDGW}")).await["collection_errors"],
        json!([])
    );
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn an_open_remote_console_problem_is_broken_even_when_an_input_is_unknown(pool: PgPool) {
    let app = spawn(pool).await;
    app.put_inventory(&spec_document()).await;
    let c = chain();
    push(&app, &vmm_report(&c)).await;
    let mut wrong = rdgw_report(&c);
    wrong["settings"]["rd_gateway"] = rdgw_settings(&c, "NativeAuthorization");
    push(&app, &wrong).await;
    // a Hyper-V host that has only said who it is: its inputs were never collected
    push(&app, &report("hv003.ams-01.example.net", &["hyperv_host"])).await;
    let rc = console(&app).await;
    assert_eq!(rc["state"], "broken");
    assert_eq!(rc["broken_link"], "rd_gateway_trust");
    let unknown: Vec<String> = rc["unknown"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| format!("{} {} {}", u["link"], u["input"], u["hosts"]))
        .collect();
    assert_eq!(
        unknown,
        [
            r#""host_trust" "certificates" ["hv003.ams-01.example.net"]"#,
            r#""host_trust" "services" ["hv003.ams-01.example.net"]"#,
            r#""host_trust" "settings.hyperv_terminal_service" ["hv003.ams-01.example.net"]"#,
        ]
    );
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn an_unknown_role_is_ignored_and_named_in_the_answer(pool: PgPool) {
    let app = spawn(pool).await;
    app.put_inventory(&spec_document()).await;
    let answer = push(
        &app,
        &report("hv01.ams-01.example.net", &["hyperv_host", "hci_node"]),
    )
    .await;
    assert_eq!(answer["duplicate"], false);
    let warnings = answer["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].as_str().unwrap().contains("'hci_node'"));
    let host = app.get_json("/api/v1/hosts/hv01.ams-01.example.net").await;
    assert_eq!(host["roles"], json!(["hyperv_host"]));
    // a report without one answers an empty list
    let answer = push(&app, &report("hv02.ams-01.example.net", &["hyperv_host"])).await;
    assert_eq!(answer["warnings"], json!([]));
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn a_settings_part_sent_as_null_clears_it_and_rules_stop_using_it(pool: PgPool) {
    let app = spawn(pool).await;
    app.put_inventory(&spec_document()).await;
    let c = chain();
    push(&app, &vmm_report(&c)).await;
    // the gateway trusts another thumbprint than the VMM server names
    let mut rdgw = rdgw_report(&c);
    rdgw["settings"]["rd_gateway"]["trusted_issuer_certificates"] = json!(["AB".repeat(20)]);
    push(&app, &rdgw).await;
    assert!(
        open_rules(&app)
            .await
            .contains(&"remote_console.rdgw_trusted_issuer".to_owned())
    );

    // a report that does not collect settings keeps them
    let mut silent = report(VMM, &["vmm_server"]);
    silent["certificates"] = vmm_report(&c)["certificates"].clone();
    push(&app, &silent).await;
    let host = app.get_json(&format!("/api/v1/hosts/{VMM}")).await;
    assert_eq!(
        host["settings"]["vmm"]["vmconnect_gateway_certificate_thumbprint"],
        c.leaf.thumbprint
    );

    // the server is no VMM server any more: its settings are sent as null
    let mut former = silent.clone();
    former["report_id"] = json!(uuid::Uuid::new_v4());
    former["host"]["roles"] = json!(["other"]);
    former["settings"] = json!({"vmm": null});
    push(&app, &former).await;
    let host = app.get_json(&format!("/api/v1/hosts/{VMM}")).await;
    assert_eq!(host["settings"]["vmm"], Value::Null);
    assert!(
        !open_rules(&app)
            .await
            .iter()
            .any(|r| r.starts_with("remote_console.")),
        "the former VMM's thumbprints no longer judge the gateway"
    );
    let history = app.get_json(&format!("/api/v1/hosts/{VMM}/history")).await;
    let cleared = history["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "setting" && c["key"] == "vmm")
        .expect("the clearing is in the history");
    assert_eq!(cleared["change"], "disappeared");
    assert_eq!(
        cleared["before"]["vmconnect_gateway_certificate_thumbprint"],
        c.leaf.thumbprint
    );
    // and no VMM server has reported VMConnect settings now
    assert_eq!(console(&app).await["state"], "unknown");
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn reports_an_agent_dropped_are_shown_on_the_host_and_counted_in_metrics(pool: PgPool) {
    let app = spawn(pool).await;
    app.put_inventory(&spec_document()).await;
    let mut r = report("hv01.ams-01.example.net", &["hyperv_host"]);
    r["agent"]["spool_dropped"] = json!(3);
    push(&app, &r).await;
    let host = app.get_json("/api/v1/hosts/hv01.ams-01.example.net").await;
    assert_eq!(host["spool_dropped"], 3);
    assert!(
        page(&app, "/hosts/hv01.ams-01.example.net")
            .await
            .contains("3 reports lost")
    );
    // the same facts again (the fast path) with more drops since
    let mut again = r.clone();
    again["report_id"] = json!(uuid::Uuid::new_v4());
    again["agent"]["spool_dropped"] = json!(2);
    push(&app, &again).await;
    let metrics = app.http.get(app.url("/metrics")).send().await.unwrap();
    let text = metrics.text().await.unwrap();
    assert!(
        text.contains("stampbook_agent_reports_dropped_total 5"),
        "{text}"
    );
    assert!(text.contains("stampbook_agent_spool_dropped{stamp=\"ams-01\"} 2"));
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn reports_an_agent_set_aside_are_shown_on_the_host_and_counted_in_metrics(pool: PgPool) {
    let app = spawn(pool).await;
    app.put_inventory(&spec_document()).await;
    let mut r = report("hv01.ams-01.example.net", &["hyperv_host"]);
    r["agent"]["spool_rejected"] = json!(2);
    push(&app, &r).await;
    let host = app.get_json("/api/v1/hosts/hv01.ams-01.example.net").await;
    assert_eq!(host["spool_rejected"], 2);
    assert!(
        page(&app, "/hosts/hv01.ams-01.example.net")
            .await
            .contains("2 reports set aside")
    );
    // the fast path (same facts) keeps the newest figure too
    let mut again = r.clone();
    again["report_id"] = json!(uuid::Uuid::new_v4());
    again["agent"]["spool_rejected"] = json!(1);
    push(&app, &again).await;
    let host = app.get_json("/api/v1/hosts/hv01.ams-01.example.net").await;
    assert_eq!(host["spool_rejected"], 1);
    let text = app.metrics_text().await;
    assert!(
        text.contains("stampbook_agent_reports_rejected_total 3"),
        "{text}"
    );
}

/// The stamp's "has a VMM server reported its settings?" reads `hosts.vmm_settings`, kept by a
/// trigger on host_settings: set by a report with VMM settings, cleared when they are sent as
/// null, gone with the host.
#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn the_vmm_settings_flag_follows_the_settings_row(pool: PgPool) {
    let app = spawn(pool).await;
    app.put_inventory(&spec_document()).await;
    let flag = || async {
        sqlx::query_scalar::<_, bool>("select vmm_settings from hosts where fqdn = $1")
            .bind(VMM)
            .fetch_one(&app.pool)
            .await
            .unwrap()
    };
    let vmm_unknown = || async {
        console(&app).await["unknown"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["input"] == "settings.vmm")
    };
    let c = chain();
    push(&app, &vmm_report(&c)).await;
    assert!(flag().await);
    assert!(!vmm_unknown().await, "the VMM server reported its settings");

    let mut cleared = vmm_report(&c);
    cleared["settings"] = json!({"vmm": null});
    push(&app, &cleared).await;
    assert!(!flag().await);
    assert!(vmm_unknown().await);

    push(&app, &vmm_report(&c)).await;
    assert!(flag().await);
    sqlx::query("delete from hosts where fqdn = $1")
        .bind(VMM)
        .execute(&app.pool)
        .await
        .unwrap();
    assert!(vmm_unknown().await, "the host is gone with its settings");
}
