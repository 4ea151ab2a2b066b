//! The capacity history read back (per stamp or scale unit, per hour or day, bounded by range)
//! and written from outside (the admin import a backfill uses). Days not rolled up yet (today,
//! or a day whose hours the roll-up has not seen) are answered as the mean of their hours, so a
//! daily series always reaches today.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use sqlx::PgConnection;
use stampbook_wire::capacity::{CapacityImport, CapacityRow, MAX_IMPORT_ROWS, Step};

use super::{DAILY_RETENTION_DAYS, HOURLY_RETENTION_DAYS};
use crate::rules::forecast::DailyCapacity;

/// What makes an import unacceptable, with the field at fault (`rows[3].at`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct ImportError {
    pub message: String,
    pub field: String,
}

fn refuse(i: usize, field: &str, message: impl Into<String>) -> ImportError {
    ImportError {
        message: message.into(),
        field: format!("rows[{i}].{field}"),
    }
}

/// Checks an import before anything is written: at most [`MAX_IMPORT_ROWS`] rows, each at the
/// start of its hour or UTC day, not in the future and not older than its step is kept,
/// figures non-negative and finite.
pub fn validate(import: &CapacityImport, now: DateTime<Utc>) -> Result<(), ImportError> {
    if import.rows.len() > MAX_IMPORT_ROWS {
        return Err(ImportError {
            message: format!(
                "{} rows; one import carries at most {MAX_IMPORT_ROWS}",
                import.rows.len()
            ),
            field: "rows".into(),
        });
    }
    for (i, r) in import.rows.iter().enumerate() {
        let (unit, kept) = match r.step {
            Step::Hour => (TimeDelta::hours(1), HOURLY_RETENTION_DAYS),
            Step::Day => (TimeDelta::days(1), DAILY_RETENTION_DAYS),
        };
        if r.at.duration_trunc(unit).ok() != Some(r.at) {
            return Err(refuse(
                i,
                "at",
                format!(
                    "a {} row starts on the {} (UTC)",
                    r.step.as_str(),
                    r.step.as_str()
                ),
            ));
        }
        if r.at > now {
            return Err(refuse(i, "at", "the row is in the future"));
        }
        if r.at < now - TimeDelta::days(kept) {
            return Err(refuse(
                i,
                "at",
                format!(
                    "{} rows are kept {kept} days; this one is older",
                    r.step.as_str()
                ),
            ));
        }
        if let Some(su) = &r.scale_unit
            && (su.trim().is_empty() || su.len() > 100 || su.chars().any(char::is_control))
        {
            return Err(refuse(
                i,
                "scale_unit",
                "a scale unit name is 1 to 100 printable characters",
            ));
        }
        if !(0..=100_000).contains(&r.hyperv_hosts) {
            return Err(refuse(i, "hyperv_hosts", "hyperv_hosts is 0 to 100000"));
        }
        let ints = [
            ("physical_cores", r.physical_cores),
            ("physical_storage_gb", r.physical_storage_gb),
            ("used_vms", r.used_vms),
            ("used_vcpus", r.used_vcpus),
            ("allocated_vms", r.allocated_vms),
            ("allocated_vcpus", r.allocated_vcpus),
            ("allocated_memory_gb", r.allocated_memory_gb),
            ("allocated_storage_gb", r.allocated_storage_gb),
            ("subscriptions", r.subscriptions),
        ];
        for (field, v) in ints {
            if v.is_some_and(|v| v < 0) {
                return Err(refuse(i, field, format!("{field} cannot be negative")));
            }
        }
        let floats = [
            ("physical_memory_gb", r.physical_memory_gb),
            ("used_memory_gb", r.used_memory_gb),
            ("vcpu_limit", r.vcpu_limit),
            ("memory_limit_gb", r.memory_limit_gb),
        ];
        for (field, v) in floats {
            if v.is_some_and(|v| !(v.is_finite() && (0.0..=1e15).contains(&v))) {
                return Err(refuse(i, field, format!("{field} is 0 to 1e15")));
            }
        }
    }
    Ok(())
}

