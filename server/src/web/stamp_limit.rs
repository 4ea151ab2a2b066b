//! A login limited to one stamp (a directory group granted for one stamp) sees only that stamp:
//! its stamp page, its hosts and its problems (acknowledging them too, with operator scope).
//! Pages across stamps (overview, plans, capacity, certificates, quarantine) are refused, and
//! `/` leads to the stamp's page.

use actix_web::HttpRequest;
use actix_web::http::Method;

use super::error::WebError;
use super::format;
use crate::state::AppState;

fn refused(stamp: &str) -> WebError {
    WebError::Forbidden(format!(
        "Your access is limited to stamp '{stamp}': this page shows other stamps too."
    ))
}

fn stamp_page(stamp: &str) -> String {
    format!("/stamps/{}", format::encode(stamp))
}

/// May the viewer limited to `stamp` open this request's page?
pub async fn check(state: &AppState, req: &HttpRequest, stamp: &str) -> Result<(), WebError> {
    let pattern = req.match_pattern().unwrap_or_default();
    let param = |name: &str| req.match_info().get(name).unwrap_or_default().to_owned();
    let own = |other: Option<String>| {
        if other.as_deref() == Some(stamp) {
            Ok(())
        } else {
            Err(refused(stamp))
        }
    };
    match pattern.as_str() {
        "/" if *req.method() == Method::GET || *req.method() == Method::HEAD => {
            Err(WebError::Elsewhere(stamp_page(stamp)))
        }
        "/logout" => Ok(()),
        "/stamps/{name}" => own(Some(param("name"))),
        "/hosts/{fqdn}" => {
            let of = sqlx::query_scalar!(
                "select s.name from hosts h join stamps s on s.id = h.stamp_id where h.fqdn = $1::text::citext",
                param("fqdn")
            )
            .fetch_optional(&state.pool)
            .await?;
            match of {
                Some(s) => own(Some(s)),
                // the host page says it does not exist; nothing of another stamp is shown
                None => Ok(()),
            }
        }
        "/problems" => {
            let asked = url::form_urlencoded::parse(req.query_string().as_bytes())
                .find(|(k, _)| k == "stamp")
                .map(|(_, v)| v.into_owned());
            if asked.as_deref() == Some(stamp) {
                Ok(())
            } else {
                Err(WebError::Elsewhere(format!(
                    "/problems?stamp={}",
                    format::encode(stamp)
                )))
            }
        }
        "/problems/{id}/acknowledge" => {
            let id: i64 = param("id").parse().map_err(|_| refused(stamp))?;
            let of = sqlx::query_scalar!(
                "select s.name from problems p join stamps s on s.id = p.stamp_id where p.id = $1",
                id
            )
            .fetch_optional(&state.pool)
            .await?;
            own(of)
        }
        _ => Err(refused(stamp)),
    }
}
