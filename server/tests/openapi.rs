//! The OpenAPI document is the contract: every registered route is in it, every operation under
//! `/api/v1` names its scope and its errors, and the real answers of every GET route (over a
//! simulated fleet) validate against the document's own schemas.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;

use common::{TestApp, simulate_fleet, spawn};
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::PgPool;
use stampbook_server::api;

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

async fn document(app: &TestApp) -> Value {
    let r = app
        .http
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "served without a token");
    r.json().await.unwrap()
}

/// A validator of `schema` (which may `$ref` `#/components/schemas/...`) as JSON Schema 2020-12.
fn validator(doc: &Value, schema: &Value) -> jsonschema::Validator {
    let root = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "allOf": [schema],
        "components": doc["components"],
    });
    jsonschema::options()
        .should_validate_formats(true)
        .build(&root)
        .unwrap()
}

fn errors(v: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    v.iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn every_registered_route_is_documented_with_its_scope_and_errors(pool: PgPool) {
    let app = spawn(pool).await;
    let doc = document(&app).await;
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    let registered: BTreeSet<(String, String)> = api::route_table()
        .into_iter()
        .map(|(m, p)| (m.as_str().to_ascii_lowercase(), p))
        .collect();
    for (method, path) in &registered {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} is served but not documented"
        );
    }
    let mut ids = BTreeSet::new();
    for (path, item) in paths {
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            assert!(
                registered.contains(&(method.to_owned(), path.clone())),
                "{method} {path} is documented but not served"
            );
            assert!(
                ids.insert(op["operationId"].as_str().unwrap().to_owned()),
                "operationId of {method} {path} repeats"
            );
            let responses = op["responses"].as_object().unwrap();
            if !path.starts_with("/api/v1/") {
                continue;
            }
            let scope = op["x-required-scope"].as_str().unwrap_or_default();
            assert!(
                ["collector", "read", "operator", "admin"].contains(&scope),
                "{method} {path} names its scope"
            );
            assert!(op["description"].as_str().unwrap().contains(scope));
            assert_eq!(op["security"], json!([{"bearer": []}]), "{method} {path}");
            for status in ["401", "403", "429", "503"] {
                assert!(responses.contains_key(status), "{method} {path} {status}");
            }
            if op.get("requestBody").is_some() {
                for status in ["400", "413", "415"] {
                    assert!(responses.contains_key(status), "{method} {path} {status}");
                }
            }
            if path.contains('{') {
                assert!(responses.contains_key("404"), "{method} {path} 404");
            }
            if method == "get" {
                for status in ["304", "406"] {
                    assert!(responses.contains_key(status), "{method} {path} {status}");
                }
                assert!(responses["200"]["headers"].get("ETag").is_some());
            }
            for (status, r) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    assert_eq!(
                        r["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ErrorBody",
                        "{method} {path} {status}"
                    );
                }
            }
        }
    }
    // what plans answer is documented: the stamp's health and Remote Console readiness
    let plan = &doc["components"]["schemas"]["Plan"]["properties"];
    assert_eq!(
        plan["stamp_health"]["$ref"],
        "#/components/schemas/StampHealth"
    );
    let health = &doc["components"]["schemas"]["StampHealth"]["properties"];
    assert!(health.get("remote_console").is_some() && health.get("health").is_some());
    // the webhook payload
    assert!(doc["webhooks"]["problem.opened"]["post"].is_object());
    assert!(doc["components"]["schemas"]["Event"]["properties"]["problem"].is_object());

    let r = app.http.get(app.url("/api/docs/")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let csp = r.headers()["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self';"),
        "no inline scripts: {csp}"
    );
    assert!(r.text().await.unwrap().contains("swagger-ui"));
}

