//! The hourly capacity snapshot of every live stamp and of each scale unit its Hyper-V hosts
//! name, and the roll-up of complete days with the pruning that keeps the history bounded.
//!
//! Several replicas may run the job in the same hour: the snapshot's primary key (stamp, step,
//! scale unit, hour) and `on conflict do nothing` make the first one win and the rest no-ops.
//! Allocation reads the `capacity_plan_allocations` view (quotas × subscriptions), the one
//! place that says where subscription counts come from.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use sqlx::PgPool;

use super::{DAILY_RETENTION_DAYS, HOURLY_RETENTION_DAYS};

/// The start of the hour `now` is in.
pub fn hour_of(now: DateTime<Utc>) -> DateTime<Utc> {
    now.duration_trunc(TimeDelta::hours(1)).unwrap_or(now)
}

/// Takes the snapshot of the hour `now` falls in (once per hour across replicas); answers the
/// rows written (0 when this hour was already taken).
pub async fn take(pool: &PgPool, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let at = hour_of(now);
    let mut tx = pool.begin().await?;
    let stamps = sqlx::query!(
        r#"insert into capacity_snapshots (stamp_id, step, scale_unit, at, hyperv_hosts,
               physical_cores, physical_memory_gb, physical_storage_gb, used_vms, used_vcpus,
               used_memory_gb, allocated_vms, allocated_vcpus, allocated_memory_gb,
               allocated_storage_gb, subscriptions, vcpu_limit, memory_limit_gb)
           select s.id, 'hour', '', $1, h.n, h.cores, h.memory_gb, h.storage_gb, h.vms, h.vcpus,
                  h.used_memory_gb, coalesce(a.vms, 0), coalesce(a.vcpus, 0),
                  coalesce(a.memory_gb, 0), coalesce(a.storage_gb, 0), coalesce(a.subscriptions, 0),
                  h.cores * s.cpu_overcommit, h.memory_gb * s.memory_overcommit
           from stamps s
           cross join lateral (
               select count(*)::int as n, sum(cpu_cores)::bigint as cores,
                      sum(memory_mb)::float8 / 1024 as memory_gb, sum(storage_gb)::bigint as storage_gb,
                      sum(vm_count)::bigint as vms, sum(vm_vcpus)::bigint as vcpus,
                      sum(vm_memory_mb)::float8 / 1024 as used_memory_gb
               from hosts where stamp_id = s.id and 'hyperv_host' = any(roles)) h
           left join lateral (
               select least(sum(vms), 9223372036854775807)::bigint as vms,
                      least(sum(vcpus), 9223372036854775807)::bigint as vcpus,
                      least(sum(memory_gb), 9223372036854775807)::bigint as memory_gb,
                      least(sum(storage_gb), 9223372036854775807)::bigint as storage_gb,
                      least(sum(subscriptions), 9223372036854775807)::bigint as subscriptions
               from capacity_plan_allocations where stamp_id = s.id) a on true
           where s.retired_at is null
           on conflict do nothing"#,
        at
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let units = sqlx::query!(
        r#"insert into capacity_snapshots (stamp_id, step, scale_unit, at, hyperv_hosts,
               physical_cores, physical_memory_gb, physical_storage_gb, used_vms, used_vcpus,
               used_memory_gb, vcpu_limit, memory_limit_gb)
           select s.id, 'hour', h.scale_unit, $1, count(*)::int, sum(h.cpu_cores)::bigint,
                  sum(h.memory_mb)::float8 / 1024, sum(h.storage_gb)::bigint, sum(h.vm_count)::bigint,
                  sum(h.vm_vcpus)::bigint, sum(h.vm_memory_mb)::float8 / 1024,
                  sum(h.cpu_cores) * s.cpu_overcommit,
                  sum(h.memory_mb)::float8 / 1024 * s.memory_overcommit
           from stamps s join hosts h on h.stamp_id = s.id
           where s.retired_at is null and 'hyperv_host' = any(h.roles)
             and h.scale_unit is not null and h.scale_unit <> ''
           group by s.id, h.scale_unit
           on conflict do nothing"#,
        at
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(stamps + units)
}

/// What one roll-up did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Rolled {
    pub days_written: u64,
    pub hours_pruned: u64,
    pub days_pruned: u64,
}

/// Rolls every complete UTC day of hourly rows into one daily row (the day's mean; idempotent),
/// then forgets hourly rows past 14 days and daily rows past 2 years.
pub async fn roll(pool: &PgPool, now: DateTime<Utc>) -> Result<Rolled, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let days_written = sqlx::query!(
        r#"insert into capacity_snapshots (stamp_id, step, scale_unit, at, hyperv_hosts,
               physical_cores, physical_memory_gb, physical_storage_gb, used_vms, used_vcpus,
               used_memory_gb, allocated_vms, allocated_vcpus, allocated_memory_gb,
               allocated_storage_gb, subscriptions, vcpu_limit, memory_limit_gb)
           select stamp_id, 'day', scale_unit, date_trunc('day', at, 'UTC'),
                  round(avg(hyperv_hosts))::int, round(avg(physical_cores))::bigint,
                  avg(physical_memory_gb), round(avg(physical_storage_gb))::bigint,
                  round(avg(used_vms))::bigint, round(avg(used_vcpus))::bigint, avg(used_memory_gb),
                  round(avg(allocated_vms))::bigint, round(avg(allocated_vcpus))::bigint,
                  round(avg(allocated_memory_gb))::bigint, round(avg(allocated_storage_gb))::bigint,
                  round(avg(subscriptions))::bigint, avg(vcpu_limit), avg(memory_limit_gb)
           from capacity_snapshots
           where step = 'hour' and at < date_trunc('day', $1::timestamptz, 'UTC')
           group by stamp_id, scale_unit, date_trunc('day', at, 'UTC')
           on conflict do nothing"#,
        now
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let hours_pruned = sqlx::query!(
        "delete from capacity_snapshots where step = 'hour' and at < $1",
        now - TimeDelta::days(HOURLY_RETENTION_DAYS)
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let days_pruned = sqlx::query!(
        "delete from capacity_snapshots where step = 'day' and at < $1",
        now - TimeDelta::days(DAILY_RETENTION_DAYS)
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    Ok(Rolled {
        days_written,
        hours_pruned,
        days_pruned,
    })
}

/// The snapshot loop of one replica: a snapshot at start and at each new hour (checked every
/// minute). Failures are logged and retried at the next tick. The roll-up runs with the hourly
/// retention pass (`crate::retention`).
pub async fn run(pool: PgPool) {
    let mut ticker = tokio::time::interval(std::time::Duration::from_secs(60));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last: Option<DateTime<Utc>> = None;
    loop {
        ticker.tick().await;
        let now = Utc::now();
        if last == Some(hour_of(now)) {
            continue;
        }
        match take(&pool, now).await {
            Ok(rows) => {
                last = Some(hour_of(now));
                tracing::debug!(rows, "capacity snapshot taken");
            }
            Err(e) => tracing::warn!(error = %e, "could not take the capacity snapshot"),
        }
    }
}
