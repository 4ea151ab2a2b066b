//! Writing a host's current facts, one section at a time: read what is stored, diff, and when
//! anything differs rewrite the section with one `UNNEST` statement. A section the report did not
//! collect is never touched, and one it sent exactly as last time is not synced at all (the caller,
//! `facts::report`, keeps each section's digest on the host row): these functions are the only
//! writers of the fact tables, which that relies on.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use ipnet::IpNet;
use serde_json::{Value, json};
use sqlx::PgConnection;
use stampbook_wire::Part;

use super::history::{Change, diff, keyed};
use super::model::{CertIn, InterfaceFact, RouteFact, ServiceFact, SettingsIn};

fn opt_time(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.to_rfc3339()).unwrap_or_default()
}

fn join<T: ToString>(items: &[T]) -> String {
    items.iter().map(T::to_string).collect::<Vec<_>>().join(",")
}

/// Distinct certificates go to `certificates` once (by thumbprint), whoever reports them.
async fn upsert_certificates(conn: &mut PgConnection, certs: &[CertIn]) -> Result<(), sqlx::Error> {
    let mut seen = std::collections::BTreeSet::new();
    let certs: Vec<&CertIn> = certs
        .iter()
        .filter(|c| seen.insert(c.parsed.thumbprint.clone()))
        .collect();
    if certs.is_empty() {
        return Ok(());
    }
    let p = |f: &dyn Fn(&CertIn) -> String| certs.iter().map(|c| f(c)).collect::<Vec<String>>();
    let thumbprints = p(&|c| c.parsed.thumbprint.clone());
    let ders: Vec<Vec<u8>> = certs.iter().map(|c| c.der.clone()).collect();
    let subjects = p(&|c| c.parsed.subject.clone());
    let cns = p(&|c| c.parsed.subject_cn.clone().unwrap_or_default());
    let issuers = p(&|c| c.parsed.issuer.clone());
    let serials = p(&|c| c.parsed.serial.clone());
    let not_before: Vec<DateTime<Utc>> = certs.iter().map(|c| c.parsed.not_before).collect();
    let not_after: Vec<DateTime<Utc>> = certs.iter().map(|c| c.parsed.not_after).collect();
    let sig_alg = p(&|c| c.parsed.signature_algorithm.clone());
    let sig_hash = p(&|c| {
        c.parsed
            .signature_hash
            .map(|h| h.as_str().to_owned())
            .unwrap_or_default()
    });
    let key_alg = p(&|c| c.parsed.key_algorithm.as_str().to_owned());
    let key_bits: Vec<i32> = certs
        .iter()
        .map(|c| c.parsed.key_bits.map_or(-1, |b| b as i32))
        .collect();
    // null (no extension) travels as "-", an empty extension as ""
    let ku = p(&|c| match &c.parsed.key_usage {
        None => "-".into(),
        Some(f) => f.iter().map(|x| x.as_str()).collect::<Vec<_>>().join(","),
    });
    let eku = p(&|c| match &c.parsed.eku {
        None => "-".into(),
        Some(e) => e.join(","),
    });
    let san = p(&|c| c.parsed.san_dns.join(","));
    let self_signed: Vec<bool> = certs.iter().map(|c| c.parsed.self_signed).collect();
    sqlx::query!(
        r#"insert into certificates (thumbprint, der, subject, subject_cn, issuer, serial, not_before, not_after,
                signature_algorithm, signature_hash, key_algorithm, key_bits, key_usage, eku, san_dns, self_signed)
           select t, d, s, nullif(cn, ''), i, sr, nb, na, sa, nullif(sh, ''), ka, nullif(kb, -1),
                  case when ku = '-' then null else string_to_array(ku, ',') end,
                  case when eku = '-' then null else string_to_array(eku, ',') end,
                  string_to_array(san, ','), ss
           from unnest($1::text[], $2::bytea[], $3::text[], $4::text[], $5::text[], $6::text[],
                       $7::timestamptz[], $8::timestamptz[], $9::text[], $10::text[], $11::text[], $12::int[],
                       $13::text[], $14::text[], $15::text[], $16::bool[])
                as x(t, d, s, cn, i, sr, nb, na, sa, sh, ka, kb, ku, eku, san, ss)
           on conflict (thumbprint) do nothing"#,
        &thumbprints, &ders, &subjects, &cns, &issuers, &serials, &not_before, &not_after, &sig_alg,
        &sig_hash, &key_alg, &key_bits, &ku, &eku, &san, &self_signed
    )
    .execute(conn)
    .await?;
    Ok(())
}

