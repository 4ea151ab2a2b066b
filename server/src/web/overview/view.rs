//! The overview as shown, built from what `read` returned (no database here): a tile per
//! stamp, critical ones first, the fleet's totals and the page of tiles asked for.

use askama::Template;
use chrono::{DateTime, Utc};

use super::read::{OverviewData, PlanChip, StampLine};
use super::{FULL_TILES_UP_TO, OVERVIEW_PAGE};
use crate::health::{Health, StampHealth};
use crate::web::access::Ctx;
use crate::web::format::{self, Badge, When};
use crate::web::page::{Chrome, OVERVIEW_REFRESH_S};

pub struct CertSoon {
    pub when: When,
    pub days: i64,
    /// critical, warning or ok, by the stamp's thresholds.
    pub class: &'static str,
    pub host: String,
}

pub struct Tile {
    pub name: String,
    pub display_name: String,
    pub place: String,
    pub purpose: String,
    pub health: Health,
    pub badge: Badge,
    pub critical: i64,
    pub warning: i64,
    pub acknowledged: i64,
    /// None until the evaluator has looked at the stamp once.
    pub evaluated: Option<When>,
    pub hosts_total: i64,
    pub hosts_stale: i64,
    pub hosts_reporting: i64,
    pub cert: Option<CertSoon>,
    /// Remote Console readiness: `ready`, `unknown` or `broken`.
    pub console: &'static str,
    /// The first broken link, or the first input not collected.
    pub console_detail: String,
    pub plans: Vec<PlanChip>,
    /// Nothing to look at: health ok, every host reporting, no certificate inside a threshold.
    pub quiet: bool,
}

pub struct Totals {
    pub stamps: usize,
    pub critical_stamps: usize,
    pub degraded_stamps: usize,
    pub ok_stamps: usize,
    pub hosts: i64,
    pub stale: i64,
    pub critical: i64,
    pub warning: i64,
    pub quarantined: i64,
}

#[derive(Template)]
#[template(path = "overview.html")]
pub struct OverviewPage {
    pub chrome: Chrome,
    pub tiles: Vec<Tile>,
    pub totals: Totals,
    pub origin: String,
    /// Show quiet stamps as one compact list (wallboard, or a fleet too big for full tiles).
    pub compact_quiet: bool,
    pub quiet: usize,
    pub pager: OverviewPager,
}

/// Which stamps of the ranking this page shows, with links to the pages around it (empty when
/// there is none; a wallboard's links stay on the wallboard).
pub struct OverviewPager {
    pub first: usize,
    pub last: usize,
    pub total: usize,
    pub page: usize,
    pub pages: usize,
    pub prev: String,
    pub next: String,
}

impl OverviewPager {
    pub fn new(page: usize, total: usize, wallboard: bool) -> OverviewPager {
        let pages = total.div_ceil(OVERVIEW_PAGE).max(1);
        let page = page.clamp(1, pages);
        let link = |p: usize| {
            let mut pairs = Vec::new();
            if p > 1 {
                pairs.push(format!("page={p}"));
            }
            if wallboard {
                pairs.push("wallboard=1".to_owned());
            }
            if pairs.is_empty() {
                "/".to_owned()
            } else {
                format!("/?{}", pairs.join("&"))
            }
        };
        OverviewPager {
            first: (page - 1) * OVERVIEW_PAGE + 1,
            last: (page * OVERVIEW_PAGE).min(total),
            total,
            page,
            pages,
            prev: if page > 1 {
                link(page - 1)
            } else {
                String::new()
            },
            next: if page < pages {
                link(page + 1)
            } else {
                String::new()
            },
        }
    }
}

/// The expiry class of a certificate `days` away under a stamp's thresholds.
pub fn expiry_class(days: i64, warning_days: i32, critical_days: i32) -> &'static str {
    if days < i64::from(critical_days) {
        "critical"
    } else if days < i64::from(warning_days) {
        "warning"
    } else {
        "ok"
    }
}

/// Where the Remote Console chain breaks first (`hosts' trust`), and how many links after it
/// are broken too (`VMM certificate (+2)`), or the first input not collected when readiness is
/// unknown; the stamp page lists them all.
pub fn console_detail(h: &StampHealth) -> String {
    h.remote_console.detail()
}

