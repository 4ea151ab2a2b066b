//! Request bodies: content type checked (415), size bounded after gzip decoding (413), JSON
//! parsed with the path of the field that is wrong (400).

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header;
use actix_web::web::{Bytes, BytesMut};
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::state::AppState;

/// The media type of the request without parameters, lower-case ("" when absent).
pub fn media_type(req: &HttpRequest) -> String {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default()
}

pub fn is_json(media: &str) -> bool {
    media == "application/json" || (media.starts_with("application/") && media.ends_with("+json"))
}

pub fn is_yaml(media: &str) -> bool {
    matches!(
        media,
        "application/yaml" | "application/x-yaml" | "text/yaml" | "text/x-yaml"
    )
}

/// Reads the whole body, decoding `Content-Encoding: gzip`, refusing more than `limit` bytes.
pub async fn read(req: &HttpRequest, payload: Payload, limit: usize) -> Result<Bytes, ApiError> {
    let encoded = req.headers().contains_key(header::CONTENT_ENCODING);
    if !encoded
        && let Some(len) = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok())
        && len > limit
    {
        return Err(ApiError::too_large(limit));
    }
    let mut stream = actix_web::dev::Decompress::from_headers(payload, req.headers());
    let mut buf = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| match e {
            actix_web::error::PayloadError::Overflow => ApiError::too_large(limit),
            other => ApiError::malformed(format!("the body could not be read: {other}")),
        })?;
        if buf.len() + chunk.len() > limit {
            return Err(ApiError::too_large(limit));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

pub use crate::json::from_json;

fn state(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("application state missing")))
}

/// A JSON request body of at most `max_body_bytes`.
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let payload = payload.take();
        Box::pin(async move {
            let media = media_type(&req);
            if !is_json(&media) {
                return Err(ApiError::unsupported_media_type("application/json"));
            }
            let limit = state(&req)?.settings.max_body_bytes;
            let bytes = read(&req, payload, limit).await?;
            from_json(&bytes).map(Json)
        })
    }
}
