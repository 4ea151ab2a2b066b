//! Capacity over time as pictures: per stamp, a trend chart per resource (use, the stamp's limit,
//! the forecast cone and when it crosses); across chosen stamps, one chart of a resource as a
//! share of each stamp's limit. The figures are the history's daily rows and the very forecast
//! the API and `capacity.exhaustion_soon` use (`rules::forecast`); the geometry is `svg::trend`.

use chrono::{DateTime, TimeDelta, Utc};
use sqlx::PgPool;
use stampbook_wire::capacity::{CapacityRow, Step};

use super::svg::{self, ConeInput, CrossingInput, SeriesInput, TrendChart, TrendInput};
use crate::capacity::history;
use crate::rules::forecast::{Outlook, ResourceForecast, stamp_forecasts};

/// Days of history the charts show.
pub const HISTORY_DAYS: i64 = 180;
/// Days ahead the charts show at least (more, up to [`MAX_AHEAD_DAYS`], to reach a crossing).
const MIN_AHEAD_DAYS: i64 = 60;
const MAX_AHEAD_DAYS: i64 = 180;
/// Stamps one comparison chart shows at most.
pub const MAX_COMPARED: usize = 8;
/// The CSS classes of the compared stamps, in order.
const STAMP_CLASSES: [&str; MAX_COMPARED] = ["s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7"];

/// The resources charted, with what their axis says.
pub const RESOURCES: [(&str, &str, &str); 3] = [
    ("vcpus", "vCPUs", "vCPUs in use"),
    ("memory_gb", "Memory", "memory in use (GB)"),
    ("storage_gb", "Storage", "storage allocated to plans (GB)"),
];

/// The daily rows of a stamp the charts read: the last [`HISTORY_DAYS`] up to `now`.
pub async fn rows(
    pool: &PgPool,
    stamp_id: i64,
    now: DateTime<Utc>,
) -> Result<Vec<CapacityRow>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    history::rows(
        &mut conn,
        stamp_id,
        "",
        Step::Day,
        now - TimeDelta::days(HISTORY_DAYS),
        now,
        1000,
    )
    .await
}

/// Daily values of a series.
type Points = Vec<(DateTime<Utc>, f64)>;

/// A resource's values and limits over time (the forecast's own choice of figures).
fn pick(rows: &[CapacityRow], resource: &str) -> (Points, Points) {
    let f = |v: Option<i64>| v.map(|v| v as f64);
    let mut values = Vec::new();
    let mut limits = Vec::new();
    for r in rows {
        let (value, limit) = match resource {
            "vcpus" => (f(r.used_vcpus), r.vcpu_limit),
            "memory_gb" => (r.used_memory_gb, r.memory_limit_gb),
            _ => (f(r.allocated_storage_gb), f(r.physical_storage_gb)),
        };
        if let Some(v) = value {
            values.push((r.at, v));
        }
        if let Some(l) = limit.filter(|l| *l > 0.0) {
            limits.push((r.at, l));
        }
    }
    (values, limits)
}

/// `14 Dec 2026`.
pub fn date(t: DateTime<Utc>) -> String {
    t.format("%-d %b %Y").to_string()
}

/// When the forecast crosses, in words: a range of dates, never one falsely precise day.
pub fn crossing_words(f: &ResourceForecast) -> Option<String> {
    match f.outlook {
        Outlook::OverLimit => Some("at or over its limit".to_owned()),
        Outlook::Growing => match (f.crossing_earliest, f.crossing_latest) {
            (Some(a), Some(b)) if date(a) == date(b) => Some(format!("crosses about {}", date(a))),
            (Some(a), Some(b)) => Some(format!("crosses {} – {}", date(a), date(b))),
            (Some(a), None) => Some(format!("may cross from {} (or never)", date(a))),
            _ => None,
        },
        _ => None,
    }
}

/// The cone between the fitted windows' lowest and highest trends, from the newest day.
fn cone(f: &ResourceForecast, scale: f64) -> Option<ConeInput> {
    let from = f.as_of?;
    let fitted: Vec<_> = f.windows.iter().filter(|w| w.sufficient).collect();
    if fitted.is_empty() || f.limit.is_none() {
        return None;
    }
    let levels = fitted.iter().filter_map(|w| w.level);
    let low = fitted.iter().filter_map(|w| w.slope_low_per_day);
    let high = fitted.iter().filter_map(|w| w.slope_high_per_day);
    Some(ConeInput {
        from,
        start_low: levels.clone().fold(f64::INFINITY, f64::min) * scale,
        start_high: levels.fold(f64::NEG_INFINITY, f64::max) * scale,
        slope_low: low.fold(f64::INFINITY, f64::min) * scale,
        slope_high: high.fold(f64::NEG_INFINITY, f64::max) * scale,
    })
    .filter(|c| c.start_low.is_finite() && c.slope_low.is_finite() && c.slope_high.is_finite())
}

fn crossing(f: &ResourceForecast) -> Option<CrossingInput> {
    Some(CrossingInput {
        earliest: f.crossing_earliest?,
        latest: f.crossing_latest,
        label: crossing_words(f)?,
    })
}

