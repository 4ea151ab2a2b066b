//! The capacity forecast: a robust trend (Theil–Sen: the median of the slopes between every
//! pair of daily points) over the last 30 and the last 90 days of a resource's use, and the
//! days until that use crosses the stamp's limit, as a range: never one falsely precise date.
//!
//! Decisions where the SPEC is silent:
//! - Each window gives a slope and the interquartile range of its pairwise slopes. The range's
//!   low end is the earliest crossing any window's upper-quartile slope gives, its high end the
//!   latest any window's lower-quartile slope gives; both name the window they came from. A
//!   window whose lower-quartile slope is flat or negative leaves the high end open (`None`:
//!   perhaps never), which is what a planner should read from a stamp that may have stopped
//!   growing.
//! - "Not growing": no window's median slope adds 0.5 % of the current level per 30 days.
//! - A window needs 7 daily points spread over at least 6 days; with neither window
//!   sufficient the answer is "insufficient history".
//! - The level the trend starts from is the trend's own value on the newest day, not the
//!   newest raw point, so that a weekend dip does not move the date by days.

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

/// The windows, in days, the forecast fits a trend over.
pub const WINDOWS: [i64; 2] = [30, 90];
/// Daily points a window needs to say anything.
pub const MIN_POINTS: usize = 7;
/// Growth below this share of the level per 30 days is "not growing".
const FLAT_PER_30_DAYS: f64 = 0.005;
/// Crossings further than this are not dated (a 10-year forecast is not a forecast).
pub const HORIZON_DAYS: f64 = 3650.0;

/// A straight line through points, with the spread of the pairwise slopes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Trend {
    /// Per unit of x (per day here).
    pub slope: f64,
    pub intercept: f64,
    /// Lower and upper quartile of the pairwise slopes.
    pub slope_low: f64,
    pub slope_high: f64,
}

impl Trend {
    pub fn at(&self, x: f64) -> f64 {
        self.intercept + self.slope * x
    }
}

fn median_sorted(v: &[f64]) -> f64 {
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn quantile_sorted(v: &[f64], q: f64) -> f64 {
    let pos = q * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

/// Theil–Sen over `(x, y)` points; `None` with fewer than two distinct x or a non-finite value.
pub fn theil_sen(points: &[(f64, f64)]) -> Option<Trend> {
    if points.iter().any(|(x, y)| !x.is_finite() || !y.is_finite()) {
        return None;
    }
    let mut slopes = Vec::with_capacity(points.len() * points.len().saturating_sub(1) / 2);
    for (i, a) in points.iter().enumerate() {
        for b in &points[i + 1..] {
            if b.0 != a.0 {
                slopes.push((b.1 - a.1) / (b.0 - a.0));
            }
        }
    }
    if slopes.is_empty() {
        return None;
    }
    slopes.sort_by(f64::total_cmp);
    let slope = median_sorted(&slopes);
    let mut residuals: Vec<f64> = points.iter().map(|(x, y)| y - slope * x).collect();
    residuals.sort_by(f64::total_cmp);
    Some(Trend {
        slope,
        intercept: median_sorted(&residuals),
        slope_low: quantile_sorted(&slopes, 0.25),
        slope_high: quantile_sorted(&slopes, 0.75),
    })
}

/// One window's trend, as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct WindowTrend {
    pub window_days: i64,
    /// Daily points in the window.
    pub points: usize,
    /// `false` when the window has too few points; the figures below are then absent.
    pub sufficient: bool,
    /// Median growth per day, and the interquartile range of the pairwise slopes.
    pub slope_per_day: Option<f64>,
    pub slope_low_per_day: Option<f64>,
    pub slope_high_per_day: Option<f64>,
    /// The trend's value on the newest day.
    pub level: Option<f64>,
    /// Days from the newest day until the median trend crosses the limit.
    pub days_to_limit: Option<f64>,
}

/// What the forecast says of one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outlook {
    /// Fewer than 7 daily points in both windows.
    InsufficientHistory,
    /// The stamp's limit is unknown (no Hyper-V host reported the figure).
    NoLimit,
    /// Already at or over the limit.
    OverLimit,
    /// Flat or shrinking.
    NotGrowing,
    /// Growing: `days_low`..`days_high` say when it crosses.
    Growing,
}

