//! Content negotiation: which representation an `Accept` header admits (JSON, and CSV on the
//! lists that offer it), 406 in the error shape when it admits none, and the chosen [`Format`]
//! for the handler to extract; and, as the first check every API request meets, a 400 for a NUL
//! character in the path or query (PostgreSQL text cannot hold one).

use std::future::{Ready, ready};

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{Error, FromRequest, HttpMessage, HttpRequest, ResponseError};

use crate::error::ApiError;

pub const JSON: &str = "application/json";
pub const CSV: &str = "text/csv";

/// What a resource can answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Formats {
    /// JSON only (406 when `Accept` does not admit it).
    Json,
    /// JSON, or CSV with `Accept: text/csv`.
    JsonOrCsv,
    /// Not negotiated (health probes, metrics, the OpenAPI document): scrapers and load
    /// balancers send all sorts of `Accept` headers and must never get a 406.
    Fixed,
}

/// The representation chosen for this request (JSON unless the request asked for CSV where it
/// is offered).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Json,
    Csv,
}

/// The quality `accept` gives `media` (`type/subtype`): that of the most specific matching
/// range, 0 when none matches. `None` when the header has no parsable range at all.
fn quality(accept: &str, media: &str) -> Option<f32> {
    let (mtype, msub) = media.split_once('/').unwrap_or((media, ""));
    let mut parsed_any = false;
    // (specificity, q) of the best match so far
    let mut best: Option<(u8, f32)> = None;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let Some((rtype, rsub)) = parts.next().and_then(|r| r.trim().split_once('/')) else {
            continue;
        };
        let (rtype, rsub) = (rtype.trim(), rsub.trim());
        if rtype.is_empty() || rsub.is_empty() {
            continue;
        }
        parsed_any = true;
        let q = parts
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
            .and_then(|(_, v)| v.trim().parse::<f32>().ok())
            .map_or(1.0, |q| q.clamp(0.0, 1.0));
        let specificity = if rtype == "*" && rsub == "*" {
            1
        } else if rtype.eq_ignore_ascii_case(mtype) && rsub == "*" {
            2
        } else if rtype.eq_ignore_ascii_case(mtype) && rsub.eq_ignore_ascii_case(msub) {
            3
        } else {
            continue;
        };
        if best.is_none_or(|(s, _)| specificity > s) {
            best = Some((specificity, q));
        }
    }
    parsed_any.then(|| best.map_or(0.0, |(_, q)| q))
}

/// The format to answer with, or 406. No `Accept` (or one without a single valid media range)
/// means JSON; on a tie JSON wins.
pub fn choose(accept: Option<&str>, formats: Formats) -> Result<Format, ApiError> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Ok(Format::Json);
    };
    let Some(json) = quality(accept, JSON) else {
        return Ok(Format::Json);
    };
    let csv = match formats {
        Formats::JsonOrCsv => quality(accept, CSV).unwrap_or(0.0),
        Formats::Json | Formats::Fixed => 0.0,
    };
    if json > 0.0 && json >= csv {
        Ok(Format::Json)
    } else if csv > 0.0 {
        Ok(Format::Csv)
    } else if formats == Formats::JsonOrCsv {
        Err(ApiError::not_acceptable("application/json or text/csv"))
    } else {
        Err(ApiError::not_acceptable("application/json"))
    }
}

/// Resource middleware: 406 before the handler runs, else the chosen [`Format`] in the
/// request's extensions. Answers that vary with `Accept` say so in `Vary`.
pub async fn middleware(
    formats: Formats,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    if formats == Formats::Fixed {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    // PostgreSQL text cannot hold NUL: refuse it in a path or query value before it gets there
    if req.uri().to_string().contains("%00") {
        let e = ApiError::bad_request(
            "invalid_text",
            "the path or query contains a NUL character (%00)",
        );
        return Ok(req.into_response(e.error_response()).map_into_right_body());
    }
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    match choose(accept.as_deref(), formats) {
        Ok(format) => {
            req.extensions_mut().insert(format);
            let mut res = next.call(req).await?;
            if formats == Formats::JsonOrCsv {
                res.headers_mut()
                    .append(header::VARY, header::HeaderValue::from_static("Accept"));
            }
            Ok(res.map_into_left_body())
        }
        Err(e) => Ok(req.into_response(e.error_response()).map_into_right_body()),
    }
}

impl FromRequest for Format {
    type Error = Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(req
            .extensions()
            .get::<Format>()
            .copied()
            .unwrap_or_default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_or_broad_accept_means_json() {
        for a in [
            None,
            Some(""),
            Some("*/*"),
            Some("application/*"),
            Some("application/json"),
            Some("garbage"),
        ] {
            assert_eq!(
                choose(a, Formats::JsonOrCsv).unwrap(),
                Format::Json,
                "{a:?}"
            );
        }
    }

    #[test]
    fn csv_only_where_offered_and_asked_for() {
        assert_eq!(
            choose(Some("text/csv"), Formats::JsonOrCsv).unwrap(),
            Format::Csv
        );
        assert_eq!(
            choose(Some("text/*"), Formats::JsonOrCsv).unwrap(),
            Format::Csv
        );
        assert_eq!(
            choose(Some("application/json;q=0.5, text/csv"), Formats::JsonOrCsv).unwrap(),
            Format::Csv
        );
        assert_eq!(
            choose(Some("text/csv;q=0.5, */*;q=0.9"), Formats::JsonOrCsv).unwrap(),
            Format::Json
        );
        let e = choose(Some("text/csv"), Formats::Json).unwrap_err();
        assert_eq!((e.status.as_u16(), e.code), (406, "not_acceptable"));
    }

    #[test]
    fn explicit_refusals_are_406() {
        assert!(choose(Some("text/html"), Formats::JsonOrCsv).is_err());
        assert!(choose(Some("application/json;q=0"), Formats::Json).is_err());
        assert!(choose(Some("*/*;q=0"), Formats::JsonOrCsv).is_err());
        // the more specific range wins over the wildcard
        assert!(choose(Some("application/json;q=0, */*"), Formats::Json).is_err());
    }
}
