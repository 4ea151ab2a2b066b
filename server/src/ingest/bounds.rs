//! Numbers of a report within what the server stores: a wire `u32`/`u64` that does not fit its
//! column, or that no host could have (`cpu_cores` 4294967295 is a failed WMI read, not a
//! machine), is refused with the field (422) instead of wrapping or silently vanishing.

use stampbook_wire::Report;

use crate::error::ApiError;

/// Upper bounds of the vitals (inclusive). Memory and storage allow an exbibyte.
const MAX_CPU_CORES: u64 = 100_000;
const MAX_VM_COUNT: u64 = 1_000_000;
const MAX_VM_VCPUS: u64 = 10_000_000;
const MAX_MEGABYTES: u64 = 1 << 40;
const MAX_GIGABYTES: u64 = 1 << 30;
/// Subscriptions of one WAP plan (the OpenAPI document's maximum).
const MAX_SUBSCRIPTIONS: u64 = i32::MAX as u64;
/// A route metric is stored as an `integer`.
const MAX_METRIC: u64 = i32::MAX as u64;
/// The VMConnect ticket lifetime: the OpenAPI document's `int32` (VMM takes minutes, a few at most).
const MAX_TTL_MINUTES: u64 = i32::MAX as u64;
/// The agent's spool counters are stored as `bigint`.
const MAX_COUNTER: u64 = i64::MAX as u64;

fn out_of_range(field: String, value: u64, max: u64) -> ApiError {
    ApiError::invalid(
        "out_of_range",
        format!("{value} is out of range: at most {max}"),
        field,
    )
}

fn within(field: &str, value: Option<u64>, max: u64) -> Result<(), ApiError> {
    match value {
        Some(v) if v > max => Err(out_of_range(field.to_owned(), v, max)),
        _ => Ok(()),
    }
}

/// Checks the vitals, route metrics, VMConnect TTL, spool counters and WAP subscription counts
/// of a report.
pub fn check(report: &Report) -> Result<(), ApiError> {
    if let Some(v) = &report.host.vitals {
        let at = "host.vitals";
        within(
            &format!("{at}.cpu_cores"),
            v.cpu_cores.map(u64::from),
            MAX_CPU_CORES,
        )?;
        within(&format!("{at}.memory_mb"), v.memory_mb, MAX_MEGABYTES)?;
        within(&format!("{at}.storage_gb"), v.storage_gb, MAX_GIGABYTES)?;
        within(
            &format!("{at}.vm_count"),
            v.vm_count.map(u64::from),
            MAX_VM_COUNT,
        )?;
        within(
            &format!("{at}.vm_vcpus"),
            v.vm_vcpus.map(u64::from),
            MAX_VM_VCPUS,
        )?;
        within(&format!("{at}.vm_memory_mb"), v.vm_memory_mb, MAX_MEGABYTES)?;
    }
    for (i, p) in report.wap.iter().flat_map(|w| &w.plans).enumerate() {
        within(
            &format!("wap.plans[{i}].subscription_count"),
            p.subscription_count,
            MAX_SUBSCRIPTIONS,
        )?;
    }
    if let Some(vmm) = report.settings.as_ref().and_then(|s| s.vmm.collected()) {
        within(
            "settings.vmm.vmconnect_ttl_minutes",
            vmm.vmconnect_ttl_minutes.map(u64::from),
            MAX_TTL_MINUTES,
        )?;
    }
    if let Some(agent) = &report.agent {
        within("agent.spool_dropped", agent.spool_dropped, MAX_COUNTER)?;
        within("agent.spool_rejected", agent.spool_rejected, MAX_COUNTER)?;
    }
    for (i, r) in report.routes.iter().flatten().enumerate() {
        within(
            &format!("routes[{i}].metric"),
            Some(u64::from(r.metric)),
            MAX_METRIC,
        )?;
    }
    Ok(())
}
