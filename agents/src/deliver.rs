//! One delivery cycle of `push` and `run`: replay the spool in order, then send the new report;
//! whatever cannot be delivered now is spooled, whatever the server refuses for its content
//! (or fails on in too many cycles) is set aside in `rejected/`, so nothing blocks the queue.

use stampbook_wire::{AgentInfo, Report};

use crate::push::{Accepted, PushError, Pusher};
use crate::spool::{Carried, Rejection, Spool, SpoolEntry, SpoolError};

/// What became of the new report.
#[derive(Debug)]
pub enum Outcome {
    Delivered(Accepted),
    /// Kept in the spool for the next cycle; `reason` says why it was not sent.
    Spooled {
        reason: String,
    },
    /// Refused by the server for its content; kept in `rejected/` when there is a spool.
    Rejected {
        reason: String,
    },
}

/// What one cycle did.
#[derive(Debug)]
pub struct CycleReport {
    pub outcome: Outcome,
    /// Spooled reports delivered before the new one.
    pub replayed: usize,
    /// Spooled reports the server refused (moved to `rejected/`).
    pub replay_rejected: usize,
    /// Spooled reports still waiting (the new one included when it was spooled).
    pub waiting: usize,
}

impl CycleReport {
    pub fn delivered(&self) -> bool {
        matches!(self.outcome, Outcome::Delivered(_))
    }
}

/// Why a cycle could not even decide what to do with the report.
#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    #[error(transparent)]
    Spool(#[from] SpoolError),
    /// Without a spool a failed push is simply a failure.
    #[error(transparent)]
    Push(#[from] PushError),
}

/// Sends `report`, with the spool's bookkeeping when there is one.
pub async fn deliver(
    pusher: &Pusher,
    spool: Option<&Spool>,
    report: Report,
) -> Result<CycleReport, DeliverError> {
    let Some(spool) = spool else {
        let accepted = pusher.push_report(&report).await?;
        return Ok(CycleReport {
            outcome: Outcome::Delivered(accepted),
            replayed: 0,
            replay_rejected: 0,
            waiting: 0,
        });
    };
    let replay = replay(pusher, spool).await?;
    let outcome = if let Some(blocked) = replay.blocked {
        // Sending the new report now would overtake the waiting ones.
        spool.put(&report)?;
        Outcome::Spooled {
            reason: format!("the spool is not drained: {blocked}"),
        }
    } else {
        // Read after the replay: it may have set reports aside just now.
        let carried = spool.to_carry();
        let mut sent = report;
        carry(&mut sent, carried);
        match pusher.push_report(&sent).await {
            Ok(accepted) => {
                spool.acknowledge(carried)?;
                Outcome::Delivered(accepted)
            }
            Err(e) if e.is_rejection() => {
                spool.reject_report(&sent, &Rejection::from_push(&e, None))?;
                Outcome::Rejected {
                    reason: e.to_string(),
                }
            }
            Err(e) => {
                // Spooled without the counters: they stay counted until a report carrying
                // them is accepted, and must not reach the server twice.
                carry(&mut sent, Carried::default());
                spool.put(&sent)?;
                if e.is_server_fault() {
                    spool.record_failure(&spool.entry_for(&sent))?;
                }
                Outcome::Spooled {
                    reason: e.to_string(),
                }
            }
        }
    };
    Ok(CycleReport {
        outcome,
        replayed: replay.delivered,
        replay_rejected: replay.rejected,
        waiting: spool.entries()?.len(),
    })
}

/// Sets (or, with zeros, clears) the spool counters a report tells the server.
fn carry(report: &mut Report, carried: Carried) {
    if carried == Carried::default() && report.agent.is_none() {
        return;
    }
    let agent = report.agent.get_or_insert_with(|| AgentInfo {
        name: "stampbook-agent".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        spool_dropped: None,
        spool_rejected: None,
    });
    agent.spool_dropped = Some(carried.dropped).filter(|n| *n > 0);
    agent.spool_rejected = Some(carried.rejected).filter(|n| *n > 0);
}

struct Replay {
    delivered: usize,
    rejected: usize,
    /// Why replay stopped early, leaving reports in the spool.
    blocked: Option<PushError>,
}

/// Sends the spooled reports oldest first; stops at the first one that may succeed later,
/// so that the server receives them in order. A report the server refuses for its content, or
/// fails on (5xx, not an outage) in `max_failures` cycles, is set aside and replay goes on.
async fn replay(pusher: &Pusher, spool: &Spool) -> Result<Replay, SpoolError> {
    let mut replay = Replay {
        delivered: 0,
        rejected: 0,
        blocked: None,
    };
    let entries = spool.entries()?;
    if !entries.is_empty() {
        tracing::info!(waiting = entries.len(), "replaying the spool");
    }
    for entry in entries {
        let report = match spool.load(&entry) {
            Ok(report) => report,
            Err(e @ SpoolError::Corrupt { .. }) => {
                spool.reject(&entry, &Rejection::unreadable(&e))?;
                replay.rejected += 1;
                continue;
            }
            Err(e) => return Err(e),
        };
        match pusher.push_report(&report).await {
            Ok(accepted) => {
                spool.remove(&entry)?;
                replay.delivered += 1;
                tracing::info!(
                    report_id = %accepted.report_id,
                    duplicate = accepted.duplicate,
                    "spooled report delivered"
                );
            }
            Err(e) if e.is_rejection() => {
                spool.reject(&entry, &Rejection::from_push(&e, None))?;
                replay.rejected += 1;
            }
            Err(e) if e.is_server_fault() && gives_up(spool, &entry, &e)? => {
                replay.rejected += 1;
            }
            Err(e) => {
                replay.blocked = Some(e);
                break;
            }
        }
    }
    Ok(replay)
}

/// Counts a server failure against a spooled report; past the limit, sets it aside and says so.
fn gives_up(spool: &Spool, entry: &SpoolEntry, error: &PushError) -> Result<bool, SpoolError> {
    let failures = spool.record_failure(entry)?;
    let limit = spool.limits().max_failures.max(1);
    if failures < limit {
        tracing::warn!(
            report_id = %entry.report_id,
            failures,
            limit,
            "the server failed on a spooled report"
        );
        return Ok(false);
    }
    spool.reject(entry, &Rejection::from_push(error, Some(failures)))?;
    Ok(true)
}