fn cert_value(
    store: &str,
    thumbprint: &str,
    key: bool,
    provider: &Option<String>,
    added: Option<DateTime<Utc>>,
) -> Value {
    json!({"store": store, "thumbprint": thumbprint, "has_private_key": key, "provider": provider, "added_at": added})
}

pub async fn sync_certificates(
    conn: &mut PgConnection,
    host_id: i64,
    certs: &[CertIn],
    at: DateTime<Utc>,
    fresh: bool,
) -> Result<Vec<Change>, sqlx::Error> {
    let mut first_seen: BTreeMap<(String, String), DateTime<Utc>> = BTreeMap::new();
    let mut changes = Vec::new();
    if !fresh {
        let old = sqlx::query!(
            r#"select hc.store, hc.thumbprint, hc.has_private_key, hc.provider, hc.added_at, hc.first_seen_at, c.subject
               from host_certificates hc join certificates c using (thumbprint) where hc.host_id = $1"#,
            host_id
        )
        .fetch_all(&mut *conn)
        .await?;
        let key = |store: &str, t: &str, subject: &str| format!("{store} {t} ({subject})");
        let old_map: BTreeMap<String, Value> = old
            .iter()
            .map(|r| {
                (
                    key(&r.store, &r.thumbprint, &r.subject),
                    cert_value(
                        &r.store,
                        &r.thumbprint,
                        r.has_private_key,
                        &r.provider,
                        r.added_at,
                    ),
                )
            })
            .collect();
        let new_map: BTreeMap<String, Value> = certs
            .iter()
            .map(|c| {
                (
                    key(&c.store, &c.parsed.thumbprint, &c.parsed.subject),
                    cert_value(
                        &c.store,
                        &c.parsed.thumbprint,
                        c.has_private_key,
                        &c.provider,
                        c.added_at,
                    ),
                )
            })
            .collect();
        changes = diff("certificate", &old_map, &new_map);
        if changes.is_empty() {
            return Ok(changes);
        }
        first_seen = old
            .into_iter()
            .map(|r| ((r.store, r.thumbprint), r.first_seen_at))
            .collect();
        sqlx::query!("delete from host_certificates where host_id = $1", host_id)
            .execute(&mut *conn)
            .await?;
    }
    upsert_certificates(conn, certs).await?;
    let stores: Vec<String> = certs.iter().map(|c| c.store.clone()).collect();
    let thumbprints: Vec<String> = certs.iter().map(|c| c.parsed.thumbprint.clone()).collect();
    // the certificate's expiry as parsed: the same a stored certificate row holds (a
    // certificate is its thumbprint), without a lookup per installation
    let expiries: Vec<DateTime<Utc>> = certs.iter().map(|c| c.parsed.not_after).collect();
    let keys: Vec<bool> = certs.iter().map(|c| c.has_private_key).collect();
    let providers: Vec<String> = certs
        .iter()
        .map(|c| c.provider.clone().unwrap_or_default())
        .collect();
    let added: Vec<String> = certs.iter().map(|c| opt_time(c.added_at)).collect();
    let upper: Vec<bool> = certs.iter().map(|c| c.added_at_upper_bound).collect();
    let seen: Vec<DateTime<Utc>> = certs
        .iter()
        .map(|c| {
            first_seen
                .get(&(c.store.clone(), c.parsed.thumbprint.clone()))
                .copied()
                .unwrap_or(at)
        })
        .collect();
    sqlx::query!(
        r#"insert into host_certificates (host_id, store, thumbprint, has_private_key, provider, added_at, first_seen_at,
                                         added_at_upper_bound, stamp_id, not_after)
           select $1, s, t, k, nullif(p, ''), nullif(a, '')::timestamptz, f, u,
                  (select h.stamp_id from hosts h where h.id = $1), e
           from unnest($2::text[], $3::text[], $4::bool[], $5::text[], $6::text[], $7::timestamptz[], $8::bool[],
                       $9::timestamptz[]) as x(s, t, k, p, a, f, u, e)"#,
        host_id, &stores, &thumbprints, &keys, &providers, &added, &seen, &upper, &expiries
    )
    .execute(conn)
    .await?;
    Ok(changes)
}

