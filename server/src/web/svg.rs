//! Chart geometry for the inline SVGs: bars, ticks and labels computed here, in plain numbers,
//! so the templates only place shapes (colours come from CSS classes, never inline styles, which
//! the Content-Security-Policy forbids).

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
}
