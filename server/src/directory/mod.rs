//! Dashboard login with a directory account (LDAP / Active Directory): the service account
//! finds the person's entry, a simple bind as that entry checks the password, and the groups the
//! entry is in (nested ones too) grant a scope, optionally limited to one stamp.

pub mod filter;
pub mod grant;
pub mod groups;
pub mod settings;

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, Scope as SearchScope, SearchEntry};

use crate::auth::Scope;
pub use settings::{Nesting, Settings, SettingsError, Transport};

/// Longest login name accepted (AD's userPrincipalName is at most 1024 characters).
const MAX_LOGIN_CHARS: usize = 1024;

/// A person the directory vouched for, and what they may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryUser {
    /// The login name as the directory spells it (the first configured attribute's value).
    pub login: String,
    pub dn: String,
    pub scope: Scope,
    /// The grant is limited to this stamp.
    pub stamp: Option<String>,
    /// The group DN that granted it (for the log).
    pub group: String,
}

/// Why a login was refused. The person is told only "name or password is wrong" for the
/// first three, so that nobody can learn which accounts exist.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("empty password (an empty simple bind is an anonymous bind)")]
    EmptyPassword,
    #[error("no single directory entry matches this login name")]
    UnknownUser,
    #[error("the directory refused the password")]
    WrongPassword,
    #[error("{0} is in no group that grants a scope")]
    NoGroup(String),
    #[error("the directory is unavailable: {0}")]
    Unavailable(String),
}

impl From<ldap3::LdapError> for LoginError {
    fn from(e: ldap3::LdapError) -> Self {
        LoginError::Unavailable(e.to_string())
    }
}

impl From<tokio::time::error::Elapsed> for LoginError {
    fn from(_: tokio::time::error::Elapsed) -> Self {
        LoginError::Unavailable("timed out".to_owned())
    }
}

/// LDAP result code of a bind refused for its credentials.
const INVALID_CREDENTIALS: u32 = 49;

pub struct Directory {
    pub settings: Settings,
}

/// The first value of `attr` (compared without case, as LDAP does) in an entry.
pub(crate) fn first_value<'a>(entry: &'a SearchEntry, attr: &str) -> Option<&'a str> {
    entry
        .attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(attr))
        .and_then(|(_, v)| v.first())
        .map(String::as_str)
}

/// Every value of `attr` (without case) in an entry.
pub(crate) fn values<'a>(entry: &'a SearchEntry, attr: &str) -> Vec<&'a str> {
    entry
        .attrs
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(attr))
        .flat_map(|(_, v)| v.iter().map(String::as_str))
        .collect()
}

impl Directory {
    pub fn new(settings: Settings) -> Self {
        Directory { settings }
    }

    /// A connection, TLS established (LDAPS, or StartTLS before anything else is sent).
    async fn connect(&self) -> Result<Ldap, LoginError> {
        let s = &self.settings;
        let mut conn = LdapConnSettings::new()
            .set_conn_timeout(s.timeout)
            .set_starttls(s.transport == Transport::StartTls);
        if let Some(tls) = &s.tls {
            conn = conn.set_config(tls.clone());
        }
        let (driver, ldap) = LdapConnAsync::with_settings(conn, &s.url).await?;
        ldap3::drive!(driver);
        Ok(ldap)
    }

    /// Checks `login` and `password` against the directory; the scope their groups grant.
    pub async fn login(&self, login: &str, password: &str) -> Result<DirectoryUser, LoginError> {
        if password.is_empty() {
            return Err(LoginError::EmptyPassword);
        }
        let login = login.trim();
        if login.is_empty()
            || login.chars().count() > MAX_LOGIN_CHARS
            || login.chars().any(char::is_control)
        {
            return Err(LoginError::UnknownUser);
        }
        // the whole exchange is bounded: a directory that stops answering cannot hold a worker
        let budget = self.settings.timeout * 4;
        tokio::time::timeout(budget, self.login_within(login, password)).await?
    }

    async fn login_within(&self, login: &str, password: &str) -> Result<DirectoryUser, LoginError> {
        let s = &self.settings;
        let t = s.timeout;
        let mut ldap = self.connect().await?;
        ldap.with_timeout(t)
            .simple_bind(&s.bind_dn, s.bind_password.expose())
            .await?
            .success()
            .map_err(|e| {
                LoginError::Unavailable(format!("the service account's bind failed: {e}"))
            })?;
        let mut attrs: Vec<&str> = s.user_attributes.iter().map(String::as_str).collect();
        attrs.push("memberOf");
        let (entries, _) = ldap
            .with_timeout(t)
            .search(
                &s.user_base,
                SearchScope::Subtree,
                &filter::user(&s.user_filter, &s.user_attributes, login),
                attrs,
            )
            .await?
            .success()?;
        let mut entries: Vec<SearchEntry> =
            entries.into_iter().map(SearchEntry::construct).collect();
        if entries.len() != 1 {
            let _ = ldap.unbind().await;
            return Err(LoginError::UnknownUser);
        }
        let entry = entries.remove(0);
        let canonical = s
            .user_attributes
            .iter()
            .find_map(|a| first_value(&entry, a))
            .unwrap_or(login)
            .to_owned();
        let groups = groups::resolve(&mut ldap, s, &entry).await?;
        // the password check last, on a connection of its own: after it, this connection is the
        // user's, with the user's rights, and would not see what the service account sees
        let mut user_conn = self.connect().await?;
        let bound = user_conn
            .with_timeout(t)
            .simple_bind(&entry.dn, password)
            .await?;
        let _ = user_conn.unbind().await;
        let _ = ldap.unbind().await;
        match bound.rc {
            0 => {}
            INVALID_CREDENTIALS => return Err(LoginError::WrongPassword),
            _ => return Err(LoginError::Unavailable(bound.to_string())),
        }
        let grant = grant::best(&s.grants, |g| groups.contains(&g.group_key))
            .ok_or_else(|| LoginError::NoGroup(entry.dn.clone()))?;
        Ok(DirectoryUser {
            login: canonical,
            dn: entry.dn,
            scope: grant.scope,
            stamp: grant.stamp.clone(),
            group: grant.group_dn.clone(),
        })
    }
}