/// The forecast of one resource of one stamp.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ResourceForecast {
    /// `vcpus`, `memory_gb` or `storage_gb`.
    pub resource: String,
    pub limit: Option<f64>,
    /// The newest daily value.
    pub current: Option<f64>,
    pub outlook: Outlook,
    pub windows: Vec<WindowTrend>,
    /// Earliest plausible crossing, in days from `as_of`, and the window that says so.
    pub days_low: Option<f64>,
    pub low_window_days: Option<i64>,
    /// Latest plausible crossing; `None` while growing: perhaps never (a window is flat).
    pub days_high: Option<f64>,
    pub high_window_days: Option<i64>,
    pub crossing_earliest: Option<DateTime<Utc>>,
    pub crossing_latest: Option<DateTime<Utc>>,
    /// The newest day of the series.
    pub as_of: Option<DateTime<Utc>>,
    /// The forecast in one sentence.
    pub summary: String,
}

/// Days from level to limit at `slope` per day; `None` when it never gets there.
fn days_at(level: f64, limit: f64, slope: f64) -> Option<f64> {
    if level >= limit {
        return Some(0.0);
    }
    if slope <= 0.0 {
        return None;
    }
    let days = (limit - level) / slope;
    (days <= HORIZON_DAYS).then_some(days)
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// Forecasts `resource` from daily `(day, value)` points (any order) against `limit`.
pub fn forecast(
    resource: &str,
    daily: &[(DateTime<Utc>, f64)],
    limit: Option<f64>,
) -> ResourceForecast {
    let mut points: Vec<(DateTime<Utc>, f64)> = daily
        .iter()
        .copied()
        .filter(|(_, v)| v.is_finite())
        .collect();
    points.sort_by_key(|(at, _)| *at);
    let newest = points.last().map(|(at, _)| *at);
    let current = points.last().map(|(_, v)| *v);
    let x = |at: DateTime<Utc>| newest.map_or(0.0, |n| (at - n).num_seconds() as f64 / 86_400.0);
    let windows: Vec<WindowTrend> = WINDOWS
        .iter()
        .map(|&w| {
            let inside: Vec<(f64, f64)> = points
                .iter()
                .filter(|(at, _)| x(*at) > -(w as f64))
                .map(|(at, v)| (x(*at), *v))
                .collect();
            let span = inside.first().map_or(0.0, |p| -p.0);
            let trend = (inside.len() >= MIN_POINTS && span >= 6.0)
                .then(|| theil_sen(&inside))
                .flatten();
            let level = trend.map(|t| t.at(0.0).max(0.0));
            WindowTrend {
                window_days: w,
                points: inside.len(),
                sufficient: trend.is_some(),
                slope_per_day: trend.map(|t| t.slope),
                slope_low_per_day: trend.map(|t| t.slope_low),
                slope_high_per_day: trend.map(|t| t.slope_high),
                level,
                days_to_limit: match (trend, level, limit) {
                    (Some(t), Some(l), Some(lim)) => days_at(l, lim, t.slope).map(round1),
                    _ => None,
                },
            }
        })
        .collect();
    let mut f = ResourceForecast {
        resource: resource.to_owned(),
        limit,
        current,
        outlook: Outlook::InsufficientHistory,
        windows,
        days_low: None,
        low_window_days: None,
        days_high: None,
        high_window_days: None,
        crossing_earliest: None,
        crossing_latest: None,
        as_of: newest,
        summary: String::new(),
    };
    let fitted: Vec<&WindowTrend> = f.windows.iter().filter(|w| w.sufficient).collect();
    let Some(limit) = limit.filter(|l| *l > 0.0) else {
        f.outlook = if fitted.is_empty() {
            Outlook::InsufficientHistory
        } else {
            Outlook::NoLimit
        };
        f.summary = match f.outlook {
            Outlook::NoLimit => format!("{resource}: no limit known (no Hyper-V host reported it)"),
            _ => format!("{resource}: insufficient history (fewer than {MIN_POINTS} days)"),
        };
        return f;
    };
    if current.is_some_and(|c| c >= limit) {
        f.outlook = Outlook::OverLimit;
        f.days_low = Some(0.0);
        f.days_high = Some(0.0);
        f.crossing_earliest = newest;
        f.crossing_latest = newest;
        f.summary = format!(
            "{resource}: at or over its limit ({} of {})",
            round1(current.unwrap_or(0.0)),
            round1(limit)
        );
        return f;
    }
    if fitted.is_empty() {
        f.summary = format!("{resource}: insufficient history (fewer than {MIN_POINTS} days)");
        return f;
    }
    let growing = |w: &&WindowTrend| {
        let level = w.level.unwrap_or(0.0).max(1.0);
        w.slope_per_day.unwrap_or(0.0) * 30.0 > FLAT_PER_30_DAYS * level
    };
    if !fitted.iter().any(growing) {
        f.outlook = Outlook::NotGrowing;
        f.summary = format!("{resource}: not growing (flat or shrinking over 30 and 90 days)");
        return f;
    }
    f.outlook = Outlook::Growing;
    let mut low: Option<(f64, i64)> = None;
    let mut high: Option<(f64, i64)> = Some((0.0, 0));
    for w in &fitted {
        let level = w.level.unwrap_or(0.0);
        if let Some(d) = days_at(level, limit, w.slope_high_per_day.unwrap_or(0.0))
            && low.is_none_or(|(l, _)| d < l)
        {
            low = Some((d, w.window_days));
        }
        match (
            days_at(level, limit, w.slope_low_per_day.unwrap_or(0.0)),
            high,
        ) {
            (Some(d), Some((h, _))) if d > h => high = Some((d, w.window_days)),
            (Some(_), _) => {}
            (None, _) => {
                high = None;
                f.high_window_days = Some(w.window_days);
            }
        }
    }
    let day = |d: f64| newest.map(|n| n + TimeDelta::seconds((d * 86_400.0) as i64));
    if let Some((d, w)) = low {
        f.days_low = Some(round1(d));
        f.low_window_days = Some(w);
        f.crossing_earliest = day(d);
    }
    if let Some((d, w)) = high.filter(|_| low.is_some()) {
        f.days_high = Some(round1(d.max(f.days_low.unwrap_or(0.0))));
        f.high_window_days = Some(w);
        f.crossing_latest = day(d);
    }
    f.summary = summary(resource, &f);
    f
}

/// The forecast in a sentence: the range and the trend (window) behind each end of it.
fn summary(resource: &str, f: &ResourceForecast) -> String {
    let trend = |w: Option<i64>| w.map_or_else(|| "a".to_owned(), |w| format!("the {w}-day"));
    match (f.days_low, f.days_high) {
        (None, _) => format!("{resource}: growing slowly; no crossing within 10 years"),
        (Some(l), Some(h)) if f.low_window_days == f.high_window_days => format!(
            "{resource}: reaches its limit in {l:.0} to {h:.0} days ({} trend, steepest to gentlest)",
            trend(f.low_window_days)
        ),
        (Some(l), Some(h)) => format!(
            "{resource}: reaches its limit in {l:.0} days ({} trend) to {h:.0} days ({} trend)",
            trend(f.low_window_days),
            trend(f.high_window_days)
        ),
        (Some(l), None) => format!(
            "{resource}: may reach its limit in {l:.0} days ({} trend), or never ({} trend can be flat)",
            trend(f.low_window_days),
            trend(f.high_window_days)
        ),
    }
}

/// One day of a stamp's capacity history, as the forecast reads it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DailyCapacity {
    pub day: DateTime<Utc>,
    pub used_vcpus: Option<f64>,
    pub used_memory_gb: Option<f64>,
    /// Hosts do not report storage in use: the storage forecast follows what plans allocate.
    pub allocated_storage_gb: Option<f64>,
    pub vcpu_limit: Option<f64>,
    pub memory_limit_gb: Option<f64>,
    pub physical_storage_gb: Option<f64>,
}

