//! Conditional GET: every successful GET answers a strong `ETag` (SHA-256 of the exact body
//! bytes), and `If-None-Match` with a matching tag (or `*`) gets 304 without a body. The body is
//! still computed (the saving is bandwidth, not database work), which keeps the tag exact.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse};
use sha2::{Digest, Sha256};

/// The strong entity tag of a body: a quoted hex SHA-256.
pub fn tag(body: &[u8]) -> String {
    format!("\"{}\"", hex::encode(Sha256::digest(body)))
}

/// Does `If-None-Match` match `etag`? Weak comparison, as RFC 9110 §13.1.2 asks for it.
pub fn none_match(if_none_match: &str, etag: &str) -> bool {
    let bare = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    let etag = bare(etag);
    if_none_match
        .split(',')
        .any(|t| t.trim() == "*" || bare(t) == etag)
}

/// Headers a 304 repeats from the 200 it stands for (RFC 9110 §15.4.5).
const KEPT: [header::HeaderName; 4] = [
    header::CACHE_CONTROL,
    header::CONTENT_LOCATION,
    header::VARY,
    header::EXPIRES,
];

fn copy_kept(from: &HeaderMap, to: &mut HeaderMap) {
    for name in KEPT {
        for v in from.get_all(&name) {
            to.append(name.clone(), v.clone());
        }
    }
}

pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let conditional = req.method() == Method::GET;
    let if_none_match = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let res = next.call(req).await?;
    if !conditional || res.status() != StatusCode::OK {
        return Ok(res.map_into_boxed_body());
    }
    let (req, res) = res.into_parts();
    let (head, body) = res.into_parts();
    let bytes = actix_web::body::to_bytes(body)
        .await
        .map_err(|e| actix_web::error::ErrorInternalServerError(e.into().to_string()))?;
    let etag = tag(&bytes);
    let etag_value =
        HeaderValue::from_str(&etag).map_err(actix_web::error::ErrorInternalServerError)?;
    let res = if if_none_match.is_some_and(|inm| none_match(&inm, &etag)) {
        let mut not_modified = HttpResponse::new(StatusCode::NOT_MODIFIED);
        copy_kept(head.headers(), not_modified.headers_mut());
        not_modified.headers_mut().insert(header::ETAG, etag_value);
        not_modified
    } else {
        let mut full = head.set_body(bytes).map_into_boxed_body();
        full.headers_mut().insert(header::ETAG, etag_value);
        full
    };
    Ok(ServiceResponse::new(req, res))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_strong_quoted_hashes_of_the_body() {
        let t = tag(b"{}");
        assert!(t.starts_with('"') && t.ends_with('"') && t.len() == 66);
        assert_ne!(t, tag(b"{ }"));
    }

    #[test]
    fn if_none_match_compares_weakly_and_takes_lists_and_star() {
        let t = tag(b"x");
        assert!(none_match(&t, &t));
        assert!(none_match(&format!("W/{t}"), &t));
        assert!(none_match(&format!("\"other\", {t}"), &t));
        assert!(none_match("*", &t));
        assert!(!none_match("\"other\"", &t));
    }
}
