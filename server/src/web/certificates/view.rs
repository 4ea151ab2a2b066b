//! The certificates page as shown, built from what `read` returned (no database here): the
//! per-day timeline, the table rows with each stamp's thresholds, and the page links.

use askama::Template;
use chrono::{DateTime, Utc};

use super::read::{CertificatesData, DayCount};
use super::{STORES, WINDOW_DAYS};
use crate::facts::read::{CertFilter, CertificateRow};
use crate::web::access::Ctx;
use crate::web::format::{self, When};
use crate::web::overview::expiry_class;
use crate::web::page::{Chrome, Crumb};
use crate::web::svg::{self, Columns, Slot};

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
    /// When the fleet's timeline was counted, when it comes from the kept tally.
    pub counted: Option<When>,
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

/// The certificates page of `data`, read with `filter`; `paged` when it does not start at the
/// first row.
pub fn certificates_page(
    ctx: &Ctx,
    data: CertificatesData,
    filter: CertFilter,
    paged: bool,
) -> CertificatesPage {
    let now = ctx.now;
    let (stamp, store) = (filter.stamp, filter.store);
    let (timeline, total, expired) = timeline(&data.days, now);
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
    let next_href = match data.rows.last() {
        Some(last) if data.more => href(Some(last.cursor().encode())),
        _ => String::new(),
    };
    let first_href = if paged { href(None) } else { String::new() };
    let thresholds = &data.thresholds;
    let rows = (data.rows.into_iter())
        .map(|r| {
            let (warn, crit) = thresholds.get(&r.stamp).copied().unwrap_or((30, 7));
            cert_line(r, warn, crit, now)
        })
        .collect();
    let mut stamps: Vec<String> = data.thresholds.into_keys().collect();
    stamps.sort();
    CertificatesPage {
        chrome: Chrome::new(ctx, "Certificates", "certificates").crumbs(vec![
            Crumb::link("Overview", "/"),
            Crumb::here("Certificates"),
        ]),
        timeline,
        counted: data.counted_at.map(|t| When::at(t, now)),
        total,
        expired,
        rows,
        stamps,
        stores: STORES,
        stamp: stamp.unwrap_or_default(),
        store: store.unwrap_or_default(),
        next_href,
        first_href,
    }
}

/// The per-day timeline (slot 0: expired and still installed; slot d+1: day d from now), with
/// the installations it counts in all and those already expired.
pub fn timeline(days: &[DayCount], now: DateTime<Utc>) -> (Columns, i64, i64) {
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
    for d in days {
        let i = (d.day + 1).clamp(0, WINDOW_DAYS) as usize;
        if let Some(s) = slots.get_mut(i) {
            s.count += d.installations;
        }
        total += d.installations;
        if d.day < 0 {
            expired += d.installations;
        }
    }
    for (i, s) in slots.iter_mut().enumerate() {
        s.title = if i == 0 {
            format!("{} expired and still installed", s.count)
        } else {
            let day = now + chrono::Duration::days(i as i64 - 1);
            format!("{} expire on {}", s.count, day.format("%a %Y-%m-%d"))
        };
    }
    let chart = svg::columns(
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
    (chart, total, expired)
}

fn cert_line(r: CertificateRow, warn: i32, crit: i32, now: DateTime<Utc>) -> CertLine {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_timeline_counts_expired_apart_and_clamps_days_beyond_the_window() {
        let now = Utc::now();
        let day = |day, installations| DayCount { day, installations };
        let (chart, total, expired) =
            timeline(&[day(-1, 3), day(0, 2), day(89, 1), day(200, 4)], now);
        assert_eq!((total, expired), (10, 3));
        let titles: Vec<&str> = chart.bars.iter().map(|b| b.title.as_str()).collect();
        assert_eq!(titles.len(), 3, "{titles:?}");
        assert_eq!(titles[0], "3 expired and still installed");
        assert!(titles[1].starts_with("2 expire on "), "{titles:?}");
        assert!(titles[2].starts_with("5 expire on "), "{titles:?}");
        assert_eq!(chart.bars[0].class, "b-expired");
        assert_eq!(chart.bars[1].class, "b-critical");
        assert_eq!(chart.bars[2].class, "b-ok");
    }
}
