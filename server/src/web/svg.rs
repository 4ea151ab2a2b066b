//! Chart geometry for the inline SVGs: bars, ticks and labels computed here, in plain numbers,
//! so the templates only place shapes (colours come from CSS classes, never inline styles, which
//! the Content-Security-Policy forbids).

use chrono::{DateTime, Datelike, Months, NaiveTime, Utc};

/// One bar of a chart, in SVG user units.
#[derive(Debug, Clone)]
pub struct Bar {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
    pub class: &'static str,
    /// The tooltip (an SVG `<title>`): what the bar counts, in words.
    pub title: String,
}

#[derive(Debug, Clone)]
pub struct Tick {
    pub x: f64,
    pub label: String,
}

/// A column chart over equal slots (days, weeks) with labelled ticks.
#[derive(Debug, Clone)]
pub struct Columns {
    pub width: f64,
    pub height: f64,
    /// y of the baseline and of the top of the plot area.
    pub base: f64,
    pub top: f64,
    pub left: f64,
    pub right: f64,
    pub bars: Vec<Bar>,
    pub ticks: Vec<Tick>,
    pub max_label: String,
    /// The whole chart in words, for screen readers.
    pub summary: String,
}

/// One slot's value.
#[derive(Debug, Clone)]
pub struct Slot {
    pub count: i64,
    pub class: &'static str,
    pub title: String,
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// Lays out `slots` (index 0 leftmost) as columns; `tick(i)` labels the slots that get a tick.
pub fn columns(slots: &[Slot], tick: impl Fn(usize) -> Option<String>, summary: String) -> Columns {
    let (width, height) = (960.0, 180.0);
    let (left, right, top, base) = (34.0, 950.0, 12.0, 150.0);
    let max = slots.iter().map(|s| s.count).max().unwrap_or(0).max(1);
    let n = slots.len().max(1) as f64;
    let step = (right - left) / n;
    let gap = if step > 6.0 { 1.5 } else { 0.5 };
    let bars = slots
        .iter()
        .enumerate()
        .filter(|(_, s)| s.count > 0)
        .map(|(i, s)| {
            // a non-zero count is always visible: at least 2 units tall
            let h = ((base - top) * s.count as f64 / max as f64).max(2.0);
            Bar {
                x: round1(left + step * i as f64 + gap / 2.0),
                y: round1(base - h),
                w: round1((step - gap).max(0.5)),
                h: round1(h),
                class: s.class,
                title: s.title.clone(),
            }
        })
        .collect();
    let ticks = (0..slots.len())
        .filter_map(|i| {
            tick(i).map(|label| Tick {
                x: round1(left + step * i as f64 + step / 2.0),
                label,
            })
        })
        .collect();
    Columns {
        width,
        height,
        base,
        top,
        left,
        right,
        bars,
        ticks,
        max_label: max.to_string(),
        summary,
    }
}

/// Three horizontal bars (capacity, used, allocated) on a scale shared by every row.
#[derive(Debug, Clone)]
pub struct Triple {
    pub bars: Vec<Bar>,
    /// x of the capacity mark (where allocation would exceed what the stamp can give).
    pub limit_x: f64,
    pub width: f64,
}

pub fn triple(capacity: f64, used: f64, allocated: f64, scale_max: f64, unit: &str) -> Triple {
    let width = 300.0;
    let scale = if scale_max > 0.0 {
        width / scale_max
    } else {
        0.0
    };
    let bar = |row: f64, v: f64, class: &'static str, what: &str| Bar {
        x: 0.0,
        y: row * 11.0 + 1.0,
        w: round1((v * scale).clamp(0.0, width)),
        h: 9.0,
        class,
        title: format!("{what}: {} {unit}", super::format::int(v.round() as i64)),
    };
    Triple {
        bars: vec![
            bar(0.0, capacity, "physical", "capacity"),
            bar(1.0, used, "used", "used by VMs"),
            bar(2.0, allocated, "allocated", "allocated to plans"),
        ],
        limit_x: round1((capacity * scale).clamp(0.0, width)),
        width,
    }
}

/// A time series for [`trend`]: daily values, the limit over time, and the forecast.
#[derive(Debug, Clone)]
pub struct SeriesInput {
    /// What the line is (a stamp's name on the comparison chart).
    pub label: String,
    /// The CSS class of its line and cone (`used`, or `s0`..`s7` per stamp).
    pub class: &'static str,
    pub points: Vec<(DateTime<Utc>, f64)>,
    /// The limit over time; the newest value is carried to the chart's end.
    pub limit: Vec<(DateTime<Utc>, f64)>,
    pub cone: Option<ConeInput>,
    pub crossing: Option<CrossingInput>,
    /// Name the line at its newest point (the comparison chart does).
    pub end_label: bool,
}

