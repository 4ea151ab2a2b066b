//! Authorization: every scope against every class of route, revocation, the 401/403 shapes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{assert_error, spawn, spec_document};
use reqwest::Method;
use serde_json::json;
use sqlx::PgPool;

/// One request of each class of route; the status it must get for each scope.
struct Case {
    method: Method,
    path: &'static str,
    body: Option<serde_json::Value>,
    /// statuses for: no token, collector, collector of another stamp, read, operator, admin
    expect: [u16; 6],
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn every_scope_against_every_route_class(pool: PgPool) {
    let app = spawn(pool).await;
    app.put_inventory(&spec_document()).await;
    let tokens = [
        None,
        Some(app.token("collector", "collector", None).await),
        Some(
            app.token("collector-fra", "collector", Some("fra-01"))
                .await,
        ),
        Some(app.token("reader", "read", None).await),
        Some(app.token("operator", "operator", None).await),
        Some(app.admin.clone()),
    ];
    let cases = [
        Case {
            method: Method::GET,
            path: "/api/v1/stamps",
            body: None,
            expect: [401, 403, 403, 200, 200, 200],
        },
        Case {
            method: Method::GET,
            path: "/api/v1/stamps/ams-01/health",
            body: None,
            expect: [401, 403, 403, 200, 200, 200],
        },
        Case {
            method: Method::GET,
            path: "/api/v1/plans/gold-ams",
            body: None,
            expect: [401, 403, 403, 200, 200, 200],
        },
        Case {
            method: Method::PUT,
            path: "/api/v1/stamps/lon-01",
            body: Some(json!({"region": "uk"})),
            expect: [401, 403, 403, 403, 403, 201],
        },
        Case {
            method: Method::PUT,
            path: "/api/v1/inventory",
            body: Some(spec_document()),
            expect: [401, 403, 403, 403, 403, 200],
        },
        Case {
            method: Method::GET,
            path: "/api/v1/tokens",
            body: None,
            expect: [401, 403, 403, 403, 403, 200],
        },
        Case {
            method: Method::GET,
            path: "/api/v1/audit",
            body: None,
            expect: [401, 403, 403, 403, 403, 200],
        },
    ];
    for case in &cases {
        for (token, want) in tokens.iter().zip(case.expect) {
            let mut req = app.http.request(case.method.clone(), app.url(case.path));
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            if let Some(b) = &case.body {
                req = req.json(b);
            }
            let resp = req.send().await.unwrap();
            let got = resp.status().as_u16();
            assert_eq!(
                got,
                want,
                "{} {} with token #{:?}",
                case.method,
                case.path,
                tokens.iter().position(|t| t == token)
            );
            if got == 401 {
                assert_error(resp, 401, "unauthorized", None).await;
            } else if got == 403 {
                assert_error(resp, 403, "forbidden", None).await;
            }
            if case.path == "/api/v1/stamps/lon-01" && got == 201 {
                // make the next PUT a create again
                sqlx::query("delete from stamps where name = 'lon-01'")
                    .execute(&app.pool)
                    .await
                    .unwrap();
            }
        }
    }
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn an_unknown_or_malformed_token_is_401(pool: PgPool) {
    let app = spawn(pool).await;
    for bad in ["sbk_doesnotexist", "not-even-a-token", ""] {
        let r = app.get("/api/v1/stamps", bad).await;
        assert_error(r, 401, "unauthorized", None).await;
    }
    let r = app
        .http
        .get(app.url("/api/v1/stamps"))
        .header("authorization", "Basic dXNlcjpwYXNz")
        .send()
        .await
        .unwrap();
    assert_error(r, 401, "unauthorized", None).await;
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn revocation_takes_effect_at_once(pool: PgPool) {
    let app = spawn(pool).await;
    let reader = app.token("reader", "read", None).await;
    assert_eq!(app.get("/api/v1/stamps", &reader).await.status(), 200);
    let list = app.get_json("/api/v1/tokens").await;
    let id = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "reader")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    assert!(
        list.to_string().find(&reader).is_none(),
        "a token list never shows a token"
    );
    let r = app
        .delete(&format!("/api/v1/tokens/{id}"), &app.admin)
        .await;
    assert_eq!(r.status(), 200);
    assert_error(
        app.get("/api/v1/stamps", &reader).await,
        401,
        "unauthorized",
        None,
    )
    .await;
}

#[sqlx::test(migrator = "stampbook_server::db::MIGRATOR")]
async fn tokens_are_stored_only_as_hashes(pool: PgPool) {
    let app = spawn(pool.clone()).await;
    let r = app
        .send_json(
            Method::POST,
            "/api/v1/tokens",
            &app.admin,
            &json!({"name": "ci", "scope": "read"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let body: serde_json::Value = r.json().await.unwrap();
    let token = body["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("sbk_") && token.len() > 40);
    let dump: Vec<(String, String)> =
        sqlx::query_as("select name, encode(token_hash, 'hex') || prefix from tokens")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert!(dump.iter().all(|(_, stored)| !stored.contains(&token)));
    assert_eq!(app.get("/api/v1/stamps", &token).await.status(), 200);
    // a stamp restriction only for collectors, and only to a real stamp
    let r = app
        .send_json(
            Method::POST,
            "/api/v1/tokens",
            &app.admin,
            &json!({"name": "x", "scope": "read", "stamp": "ams-01"}),
        )
        .await;
    assert_error(r, 422, "invalid_stamp", Some("stamp")).await;
    let r = app
        .send_json(
            Method::POST,
            "/api/v1/tokens",
            &app.admin,
            &json!({"name": "y", "scope": "collector", "stamp": "ghost"}),
        )
        .await;
    assert_error(r, 422, "unknown_stamp", Some("stamp")).await;
    let r = app
        .send_json(
            Method::POST,
            "/api/v1/tokens",
            &app.admin,
            &json!({"name": "ci", "scope": "read"}),
        )
        .await;
    assert_error(r, 409, "token_exists", Some("name")).await;
}
