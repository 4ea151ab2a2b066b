//! Section limits of a report (issue 13): counted on the raw JSON with nothing allocated per
//! item, before the report is built, so a crafted report cannot make the server hold hundreds
//! of thousands of routes in memory only to refuse them later.

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::config::ReportLimits;
use crate::error::ApiError;

/// How many items a JSON value holds when it is an array (0 for anything else: the report's own
/// parsing refuses wrong types).
#[derive(Debug, Default, Clone, Copy)]
struct Count(usize);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(CountVisitor)
    }
}

struct CountVisitor;

impl<'de> Visitor<'de> for CountVisitor {
    type Value = Count;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Count, A::Error> {
        let mut n = 0;
        while seq.next_element::<IgnoredAny>()?.is_some() {
            n += 1;
        }
        Ok(Count(n))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Count, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Count(0))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Count, E> {
        Ok(Count(0))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Count, E> {
        Ok(Count(0))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Count, E> {
        Ok(Count(0))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Count, E> {
        Ok(Count(0))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Count, E> {
        Ok(Count(0))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Count, E> {
        Ok(Count(0))
    }
    fn visit_none<E: de::Error>(self) -> Result<Count, E> {
        Ok(Count(0))
    }
}

/// An array of objects: how many, and the largest count of one inner list with its index.
#[derive(Debug, Default, Clone, Copy)]
struct Nested {
    n: usize,
    widest: usize,
    at: usize,
}

/// Which inner list `Nested` measures.
trait Inner: for<'de> Deserialize<'de> {
    fn width(&self) -> usize;
}

#[derive(Deserialize)]
struct InterfaceShape {
    #[serde(default)]
    addresses: Count,
}
impl Inner for InterfaceShape {
    fn width(&self) -> usize {
        self.addresses.0
    }
}

#[derive(Deserialize)]
struct WapPlanShape {
    #[serde(default)]
    quotas: Count,
}
impl Inner for WapPlanShape {
    fn width(&self) -> usize {
        self.quotas.0
    }
}

struct NestedVisitor<T>(std::marker::PhantomData<T>);

impl<'de, T: Inner> Visitor<'de> for NestedVisitor<T> {
    type Value = Nested;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Nested, A::Error> {
        let mut out = Nested::default();
        // an item that is not an object is counted; the report's own parsing refuses it
        while let Some(item) = seq.next_element::<Option<Lenient<T>>>()? {
            if let Some(Lenient(Some(inner))) = item
                && inner.width() > out.widest
            {
                out.widest = inner.width();
                out.at = out.n;
            }
            out.n += 1;
        }
        Ok(out)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Nested, E> {
        Ok(Nested::default())
    }
}

/// `T` when the value is an object, else nothing (and no error).
struct Lenient<T>(Option<T>);

impl<'de, T: Inner> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        Ok(Lenient(if v.is_object() {
            serde_json::from_value(v).ok()
        } else {
            None
        }))
    }
}

fn nested<'de, D: Deserializer<'de>, T: Inner>(d: D) -> Result<Nested, D::Error> {
    d.deserialize_any(NestedVisitor::<T>(std::marker::PhantomData))
}

#[derive(Deserialize, Default)]
struct Shape {
    #[serde(default)]
    certificates: Count,
    #[serde(default, deserialize_with = "nested::<_, InterfaceShape>")]
    interfaces: Nested,
    #[serde(default)]
    routes: Count,
    #[serde(default)]
    services: Count,
    #[serde(default)]
    settings: Option<SettingsShape>,
    #[serde(default)]
    collection_errors: Count,
    #[serde(default)]
    wap: Option<WapShape>,
}

#[derive(Deserialize, Default)]
struct SettingsShape {
    #[serde(default)]
    components: Count,
    #[serde(default)]
    hyperv_terminal_service: Option<TerminalServiceShape>,
    #[serde(default)]
    rd_gateway: Option<RdGatewayShape>,
}

#[derive(Deserialize, Default)]
struct TerminalServiceShape {
    #[serde(default)]
    trusted_issuer_certificate_hashes: Count,
    #[serde(default)]
    allowed_hash_algorithms: Count,
}

#[derive(Deserialize, Default)]
struct RdGatewayShape {
    #[serde(default)]
    trusted_issuer_certificates: Count,
}

#[derive(Deserialize, Default)]
struct WapShape {
    #[serde(default, deserialize_with = "nested::<_, WapPlanShape>")]
    plans: Nested,
}

fn too_many(field: String, n: usize, max: usize) -> ApiError {
    ApiError::invalid(
        "too_many",
        format!("{field} has {n} items; a report may carry at most {max} (server limit)"),
        field,
    )
}

/// Refuses a report body whose sections are beyond the limits (422 naming the section); a body
/// that is not a JSON object is left to the report's own parsing (400).
pub fn check(body: &[u8], limits: &ReportLimits) -> Result<(), ApiError> {
    let Ok(shape) = serde_json::from_slice::<Shape>(body) else {
        return Ok(());
    };
    let list = limits.max_list_items;
    let mut checks: Vec<(String, usize, usize)> = vec![
        (
            "certificates".into(),
            shape.certificates.0,
            limits.max_certificates,
        ),
        (
            "interfaces".into(),
            shape.interfaces.n,
            limits.max_interfaces,
        ),
        (
            format!("interfaces[{}].addresses", shape.interfaces.at),
            shape.interfaces.widest,
            limits.max_addresses_per_interface,
        ),
        ("routes".into(), shape.routes.0, limits.max_routes),
        ("services".into(), shape.services.0, limits.max_services),
        ("collection_errors".into(), shape.collection_errors.0, list),
    ];
    if let Some(s) = &shape.settings {
        checks.push(("settings.components".into(), s.components.0, list));
        if let Some(t) = &s.hyperv_terminal_service {
            let at = "settings.hyperv_terminal_service";
            checks.push((
                format!("{at}.trusted_issuer_certificate_hashes"),
                t.trusted_issuer_certificate_hashes.0,
                list,
            ));
            checks.push((
                format!("{at}.allowed_hash_algorithms"),
                t.allowed_hash_algorithms.0,
                list,
            ));
        }
        if let Some(r) = &s.rd_gateway {
            checks.push((
                "settings.rd_gateway.trusted_issuer_certificates".into(),
                r.trusted_issuer_certificates.0,
                list,
            ));
        }
    }
    if let Some(w) = &shape.wap {
        checks.push(("wap.plans".into(), w.plans.n, list));
        checks.push((
            format!("wap.plans[{}].quotas", w.plans.at),
            w.plans.widest,
            list,
        ));
    }
    match checks.into_iter().find(|(_, n, max)| n > max) {
        Some((field, n, max)) => Err(too_many(field, n, max)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_sections_without_building_them() {
        let limits = ReportLimits {
            max_routes: 2,
            max_addresses_per_interface: 1,
            ..ReportLimits::default()
        };
        let ok = br#"{"routes": [1, 2], "interfaces": [{"addresses": ["a"]}], "settings": {"vmm": null}}"#;
        assert!(check(ok, &limits).is_ok());
        let err = check(br#"{"routes": [{}, {}, {}]}"#, &limits).unwrap_err();
        assert_eq!(err.field.as_deref(), Some("routes"));
        let err = check(
            br#"{"interfaces": [{"addresses": []}, {"name": "b", "addresses": ["a", "b"]}]}"#,
            &limits,
        )
        .unwrap_err();
        assert_eq!(err.field.as_deref(), Some("interfaces[1].addresses"));
        // not an object: the report's own parsing says what is wrong
        assert!(check(b"[1, 2", &limits).is_ok());
    }
}
