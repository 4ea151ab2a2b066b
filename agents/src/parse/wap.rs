//! `wap-plans.json`: the plans of the Windows Azure Pack Service Management admin API as
//! `Get-MgmtSvcPlan` returns them (the REST "Plan (Administrator object)"), into `report.wap`.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use stampbook_wire::{WapPlan, WapQuota, WapSection};

use super::{ParseError, item, psjson};

/// Parses `[{Id, DisplayName, State, SubscriptionCount, ServiceQuotas[{ServiceName,
/// ServiceInstanceId, Settings[{Key, Value}]}]}]`. `State` is WAP's number (0 private, 1 public,
/// 2 decommissioned) or the enum's name; it is sent lower-cased by name.
pub fn parse_wap_plans(text: &str) -> Result<WapSection, ParseError> {
    let mut plans = Vec::new();
    for (index, value) in psjson::parse_list(text)?.iter().enumerate() {
        let obj = psjson::as_object(value, index)?;
        let ctx = item(index);
        let id = psjson::req_str(obj, "Id", &ctx)?;
        let ctx = format!("{ctx}{id}: ");
        let mut quotas = Vec::new();
        for (q, quota) in list(obj, "ServiceQuotas").iter().enumerate() {
            let qctx = format!("{ctx}ServiceQuotas {}", item(q));
            let quota = psjson::as_object(quota, q)?;
            quotas.push(WapQuota {
                service_name: psjson::req_str(quota, "ServiceName", &qctx)?,
                instance_id: psjson::get_str(quota, "ServiceInstanceId", &qctx)?,
                settings: settings(quota, &qctx)?,
            });
        }
        plans.push(WapPlan {
            display_name: psjson::get_str(obj, "DisplayName", &ctx)?.unwrap_or_default(),
            state: state(obj, &ctx)?,
            subscription_count: psjson::get_u64(obj, "SubscriptionCount", &ctx)?,
            quotas,
            id,
        });
    }
    Ok(WapSection { plans })
}

fn list<'a>(obj: &'a Map<String, Value>, key: &str) -> Vec<&'a Value> {
    match psjson::get(obj, key) {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(v) => vec![v],
        None => Vec::new(),
    }
}

/// `Settings` as a list of `{Key, Value}` (the API's ServiceQuotaSetting) or, from a hand-made
/// file, a plain object. Values are kept as strings, WAP's own spelling.
fn settings(quota: &Map<String, Value>, ctx: &str) -> Result<BTreeMap<String, String>, ParseError> {
    let mut out = BTreeMap::new();
    if let Some(Value::Object(map)) = psjson::get(quota, "Settings")
        && psjson::get(map, "Key").is_none()
    {
        for (k, v) in map {
            if let Some(s) = scalar(v) {
                out.insert(k.clone(), s);
            }
        }
        return Ok(out);
    }
    for (i, setting) in list(quota, "Settings").into_iter().enumerate() {
        let setting = psjson::as_object(setting, i)?;
        let key = psjson::req_str(setting, "Key", &format!("{ctx}Settings {}", item(i)))?;
        let value = psjson::get(setting, "Value")
            .and_then(scalar)
            .unwrap_or_default();
        out.insert(key, value);
    }
    Ok(out)
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(_) | Value::Bool(_) => Some(v.to_string()),
        _ => None,
    }
}

fn state(obj: &Map<String, Value>, ctx: &str) -> Result<String, ParseError> {
    const NAMES: [&str; 3] = ["private", "public", "decommissioned"];
    let Some(v) = psjson::get(obj, "State") else {
        return Ok(String::new());
    };
    let found = match v {
        Value::Number(n) => n.as_u64().and_then(|n| NAMES.get(usize::try_from(n).ok()?)),
        Value::String(s) => {
            let s = s.trim();
            NAMES
                .iter()
                .find(|name| name.eq_ignore_ascii_case(s))
                .or_else(|| NAMES.get(s.parse::<usize>().ok()?))
        }
        _ => None,
    };
    found
        .map(|s| (*s).to_owned())
        .ok_or_else(|| ParseError::invalid(ctx, "State", format!("unknown plan state {v}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn numbers_names_and_settings_objects_are_understood() {
        let wap = parse_wap_plans(
            r#"{"Id":"Gold1","DisplayName":"Gold","State":"Public","SubscriptionCount":3,
                "ServiceQuotas":{"ServiceName":"systemcenter","Settings":{"VmCount":"20","Clouds":null}}}"#,
        )
        .unwrap();
        let plan = &wap.plans[0];
        assert_eq!(
            (plan.state.as_str(), plan.subscription_count),
            ("public", Some(3))
        );
        assert_eq!(plan.quotas[0].settings.len(), 1);
        assert_eq!(plan.quotas[0].settings["VmCount"], "20");
        let err = parse_wap_plans(r#"[{"Id":"x","State":7}]"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("State") && err.contains("x"), "{err}");
        assert_eq!(parse_wap_plans("").unwrap().plans, vec![]);
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(s in "\\PC*") {
            let _ = parse_wap_plans(&s);
        }
    }
}