/// Writes a validated import for `stamp_id` in one statement; rows whose (step, scale unit,
/// period) is already kept are skipped, never overwritten (a live snapshot wins). Answers the
/// rows written.
pub async fn import(
    conn: &mut PgConnection,
    stamp_id: i64,
    rows: &[CapacityRow],
) -> Result<u64, sqlx::Error> {
    macro_rules! col {
        ($f:expr) => {
            rows.iter().map($f).collect::<Vec<_>>()
        };
    }
    let steps: Vec<String> = col!(|r| r.step.as_str().to_owned());
    let units: Vec<String> = col!(|r| r.scale_unit.clone().unwrap_or_default());
    let hosts: Vec<i32> = col!(|r| i32::try_from(r.hyperv_hosts).unwrap_or(i32::MAX));
    Ok(sqlx::query!(
        r#"insert into capacity_snapshots (stamp_id, step, scale_unit, at, hyperv_hosts,
               physical_cores, physical_memory_gb, physical_storage_gb, used_vms, used_vcpus,
               used_memory_gb, allocated_vms, allocated_vcpus, allocated_memory_gb,
               allocated_storage_gb, subscriptions, vcpu_limit, memory_limit_gb)
           select $1, * from unnest($2::text[], $3::text[], $4::timestamptz[], $5::int[],
               $6::bigint[], $7::float8[], $8::bigint[], $9::bigint[], $10::bigint[], $11::float8[],
               $12::bigint[], $13::bigint[], $14::bigint[], $15::bigint[], $16::bigint[],
               $17::float8[], $18::float8[])
           on conflict do nothing"#,
        stamp_id,
        &steps,
        &units,
        &col!(|r| r.at),
        &hosts,
        &col!(|r| r.physical_cores) as &[Option<i64>],
        &col!(|r| r.physical_memory_gb) as &[Option<f64>],
        &col!(|r| r.physical_storage_gb) as &[Option<i64>],
        &col!(|r| r.used_vms) as &[Option<i64>],
        &col!(|r| r.used_vcpus) as &[Option<i64>],
        &col!(|r| r.used_memory_gb) as &[Option<f64>],
        &col!(|r| r.allocated_vms) as &[Option<i64>],
        &col!(|r| r.allocated_vcpus) as &[Option<i64>],
        &col!(|r| r.allocated_memory_gb) as &[Option<i64>],
        &col!(|r| r.allocated_storage_gb) as &[Option<i64>],
        &col!(|r| r.subscriptions) as &[Option<i64>],
        &col!(|r| r.vcpu_limit) as &[Option<f64>],
        &col!(|r| r.memory_limit_gb) as &[Option<f64>],
    )
    .execute(conn)
    .await?
    .rows_affected())
}

/// The kept rows of one stamp (`scale_unit` "" for the stamp as a whole) with `from <= at < to`,
/// oldest first, at most `limit`.
pub async fn rows(
    conn: &mut PgConnection,
    stamp_id: i64,
    scale_unit: &str,
    step: Step,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<CapacityRow>, sqlx::Error> {
    let found = sqlx::query!(
        r#"with kept as (
               select at, hyperv_hosts, physical_cores, physical_memory_gb, physical_storage_gb,
                      used_vms, used_vcpus, used_memory_gb, allocated_vms, allocated_vcpus,
                      allocated_memory_gb, allocated_storage_gb, subscriptions, vcpu_limit,
                      memory_limit_gb
               from capacity_snapshots
               where stamp_id = $1 and scale_unit = $2 and step = $3 and at >= $4 and at < $5
           ), pending as (
               -- days the roll-up has not written yet: the mean of their hours
               select date_trunc('day', h.at, 'UTC') as at, round(avg(h.hyperv_hosts))::int as hyperv_hosts,
                      round(avg(h.physical_cores))::bigint as physical_cores,
                      avg(h.physical_memory_gb) as physical_memory_gb,
                      round(avg(h.physical_storage_gb))::bigint as physical_storage_gb,
                      round(avg(h.used_vms))::bigint as used_vms, round(avg(h.used_vcpus))::bigint as used_vcpus,
                      avg(h.used_memory_gb) as used_memory_gb,
                      round(avg(h.allocated_vms))::bigint as allocated_vms,
                      round(avg(h.allocated_vcpus))::bigint as allocated_vcpus,
                      round(avg(h.allocated_memory_gb))::bigint as allocated_memory_gb,
                      round(avg(h.allocated_storage_gb))::bigint as allocated_storage_gb,
                      round(avg(h.subscriptions))::bigint as subscriptions,
                      avg(h.vcpu_limit) as vcpu_limit, avg(h.memory_limit_gb) as memory_limit_gb
               from capacity_snapshots h
               where $3 = 'day' and h.stamp_id = $1 and h.scale_unit = $2 and h.step = 'hour'
                 and h.at >= $4 and h.at < $5
                 and not exists (select 1 from capacity_snapshots d
                                 where d.stamp_id = $1 and d.scale_unit = $2 and d.step = 'day'
                                   and d.at = date_trunc('day', h.at, 'UTC'))
               group by 1
           )
           select at as "at!", hyperv_hosts as "hyperv_hosts!", physical_cores, physical_memory_gb,
                  physical_storage_gb, used_vms, used_vcpus, used_memory_gb, allocated_vms,
                  allocated_vcpus, allocated_memory_gb, allocated_storage_gb, subscriptions,
                  vcpu_limit, memory_limit_gb
           from (select * from kept union all select * from pending) r
           order by at
           limit $6"#,
        stamp_id,
        scale_unit,
        step.as_str(),
        from,
        to,
        limit
    )
    .fetch_all(conn)
    .await?;
    let unit = (!scale_unit.is_empty()).then(|| scale_unit.to_owned());
    Ok(found
        .into_iter()
        .map(|r| CapacityRow {
            step,
            at: r.at,
            scale_unit: unit.clone(),
            hyperv_hosts: i64::from(r.hyperv_hosts),
            physical_cores: r.physical_cores,
            physical_memory_gb: r.physical_memory_gb,
            physical_storage_gb: r.physical_storage_gb,
            used_vms: r.used_vms,
            used_vcpus: r.used_vcpus,
            used_memory_gb: r.used_memory_gb,
            allocated_vms: r.allocated_vms,
            allocated_vcpus: r.allocated_vcpus,
            allocated_memory_gb: r.allocated_memory_gb,
            allocated_storage_gb: r.allocated_storage_gb,
            subscriptions: r.subscriptions,
            vcpu_limit: r.vcpu_limit,
            memory_limit_gb: r.memory_limit_gb,
        })
        .collect())
}

