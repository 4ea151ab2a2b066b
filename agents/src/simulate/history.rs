//! `simulate --backfill-days N`: plausible daily capacity history of the simulated fleet for the
//! N days before today, imported through the real API (`POST /api/v1/capacity/history`), so
//! that the demo's charts and forecasts have trends to show.
//!
//! Each stamp ends at what its simulated Hyper-V hosts report today (the server's own hourly
//! snapshot takes today), and before that:
//! - grows steadily (8 to 30 % a year, kept at least 150 days short of its limit, so that the
//!   healthy stamps are not forecast to fill), with a yearly wave and lighter weekends;
//! - on every third stamp, Hyper-V hosts were added 40 to 100 days ago (its last compute scale
//!   unit, or the newest third of the only one): before that day the stamp had fewer hosts, so
//!   its limit steps up;
//! - one stamp ([`filling_stamp`]) has taken on a large tenant in the last 30 days: its memory
//!   (or vCPUs) is forecast to reach the limit in about 20 days, so `capacity.exhaustion_soon`
//!   is critical there.
//!
//! Rows for the stamp as a whole and for each compute scale unit; allocation and subscriptions
//! follow use. Deterministic for a seed.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use stampbook_wire::Role;
use stampbook_wire::capacity::{CapacityImport, CapacityRow, MAX_IMPORT_ROWS, Step};

use super::Fleet;
use super::fleet::{HostModel, StampModel};
use super::plans::{CPU_OVERCOMMIT, MEMORY_OVERCOMMIT};

/// Days of history the demo backfills.
pub const DEMO_DAYS: u32 = 180;
/// The filling stamp's median forecast, in days.
const FILL_IN_DAYS: f64 = 20.0;

/// What a set of Hyper-V hosts has and runs today.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Totals {
    pub hosts: i64,
    pub cores: f64,
    pub memory_gb: f64,
    pub storage_gb: f64,
    pub vms: f64,
    pub vcpus: f64,
    pub used_memory_gb: f64,
}

/// Today's totals of the stamp's Hyper-V hosts, of those in `scale_unit` only when given.
pub fn totals(stamp: &StampModel, scale_unit: Option<&str>) -> Totals {
    totals_of(stamp, |h| scale_unit.is_none_or(|u| h.scale_unit == u))
}

/// Today's totals of the stamp's Hyper-V hosts that `keep` keeps.
fn totals_of(stamp: &StampModel, keep: impl Fn(&HostModel) -> bool) -> Totals {
    stamp
        .hosts
        .iter()
        .filter(|h| h.role == Role::HypervHost && keep(h))
        .fold(Totals::default(), |t, h| {
            let v = &h.vitals;
            let f = |x: Option<u32>| f64::from(x.unwrap_or(0));
            let g = |x: Option<u64>| x.unwrap_or(0) as f64;
            Totals {
                hosts: t.hosts + 1,
                cores: t.cores + f(v.cpu_cores),
                memory_gb: t.memory_gb + g(v.memory_mb) / 1024.0,
                storage_gb: t.storage_gb + g(v.storage_gb),
                vms: t.vms + f(v.vm_count),
                vcpus: t.vcpus + f(v.vm_vcpus),
                used_memory_gb: t.used_memory_gb + g(v.vm_memory_mb) / 1024.0,
            }
        })
}

