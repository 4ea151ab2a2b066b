//! `/`: every stamp in service as a tile, critical ones first. Reads only the per-stamp figures
//! the evaluator keeps (`stamp_status`), open problems and plans: never the fleet's hosts.
//! 200 stamps a page (`?page=2`), the fleet's totals over every stamp.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::access::Ctx;
use super::error::WebError;
use super::format::{self, Badge, When};
use super::page::{self, Chrome, OVERVIEW_REFRESH_S};
use crate::health::{self, Health, StampHealth};
use crate::state::AppState;

pub struct PlanChip {
    pub wap_plan_id: String,
    pub name: String,
    pub remote_console: bool,
}

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

/// Stamps a page of the overview shows.
pub const OVERVIEW_PAGE: usize = 200;

#[derive(Debug, Default, Deserialize)]
pub struct OverviewQuery {
    /// The page, from 1.
    pub page: Option<u32>,
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

/// Above this many stamps, quiet ones are listed compactly on a laptop too.
const FULL_TILES_UP_TO: usize = 12;

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

pub async fn show(
    state: web::Data<AppState>,
    ctx: Ctx,
    q: web::Query<OverviewQuery>,
) -> Result<HttpResponse, WebError> {
    let db = super::reads::pool(&state, &ctx);
    let mut conn = db.acquire().await?;
    let rows = sqlx::query!(
        r#"select s.id, s.name, s.display_name, s.region, s.location, s.purpose,
                  s.cert_warning_days, s.cert_critical_days,
                  st.evaluated_at as "evaluated_at?", st.hosts_total as "hosts_total?",
                  st.hosts_stale as "hosts_stale?", st.nearest_cert_expiry, st.nearest_cert_host
           from stamps s left join stamp_status st on st.stamp_id = s.id
           where s.retired_at is null
           order by s.name"#
    )
    .fetch_all(&mut *conn)
    .await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let healths = health::for_stamps(&mut conn, &ids).await?;
    let mut plans: HashMap<i64, Vec<PlanChip>> = HashMap::new();
    for p in sqlx::query!(
        "select stamp_id, wap_plan_id, name, remote_console from plans where stamp_id = any($1) order by name, wap_plan_id",
        &ids
    )
    .fetch_all(&mut *conn)
    .await?
    {
        plans.entry(p.stamp_id).or_default().push(PlanChip {
            wap_plan_id: p.wap_plan_id,
            name: p.name,
            remote_console: p.remote_console,
        });
    }
    let quarantined = crate::ingest::quarantine::count_pending(db).await?;
    let now = ctx.now;
    let mut tiles: Vec<Tile> = rows
        .into_iter()
        .filter_map(|r| {
            let h = healths.get(&r.id)?;
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
            Some(Tile {
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
                plans: plans.remove(&r.id).unwrap_or_default(),
                name: r.name,
                display_name: r.display_name,
            })
        })
        .collect();
    tiles.sort_by(|a, b| {
        b.health
            .cmp(&a.health)
            .then(b.critical.cmp(&a.critical))
            .then(b.warning.cmp(&a.warning))
            .then(a.name.cmp(&b.name))
    });
    let count = |h: Health| tiles.iter().filter(|t| t.health == h).count();
    let totals = Totals {
        stamps: tiles.len(),
        critical_stamps: count(Health::Critical),
        degraded_stamps: count(Health::Degraded),
        ok_stamps: count(Health::Ok),
        hosts: tiles.iter().map(|t| t.hosts_total).sum(),
        stale: tiles.iter().map(|t| t.hosts_stale).sum(),
        critical: tiles.iter().map(|t| t.critical).sum(),
        warning: tiles.iter().map(|t| t.warning).sum(),
        quarantined,
    };
    let title = if totals.critical_stamps > 0 {
        format!("{} critical · Overview", totals.critical_stamps)
    } else {
        "Overview".to_owned()
    };
    let compact_quiet = ctx.wallboard || tiles.len() > FULL_TILES_UP_TO;
    let pager = OverviewPager::new(q.page.map_or(1, |p| p as usize), tiles.len(), ctx.wallboard);
    let tiles: Vec<Tile> = tiles
        .into_iter()
        .skip((pager.page - 1) * OVERVIEW_PAGE)
        .take(OVERVIEW_PAGE)
        .collect();
    page::render(&OverviewPage {
        chrome: Chrome::new(&ctx, title, "overview").refresh(OVERVIEW_REFRESH_S),
        quiet: tiles.iter().filter(|t| t.quiet).count(),
        compact_quiet,
        tiles,
        totals,
        origin: ctx.origin.clone(),
        pager,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_classes_follow_the_stamp_thresholds() {
        assert_eq!(expiry_class(-1, 30, 7), "critical");
        assert_eq!(expiry_class(6, 30, 7), "critical");
        assert_eq!(expiry_class(7, 30, 7), "warning");
        assert_eq!(expiry_class(29, 30, 7), "warning");
        assert_eq!(expiry_class(30, 30, 7), "ok");
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