/// The resources forecast, in the order the API and pages show them.
pub const RESOURCES: [&str; 3] = ["vcpus", "memory_gb", "storage_gb"];

/// Every resource's forecast against the newest limit the history knows (a scale unit added
/// yesterday raises the limit from yesterday on).
pub fn stamp_forecasts(days: &[DailyCapacity]) -> Vec<ResourceForecast> {
    type Pick = fn(&DailyCapacity) -> Option<f64>;
    let picks: [(&str, Pick, Pick); 3] = [
        ("vcpus", |d| d.used_vcpus, |d| d.vcpu_limit),
        ("memory_gb", |d| d.used_memory_gb, |d| d.memory_limit_gb),
        (
            "storage_gb",
            |d| d.allocated_storage_gb,
            |d| d.physical_storage_gb,
        ),
    ];
    picks
        .iter()
        .map(|(name, value, limit)| {
            let series: Vec<(DateTime<Utc>, f64)> = days
                .iter()
                .filter_map(|d| value(d).map(|v| (d.day, v)))
                .collect();
            let newest_limit = days
                .iter()
                .filter_map(|d| limit(d).map(|l| (d.day, l)))
                .max_by_key(|(day, _)| *day)
                .map(|(_, l)| l);
            forecast(name, &series, newest_limit)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn day(n: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap() + TimeDelta::days(n)
    }

    /// `days` daily points of `start + slope × day`, with a weekend dip of `dip`.
    fn series(days: i64, start: f64, slope: f64, dip: f64) -> Vec<(DateTime<Utc>, f64)> {
        (0..days)
            .map(|d| {
                let weekend = if d % 7 >= 5 { dip } else { 0.0 };
                (day(d), start + slope * d as f64 - weekend)
            })
            .collect()
    }

    #[test]
    fn theil_sen_finds_the_line_through_exact_points() {
        let t = theil_sen(&[(0.0, 1.0), (1.0, 3.0), (2.0, 5.0), (3.0, 7.0)]).unwrap();
        assert_eq!((t.slope, t.intercept), (2.0, 1.0));
        assert_eq!((t.slope_low, t.slope_high), (2.0, 2.0));
    }

    #[test]
    fn theil_sen_ignores_an_outlier_that_least_squares_would_follow() {
        let mut pts: Vec<(f64, f64)> = (0..20).map(|i| (i as f64, i as f64)).collect();
        pts[10].1 = 1000.0;
        let t = theil_sen(&pts).unwrap();
        assert!((t.slope - 1.0).abs() < 0.01, "{t:?}");
    }

    #[test]
    fn theil_sen_needs_two_distinct_days() {
        assert_eq!(theil_sen(&[(1.0, 1.0), (1.0, 2.0)]), None);
        assert_eq!(theil_sen(&[]), None);
        assert_eq!(theil_sen(&[(0.0, f64::NAN), (1.0, 1.0)]), None);
    }

    #[test]
    fn steady_growth_gives_a_range_naming_its_windows() {
        // 500 vCPUs growing 5 a day with weekend dips, limit 1000: about 100 days away
        let f = forecast("vcpus", &series(120, 0.0, 5.0, 40.0), Some(1000.0));
        assert_eq!(f.outlook, Outlook::Growing);
        let (low, high) = (f.days_low.unwrap(), f.days_high.unwrap());
        assert!(low <= high && low > 80.0 && high < 140.0, "{low}..{high}");
        assert!(f.low_window_days.is_some() && f.high_window_days.is_some());
        assert!(f.crossing_earliest.unwrap() <= f.crossing_latest.unwrap());
        assert!(f.summary.contains("days"), "{}", f.summary);
        assert!(f.windows.iter().all(|w| w.sufficient));
    }

    #[test]
    fn the_summary_names_each_trend_once() {
        let mut f = forecast("vcpus", &series(120, 0.0, 5.0, 40.0), Some(1000.0));
        (f.days_low, f.days_high) = (Some(21.0), Some(148.0));
        (f.low_window_days, f.high_window_days) = (Some(30), Some(30));
        assert_eq!(
            summary("vcpus", &f),
            "vcpus: reaches its limit in 21 to 148 days (the 30-day trend, steepest to gentlest)"
        );
        f.high_window_days = Some(90);
        assert_eq!(
            summary("vcpus", &f),
            "vcpus: reaches its limit in 21 days (the 30-day trend) to 148 days (the 90-day trend)"
        );
        f.days_high = None;
        f.high_window_days = None;
        assert_eq!(
            summary("vcpus", &f),
            "vcpus: may reach its limit in 21 days (the 30-day trend), or never (a trend can be flat)"
        );
    }

    #[test]
    fn fast_growth_crosses_within_thirty_days() {
        let f = forecast("memory_gb", &series(60, 200.0, 10.0, 0.0), Some(1000.0));
        // level 790 on day 59, 21 days at 10 GB a day
        assert_eq!(f.outlook, Outlook::Growing);
        assert!((f.days_low.unwrap() - 21.0).abs() < 0.5, "{f:?}");
    }

    #[test]
    fn flat_or_shrinking_use_is_not_growing() {
        let flat = forecast("vcpus", &series(90, 500.0, 0.0, 20.0), Some(1000.0));
        assert_eq!(flat.outlook, Outlook::NotGrowing);
        assert_eq!((flat.days_low, flat.days_high), (None, None));
        let shrinking = forecast("vcpus", &series(90, 900.0, -3.0, 0.0), Some(1000.0));
        assert_eq!(shrinking.outlook, Outlook::NotGrowing);
        assert!(shrinking.summary.contains("not growing"));
    }

    #[test]
    fn a_week_of_history_is_too_little_and_says_so() {
        let f = forecast("vcpus", &series(5, 0.0, 50.0, 0.0), Some(1000.0));
        assert_eq!(f.outlook, Outlook::InsufficientHistory);
        assert!(f.summary.contains("insufficient history"));
        assert!(
            f.windows
                .iter()
                .all(|w| !w.sufficient && w.slope_per_day.is_none())
        );
        assert_eq!(
            forecast("vcpus", &[], Some(1.0)).outlook,
            Outlook::InsufficientHistory
        );
    }

    #[test]
    fn use_already_over_the_limit_crosses_today() {
        let f = forecast("vcpus", &series(30, 1100.0, 1.0, 0.0), Some(1000.0));
        assert_eq!(f.outlook, Outlook::OverLimit);
        assert_eq!(f.days_low, Some(0.0));
    }

    #[test]
    fn an_unknown_limit_is_no_limit_not_a_crossing() {
        let f = forecast("storage_gb", &series(30, 10.0, 1.0, 0.0), None);
        assert_eq!(f.outlook, Outlook::NoLimit);
        assert_eq!(f.days_low, None);
    }

    #[test]
    fn a_recent_stop_in_growth_leaves_the_latest_crossing_open() {
        // grew for 80 days, flat for the last 30
        let mut s = series(80, 0.0, 5.0, 0.0);
        s.extend((80..110).map(|d| (day(d), 400.0)));
        let f = forecast("vcpus", &s, Some(1000.0));
        assert_eq!(f.outlook, Outlook::Growing);
        assert!(f.days_low.is_some());
        assert_eq!(f.days_high, None);
        assert_eq!(f.high_window_days, Some(30));
        assert!(f.summary.contains("or never"), "{}", f.summary);
    }
}