/// The forecast cone: from `from` (the newest day), between the lowest and highest trend.
#[derive(Debug, Clone, Copy)]
pub struct ConeInput {
    pub from: DateTime<Utc>,
    pub start_low: f64,
    pub start_high: f64,
    /// Per day.
    pub slope_low: f64,
    pub slope_high: f64,
}

/// When the forecast crosses the limit: from `earliest` to `latest` (`None`: perhaps never).
#[derive(Debug, Clone)]
pub struct CrossingInput {
    pub earliest: DateTime<Utc>,
    pub latest: Option<DateTime<Utc>>,
    /// Written above the band: `crosses 14 Dec – 2 Jan`.
    pub label: String,
}

/// What [`trend`] draws.
#[derive(Debug, Clone)]
pub struct TrendInput {
    /// Unique on the page (the plot's clip path).
    pub id: String,
    pub start: DateTime<Utc>,
    pub now: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub series: Vec<SeriesInput>,
    pub x_label: String,
    pub y_label: String,
    /// Tick labels end with `%`.
    pub percent: bool,
    /// The whole chart in words, for screen readers.
    pub summary: String,
}

#[derive(Debug, Clone)]
pub struct Polyline {
    pub class: &'static str,
    /// `x,y x,y ...`
    pub points: String,
    pub title: String,
}

#[derive(Debug, Clone)]
pub struct Label {
    pub x: f64,
    pub y: f64,
    /// `start`, `middle` or `end`.
    pub anchor: &'static str,
    pub class: &'static str,
    pub text: String,
}

#[derive(Debug, Clone)]
pub struct YTick {
    pub y: f64,
    pub label: String,
}

/// A time chart: lines of use, each stamp's limit, the forecast cones and the crossing bands,
/// with labelled axes and a "today" mark.
#[derive(Debug, Clone)]
pub struct TrendChart {
    pub id: String,
    pub width: f64,
    pub height: f64,
    pub left: f64,
    pub right: f64,
    pub top: f64,
    pub base: f64,
    pub lines: Vec<Polyline>,
    pub limits: Vec<Polyline>,
    /// Polygons.
    pub cones: Vec<Polyline>,
    pub bands: Vec<Bar>,
    pub labels: Vec<Label>,
    pub today_x: f64,
    pub x_ticks: Vec<Tick>,
    pub y_ticks: Vec<YTick>,
    pub x_label: String,
    pub y_label: String,
    pub summary: String,
}

/// A step of 1, 2, 2.5 or 5 times a power of ten that cuts `max` into about `parts`.
pub fn nice_step(max: f64, parts: f64) -> f64 {
    let raw = (max / parts).max(f64::MIN_POSITIVE);
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag)
}

fn tick_label(v: f64, percent: bool) -> String {
    let n = if v.abs() >= 10.0 || v == v.round() {
        super::format::int(v.round() as i64)
    } else {
        format!("{v:.1}")
    };
    if percent { format!("{n}%") } else { n }
}