/// The resource that fills on the filling stamp, and how full it is today (use / limit).
fn fill_candidate(stamp: &StampModel) -> Option<(Resource, f64)> {
    let t = totals(stamp, None);
    [
        (
            Resource::Memory,
            t.used_memory_gb / (t.memory_gb * MEMORY_OVERCOMMIT),
        ),
        (Resource::Vcpus, t.vcpus / (t.cores * CPU_OVERCOMMIT)),
    ]
    .into_iter()
    // nearest 88 % (a long history of plausible growth); a small fleet may have to take less
    .filter(|(_, ratio)| ratio.is_finite() && (0.3..=0.96).contains(ratio))
    .min_by(|a, b| (a.1 - 0.88).abs().total_cmp(&(b.1 - 0.88).abs()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Vcpus,
    Memory,
}

/// The stamp forecast to fill within 30 days: the live stamp (not retired) whose memory or vCPU
/// use today is nearest 88 % of its limit, and which resource.
pub fn filling_stamp(fleet: &Fleet) -> Option<(usize, Resource)> {
    fleet
        .stamps
        .iter()
        .enumerate()
        .filter(|(_, s)| !fleet.faults.retired.contains(&s.name))
        .filter_map(|(i, s)| fill_candidate(s).map(|(r, ratio)| (i, r, ratio)))
        .min_by(|a, b| (a.2 - 0.88).abs().total_cmp(&(b.2 - 0.88).abs()))
        .map(|(i, r, _)| (i, r))
}

/// How one stamp's history is shaped.
#[derive(Debug, Clone, Copy)]
struct Shape {
    /// Relative growth per day of ordinary use.
    growth: f64,
    /// Days ago a compute scale unit was added (its hosts absent before).
    step_days_ago: Option<i64>,
    /// The filling resource: per day over the last 30 days, and before, as a share of its limit.
    fill: Option<(Resource, f64, f64)>,
}

/// The factor ordinary use had `d` days ago, relative to today: growth, a yearly wave, lighter
/// weekends and a little noise.
fn factor(shape: &Shape, d: i64, day: DateTime<Utc>, rng: &mut StdRng) -> f64 {
    use chrono::Datelike;
    let trend = (1.0 - shape.growth * d as f64).max(0.05);
    let doy = |t: DateTime<Utc>| f64::from(t.ordinal()) / 365.0 * std::f64::consts::TAU;
    let today = day + TimeDelta::days(d);
    let wave = (1.0 + 0.02 * doy(day).sin()) / (1.0 + 0.02 * doy(today).sin());
    let weekend = if day.weekday().number_from_monday() >= 6 {
        0.985
    } else {
        1.0
    };
    trend * wave * weekend * (1.0 + rng.random_range(-0.003..0.003))
}

fn shape(fleet: &Fleet, index: usize, fill: Option<(usize, Resource)>) -> Shape {
    let stamp = &fleet.stamps[index];
    let mut rng = StdRng::seed_from_u64(fleet.options.seed ^ stamp.salt ^ 0xB4C7_F111);
    let t = totals(stamp, None);
    let annual: f64 = rng.random_range(0.08..0.30);
    // at least 150 days short of the limit for every resource not already over it
    let room = [
        (t.vcpus, t.cores * CPU_OVERCOMMIT),
        (t.used_memory_gb, t.memory_gb * MEMORY_OVERCOMMIT),
    ]
    .iter()
    .filter(|(used, limit)| used > &0.0 && used < limit)
    .map(|(used, limit)| (limit - used) / used / 150.0)
    .fold(f64::INFINITY, f64::min);
    let filling = fill.filter(|(i, _)| *i == index).map(|(_, r)| {
        let ratio = fill_candidate(stamp).map_or(0.88, |(_, ratio)| ratio);
        let recent = (1.0 - ratio) / FILL_IN_DAYS;
        (r, recent, recent / 4.0)
    });
    Shape {
        growth: (annual / 365.0).min(room),
        step_days_ago: (index % 3 == 1 && t.hosts >= 3 && filling.is_none())
            .then(|| rng.random_range(40..=100)),
        fill: filling,
    }
}

/// The filling resource's use `d` days ago as a share of its limit, from `ratio` today.
fn filling_share(ratio: f64, recent: f64, before: f64, d: i64) -> f64 {
    let d = d as f64;
    if d <= 30.0 {
        ratio - recent * d
    } else {
        ratio - recent * 30.0 - before * (d - 30.0)
    }
}

/// The daily rows of stamp `index` for the `days` days before `now`'s UTC day: the stamp as a
/// whole and each compute scale unit, oldest first.
pub fn stamp_rows(
    fleet: &Fleet,
    index: usize,
    days: u32,
    now: DateTime<Utc>,
    fill: Option<(usize, Resource)>,
) -> Vec<CapacityRow> {
    let stamp = &fleet.stamps[index];
    let shape = shape(fleet, index, fill);
    let today = now.duration_trunc(TimeDelta::days(1)).unwrap_or(now);
    let mut rng = StdRng::seed_from_u64(fleet.options.seed ^ stamp.salt ^ 0x00DA_11E5);
    let hyperv: Vec<&HostModel> = stamp
        .hosts
        .iter()
        .filter(|h| h.role == Role::HypervHost)
        .collect();
    let mut units: Vec<&str> = hyperv.iter().map(|h| h.scale_unit.as_str()).collect();
    units.sort_unstable();
    units.dedup();
    // the hosts added `step_days_ago`: the last compute scale unit, or the newest third of the
    // only one
    let added: Vec<&str> = match (shape.step_days_ago, units.as_slice()) {
        (None, _) => Vec::new(),
        (Some(_), [.., last]) if units.len() >= 2 => hyperv
            .iter()
            .filter(|h| h.scale_unit == *last)
            .map(|h| h.fqdn.as_str())
            .collect(),
        (Some(_), _) => hyperv[hyperv.len() - hyperv.len() / 3..]
            .iter()
            .map(|h| h.fqdn.as_str())
            .collect(),
    };
    let alloc_today = stamp.plans.iter().fold([0u64; 5], |a, p| {
        let s = p.subscriptions;
        [
            a[0] + p.quota.vms * s,
            a[1] + p.quota.vcpus * s,
            a[2] + p.quota.memory_gb * s,
            a[3] + p.quota.storage_gb * s,
            a[4] + s,
        ]
    });
    let whole = totals(stamp, None);
    let mut rows = Vec::with_capacity(days as usize * (units.len() + 1));
    for d in (1..=i64::from(days)).rev() {
        let at = today - TimeDelta::days(d);
        let f = factor(&shape, d, at, &mut rng);
        let present = |h: &HostModel| {
            shape.step_days_ago.is_none_or(|s| d < s) || !added.contains(&h.fqdn.as_str())
        };
        let scale = |t: &Totals| {
            let mut used_vcpus = t.vcpus * f;
            let mut used_memory = t.used_memory_gb * f;
            if let Some((r, recent, before)) = shape.fill {
                let share = |ratio: f64| filling_share(ratio, recent, before, d).max(0.05);
                match r {
                    Resource::Memory if t.memory_gb > 0.0 => {
                        let limit = t.memory_gb * MEMORY_OVERCOMMIT;
                        used_memory = limit * share(t.used_memory_gb / limit);
                    }
                    Resource::Vcpus if t.cores > 0.0 => {
                        let limit = t.cores * CPU_OVERCOMMIT;
                        used_vcpus = limit * share(t.vcpus / limit);
                    }
                    _ => {}
                }
            }
            (used_vcpus, used_memory)
        };
        // the stamp as a whole: the sum of the scale units present that day
        let mut stamp_t = Totals::default();
        let mut unit_rows = Vec::new();
        for u in &units {
            let t = totals_of(stamp, |h| h.scale_unit == *u && present(h));
            if t.hosts == 0 {
                continue;
            }
            stamp_t.hosts += t.hosts;
            stamp_t.cores += t.cores;
            stamp_t.memory_gb += t.memory_gb;
            stamp_t.storage_gb += t.storage_gb;
            unit_rows.push((u.to_string(), t));
        }
        // use is the whole stamp's (today's use spread over the hosts present that day)
        let (used_vcpus, used_memory) = scale(&whole);
        let share_of = |part: f64, of: f64| if of > 0.0 { part / of } else { 0.0 };
        let alloc_factor = share_of(used_vcpus, whole.vcpus).clamp(0.05, 1.0);
        let row =
            |unit: Option<String>, t: &Totals, vcpus: f64, memory: f64, vms: f64, alloc: bool| {
                let a = |v: u64| alloc.then(|| (v as f64 * alloc_factor).round() as i64);
                CapacityRow {
                    step: Step::Day,
                    at,
                    scale_unit: unit,
                    hyperv_hosts: t.hosts,
                    physical_cores: Some(t.cores.round() as i64),
                    physical_memory_gb: Some(t.memory_gb),
                    physical_storage_gb: Some(t.storage_gb.round() as i64),
                    used_vms: Some(vms.round() as i64),
                    used_vcpus: Some(vcpus.round() as i64),
                    used_memory_gb: Some(memory),
                    allocated_vms: a(alloc_today[0]),
                    allocated_vcpus: a(alloc_today[1]),
                    allocated_memory_gb: a(alloc_today[2]),
                    allocated_storage_gb: a(alloc_today[3]),
                    subscriptions: a(alloc_today[4]),
                    vcpu_limit: Some(t.cores * CPU_OVERCOMMIT),
                    memory_limit_gb: Some(t.memory_gb * MEMORY_OVERCOMMIT),
                }
            };
        let vm_factor = share_of(used_vcpus, whole.vcpus);
        rows.push(row(
            None,
            &stamp_t,
            used_vcpus,
            used_memory,
            whole.vms * vm_factor,
            true,
        ));
        for (u, t) in unit_rows {
            let part = share_of(t.cores, stamp_t.cores);
            rows.push(row(
                Some(u),
                &t,
                used_vcpus * part,
                used_memory * part,
                whole.vms * vm_factor * part,
                false,
            ));
        }
    }
    rows
}

/// The imports of every live stamp (at most [`MAX_IMPORT_ROWS`] rows each), and which stamp
/// fills.
pub fn imports(
    fleet: &Fleet,
    days: u32,
    now: DateTime<Utc>,
) -> (Vec<CapacityImport>, Option<String>) {
    let fill = filling_stamp(fleet);
    let mut out = Vec::new();
    for (i, stamp) in fleet.stamps.iter().enumerate() {
        if fleet.faults.retired.contains(&stamp.name) {
            continue;
        }
        let rows = stamp_rows(fleet, i, days, now, fill);
        for chunk in rows.chunks(MAX_IMPORT_ROWS) {
            out.push(CapacityImport {
                stamp: stamp.name.clone(),
                rows: chunk.to_vec(),
            });
        }
    }
    (out, fill.map(|(i, _)| fleet.stamps[i].name.clone()))
}

/// What a backfill did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Backfilled {
    pub stamps: u64,
    pub rows: u64,
    /// Rows the server already kept (a backfill run twice writes nothing new).
    pub skipped: u64,
    pub filling: Option<String>,
}

impl Backfilled {
    pub fn line(&self) -> String {
        format!(
            "capacity history backfilled: {} stamps, {} daily rows written, {} already kept{}",
            self.stamps,
            self.rows,
            self.skipped,
            self.filling
                .as_deref()
                .map(|s| format!("; {s} is forecast to fill within 30 days"))
                .unwrap_or_default()
        )
    }
}

/// Imports `days` days of history of every live stamp through `admin` (an admin token),
/// showing progress per stamp.
pub async fn backfill(
    fleet: &Fleet,
    admin: &crate::push::Pusher,
    days: u32,
    now: DateTime<Utc>,
) -> Result<Backfilled, crate::push::PushError> {
    let (imports, filling) = imports(fleet, days, now);
    let mut progress = stampbook_progress::Progress::new(
        format!("backfilling {days} days of capacity history"),
        imports.len() as u64,
    );
    let mut done = Backfilled {
        filling,
        ..Backfilled::default()
    };
    let mut last: Option<&str> = None;
    for import in &imports {
        let inserted = admin.import_capacity(import).await?;
        done.rows += inserted;
        done.skipped += import.rows.len() as u64 - inserted;
        if last != Some(import.stamp.as_str()) {
            done.stamps += 1;
            last = Some(import.stamp.as_str());
        }
        progress.advance(1, &import.stamp);
    }
    progress.finish();
    Ok(done)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::super::FleetOptions;
    use super::*;

    fn fleet() -> Fleet {
        Fleet::build(FleetOptions {
            stamps: 6,
            hosts_per_stamp: 40,
            faults: true,
            seed: 2026,
            now: Utc.with_ymd_and_hms(2026, 12, 3, 10, 0, 0).unwrap(),
        })
    }

    #[test]
    fn every_live_stamp_gets_aligned_days_ending_yesterday() {
        let fleet = fleet();
        let now = fleet.options.now;
        let (imports, filling) = imports(&fleet, 180, now);
        assert!(filling.is_some(), "one stamp fills");
        let live = fleet.stamps.len() - fleet.faults.retired.len();
        let mut names: Vec<&str> = imports.iter().map(|i| i.stamp.as_str()).collect();
        names.dedup();
        assert_eq!(names.len(), live);
        let today = Utc.with_ymd_and_hms(2026, 12, 3, 0, 0, 0).unwrap();
        for import in &imports {
            let whole: Vec<&CapacityRow> = import
                .rows
                .iter()
                .filter(|r| r.scale_unit.is_none())
                .collect();
            assert_eq!(whole.len(), 180);
            assert_eq!(whole.last().unwrap().at, today - TimeDelta::days(1));
            assert_eq!(whole[0].at, today - TimeDelta::days(180));
            assert!(import.rows.iter().all(|r| r.step == Step::Day
                && r.used_vcpus.unwrap_or(-1) >= 0
                && r.vcpu_limit.unwrap_or(0.0) > 0.0));
        }
    }

    #[test]
    fn the_filling_stamp_grows_fast_lately_and_a_scale_unit_steps_the_limit_up() {
        let fleet = fleet();
        let now = fleet.options.now;
        let (i, resource) = filling_stamp(&fleet).unwrap();
        let rows = stamp_rows(&fleet, i, 180, now, Some((i, resource)));
        let whole: Vec<&CapacityRow> = rows.iter().filter(|r| r.scale_unit.is_none()).collect();
        let share = |r: &CapacityRow| match resource {
            Resource::Memory => r.used_memory_gb.unwrap() / r.memory_limit_gb.unwrap(),
            Resource::Vcpus => r.used_vcpus.unwrap() as f64 / r.vcpu_limit.unwrap(),
        };
        let (old, month_ago, last) = (share(whole[0]), share(whole[149]), share(whole[179]));
        assert!(
            old < month_ago && month_ago < last && last < 1.0,
            "{old} {month_ago} {last}"
        );
        // about (1 - last) / 20 a day lately: reaching the limit within 30 days
        let per_day = (last - month_ago) / 29.0;
        assert!((1.0 - last) / per_day < 30.0, "{per_day}");

        let stepped = (0..fleet.stamps.len())
            .filter(|s| *s != i)
            .find(|s| shape(&fleet, *s, None).step_days_ago.is_some())
            .expect("a stamp added a scale unit");
        let rows = stamp_rows(&fleet, stepped, 180, now, Some((i, resource)));
        let limits: Vec<f64> = rows
            .iter()
            .filter(|r| r.scale_unit.is_none())
            .map(|r| r.vcpu_limit.unwrap())
            .collect();
        assert!(limits[0] < limits[179], "the limit steps up: {limits:?}");
        assert_eq!(
            limits.windows(2).filter(|w| w[0] != w[1]).count(),
            1,
            "once"
        );
    }
}