/// The chart's end: far enough ahead to show the crossing, within bounds.
fn end_for(now: DateTime<Utc>, forecasts: &[&ResourceForecast]) -> DateTime<Utc> {
    let ahead = forecasts
        .iter()
        .filter_map(|f| {
            f.days_high
                .or(f.days_low.map(|d| d + 30.0))
                .filter(|_| f.outlook == Outlook::Growing)
        })
        .fold(MIN_AHEAD_DAYS as f64, |a, d| a.max(d + 10.0))
        .min(MAX_AHEAD_DAYS as f64);
    now + TimeDelta::days(ahead.ceil() as i64)
}

/// One resource of one stamp, charted.
pub struct ResourceChart {
    pub resource: &'static str,
    pub title: &'static str,
    pub chart: TrendChart,
    /// The forecast in one sentence.
    pub summary: String,
    /// `critical`, `warning` or `` by the stamp's thresholds.
    pub class: &'static str,
}

/// The stamp page's charts: one per resource, from its daily rows.
pub fn stamp_charts(
    stamp: &str,
    rows: &[CapacityRow],
    now: DateTime<Utc>,
    warning_days: i32,
    critical_days: i32,
) -> Vec<ResourceChart> {
    let days: Vec<_> = rows.iter().map(history::daily).collect();
    let forecasts = stamp_forecasts(&days);
    RESOURCES
        .iter()
        .zip(&forecasts)
        .map(|((resource, title, axis), f)| {
            let (values, limits) = pick(rows, resource);
            let end = end_for(now, &[f]);
            let words = crossing_words(f);
            let summary = format!(
                "{title} of {stamp}: {}; {} daily points over {HISTORY_DAYS} days{}",
                f.summary,
                values.len(),
                words
                    .as_deref()
                    .map(|w| format!("; {w}"))
                    .unwrap_or_default()
            );
            let class = match f.days_low {
                Some(d) if d < f64::from(critical_days) => "critical",
                Some(d) if d < f64::from(warning_days) => "warning",
                _ => "",
            };
            ResourceChart {
                resource,
                title,
                class,
                chart: svg::trend(&TrendInput {
                    id: format!("trend-{resource}"),
                    start: now - TimeDelta::days(HISTORY_DAYS),
                    now,
                    end,
                    series: vec![SeriesInput {
                        label: (*axis).to_owned(),
                        class: "used",
                        points: values,
                        limit: limits,
                        cone: cone(f, 1.0),
                        crossing: crossing(f),
                        end_label: false,
                    }],
                    x_label: "date (UTC)".to_owned(),
                    y_label: (*axis).to_owned(),
                    percent: false,
                    summary: summary.clone(),
                }),
                summary: f.summary.clone(),
            }
        })
        .collect()
}

/// One stamp on the comparison chart.
pub struct Compared {
    pub name: String,
    pub class: &'static str,
    pub summary: String,
    pub crossing: Option<String>,
}

/// The comparison chart: `resource` of each stamp as a share of its limit (100 % is the limit
/// line every stamp shares), with each stamp's cone and crossing.
pub fn compare_chart(
    resource: &str,
    stamps: &[(String, Vec<CapacityRow>)],
    now: DateTime<Utc>,
) -> (TrendChart, Vec<Compared>) {
    let (_, title, axis) = RESOURCES
        .iter()
        .find(|(r, _, _)| *r == resource)
        .copied()
        .unwrap_or(RESOURCES[0]);
    let index = RESOURCES
        .iter()
        .position(|(r, _, _)| *r == resource)
        .unwrap_or(0);
    let mut series = Vec::new();
    let mut compared = Vec::new();
    let mut forecasts = Vec::new();
    for ((name, rows), class) in stamps.iter().zip(STAMP_CLASSES) {
        let days: Vec<_> = rows.iter().map(history::daily).collect();
        let f = stamp_forecasts(&days).swap_remove(index);
        let (values, limits) = pick(rows, resource);
        // each day's use against that day's limit
        let share: Vec<(DateTime<Utc>, f64)> = values
            .iter()
            .filter_map(|(t, v)| {
                limits
                    .iter()
                    .find(|(lt, _)| lt == t)
                    .map(|(_, l)| (*t, v / l * 100.0))
            })
            .collect();
        let scale = f.limit.filter(|l| *l > 0.0).map_or(0.0, |l| 100.0 / l);
        series.push(SeriesInput {
            label: name.clone(),
            class,
            limit: share
                .first()
                .map(|(t, _)| vec![(*t, 100.0)])
                .unwrap_or_default(),
            points: share,
            cone: cone(&f, scale).filter(|_| scale > 0.0),
            crossing: crossing(&f),
            end_label: true,
        });
        compared.push(Compared {
            name: name.clone(),
            class,
            summary: f.summary.clone(),
            crossing: crossing_words(&f),
        });
        forecasts.push(f);
    }
    let end = end_for(now, &forecasts.iter().collect::<Vec<_>>());
    let names: Vec<&str> = stamps.iter().map(|(n, _)| n.as_str()).collect();
    let summary = format!(
        "{title} in use as a share of each stamp's limit, {}: {}",
        names.join(", "),
        compared
            .iter()
            .map(|c| format!(
                "{}: {}",
                c.name,
                c.crossing.as_deref().unwrap_or(&c.summary)
            ))
            .collect::<Vec<_>>()
            .join("; ")
    );
    let chart = svg::trend(&TrendInput {
        id: format!("compare-{resource}"),
        start: now - TimeDelta::days(HISTORY_DAYS),
        now,
        end,
        series,
        x_label: "date (UTC)".to_owned(),
        y_label: format!("{axis}, % of limit"),
        percent: true,
        summary,
    });
    (chart, compared)
}