/// The overview of `data`, page `page` of its tiles (from 1; clamped to the pages there are).
pub fn overview_page(ctx: &Ctx, data: OverviewData, page: usize) -> OverviewPage {
    let OverviewData {
        stamps,
        healths,
        mut plans,
        quarantined,
    } = data;
    let now = ctx.now;
    let mut tiles: Vec<Tile> = stamps
        .into_iter()
        .filter_map(|r| {
            let h = healths.get(&r.id)?;
            let chips = plans.remove(&r.id).unwrap_or_default();
            Some(tile(r, h, chips, now))
        })
        .collect();
    tiles.sort_by(|a, b| {
        b.health
            .cmp(&a.health)
            .then(b.critical.cmp(&a.critical))
            .then(b.warning.cmp(&a.warning))
            .then(a.name.cmp(&b.name))
    });
    let totals = totals(&tiles, quarantined);
    let title = if totals.critical_stamps > 0 {
        format!("{} critical · Overview", totals.critical_stamps)
    } else {
        "Overview".to_owned()
    };
    let compact_quiet = ctx.wallboard || tiles.len() > FULL_TILES_UP_TO;
    let pager = OverviewPager::new(page, tiles.len(), ctx.wallboard);
    let tiles: Vec<Tile> = tiles
        .into_iter()
        .skip((pager.page - 1) * OVERVIEW_PAGE)
        .take(OVERVIEW_PAGE)
        .collect();
    OverviewPage {
        chrome: Chrome::new(ctx, title, "overview").refresh(OVERVIEW_REFRESH_S),
        quiet: tiles.iter().filter(|t| t.quiet).count(),
        compact_quiet,
        tiles,
        totals,
        origin: ctx.origin.clone(),
        pager,
    }
}

/// One stamp's tile; quiet when there is nothing to look at.
fn tile(r: StampLine, h: &StampHealth, plans: Vec<PlanChip>, now: DateTime<Utc>) -> Tile {
    let hosts_total = i64::from(r.hosts_total.unwrap_or(0));
    let hosts_stale = i64::from(r.hosts_stale.unwrap_or(0));
    let cert = r.nearest_cert_expiry.map(|t| {
        let days = format::days_until(t, now);
        CertSoon {
            when: When::at(t, now),
            days,
            class: expiry_class(days, r.cert_warning_days, r.cert_critical_days),
            host: r.nearest_cert_host.clone().unwrap_or_default(),
        }
    });
    let quiet = h.health == Health::Ok
        && r.evaluated_at.is_some()
        && hosts_total > 0
        && hosts_stale == 0
        && h.remote_console.ready
        && cert.as_ref().is_none_or(|c| c.class == "ok");
    Tile {
        quiet,
        place: [r.region.as_str(), r.location.as_str()]
            .into_iter()
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" · "),
        purpose: r.purpose,
        health: h.health,
        badge: format::health_badge(h.health),
        critical: h.open.critical,
        warning: h.open.warning,
        acknowledged: h.acknowledged,
        evaluated: When::opt(r.evaluated_at, now),
        hosts_total,
        hosts_stale,
        hosts_reporting: hosts_total - hosts_stale,
        cert,
        console: h.remote_console.state.as_str(),
        console_detail: console_detail(h),
        plans,
        name: r.name,
        display_name: r.display_name,
    }
}

