//! Plans on sale on a broken stamp (`plan.*`): what a WAP integration must know before selling.
//!
//! Decisions where the SPEC is silent:
//! - A plan on a retired stamp gets `plan.stamp_missing` only; judging the health of a stamp
//!   that is gone adds nothing. (A stamp that does not exist at all cannot be named by a plan
//!   row; the engine passes such plans with a retired context if it ever finds one.)
//! - `plan.*` problems never count towards `plan.stamp_unhealthy`, or a plan would keep
//!   itself (and its siblings) unhealthy forever.
//! - A problem reported twice in `open` (this run's finding and the stored row) counts once.

use std::collections::BTreeMap;

use serde_json::json;

use super::model::{Finding, OpenProblem, PlanFact, Severity, StampContext};

pub const STAMP_MISSING: &str = "plan.stamp_missing";
pub const STAMP_UNHEALTHY: &str = "plan.stamp_unhealthy";
/// The blocking problems a `plan.stamp_unhealthy` names in its evidence (`problems_total`
/// counts them all).
pub const EVIDENCE_PROBLEMS: usize = 50;

pub fn evaluate(ctx: &StampContext, plans: &[PlanFact], open: &[OpenProblem]) -> Vec<Finding> {
    if ctx.retired {
        return plans.iter().map(|p| stamp_missing(ctx, p)).collect();
    }
    plans
        .iter()
        .filter_map(|plan| stamp_unhealthy(ctx, plan, open))
        .collect()
}

fn plan_finding(
    rule: &'static str,
    plan: &PlanFact,
    message: String,
    evidence: serde_json::Value,
) -> Finding {
    Finding {
        rule,
        severity: Severity::Critical,
        host_id: None,
        plan_id: Some(plan.plan_id),
        subject: plan.wap_plan_id.clone(),
        message,
        evidence,
    }
}

fn stamp_missing(ctx: &StampContext, plan: &PlanFact) -> Finding {
    let message = format!(
        "Plan {} ({}) is bound to stamp {}, which is retired: stop selling the plan, or move it \
         to a live stamp",
        plan.wap_plan_id, plan.name, ctx.name
    );
    let evidence = json!({"stamp": ctx.name, "retired": true});
    plan_finding(STAMP_MISSING, plan, message, evidence)
}

/// Whether an open problem makes the plan's stamp unfit to sell this plan.
fn blocks(plan: &PlanFact, problem: &OpenProblem) -> bool {
    if problem.rule.starts_with("plan.") {
        return false;
    }
    // Remote Console is one chain: any broken link, even acknowledged or a warning, means
    // tenants of this plan cannot open a console.
    if plan.remote_console && problem.rule.starts_with("remote_console.") {
        return true;
    }
    problem.severity == Severity::Critical && !problem.acknowledged
}

fn stamp_unhealthy(ctx: &StampContext, plan: &PlanFact, open: &[OpenProblem]) -> Option<Finding> {
    // one per (rule, host, subject), in that order: the evidence must not depend on the order
    // in which the run met them, or every run rewrites the plan's problem
    let mut by_identity = BTreeMap::new();
    for p in open.iter().filter(|p| blocks(plan, p)) {
        by_identity
            .entry((p.rule.as_str(), p.host_id, p.subject.as_str()))
            .or_insert(p);
    }
    let blocking: Vec<&OpenProblem> = by_identity.into_values().collect();
    if blocking.is_empty() {
        return None;
    }
    let mut rules: Vec<&str> = blocking.iter().map(|p| p.rule.as_str()).collect();
    rules.sort_unstable();
    rules.dedup();
    let remote_console = blocking
        .iter()
        .any(|p| p.rule.starts_with("remote_console."));
    let why = if plan.remote_console && remote_console {
        "Remote Console is broken there"
    } else {
        "it has open critical problems"
    };
    let message = format!(
        "Plan {} ({}) is on sale on stamp {}, but {why} ({} problem{}: {}); stop selling it until \
         they are fixed",
        plan.wap_plan_id,
        plan.name,
        ctx.name,
        blocking.len(),
        if blocking.len() == 1 { "" } else { "s" },
        rules.join(", ")
    );
    let evidence = json!({
        "stamp": ctx.name,
        "remote_console": plan.remote_console,
        "problems_total": blocking.len(),
        "problems": blocking.iter().take(EVIDENCE_PROBLEMS).map(|p| json!({
            "rule": p.rule,
            "severity": p.severity,
            "host_id": p.host_id,
            "subject": p.subject,
            "acknowledged": p.acknowledged,
        })).collect::<Vec<_>>(),
    });
    Some(plan_finding(STAMP_UNHEALTHY, plan, message, evidence))
}

#[cfg(test)]
mod tests {
    use super::super::testkit::stamp;
    use super::*;

