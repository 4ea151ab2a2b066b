//! The directory settings, checked once at start: the URL must protect passwords (LDAPS, or
//! StartTLS on `ldap://`) unless the insecure flag says otherwise, the service password comes from
//! a file, and the group grants parse. A mistake stops the server instead of refusing every login.

use std::sync::Arc;
use std::time::Duration;

use rustls::ClientConfig;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use super::grant::{self, Grant};
use crate::config::{DirectoryArgs, Secret};

/// How nested groups are followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nesting {
    /// Active Directory's LDAP_MATCHING_RULE_IN_CHAIN (1.2.840.113556.1.4.1941).
    InChain,
    /// `memberOf` of the user, then of each group, to a bounded depth (OpenLDAP's memberof overlay).
    Walk,
    /// The user's own `memberOf` only.
    Direct,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// `ldaps://`.
    Ldaps,
    /// `ldap://` upgraded with StartTLS.
    StartTls,
    /// `ldap://` in clear (tests only, by the explicit insecure flag).
    Plain,
}

pub struct Settings {
    pub url: String,
    pub transport: Transport,
    /// TLS with the configured CA file's roots; `None` uses the system's.
    pub tls: Option<Arc<ClientConfig>>,
    pub bind_dn: String,
    pub bind_password: Secret,
    pub user_base: String,
    pub user_attributes: Vec<String>,
    pub user_filter: String,
    pub grants: Vec<Grant>,
    pub nesting: Nesting,
    pub depth: u32,
    pub timeout: Duration,
    pub failures_per_account_per_min: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("STAMPBOOK_LDAP_URL must start with ldaps:// or ldap://, not '{0}'")]
    Scheme(String),
    #[error(
        "STAMPBOOK_LDAP_URL is ldap:// without STAMPBOOK_LDAP_STARTTLS: passwords would cross the network in clear (set STAMPBOOK_LDAP_STARTTLS=true, or use ldaps://)"
    )]
    Cleartext,
    #[error("STAMPBOOK_LDAP_STARTTLS applies to ldap:// URLs; ldaps:// is already encrypted")]
    StartTlsOnLdaps,
    #[error("{0} is required when STAMPBOOK_LDAP_URL is set")]
    Missing(&'static str),
    #[error("could not read {what} {path}: {source}")]
    File {
        what: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("STAMPBOOK_LDAP_CA_FILE {0} holds no usable PEM certificate")]
    NoCertificate(String),
    #[error("STAMPBOOK_LDAP_GROUPS: {0}")]
    Grants(#[from] grant::GrantError),
    #[error("STAMPBOOK_LDAP_GROUPS grants no group: nobody could log in")]
    NoGrants,
    #[error("STAMPBOOK_LDAP_NESTED must be in-chain, walk or direct, not '{0}'")]
    Nesting(String),
    #[error("STAMPBOOK_LDAP_USER_ATTRIBUTES: '{0}' is not an attribute name")]
    Attribute(String),
    #[error("STAMPBOOK_LDAP_USER_FILTER must be one parenthesised filter, not '{0}'")]
    Filter(String),
    #[error("TLS settings: {0}")]
    Tls(#[from] rustls::Error),
}

fn read(what: &'static str, path: &std::path::Path) -> Result<String, SettingsError> {
    std::fs::read_to_string(path).map_err(|source| SettingsError::File {
        what,
        path: path.display().to_string(),
        source,
    })
}

fn tls_with_ca(path: &std::path::Path) -> Result<Arc<ClientConfig>, SettingsError> {
    let pem = read("STAMPBOOK_LDAP_CA_FILE", path)?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem.as_bytes()).flatten() {
        roots.add(cert)?;
    }
    if roots.is_empty() {
        return Err(SettingsError::NoCertificate(path.display().to_string()));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

impl Settings {
    /// `None` when no directory is configured (`STAMPBOOK_LDAP_URL` unset).
    pub fn from_args(a: &DirectoryArgs) -> Result<Option<Settings>, SettingsError> {
        let Some(url) = a
            .ldap_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
        else {
            return Ok(None);
        };
        let lower = url.to_ascii_lowercase();
        let transport = if lower.starts_with("ldaps://") {
            if a.ldap_starttls {
                return Err(SettingsError::StartTlsOnLdaps);
            }
            Transport::Ldaps
        } else if lower.starts_with("ldap://") {
            match (a.ldap_starttls, a.ldap_insecure_plaintext) {
                (true, _) => Transport::StartTls,
                (false, true) => Transport::Plain,
                (false, false) => return Err(SettingsError::Cleartext),
            }
        } else {
            return Err(SettingsError::Scheme(url.to_owned()));
        };
        let bind_dn = a
            .ldap_bind_dn
            .clone()
            .filter(|d| !d.trim().is_empty())
            .ok_or(SettingsError::Missing("STAMPBOOK_LDAP_BIND_DN"))?;
        let password_file = a
            .ldap_bind_password_file
            .as_deref()
            .ok_or(SettingsError::Missing("STAMPBOOK_LDAP_BIND_PASSWORD_FILE"))?;
        let password = read("STAMPBOOK_LDAP_BIND_PASSWORD_FILE", password_file)?;
        let password = password.trim_end_matches(['\r', '\n']);
        if password.is_empty() {
            // an empty simple bind is an anonymous bind: it would "succeed" with no rights
            return Err(SettingsError::Missing(
                "a non-empty password in STAMPBOOK_LDAP_BIND_PASSWORD_FILE",
            ));
        }
        let user_base = a
            .ldap_user_base
            .clone()
            .filter(|d| !d.trim().is_empty())
            .ok_or(SettingsError::Missing("STAMPBOOK_LDAP_USER_BASE"))?;
        let user_attributes: Vec<String> = a
            .ldap_user_attributes
            .iter()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        if user_attributes.is_empty() {
            return Err(SettingsError::Missing("STAMPBOOK_LDAP_USER_ATTRIBUTES"));
        }
        if let Some(bad) = user_attributes.iter().find(|s| {
            !s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == ';')
        }) {
            return Err(SettingsError::Attribute(bad.clone()));
        }
        let user_filter = a.ldap_user_filter.trim().to_owned();
        if !(user_filter.starts_with('(') && user_filter.ends_with(')')) {
            return Err(SettingsError::Filter(user_filter));
        }
        let grants = grant::parse(a.ldap_groups.as_deref().unwrap_or_default())?;
        if grants.is_empty() {
            return Err(SettingsError::NoGrants);
        }
        let nesting = match a.ldap_nested.trim() {
            "in-chain" => Nesting::InChain,
            "walk" => Nesting::Walk,
            "direct" => Nesting::Direct,
            other => return Err(SettingsError::Nesting(other.to_owned())),
        };
        let tls = a.ldap_ca_file.as_deref().map(tls_with_ca).transpose()?;
        Ok(Some(Settings {
            url: url.to_owned(),
            transport,
            tls,
            bind_dn,
            bind_password: Secret::new(password),
            user_base,
            user_attributes,
            user_filter,
            grants,
            nesting,
            depth: a.ldap_nested_depth.clamp(1, 64),
            timeout: Duration::from_secs(a.ldap_timeout_s.clamp(1, 300)),
            failures_per_account_per_min: a.ldap_failures_per_account_per_min,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(url: &str, password_file: &std::path::Path) -> DirectoryArgs {
        DirectoryArgs {
            ldap_url: Some(url.to_owned()),
            ldap_bind_dn: Some("cn=svc,dc=example".to_owned()),
            ldap_bind_password_file: Some(password_file.to_owned()),
            ldap_user_base: Some("dc=example".to_owned()),
            ldap_user_attributes: vec!["uid".to_owned()],
            ldap_user_filter: "(objectClass=person)".to_owned(),
            ldap_groups: Some("read=cn=r,dc=example".to_owned()),
            ldap_nested: "walk".to_owned(),
            ldap_nested_depth: 8,
            ldap_timeout_s: 5,
            ..DirectoryArgs::default()
        }
    }

    #[test]
    fn a_cleartext_url_is_refused_unless_starttls_or_the_insecure_flag_is_set() {
        let dir = tempfile::tempdir().unwrap();
        let pw = dir.path().join("pw");
        std::fs::write(&pw, "s3cret\n").unwrap();
        let plain = args("ldap://127.0.0.1:389", &pw);
        assert!(matches!(
            Settings::from_args(&plain),
            Err(SettingsError::Cleartext)
        ));
        let starttls = DirectoryArgs {
            ldap_starttls: true,
            ..plain.clone()
        };
        let s = Settings::from_args(&starttls).unwrap().unwrap();
        assert_eq!(s.transport, Transport::StartTls);
        assert_eq!(
            s.bind_password.expose(),
            "s3cret",
            "the file's newline is not part of it"
        );
        let insecure = DirectoryArgs {
            ldap_insecure_plaintext: true,
            ..plain
        };
        assert_eq!(
            Settings::from_args(&insecure).unwrap().unwrap().transport,
            Transport::Plain
        );
        let ldaps = args("ldaps://dc1.corp.example", &pw);
        assert_eq!(
            Settings::from_args(&ldaps).unwrap().unwrap().transport,
            Transport::Ldaps
        );
        assert!(matches!(
            Settings::from_args(&args("http://x", &pw)),
            Err(SettingsError::Scheme(_))
        ));
    }

    #[test]
    fn no_url_means_no_directory_and_an_empty_service_password_is_refused() {
        assert!(
            Settings::from_args(&DirectoryArgs::default())
                .unwrap()
                .is_none()
        );
        let dir = tempfile::tempdir().unwrap();
        let pw = dir.path().join("pw");
        std::fs::write(&pw, "\n").unwrap();
        assert!(matches!(
            Settings::from_args(&args("ldaps://x", &pw)),
            Err(SettingsError::Missing(_))
        ));
    }
}