fn route_key(r: &RouteFact) -> String {
    let hop = r
        .next_hop
        .map_or_else(|| "on-link".to_owned(), |h| h.to_string());
    format!(
        "{} via {hop} ({})",
        r.destination,
        r.interface.as_deref().unwrap_or("-")
    )
}

fn route_value(r: &RouteFact) -> Value {
    json!({"destination": r.destination.to_string(), "next_hop": r.next_hop.map(|h| h.to_string()),
           "interface": r.interface, "metric": r.metric, "persistent": r.persistent})
}

pub async fn sync_routes(
    conn: &mut PgConnection,
    host_id: i64,
    routes: &[RouteFact],
    fresh: bool,
) -> Result<Vec<Change>, sqlx::Error> {
    let mut changes = Vec::new();
    if !fresh {
        let old: Vec<RouteFact> = sqlx::query!(
            r#"select destination as "destination: IpNet", next_hop as "next_hop: IpNet", interface, metric, persistent
               from host_routes where host_id = $1 order by position"#,
            host_id
        )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| RouteFact {
            destination: r.destination,
            next_hop: r.next_hop.map(|h| h.addr()),
            interface: r.interface,
            metric: u32::try_from(r.metric).unwrap_or(0),
            persistent: r.persistent,
        })
        .collect();
        if old == routes {
            return Ok(changes);
        }
        changes = diff(
            "route",
            &keyed(&old, route_key, route_value),
            &keyed(routes, route_key, route_value),
        );
        sqlx::query!("delete from host_routes where host_id = $1", host_id)
            .execute(&mut *conn)
            .await?;
    }
    let pos: Vec<i32> = (0..routes.len() as i32).collect();
    let dest: Vec<IpNet> = routes.iter().map(|r| r.destination).collect();
    let hops: Vec<String> = routes
        .iter()
        .map(|r| r.next_hop.map(|h| h.to_string()).unwrap_or_default())
        .collect();
    let ifs: Vec<String> = routes
        .iter()
        .map(|r| r.interface.clone().unwrap_or_default())
        .collect();
    let metrics: Vec<i32> = routes
        .iter()
        .map(|r| i32::try_from(r.metric).unwrap_or(i32::MAX))
        .collect();
    let persistent: Vec<bool> = routes.iter().map(|r| r.persistent).collect();
    sqlx::query!(
        r#"insert into host_routes (host_id, position, destination, next_hop, interface, metric, persistent)
           select $1, p, d::cidr, nullif(h, '')::inet, nullif(i, ''), m, ps
           from unnest($2::int[], $3::inet[], $4::text[], $5::text[], $6::int[], $7::bool[]) as x(p, d, h, i, m, ps)"#,
        host_id, &pos, &dest, &hops, &ifs, &metrics, &persistent
    )
    .execute(conn)
    .await?;
    Ok(changes)
}

fn iface_value(i: &InterfaceFact) -> Value {
    json!({"addresses": i.addresses.iter().map(|a| a.to_string()).collect::<Vec<_>>(), "gateway": i.gateway.map(|g| g.to_string())})
}

