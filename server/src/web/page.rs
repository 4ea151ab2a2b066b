//! What every page shares: title, navigation, breadcrumbs, who is logged in, the wallboard
//! switch and auto-refresh, the asset URLs; and rendering a template into a response that is
//! never cached (pages show live state and are behind a login).

use actix_web::HttpResponse;
use actix_web::http::header;
use askama::Template;

use super::access::Ctx;
use super::assets;
use super::error::WebError;
use super::format;

/// Seconds between automatic reloads of a dashboard page on a wallboard.
pub const WALLBOARD_REFRESH_S: u32 = 30;
/// ... and of the overview on a laptop.
pub const OVERVIEW_REFRESH_S: u32 = 60;

#[derive(Debug, Clone)]
pub struct Crumb {
    pub label: String,
    /// Empty for the current page.
    pub href: String,
}

impl Crumb {
    pub fn link(label: impl Into<String>, href: impl Into<String>) -> Crumb {
        Crumb {
            label: label.into(),
            href: href.into(),
        }
    }

    pub fn here(label: impl Into<String>) -> Crumb {
        Crumb {
            label: label.into(),
            href: String::new(),
        }
    }
}

pub struct NavItem {
    pub key: &'static str,
    pub label: &'static str,
    pub href: &'static str,
}

pub const NAV: &[NavItem] = &[
    NavItem {
        key: "overview",
        label: "Overview",
        href: "/",
    },
    NavItem {
        key: "problems",
        label: "Problems",
        href: "/problems",
    },
    NavItem {
        key: "plans",
        label: "Plans",
        href: "/plans",
    },
    NavItem {
        key: "capacity",
        label: "Capacity",
        href: "/capacity",
    },
    NavItem {
        key: "certificates",
        label: "Certificates",
        href: "/certificates",
    },
    NavItem {
        key: "quarantine",
        label: "Quarantine",
        href: "/quarantine",
    },
];

pub struct Chrome {
    pub title: String,
    /// The NAV key of the section this page belongs to.
    pub section: &'static str,
    pub crumbs: Vec<Crumb>,
    /// `name (scope)` of the logged-in token; empty on an open dashboard without login.
    pub user: String,
    pub csrf: String,
    pub wallboard: bool,
    pub refresh_s: Option<u32>,
    /// `HH:MM:SS` (UTC) of the moment the page was built.
    pub updated: String,
    pub updated_iso: String,
    /// The same page with the wallboard switched the other way.
    pub wallboard_toggle: String,
    /// `/login?next=<this page>`.
    pub login_href: String,
    /// Path and query of this page (where a form brings the viewer back to).
    pub here: String,
    pub css: String,
    pub js: String,
    pub icon: String,
    pub nav: &'static [NavItem],
    /// Pages outside the session (login): no navigation, no session controls.
    pub bare: bool,
}

impl Chrome {
    pub fn new(ctx: &Ctx, title: impl Into<String>, section: &'static str) -> Chrome {
        let user = ctx
            .principal
            .as_ref()
            .map(|p| format!("{} ({})", p.name, p.scope.as_str()))
            .unwrap_or_default();
        Chrome {
            title: title.into(),
            section,
            crumbs: Vec::new(),
            user,
            csrf: ctx.csrf.clone(),
            wallboard: ctx.wallboard,
            refresh_s: ctx.wallboard.then_some(WALLBOARD_REFRESH_S),
            updated: ctx.now.format("%H:%M:%S").to_string(),
            updated_iso: ctx.now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            wallboard_toggle: toggle_wallboard(&ctx.here, !ctx.wallboard),
            login_href: format!("/login{}", format::query(&[("next", Some(&ctx.here))])),
            here: ctx.here.clone(),
            css: assets::CSS.url(),
            js: assets::JS.url(),
            icon: assets::ICON.url(),
            nav: NAV,
            bare: false,
        }
    }

    /// The chrome of a page shown before login.
    pub fn bare(title: impl Into<String>, now: chrono::DateTime<chrono::Utc>) -> Chrome {
        Chrome {
            title: title.into(),
            section: "",
            crumbs: Vec::new(),
            user: String::new(),
            csrf: String::new(),
            wallboard: false,
            refresh_s: None,
            updated: now.format("%H:%M:%S").to_string(),
            updated_iso: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            wallboard_toggle: String::new(),
            login_href: String::new(),
            here: String::new(),
            css: assets::CSS.url(),
            js: assets::JS.url(),
            icon: assets::ICON.url(),
            nav: NAV,
            bare: true,
        }
    }

    pub fn crumbs(mut self, crumbs: Vec<Crumb>) -> Chrome {
        self.crumbs = crumbs;
        self
    }

    /// Reload every `s` seconds even off the wallboard (dashboards).
    pub fn refresh(mut self, s: u32) -> Chrome {
        if self.refresh_s.is_none() {
            self.refresh_s = Some(s);
        }
        self
    }

    /// `?wallboard=1` for links from a wallboard page, so the board stays a board.
    pub fn wb(&self) -> &'static str {
        if self.wallboard { "?wallboard=1" } else { "" }
    }
}

/// `here` with `wallboard=1` added (`on`) or removed.
pub fn toggle_wallboard(here: &str, on: bool) -> String {
    let (path, query) = here.split_once('?').unwrap_or((here, ""));
    let mut pairs: Vec<&str> = query
        .split('&')
        .filter(|kv| !kv.is_empty() && !kv.starts_with("wallboard="))
        .collect();
    if on {
        pairs.push("wallboard=1");
    }
    if pairs.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", pairs.join("&"))
    }
}

/// The page as a response: HTML, not cached anywhere.
pub fn render(page: &impl Template) -> Result<HttpResponse, WebError> {
    let body = page.render()?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body))
}

/// After a successful form post: back to a page with GET (303), never re-posting on reload.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wallboard_toggle_keeps_other_parameters() {
        assert_eq!(toggle_wallboard("/", true), "/?wallboard=1");
        assert_eq!(toggle_wallboard("/?wallboard=1", false), "/");
        assert_eq!(
            toggle_wallboard("/capacity?sort=cpu&wallboard=1", false),
            "/capacity?sort=cpu"
        );
        assert_eq!(
            toggle_wallboard("/capacity?sort=cpu", true),
            "/capacity?sort=cpu&wallboard=1"
        );
    }
}