/// A value for each path parameter, from the data the fleet produced.
async fn fill(app: &TestApp, path: &str, webhook: i64) -> String {
    let first = |v: &Value, key: &str| v["items"][0][key].clone();
    let stamps = app.get_json("/api/v1/stamps").await;
    let stamp = first(&stamps, "name").as_str().unwrap().to_owned();
    let mut out = path.replace("{name}", &stamp);
    // the capacity history and forecast are of one stamp
    if path.starts_with("/api/v1/capacity/") {
        out = format!("{out}?stamp={stamp}");
    }
    if out.contains("{network}") {
        let n = app
            .get_json(&format!("/api/v1/stamps/{stamp}/networks"))
            .await;
        out = out.replace("{network}", first(&n, "name").as_str().unwrap());
    }
    if out.contains("{fqdn}") {
        let h = app.get_json("/api/v1/hosts").await;
        out = out.replace("{fqdn}", first(&h, "fqdn").as_str().unwrap());
    }
    if out.contains("{wap_plan_id}") {
        let p = app.get_json("/api/v1/plans").await;
        out = out.replace("{wap_plan_id}", first(&p, "wap_plan_id").as_str().unwrap());
    }
    if out.starts_with("/api/v1/problems/{id}") {
        let p = app.get_json("/api/v1/problems").await;
        out = out.replace("{id}", &first(&p, "id").to_string());
    }
    out.replace("{id}", &webhook.to_string())
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn every_get_answers_what_the_document_says(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let hook: Value = app
        .send_json(
            Method::POST,
            "/api/v1/webhooks",
            &app.admin,
            &json!({"url": "https://hooks.example.net/hook", "events": ["problem.opened"]}),
        )
        .await
        .json()
        .await
        .unwrap();
    simulate_fleet(&app, 2, 10).await;
    // an hour of capacity history, so that its answer has items
    stampbook_server::capacity::snapshot::take(&pool, chrono::Utc::now())
        .await
        .unwrap();
    // a report for a stamp nobody declared, so that the quarantine has something to show
    let stray = json!({
        "schema": "stampbook.report/v1", "report_id": uuid::Uuid::new_v4(),
        "collected_at": chrono::Utc::now(),
        "host": {"fqdn": "hv01.lon-09.example.net", "stamp": "lon-09", "roles": ["hyperv_host"]}
    });
    let r = app
        .send_json(Method::POST, "/api/v1/reports", &app.admin, &stray)
        .await;
    assert_eq!(r.status(), 422);
    let doc = document(&app).await;
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let Some(op) = item.get("get") else { continue };
        let url = fill(&app, path, hook["id"].as_i64().unwrap()).await;
        let r = app.get(&url, &app.admin).await;
        assert_eq!(r.status(), 200, "GET {url}");
        let ok = &op["responses"]["200"]["content"];
        if let Some(json_schema) = ok.get("application/json").map(|c| &c["schema"]) {
            let body: Value = r.json().await.unwrap();
            let problems = errors(&validator(&doc, json_schema), &body);
            assert!(problems.is_empty(), "GET {url}: {problems:#?}");
            let items = body.get("items").and_then(Value::as_array);
            assert!(
                items.is_none_or(|i| !i.is_empty()),
                "GET {url}: an empty list proves little"
            );
        }
        checked += 1;
    }
    assert!(checked >= 20, "{checked} GET routes checked");

    // error answers have the documented shape too
    let error_schema = json!({"$ref": "#/components/schemas/ErrorBody"});
    for (url, status) in [
        ("/api/v1/stamps/lon-09", 404),
        ("/api/v1/hosts?limit=0", 400),
        ("/api/v1/problems/not-a-number", 400),
    ] {
        let r = app.get(url, &app.admin).await;
        assert_eq!(r.status(), status, "{url}");
        let body: Value = r.json().await.unwrap();
        let problems = errors(&validator(&doc, &error_schema), &body);
        assert!(problems.is_empty(), "{url}: {problems:?}");
    }
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn the_report_body_is_described_and_every_simulated_report_fits_it(pool: PgPool) {
    use stampbook_agent::simulate::certs::FleetCerts;
    use stampbook_agent::simulate::{Fleet, FleetOptions};
    let app = spawn(pool).await;
    let doc = document(&app).await;
    let body = &doc["paths"]["/api/v1/reports"]["post"]["requestBody"]["content"]["application/json"]
        ["schema"];
    assert_eq!(body["$ref"], "#/components/schemas/Report", "{body}");
    let report = &doc["components"]["schemas"]["Report"];
    for field in ["schema", "report_id", "collected_at", "host"] {
        assert!(
            report["required"]
                .as_array()
                .unwrap()
                .contains(&json!(field)),
            "{field} is required"
        );
    }
    assert!(report["properties"]["report_id"]["description"].is_string());
    let v = validator(&doc, body);

    let fleet = Fleet::build(FleetOptions {
        stamps: 2,
        hosts_per_stamp: 12,
        faults: true,
        seed: 11,
        now: chrono::Utc::now(),
    });
    let certs = FleetCerts::generate(fleet.options.now).unwrap();
    let mut seen = 0;
    for i in 0..fleet.stamps.len() {
        for r in fleet.stamp_reports(i, &certs).unwrap() {
            let instance = serde_json::to_value(&r).unwrap();
            let problems = errors(&v, &instance);
            assert!(problems.is_empty(), "{}: {problems:?}", r.host.fqdn);
            seen += 1;
        }
    }
    assert_eq!(seen, 24);
    // what the server refuses, the document refuses too
    let good = serde_json::to_value(fleet.stamp_reports(0, &certs).unwrap().remove(0)).unwrap();
    let mut no_host = good.clone();
    no_host.as_object_mut().unwrap().remove("host");
    // an unknown role is taken with a warning (SPEC §4), so the document takes it too
    // (CI's schemathesis run found `"roles": ["AAA"]` accepted against an enum)
    let mut new_role = good.clone();
    new_role["host"]["roles"] = json!(["mainframe"]);
    assert!(errors(&v, &new_role).is_empty(), "an unknown role fits");
    let mut bad_metric = good.clone();
    bad_metric["routes"] =
        json!([{"destination": "0.0.0.0/0", "next_hop": "10.0.0.1", "metric": -1}]);
    let mut bad_cores = good.clone();
    bad_cores["host"]["vitals"]["cpu_cores"] = json!(4_294_967_295_u64);
    let mut bad_fqdn = good.clone();
    bad_fqdn["host"]["fqdn"] = json!("not a host");
    let mut bad_stamp = good.clone();
    bad_stamp["host"]["stamp"] = json!("AMS_01");
    let mut bad_schema = good.clone();
    bad_schema["schema"] = json!("stampbook.report/v2");
    let mut huge_metric = good.clone();
    huge_metric["routes"] =
        json!([{"destination": "0.0.0.0/0", "next_hop": "10.0.0.1", "metric": 3_000_000_000_u64}]);
    for (what, instance) in [
        ("no host", no_host),
        ("metric", bad_metric),
        ("cpu cores beyond the bound", bad_cores),
        ("fqdn", bad_fqdn),
        ("stamp", bad_stamp),
        ("schema", bad_schema),
        ("metric beyond an integer", huge_metric),
    ] {
        assert!(!errors(&v, &instance).is_empty(), "{what} should not fit");
    }
}

/// Schemathesis (seed 4242) warned that the inventory, plan and webhook operations reject most
/// requests their schemas allow: the schemas now carry the patterns, lengths, ranges and enums
/// the server checks, so a valid document fits them and what the server refuses does not.
#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn request_bodies_carry_the_constraints_the_server_checks(pool: PgPool) {
    let app = spawn(pool).await;
    let doc = document(&app).await;
    let inventory = validator(
        &doc,
        &json!({"$ref": "#/components/schemas/InventoryDocument"}),
    );
    let good = common::spec_document();
    assert_eq!(errors(&inventory, &good), Vec::<String>::new());
    assert!(
        app.put_inventory(&good).await.status().is_success(),
        "and the server takes it"
    );
    let mutations: Vec<(&str, &str, Value)> = vec![
        ("stamp name", "/stamps/0/name", json!("AMS_01")),
        ("stamp name length", "/stamps/0/name", json!("a".repeat(64))),
        (
            "display name control",
            "/stamps/0/display_name",
            json!("a\u{7}b"),
        ),
        ("purpose", "/stamps/0/purpose", json!("secret")),
        ("vmm server", "/stamps/0/vmm_server", json!("vmm 01")),
        ("spf endpoint", "/stamps/0/spf_endpoint", json!("ftp://x")),
        ("report interval", "/stamps/0/report_interval_s", json!(5)),
        (
            "warning days",
            "/stamps/0/thresholds/cert_warning_days",
            json!(4000),
        ),
        (
            "overcommit",
            "/stamps/0/thresholds/cpu_overcommit",
            json!(0),
        ),
        ("network name", "/stamps/0/networks/0/name", json!("a b")),
        ("network role", "/stamps/0/networks/0/role", json!("dmz")),
        ("cidr", "/stamps/0/networks/0/cidr", json!("10.0.0.0")),
        ("gateway", "/stamps/0/networks/0/gateway", json!("gw")),
        (
            "scale unit kind",
            "/stamps/0/scale_units/0/kind",
            json!("gpu"),
        ),
        ("plan id", "/plans/0/wap_plan_id", json!("gold ams")),
        ("plan name", "/plans/0/name", json!(" ")),
        ("plan stamp", "/plans/0/stamp", json!("Ams-01")),
        ("quota", "/plans/0/quota/vms", json!(-1)),
    ];
    for (what, pointer, value) in mutations {
        let mut bad = good.clone();
        *bad.pointer_mut(pointer).unwrap() = value;
        assert!(
            !errors(&inventory, &bad).is_empty(),
            "{what}: the document lets it through"
        );
        let status = app.put_inventory(&bad).await.status();
        assert!(
            status.is_client_error(),
            "{what}: the server answers {status}"
        );
    }
    // and what the server takes (empty optional values, values it trims) the document allows:
    // schemathesis found an empty gateway, vmm_server and spf_endpoint accepted by the server
    // while the first patterns refused them
    let accepted: Vec<(&str, Value)> = vec![
        ("/stamps/0/vmm_server", json!("")),
        (
            "/stamps/0/rd_gateway_fqdn",
            json!(" console.ams-01.example.net. "),
        ),
        ("/stamps/0/spf_endpoint", json!("")),
        ("/stamps/0/display_name", json!("\tAmsterdam 1\n")),
        ("/stamps/0/networks/0/gateway", json!("")),
        ("/stamps/0/networks/0/cidr", json!(" 10.0.0.0/24")),
        // YAML's `required_prefixes:` with nothing after it is null: none (schemathesis found
        // the YAML form taken while the document and the JSON form refused it)
        ("/stamps/0/networks/0/required_prefixes", json!(null)),
    ];
    for (pointer, value) in accepted {
        let mut fine = good.clone();
        *fine.pointer_mut(pointer).unwrap() = value;
        if pointer.ends_with("/gateway") {
            fine["stamps"][0]["networks"][0]["required_prefixes"] = json!([]);
        }
        assert_eq!(errors(&inventory, &fine), Vec::<String>::new(), "{pointer}");
        let r = app.put_inventory(&fine).await;
        assert!(
            r.status().is_success(),
            "{pointer}: {}",
            r.text().await.unwrap()
        );
    }
    // YAML's `stamps:` / `plans:` with nothing after them are null: none (schemathesis)
    let empty = json!({"stamps": null, "plans": null});
    assert_eq!(errors(&inventory, &empty), Vec::<String>::new());
    let r = app.put_inventory(&empty).await;
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let webhook = validator(&doc, &json!({"$ref": "#/components/schemas/NewWebhook"}));
    let hook = json!({"url": "https://billing.example.net/hooks", "events": ["problem.opened"]});
    assert_eq!(errors(&webhook, &hook), Vec::<String>::new());
    let mut unknown = hook.clone();
    unknown["events"] = json!(["problem.reopened"]);
    assert!(!errors(&webhook, &unknown).is_empty(), "events are an enum");
    // the chat formats are an enum too, optional (stampbook's JSON when left out)
    for format in ["stampbook", "slack", "teams"] {
        let mut chat = hook.clone();
        chat["format"] = json!(format);
        assert_eq!(errors(&webhook, &chat), Vec::<String>::new(), "{format}");
    }
    let mut discord = hook.clone();
    discord["format"] = json!("discord");
    assert!(!errors(&webhook, &discord).is_empty(), "format is an enum");
    assert!(
        doc["components"]["schemas"]["Webhook"]["required"]
            .as_array()
            .unwrap()
            .contains(&json!("format")),
        "every listed webhook shows its format"
    );
}