pub async fn sync_interfaces(
    conn: &mut PgConnection,
    host_id: i64,
    ifaces: &[InterfaceFact],
    fresh: bool,
) -> Result<Vec<Change>, sqlx::Error> {
    let mut changes = Vec::new();
    if !fresh {
        let old: Vec<InterfaceFact> = sqlx::query!(
            r#"select name, addresses as "addresses: Vec<IpNet>", gateway as "gateway: IpNet" from host_interfaces where host_id = $1"#,
            host_id
        )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| InterfaceFact { name: r.name, addresses: r.addresses, gateway: r.gateway.map(|g| g.addr()) })
        .collect();
        changes = diff(
            "interface",
            &keyed(&old, |i| i.name.clone(), iface_value),
            &keyed(ifaces, |i| i.name.clone(), iface_value),
        );
        if changes.is_empty() {
            return Ok(changes);
        }
        sqlx::query!("delete from host_interfaces where host_id = $1", host_id)
            .execute(&mut *conn)
            .await?;
    }
    let names: Vec<String> = ifaces.iter().map(|i| i.name.clone()).collect();
    let addrs: Vec<String> = ifaces.iter().map(|i| join(&i.addresses)).collect();
    let gws: Vec<String> = ifaces
        .iter()
        .map(|i| i.gateway.map(|g| g.to_string()).unwrap_or_default())
        .collect();
    sqlx::query!(
        r#"insert into host_interfaces (host_id, name, addresses, gateway)
           select $1, n, case when a = '' then '{}'::inet[] else string_to_array(a, ',')::inet[] end, nullif(g, '')::inet
           from unnest($2::text[], $3::text[], $4::text[]) as x(n, a, g)"#,
        host_id, &names, &addrs, &gws
    )
    .execute(conn)
    .await?;
    Ok(changes)
}

fn service_value(s: &ServiceFact) -> Value {
    json!({"name": s.name, "state": s.state, "started_at": s.started_at})
}

pub async fn sync_services(
    conn: &mut PgConnection,
    host_id: i64,
    services: &[ServiceFact],
    fresh: bool,
) -> Result<Vec<Change>, sqlx::Error> {
    let mut changes = Vec::new();
    let key = |s: &ServiceFact| s.name.to_ascii_lowercase();
    if !fresh {
        let old: Vec<ServiceFact> = sqlx::query!(
            r#"select name::text as "name!", state, started_at from host_services where host_id = $1"#,
            host_id
        )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| ServiceFact { name: r.name, state: r.state, started_at: r.started_at })
        .collect();
        changes = diff(
            "service",
            &keyed(&old, key, service_value),
            &keyed(services, key, service_value),
        );
        if changes.is_empty() {
            return Ok(changes);
        }
        sqlx::query!("delete from host_services where host_id = $1", host_id)
            .execute(&mut *conn)
            .await?;
    }
    let names: Vec<String> = services.iter().map(|s| s.name.clone()).collect();
    let states: Vec<String> = services.iter().map(|s| s.state.clone()).collect();
    let started: Vec<String> = services.iter().map(|s| opt_time(s.started_at)).collect();
    sqlx::query!(
        r#"insert into host_services (host_id, name, state, started_at)
           select $1, n, s, nullif(t, '')::timestamptz from unnest($2::text[], $3::text[], $4::text[]) as x(n, s, t)"#,
        host_id, &names, &states, &started
    )
    .execute(conn)
    .await?;
    Ok(changes)
}