/// Lays out a time chart over `[start, end]` with today at `now`.
pub fn trend(input: &TrendInput) -> TrendChart {
    let (width, height) = (960.0, 312.0);
    let (left, right, top, base) = (72.0, 880.0, 26.0, 250.0);
    let span = (input.end - input.start).num_seconds().max(1) as f64;
    let xf = |t: DateTime<Utc>| {
        round1(left + (right - left) * (t - input.start).num_seconds() as f64 / span)
    };
    let days_to_end = |from: DateTime<Utc>| (input.end - from).num_seconds() as f64 / 86_400.0;
    // the scale: every value and limit, and the cones' start, with room above the highest limit
    let mut max: f64 = 0.0;
    for s in &input.series {
        for (_, v) in s.points.iter().chain(&s.limit) {
            max = max.max(*v);
        }
        if let Some(l) = s.limit.last() {
            max = max.max(l.1 * 1.15);
        }
        if let Some(c) = &s.cone {
            max = max.max(c.start_high);
        }
    }
    let step = nice_step(max.max(1.0) * 1.05, 4.0);
    let ymax = (max.max(1.0) * 1.05 / step).ceil() * step;
    let yf = |v: f64| round1(base - (base - top) * (v / ymax));
    let pts = |p: &mut dyn Iterator<Item = (DateTime<Utc>, f64)>| {
        p.map(|(t, v)| format!("{},{}", xf(t), yf(v)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let mut chart = TrendChart {
        id: input.id.clone(),
        width,
        height,
        left,
        right,
        top,
        base,
        lines: Vec::new(),
        limits: Vec::new(),
        cones: Vec::new(),
        bands: Vec::new(),
        labels: Vec::new(),
        today_x: xf(input.now),
        x_ticks: Vec::new(),
        y_ticks: Vec::new(),
        x_label: input.x_label.clone(),
        y_label: input.y_label.clone(),
        summary: input.summary.clone(),
    };
    let in_range = |t: &DateTime<Utc>| *t >= input.start && *t <= input.end;
    for s in &input.series {
        let mut points: Vec<(DateTime<Utc>, f64)> = s.points.clone();
        points.retain(|(t, v)| in_range(t) && v.is_finite());
        points.sort_by_key(|(t, _)| *t);
        if !points.is_empty() {
            chart.lines.push(Polyline {
                class: s.class,
                points: pts(&mut points.iter().copied()),
                title: s.label.clone(),
            });
        }
        let mut limit: Vec<(DateTime<Utc>, f64)> = s.limit.clone();
        limit.retain(|(t, v)| in_range(t) && v.is_finite());
        limit.sort_by_key(|(t, _)| *t);
        if let Some(&(_, last)) = limit.last() {
            limit.push((input.end, last));
            chart.limits.push(Polyline {
                class: s.class,
                points: pts(&mut limit.iter().copied()),
                title: format!("{}: limit {}", s.label, tick_label(last, input.percent)),
            });
        }
        if let Some(c) = &s.cone
            && c.from < input.end
        {
            let d = days_to_end(c.from);
            let high = c.start_high + c.slope_high * d;
            let low = (c.start_low + c.slope_low * d).max(0.0);
            chart.cones.push(Polyline {
                class: s.class,
                points: pts(&mut [
                    (c.from, c.start_high),
                    (input.end, high),
                    (input.end, low),
                    (c.from, c.start_low),
                ]
                .into_iter()),
                title: format!("{}: forecast range", s.label),
            });
        }
        if let Some(x) = &s.crossing {
            let x0 = xf(x.earliest.clamp(input.start, input.end));
            let x1 = xf(x.latest.unwrap_or(input.end).clamp(input.start, input.end));
            chart.bands.push(Bar {
                x: x0,
                y: top,
                w: round1((x1 - x0).max(2.0)),
                h: round1(base - top),
                class: s.class,
                title: format!("{}: {}", s.label, x.label),
            });
        }
        if s.end_label
            && let Some(&(t, v)) = points.last()
        {
            chart.labels.push(Label {
                x: xf(t) + 6.0,
                y: yf(v) + 4.0,
                anchor: "start",
                class: s.class,
                text: s.label.clone(),
            });
        }
    }
    // crossing labels above the plot, one line each, at their band (kept inside the chart)
    let crossings: Vec<(f64, String)> = input
        .series
        .iter()
        .filter_map(|s| {
            s.crossing.as_ref().map(|x| {
                (
                    xf(x.earliest.clamp(input.start, input.end)),
                    if input.series.len() > 1 {
                        format!("{}: {}", s.label, x.label)
                    } else {
                        x.label.clone()
                    },
                )
            })
        })
        .collect();
    let n = crossings.len();
    for (i, (x, text)) in crossings.into_iter().enumerate() {
        let class = input
            .series
            .iter()
            .filter(|s| s.crossing.is_some())
            .nth(i)
            .map_or("", |s| s.class);
        chart.labels.push(Label {
            x: x.min(right - 4.0),
            y: if n > 1 {
                top + 14.0 + 16.0 * i as f64
            } else {
                top - 8.0
            },
            anchor: "end",
            class,
            text,
        });
    }
    let mut v = 0.0;
    while v <= ymax + step / 2.0 {
        chart.y_ticks.push(YTick {
            y: yf(v),
            label: tick_label(v, input.percent),
        });
        v += step;
    }
    // a tick on the first of every month (every second month past 400 days)
    let every = if span > 400.0 * 86_400.0 { 2 } else { 1 };
    let mut m = input
        .start
        .date_naive()
        .with_day(1)
        .unwrap_or(input.start.date_naive());
    let mut i = 0;
    while let Some(next) = m.checked_add_months(Months::new(1)) {
        m = next;
        let t = m.and_time(NaiveTime::MIN).and_utc();
        if t > input.end {
            break;
        }
        if i % every == 0 {
            chart.x_ticks.push(Tick {
                x: xf(t),
                label: if m.month() == 1 {
                    m.format("%b %Y").to_string()
                } else {
                    m.format("%b").to_string()
                },
            });
        }
        i += 1;
    }
    chart
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(count: i64) -> Slot {
        Slot {
            count,
            class: "b-ok",
            title: format!("{count}"),
        }
    }

    #[test]
    fn columns_scale_to_the_largest_slot_and_skip_empty_ones() {
        let c = columns(
            &[slot(0), slot(10), slot(5)],
            |i| (i == 0).then(|| "today".to_owned()),
            "s".into(),
        );
        assert_eq!(c.bars.len(), 2);
        assert_eq!(c.bars[0].h, c.base - c.top);
        assert_eq!(c.bars[1].h, ((c.base - c.top) / 2.0 * 10.0).round() / 10.0);
        assert_eq!(c.ticks.len(), 1);
        assert_eq!(c.max_label, "10");
    }

    #[test]
    fn tiny_counts_stay_visible() {
        let c = columns(&[slot(1), slot(100_000)], |_| None, "s".into());
        assert!(c.bars[0].h >= 2.0);
    }

    #[test]
    fn triples_share_the_scale_and_clamp() {
        let t = triple(100.0, 50.0, 400.0, 200.0, "vCPU");
        assert_eq!(t.bars[0].w, 150.0);
        assert_eq!(t.bars[1].w, 75.0);
        assert_eq!(t.bars[2].w, 300.0);
        assert_eq!(t.limit_x, 150.0);
        let empty = triple(0.0, 0.0, 0.0, 0.0, "GiB");
        assert!(empty.bars.iter().all(|b| b.w == 0.0));
    }

    #[test]
    fn nice_steps_are_round() {
        assert_eq!(nice_step(100.0, 4.0), 25.0);
        assert_eq!(nice_step(1050.0, 4.0), 500.0);
        assert_eq!(nice_step(7.0, 4.0), 2.0);
    }

    #[test]
    fn a_trend_has_its_limit_cone_crossing_and_month_ticks() {
        use chrono::TimeZone;
        let now = Utc.with_ymd_and_hms(2026, 12, 3, 0, 0, 0).unwrap();
        let day = |d: i64| now + chrono::TimeDelta::days(d);
        let chart = trend(&TrendInput {
            id: "t".into(),
            start: day(-180),
            now,
            end: day(60),
            series: vec![SeriesInput {
                label: "vCPUs in use".into(),
                class: "used",
                points: (-180..=0).map(|d| (day(d), 500.0 + d as f64)).collect(),
                limit: vec![(day(-180), 400.0), (day(-60), 800.0)],
                cone: Some(ConeInput {
                    from: now,
                    start_low: 490.0,
                    start_high: 510.0,
                    slope_low: 2.0,
                    slope_high: 8.0,
                }),
                crossing: Some(CrossingInput {
                    earliest: day(37),
                    latest: None,
                    label: "crosses from 9 Jan (or never)".into(),
                }),
                end_label: false,
            }],
            x_label: "date (UTC)".into(),
            y_label: "vCPUs".into(),
            percent: false,
            summary: "s".into(),
        });
        assert_eq!(chart.lines.len(), 1);
        // the limit steps up and is carried to the end of the chart
        let limit_ys: Vec<&str> = chart.limits[0]
            .points
            .split(' ')
            .map(|p| p.split(',').nth(1).unwrap())
            .collect();
        assert_eq!(limit_ys.len(), 3);
        assert_ne!(limit_ys[0], limit_ys[1], "stepped up");
        assert_eq!(limit_ys[1], limit_ys[2], "carried flat to the end");
        assert_eq!(chart.cones.len(), 1);
        assert_eq!(chart.bands.len(), 1);
        assert!(
            (chart.bands[0].x + chart.bands[0].w - chart.right).abs() < 0.2,
            "open to the end"
        );
        assert!(chart.labels.iter().any(|l| l.text.contains("crosses")));
        assert_eq!(chart.y_ticks.first().unwrap().label, "0");
        assert!(chart.y_ticks.len() >= 4);
        let months: Vec<&str> = chart.x_ticks.iter().map(|t| t.label.as_str()).collect();
        assert!(
            months.contains(&"Jan 2027") && months.contains(&"Jul"),
            "{months:?}"
        );
        assert!(chart.today_x > chart.left && chart.today_x < chart.right);
    }
}
