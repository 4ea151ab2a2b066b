//! Which stamp a host belongs to, and who may change that (OWASP API1, object-level
//! authorisation): a collector token restricted to a stamp writes only hosts of its stamp or
//! new ones; moving a host between stamps takes an unrestricted collector or an admin, and is
//! recorded in the audit log (the host's history records it as a change of its `stamp`).

use actix_web::http::StatusCode;
use sqlx::{PgConnection, PgPool};

use crate::audit::{self, Entry};
use crate::auth::{Principal, Scope};
use crate::error::ApiError;

/// Whether `who` may move a host from one stamp to another.
pub fn may_move(who: &Principal) -> bool {
    match who.scope {
        Scope::Admin => true,
        Scope::Collector => who.stamp_id.is_none(),
        _ => false,
    }
}

/// The 403 for a restricted token naming a host of another stamp.
pub fn refusal(who_name: &str, fqdn: &str) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "host_of_another_stamp",
        format!(
            "host '{fqdn}' belongs to another stamp; token '{who_name}' is restricted to its own \
             stamp and may not move it (an admin or an unrestricted collector can)"
        ),
    )
    .with_field("host.fqdn")
}

/// The stamp (name) a stored host belongs to, if the host exists.
async fn current_stamp(pool: &PgPool, fqdn: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select s.name from hosts h join stamps s on s.id = h.stamp_id
           where h.fqdn = $1::text::citext"#,
        fqdn
    )
    .fetch_optional(pool)
    .await
}

/// Before a report of a restricted token is quarantined: a host of another stamp is refused
/// at once (a replay must not move it later).
pub async fn precheck(
    pool: &PgPool,
    who: &Principal,
    fqdn: &str,
    stamp: &str,
) -> Result<(), ApiError> {
    if may_move(who) {
        return Ok(());
    }
    match current_stamp(pool, fqdn).await? {
        Some(s) if s != stamp => Err(refusal(&who.name, fqdn)),
        _ => Ok(()),
    }
}

/// A quarantined report is replayed with the rights of the token that sent it: when that token
/// was restricted to a stamp (and still is), the replay may not move a host of another stamp.
pub async fn check_replay(
    pool: &PgPool,
    sender: Option<&str>,
    fqdn: &str,
    stamp: &str,
) -> Result<(), ApiError> {
    let Some(sender) = sender else { return Ok(()) };
    let restricted = sqlx::query_scalar!(
        r#"select exists (select 1 from tokens where name = $1 and stamp_id is not null) as "r!""#,
        sender
    )
    .fetch_one(pool)
    .await?;
    if !restricted {
        return Ok(());
    }
    match current_stamp(pool, fqdn).await? {
        Some(s) if s != stamp => Err(refusal(sender, fqdn)),
        _ => Ok(()),
    }
}

/// Audits a move of `fqdn` from the stamp with id `from` to the one with id `to`.
pub async fn record_move(
    tx: &mut PgConnection,
    who: &Principal,
    fqdn: &str,
    from: i64,
    to: i64,
) -> Result<(), sqlx::Error> {
    let names = sqlx::query!(
        r#"select (select name from stamps where id = $1) as "from_name?",
                  (select name from stamps where id = $2) as "to_name?""#,
        from,
        to
    )
    .fetch_one(&mut *tx)
    .await?;
    tracing::info!(host = fqdn, from = ?names.from_name, to = ?names.to_name, actor = %who.name, "host moved between stamps");
    audit::record(
        tx,
        Entry {
            actor: &who.name,
            action: "move",
            entity: "host",
            key: fqdn,
            before: Some(serde_json::json!({"stamp": names.from_name})),
            after: Some(serde_json::json!({"stamp": names.to_name})),
        },
    )
    .await
}