/// Role settings: a part that was collected replaces the stored one, a part sent as `null` clears
/// it (recorded as `disappeared`), an absent part leaves it as it is.
pub async fn sync_settings(
    conn: &mut PgConnection,
    host_id: i64,
    s: &SettingsIn,
    fresh: bool,
) -> Result<Vec<Change>, sqlx::Error> {
    fn to<T: serde::Serialize>(p: &Part<T>) -> Part<Value> {
        match p {
            Part::Absent => Part::Absent,
            Part::Cleared => Part::Cleared,
            // a value that does not serialise is not a fact we can keep: as if not collected
            Part::Collected(v) => serde_json::to_value(v).map_or(Part::Absent, Part::Collected),
        }
    }
    let new = [
        ("vmm", to(&s.vmm)),
        ("hyperv_terminal_service", to(&s.hyperv_terminal_service)),
        ("rd_gateway", to(&s.rd_gateway)),
    ];
    if new.iter().all(|(_, v)| v.is_absent()) {
        return Ok(vec![]);
    }
    let mut changes = Vec::new();
    if !fresh {
        let old = sqlx::query!(
            "select vmm, hyperv_terminal_service, rd_gateway from host_settings where host_id = $1",
            host_id
        )
        .fetch_optional(&mut *conn)
        .await?;
        let old = [
            old.as_ref().and_then(|o| o.vmm.clone()),
            old.as_ref().and_then(|o| o.hyperv_terminal_service.clone()),
            old.as_ref().and_then(|o| o.rd_gateway.clone()),
        ];
        for ((part, n), o) in new.iter().zip(old.iter()) {
            let (change, after) = match (n, o) {
                (Part::Absent, _) | (Part::Cleared, None) => continue,
                (Part::Cleared, Some(_)) => ("disappeared", None),
                (Part::Collected(n), None) => ("appeared", Some(n.clone())),
                (Part::Collected(n), Some(o)) if o != n => ("changed", Some(n.clone())),
                (Part::Collected(_), Some(_)) => continue,
            };
            changes.push(Change {
                kind: "setting",
                key: (*part).to_owned(),
                change,
                before: o.clone(),
                after,
            });
        }
        if changes.is_empty() {
            return Ok(changes);
        }
    }
    let value = |i: usize| new[i].1.collected().cloned();
    let sent = |i: usize| !new[i].1.is_absent();
    sqlx::query!(
        r#"insert into host_settings (host_id, vmm, hyperv_terminal_service, rd_gateway) values ($1, $2, $3, $4)
           on conflict (host_id) do update set
               vmm = case when $5 then excluded.vmm else host_settings.vmm end,
               hyperv_terminal_service = case when $6 then excluded.hyperv_terminal_service
                                              else host_settings.hyperv_terminal_service end,
               rd_gateway = case when $7 then excluded.rd_gateway else host_settings.rd_gateway end"#,
        host_id, value(0), value(1), value(2), sent(0), sent(1), sent(2)
    )
    .execute(conn)
    .await?;
    Ok(changes)
}

pub async fn sync_components(
    conn: &mut PgConnection,
    host_id: i64,
    comps: &[stampbook_wire::Component],
    fresh: bool,
) -> Result<Vec<Change>, sqlx::Error> {
    let mut changes = Vec::new();
    let new: BTreeMap<String, Value> = comps
        .iter()
        .map(|c| (c.name.clone(), json!(c.version)))
        .collect();
    if !fresh {
        let old: BTreeMap<String, Value> = sqlx::query!(
            "select name, version from host_components where host_id = $1",
            host_id
        )
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| (r.name, json!(r.version)))
        .collect();
        changes = diff("component", &old, &new);
        if changes.is_empty() {
            return Ok(changes);
        }
        sqlx::query!("delete from host_components where host_id = $1", host_id)
            .execute(&mut *conn)
            .await?;
    }
    let names: Vec<String> = comps.iter().map(|c| c.name.clone()).collect();
    let versions: Vec<String> = comps.iter().map(|c| c.version.clone()).collect();
    sqlx::query!(
        "insert into host_components (host_id, name, version) select $1, n, v from unnest($2::text[], $3::text[]) as x(n, v)",
        host_id, &names, &versions
    )
    .execute(conn)
    .await?;
    Ok(changes)
}