    fn plan(remote_console: bool) -> PlanFact {
        PlanFact {
            plan_id: 42,
            wap_plan_id: "gold-ams".into(),
            name: "Gold IaaS".into(),
            remote_console,
            quota_vcpus: 2000,
            quota_memory_gb: 8192,
        }
    }

    fn problem(rule: &str, severity: Severity, acknowledged: bool) -> OpenProblem {
        OpenProblem {
            rule: rule.into(),
            severity,
            host_id: Some(3),
            subject: "90D0A19F51A0EA8B4D9925D6A956485C8D06F805".into(),
            acknowledged,
        }
    }

    /// A stamp with thousands of critical problems: each plan's evidence names the first
    /// [`EVIDENCE_PROBLEMS`] and counts them all, so it stays small however bad the stamp is
    /// (every plan problem of the stamp is rewritten when its blocking problems change).
    #[test]
    fn a_plan_names_at_most_a_bounded_number_of_blocking_problems_and_counts_them_all() {
        let many: Vec<OpenProblem> = (0..3000)
            .map(|i| OpenProblem {
                host_id: Some(i),
                ..problem("cert.expired", Severity::Critical, false)
            })
            .collect();
        let findings = evaluate(&stamp(), &[plan(false)], &many);
        assert_eq!(findings.len(), 1);
        let e = &findings[0].evidence;
        assert_eq!(e["problems_total"], 3000, "{e}");
        assert_eq!(
            e["problems"].as_array().map(Vec::len),
            Some(EVIDENCE_PROBLEMS),
            "{e}"
        );
        assert!(findings[0].message.contains("3000 problems"));
    }

    /// The evaluator meets a stamp's open problems in no particular order (those outside a host
    /// run first, then this run's findings): the plan's problem names the same ones the same
    /// way whatever the order, or each run rewrites it.
    #[test]
    fn a_plan_problem_does_not_depend_on_the_order_it_met_the_blocking_problems() {
        let many: Vec<OpenProblem> = (0..120)
            .map(|i| OpenProblem {
                host_id: Some(i),
                ..problem(
                    if i % 3 == 0 {
                        "cert.expiring"
                    } else {
                        "cert.expired"
                    },
                    Severity::Critical,
                    false,
                )
            })
            .collect();
        let mut reversed = many.clone();
        reversed.reverse();
        let a = evaluate(&stamp(), &[plan(false)], &many);
        let b = evaluate(&stamp(), &[plan(false)], &reversed);
        assert_eq!(a, b);
    }

    #[test]
    fn plan_on_a_retired_stamp_is_missing_its_stamp() {
        let mut ctx = stamp();
        ctx.retired = true;
        let findings = evaluate(&ctx, &[plan(false)], &[]);
        assert_eq!(findings.len(), 1);
        let f = &findings[0];
        assert_eq!(
            (f.rule, f.severity, f.plan_id),
            (STAMP_MISSING, Severity::Critical, Some(42))
        );
        assert_eq!((f.subject.as_str(), f.host_id), ("gold-ams", None));
        assert!(f.message.contains("gold-ams") && f.message.contains("ams-01"));
        assert!(evaluate(&stamp(), &[plan(false)], &[]).is_empty());
    }

    #[test]
    fn an_acknowledged_critical_does_not_make_the_stamp_unhealthy() {
        let open = [problem("cert.expired", Severity::Critical, true)];
        assert!(evaluate(&stamp(), &[plan(false)], &open).is_empty());
    }

    #[test]
    fn an_unacknowledged_critical_does() {
        let open = [
            problem("cert.expired", Severity::Critical, false),
            problem("cert.expired", Severity::Critical, false),
        ];
        let findings = evaluate(&stamp(), &[plan(false)], &open);
        assert_eq!(findings.len(), 1);
        let f = &findings[0];
        assert_eq!(
            (f.rule, f.severity, f.plan_id),
            (STAMP_UNHEALTHY, Severity::Critical, Some(42))
        );
        assert_eq!(f.subject, "gold-ams");
        assert!(
            f.message.contains("(1 problem: cert.expired)"),
            "{}",
            f.message
        );
    }

    #[test]
    fn warnings_and_plan_problems_do_not_count() {
        let open = [
            problem("route.default_ambiguous", Severity::Warning, false),
            problem(STAMP_MISSING, Severity::Critical, false),
            problem(STAMP_UNHEALTHY, Severity::Critical, false),
        ];
        assert!(evaluate(&stamp(), &[plan(true)], &open).is_empty());
    }

    #[test]
    fn remote_console_plan_counts_acknowledged_remote_console_problems() {
        let open = [problem(
            "remote_console.rdgw_public_cert",
            Severity::Warning,
            true,
        )];
        let findings = evaluate(&stamp(), &[plan(true)], &open);
        assert_eq!(findings.len(), 1);
        assert!(findings[0].message.contains("Remote Console is broken"));
        // The same problem does not stop a plan without Remote Console.
        assert!(evaluate(&stamp(), &[plan(false)], &open).is_empty());
    }
}