/// The daily series the forecast reads: the stamp as a whole, the last 90 days up to `now`.
pub async fn days(
    conn: &mut PgConnection,
    stamp_id: i64,
    now: DateTime<Utc>,
) -> Result<Vec<DailyCapacity>, sqlx::Error> {
    let from = now - TimeDelta::days(crate::rules::forecast::WINDOWS[1]);
    let rows = rows(conn, stamp_id, "", Step::Day, from, now, 1000).await?;
    Ok(rows.iter().map(daily).collect())
}

/// A kept row as the forecast reads it.
pub fn daily(r: &CapacityRow) -> DailyCapacity {
    DailyCapacity {
        day: r.at,
        used_vcpus: r.used_vcpus.map(|v| v as f64),
        used_memory_gb: r.used_memory_gb,
        allocated_storage_gb: r.allocated_storage_gb.map(|v| v as f64),
        vcpu_limit: r.vcpu_limit,
        memory_limit_gb: r.memory_limit_gb,
        physical_storage_gb: r.physical_storage_gb.map(|v| v as f64),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn row(step: Step, at: DateTime<Utc>) -> CapacityRow {
        CapacityRow {
            step,
            at,
            scale_unit: None,
            hyperv_hosts: 4,
            physical_cores: Some(64),
            physical_memory_gb: Some(1024.0),
            physical_storage_gb: None,
            used_vms: None,
            used_vcpus: Some(100),
            used_memory_gb: None,
            allocated_vms: None,
            allocated_vcpus: None,
            allocated_memory_gb: None,
            allocated_storage_gb: None,
            subscriptions: None,
            vcpu_limit: Some(256.0),
            memory_limit_gb: None,
        }
    }

    fn import(rows: Vec<CapacityRow>) -> CapacityImport {
        CapacityImport {
            stamp: "ams-01".into(),
            rows,
        }
    }

    #[test]
    fn rows_on_their_period_within_retention_are_accepted() {
        let now = Utc.with_ymd_and_hms(2026, 12, 3, 10, 20, 0).unwrap();
        let day = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
        let hour = Utc.with_ymd_and_hms(2026, 12, 3, 9, 0, 0).unwrap();
        assert_eq!(
            validate(
                &import(vec![row(Step::Day, day), row(Step::Hour, hour)]),
                now
            ),
            Ok(())
        );
    }

    #[test]
    fn misaligned_future_old_or_negative_rows_name_their_field() {
        let now = Utc.with_ymd_and_hms(2026, 12, 3, 10, 20, 0).unwrap();
        let field = |r: CapacityRow| validate(&import(vec![r]), now).unwrap_err().field;
        assert_eq!(
            field(row(Step::Day, now - TimeDelta::hours(10))),
            "rows[0].at"
        );
        assert_eq!(
            field(row(Step::Hour, now + TimeDelta::hours(2))),
            "rows[0].at"
        );
        let old_hour = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
        assert_eq!(field(row(Step::Hour, old_hour)), "rows[0].at");
        let mut negative = row(
            Step::Hour,
            Utc.with_ymd_and_hms(2026, 12, 3, 9, 0, 0).unwrap(),
        );
        negative.used_vcpus = Some(-1);
        assert_eq!(field(negative), "rows[0].used_vcpus");
        let mut nan = row(
            Step::Hour,
            Utc.with_ymd_and_hms(2026, 12, 3, 9, 0, 0).unwrap(),
        );
        nan.vcpu_limit = Some(f64::INFINITY);
        assert_eq!(field(nan), "rows[0].vcpu_limit");
    }

    #[test]
    fn an_import_is_bounded() {
        let now = Utc.with_ymd_and_hms(2026, 12, 3, 10, 20, 0).unwrap();
        let hour = Utc.with_ymd_and_hms(2026, 12, 3, 9, 0, 0).unwrap();
        let big = import(vec![row(Step::Hour, hour); MAX_IMPORT_ROWS + 1]);
        assert_eq!(validate(&big, now).unwrap_err().field, "rows");
    }
}