/// The fleet's figures over every tile (not only the page shown).
fn totals(tiles: &[Tile], quarantined: i64) -> Totals {
    let count = |h: Health| tiles.iter().filter(|t| t.health == h).count();
    Totals {
        stamps: tiles.len(),
        critical_stamps: count(Health::Critical),
        degraded_stamps: count(Health::Degraded),
        ok_stamps: count(Health::Ok),
        hosts: tiles.iter().map(|t| t.hosts_total).sum(),
        stale: tiles.iter().map(|t| t.hosts_stale).sum(),
        critical: tiles.iter().map(|t| t.critical).sum(),
        warning: tiles.iter().map(|t| t.warning).sum(),
        quarantined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::{Readiness, RemoteConsole, SeverityCounts};

    #[test]
    fn expiry_classes_follow_the_stamp_thresholds() {
        assert_eq!(expiry_class(-1, 30, 7), "critical");
        assert_eq!(expiry_class(6, 30, 7), "critical");
        assert_eq!(expiry_class(7, 30, 7), "warning");
        assert_eq!(expiry_class(29, 30, 7), "warning");
        assert_eq!(expiry_class(30, 30, 7), "ok");
    }

    fn health(health: Health, ready: bool) -> StampHealth {
        StampHealth {
            stamp: "ams-01".to_owned(),
            health,
            retired: false,
            open: SeverityCounts {
                critical: i64::from(health == Health::Critical),
                ..SeverityCounts::default()
            },
            acknowledged: 0,
            remote_console: RemoteConsole {
                state: if ready {
                    Readiness::Ready
                } else {
                    Readiness::Unknown
                },
                ready,
                broken_link: None,
                broken_links: Vec::new(),
                open_rules: Vec::new(),
                unknown_links: Vec::new(),
                unknown: Vec::new(),
                vmm_reported: true,
            },
        }
    }

    fn line(hosts_total: i32, hosts_stale: i32, cert_days: Option<i64>) -> StampLine {
        let now = Utc::now();
        StampLine {
            id: 1,
            name: "ams-01".to_owned(),
            display_name: "Amsterdam 1".to_owned(),
            region: "EU".to_owned(),
            location: String::new(),
            purpose: "production".to_owned(),
            cert_warning_days: 30,
            cert_critical_days: 7,
            evaluated_at: Some(now),
            hosts_total: Some(hosts_total),
            hosts_stale: Some(hosts_stale),
            nearest_cert_expiry: cert_days
                .map(|d| now + chrono::Duration::days(d) + chrono::Duration::hours(1)),
            nearest_cert_host: cert_days.map(|_| "hv01".to_owned()),
        }
    }

    #[test]
    fn a_tile_is_quiet_only_when_nothing_on_it_needs_a_look() {
        let now = Utc::now();
        let ok = health(Health::Ok, true);
        let quiet = tile(line(4, 0, Some(90)), &ok, Vec::new(), now);
        assert!(quiet.quiet);
        assert_eq!((quiet.place.as_str(), quiet.hosts_reporting), ("EU", 4));
        assert!(!tile(line(4, 1, None), &ok, Vec::new(), now).quiet);
        assert!(!tile(line(0, 0, None), &ok, Vec::new(), now).quiet);
        let soon = tile(line(4, 0, Some(20)), &ok, Vec::new(), now);
        assert!(!soon.quiet);
        assert_eq!(soon.cert.map(|c| c.class), Some("warning"));
        assert!(
            !tile(
                line(4, 0, None),
                &health(Health::Ok, false),
                Vec::new(),
                now
            )
            .quiet
        );
        let critical = tile(
            line(4, 0, None),
            &health(Health::Critical, true),
            Vec::new(),
            now,
        );
        assert!(!critical.quiet);
        let t = totals(&[quiet, critical], 2);
        assert_eq!((t.stamps, t.critical_stamps, t.ok_stamps), (2, 1, 1));
        assert_eq!((t.hosts, t.critical, t.quarantined), (8, 1, 2));
    }

    #[test]
    fn the_overview_pager_links_the_pages_around_it_and_keeps_the_wallboard() {
        let middle = OverviewPager::new(2, 450, true);
        assert_eq!((middle.first, middle.last, middle.pages), (201, 400, 3));
        assert_eq!(middle.prev, "/?wallboard=1");
        assert_eq!(middle.next, "/?page=3&wallboard=1");
        let beyond = OverviewPager::new(9, 450, false);
        assert_eq!((beyond.page, beyond.first, beyond.last), (3, 401, 450));
        assert_eq!(beyond.prev, "/?page=2");
        assert!(beyond.next.is_empty());
        let one = OverviewPager::new(1, 0, false);
        assert!(one.prev.is_empty() && one.next.is_empty());
    }
}
