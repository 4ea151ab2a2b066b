//! `/certificates`: every certificate, fleet-wide, that has expired while still installed or
//! expires within 90 days: a timeline counted per day by the database (from the `not_after`
//! index, never every row) and the table, 100 a page in expiry order.

pub mod read;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::access::Ctx;
use super::error::WebError;
use super::format::{self, When};
use super::overview::expiry_class;
use super::page::{self, Chrome, Crumb};
use super::svg::{self, Columns, Slot};
use crate::facts::read::{CertCursor, CertFilter};
use crate::state::AppState;

pub const WINDOW_DAYS: i32 = 90;
const PAGE_SIZE: i64 = 100;

/// The stores the filter offers.
pub const STORES: &[&str] = &["LocalMachine\\My", "LocalMachine\\Root", "VMM"];

#[derive(Debug, Default, Deserialize)]
pub struct CertQuery {
    pub stamp: Option<String>,
    pub store: Option<String>,
    pub after: Option<String>,
    pub wallboard: Option<String>,
}

pub struct CertLine {
    pub name: String,
    pub subject: String,
    pub issuer: String,
    pub thumbprint: String,
    pub not_after: When,
    pub days_left: i64,
    pub class: &'static str,
    pub store: String,
    pub private_key: bool,
    pub host: String,
    pub stamp: String,
    pub key: String,
}

#[derive(Template)]
#[template(path = "certificates.html")]
pub struct CertificatesPage {
    pub chrome: Chrome,
    pub timeline: Columns,
    pub total: i64,
    pub expired: i64,
    pub rows: Vec<CertLine>,
    pub stamps: Vec<String>,
    pub stores: &'static [&'static str],
    pub stamp: String,
    pub store: String,
    pub next_href: String,
    pub first_href: String,
}

fn clean(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

pub async fn show(
    state: web::Data<AppState>,
    ctx: Ctx,
    q: web::Query<CertQuery>,
) -> Result<HttpResponse, WebError> {
    let db = super::reads::pool(&state, &ctx);
    let stamp = clean(&q.stamp);
    let store = clean(&q.store);
    let after = match clean(&q.after) {
        Some(a) => Some(CertCursor::decode(&a)?),
        None => None,
    };
    let filter = CertFilter {
        stamp: stamp.clone(),
        within_days: Some(WINDOW_DAYS),
        store: store.clone(),
        after,
        ..Default::default()
    };
    // the timeline, the table and the thresholds are independent: read them at the same time
    let (days, mut rows, thresholds) = tokio::try_join!(
        read::per_day(db, WINDOW_DAYS, stamp.as_deref(), store.as_deref()),
        read::page(db, &filter, PAGE_SIZE + 1),
        read::thresholds(db),
    )?;
    let more = rows.len() as i64 > PAGE_SIZE;
    rows.truncate(PAGE_SIZE as usize);

    // slot 0: expired and still installed; slot d+1: day d from now
    let mut slots: Vec<Slot> = (0..=WINDOW_DAYS)
        .map(|i| Slot {
            count: 0,
            class: if i == 0 {
                "b-expired"
            } else {
                match expiry_class(i64::from(i - 1), 30, 7) {
                    "critical" => "b-critical",
                    "warning" => "b-warning",
                    _ => "b-ok",
                }
            },
            title: String::new(),
        })
        .collect();
    let (mut total, mut expired) = (0, 0);
    for d in &days {
        let i = (d.day + 1).clamp(0, WINDOW_DAYS) as usize;
        if let Some(s) = slots.get_mut(i) {
            s.count += d.installations;
        }
        total += d.installations;
        if d.day < 0 {
            expired += d.installations;
        }
    }
    let now = ctx.now;
    for (i, s) in slots.iter_mut().enumerate() {
        s.title = if i == 0 {
            format!("{} expired and still installed", s.count)
        } else {
            let day = now + chrono::Duration::days(i as i64 - 1);
            format!("{} expire on {}", s.count, day.format("%a %Y-%m-%d"))
        };
    }
    let timeline = svg::columns(
        &slots,
        |i| match i {
            0 => Some("expired".to_owned()),
            // every other week, from the first: clear of the "expired" label
            i if i > 1 && (i - 1) % 14 == 7 => Some(
                (now + chrono::Duration::days(i as i64 - 1))
                    .format("%b %d")
                    .to_string(),
            ),
            _ => None,
        },
        format!("{total} certificate installations expired or expiring within {WINDOW_DAYS} days"),
    );
    let wb = ctx.wallboard.then_some("1");
    let href = |after: Option<String>| {
        format!(
            "/certificates{}",
            format::query(&[
                ("stamp", stamp.as_deref()),
                ("store", store.as_deref()),
                ("after", after.as_deref()),
                ("wallboard", wb),
            ])
        )
    };
    let next_href = match rows.last() {
        Some(last) if more => href(Some(last.cursor().encode())),
        _ => String::new(),
    };
    let first_href = if q.after.is_some() {
        href(None)
    } else {
        String::new()
    };
    let rows = rows
        .into_iter()
        .map(|r| {
            let (warn, crit) = thresholds.get(&r.stamp).copied().unwrap_or((30, 7));
            CertLine {
                name: r.subject_cn.clone().unwrap_or_else(|| r.subject.clone()),
                class: expiry_class(r.days_left, warn, crit),
                not_after: When::at(r.not_after, now),
                days_left: r.days_left,
                key: match r.key_bits {
                    Some(b) => format!("{} {b}", r.key_algorithm),
                    None => r.key_algorithm,
                },
                subject: r.subject,
                issuer: r.issuer,
                thumbprint: r.thumbprint,
                store: r.store,
                private_key: r.has_private_key,
                host: r.host,
                stamp: r.stamp,
            }
        })
        .collect();
    let mut stamps: Vec<String> = thresholds.into_keys().collect();
    stamps.sort();
    page::render(&CertificatesPage {
        chrome: Chrome::new(&ctx, "Certificates", "certificates").crumbs(vec![
            Crumb::link("Overview", "/"),
            Crumb::here("Certificates"),
        ]),
        timeline,
        total,
        expired,
        rows,
        stamps,
        stores: STORES,
        stamp: stamp.unwrap_or_default(),
        store: store.unwrap_or_default(),
        next_href,
        first_href,
    })
}
