//! The dashboard's stylesheet, script and icon, compiled into the binary (nothing is fetched at
//! run time). Pages link them with a content hash in the URL, so they can be cached for a year
//! and a new build is picked up at once; `ETag`/`If-None-Match` covers clients that revalidate.

use std::sync::LazyLock;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};

pub struct Asset {
    pub path: &'static str,
    pub content_type: &'static str,
    pub body: &'static str,
    hash: LazyLock<String>,
}

impl Asset {
    /// First 16 hex digits of the SHA-256 of the content.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// The URL pages link: the path with the content hash.
    pub fn url(&self) -> String {
        format!("{}?v={}", self.path, self.hash())
    }

    fn respond(&self, req: &HttpRequest) -> HttpResponse {
        let etag = format!("\"{}\"", self.hash());
        let fresh = req
            .headers()
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
        // The hashed URL never changes content; the bare one must be revalidated.
        let versioned = req.query_string() == format!("v={}", self.hash());
        let cache = if versioned {
            "public, max-age=31536000, immutable"
        } else {
            "public, max-age=0, must-revalidate"
        };
        let mut resp = if fresh {
            HttpResponse::NotModified()
        } else {
            HttpResponse::Ok()
        };
        resp.insert_header((header::ETAG, etag))
            .insert_header((header::CACHE_CONTROL, cache));
        if fresh {
            resp.finish()
        } else {
            resp.content_type(self.content_type).body(self.body)
        }
    }
}

fn digest(body: &str) -> String {
    hex::encode(Sha256::digest(body.as_bytes()))
        .chars()
        .take(16)
        .collect()
}

macro_rules! asset {
    ($name:ident, $path:literal, $type:literal, $file:literal) => {
        pub static $name: Asset = Asset {
            path: $path,
            content_type: $type,
            body: include_str!($file),
            hash: LazyLock::new(|| digest(include_str!($file))),
        };
    };
}

asset!(
    CSS,
    "/static/app.css",
    "text/css; charset=utf-8",
    "../../static/app.css"
);
asset!(
    JS,
    "/static/app.js",
    "text/javascript; charset=utf-8",
    "../../static/app.js"
);
asset!(
    ICON,
    "/static/favicon.svg",
    "image/svg+xml",
    "../../static/favicon.svg"
);

pub async fn css(req: HttpRequest) -> HttpResponse {
    CSS.respond(&req)
}

pub async fn js(req: HttpRequest) -> HttpResponse {
    JS.respond(&req)
}

pub async fn icon(req: HttpRequest) -> HttpResponse {
    ICON.respond(&req)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asset_urls_carry_a_content_hash() {
        assert_eq!(CSS.hash().len(), 16);
        assert!(CSS.url().starts_with("/static/app.css?v="));
        assert_ne!(CSS.hash(), JS.hash());
        assert_eq!(CSS.hash(), digest(CSS.body));
    }
}
