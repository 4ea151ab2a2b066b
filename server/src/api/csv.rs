//! CSV answers (`Accept: text/csv`): a header row, RFC 4180 quoting, CRLF line ends,
//! `text/csv; charset=utf-8`. A CSV answer is the same page as the JSON one (same filters,
//! `limit` and `cursor`); the next page's cursor travels in `X-Next-Cursor` and a
//! `Link: <...>; rel="next"` header. Cells are written verbatim (no spreadsheet formula
//! escaping: programs read these files too, and a changed value would be a wrong value).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use chrono::{DateTime, SecondsFormat, Utc};

/// One table being written.
pub struct Csv {
    out: String,
}

/// A cell's text; `None` is an empty cell.
pub trait ToCell {
    fn cell(&self) -> String;
}

impl ToCell for str {
    fn cell(&self) -> String {
        self.to_owned()
    }
}
impl ToCell for String {
    fn cell(&self) -> String {
        self.clone()
    }
}
impl ToCell for bool {
    fn cell(&self) -> String {
        self.to_string()
    }
}
impl ToCell for i32 {
    fn cell(&self) -> String {
        self.to_string()
    }
}
impl ToCell for i64 {
    fn cell(&self) -> String {
        self.to_string()
    }
}
impl ToCell for usize {
    fn cell(&self) -> String {
        self.to_string()
    }
}
impl ToCell for f64 {
    fn cell(&self) -> String {
        if self.is_finite() {
            self.to_string()
        } else {
            String::new()
        }
    }
}
impl ToCell for DateTime<Utc> {
    fn cell(&self) -> String {
        self.to_rfc3339_opts(SecondsFormat::AutoSi, true)
    }
}
impl<T: ToCell + ?Sized> ToCell for &T {
    fn cell(&self) -> String {
        (**self).cell()
    }
}
impl<T: ToCell> ToCell for Option<T> {
    fn cell(&self) -> String {
        self.as_ref().map(ToCell::cell).unwrap_or_default()
    }
}
impl ToCell for [String] {
    /// A list in one cell, space-separated (none of the listed values contain spaces).
    fn cell(&self) -> String {
        self.join(" ")
    }
}
impl ToCell for Vec<String> {
    fn cell(&self) -> String {
        self.join(" ")
    }
}

/// RFC 4180: a field with a comma, quote, CR or LF is quoted, quotes doubled.
fn quote(field: &str) -> String {
    if field.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

impl Csv {
    pub fn new(header: &[&str]) -> Self {
        let mut csv = Csv { out: String::new() };
        csv.line(header.iter().map(|h| (*h).to_owned()));
        csv
    }

    fn line(&mut self, fields: impl Iterator<Item = String>) {
        let fields: Vec<String> = fields.map(|f| quote(&f)).collect();
        self.out.push_str(&fields.join(","));
        self.out.push_str("\r\n");
    }

    /// One row; the caller gives as many cells as the header has columns.
    pub fn row(&mut self, cells: &[&dyn ToCell]) {
        self.line(cells.iter().map(|c| c.cell()));
    }

    pub fn into_string(self) -> String {
        self.out
    }

    /// The 200 answer, with the next page's cursor in `X-Next-Cursor` and `Link`.
    pub fn respond(self, req: &HttpRequest, next_cursor: Option<&str>) -> HttpResponse {
        let mut resp = HttpResponse::Ok();
        resp.content_type("text/csv; charset=utf-8");
        if let Some(cursor) = next_cursor {
            resp.insert_header(("X-Next-Cursor", cursor.to_owned()));
            resp.insert_header((header::LINK, next_link(req, cursor)));
        }
        resp.body(self.out)
    }
}

/// `<path?query-with-this-cursor>; rel="next"`: the same request, one page on.
fn next_link(req: &HttpRequest, cursor: &str) -> String {
    let mut pairs: Vec<&str> = req
        .query_string()
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("cursor="))
        .collect();
    // cursors are base64url: nothing to escape
    let cursor_pair = format!("cursor={cursor}");
    pairs.push(&cursor_pair);
    format!("<{}?{}>; rel=\"next\"", req.path(), pairs.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_as_rfc_4180_says() {
        let mut csv = Csv::new(&["a", "b", "c", "d"]);
        let none: Option<i64> = None;
        csv.row(&[&"plain", &"with, comma", &"say \"hi\"\nnext line", &none]);
        csv.row(&[&1i64, &true, &2.5f64, &Some("x".to_owned())]);
        assert_eq!(
            csv.into_string(),
            "a,b,c,d\r\nplain,\"with, comma\",\"say \"\"hi\"\"\nnext line\",\r\n1,true,2.5,x\r\n"
        );
    }

    #[test]
    fn next_link_replaces_the_cursor_and_keeps_the_filters() {
        let req = actix_web::test::TestRequest::get()
            .uri("/api/v1/hosts?stamp=ams-01&cursor=old&limit=2")
            .to_http_request();
        assert_eq!(
            next_link(&req, "djE6eA"),
            "</api/v1/hosts?stamp=ams-01&limit=2&cursor=djE6eA>; rel=\"next\""
        );
    }
}
