//! Group → scope grants (`SCOPE[@STAMP]=GROUP DN`) and the choice of one grant for a person in
//! several groups: the highest scope wins; at equal scope an unlimited grant beats one limited to
//! a stamp; among stamp-limited grants of equal scope the first configured wins.

use crate::auth::Scope;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The group's DN as configured (shown in logs).
    pub group_dn: String,
    /// [`normalize_dn`] of it (what memberships are compared with).
    pub group_key: String,
    pub scope: Scope,
    /// Limited to this stamp (by name).
    pub stamp: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GrantError {
    #[error("'{0}' is not SCOPE[@STAMP]=GROUP DN")]
    Shape(String),
    #[error("'{0}': the scope must be read, operator or admin")]
    Scope(String),
}

/// Parses `STAMPBOOK_LDAP_GROUPS`: grants separated by `;` (or new lines).
pub fn parse(spec: &str) -> Result<Vec<Grant>, GrantError> {
    spec.split([';', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|item| {
            let (who, dn) = item
                .split_once('=')
                .ok_or_else(|| GrantError::Shape(item.to_owned()))?;
            let (scope, stamp) = match who.trim().split_once('@') {
                Some((s, stamp)) if !stamp.trim().is_empty() => {
                    (s.trim(), Some(stamp.trim().to_owned()))
                }
                Some(_) => return Err(GrantError::Shape(item.to_owned())),
                None => (who.trim(), None),
            };
            let scope = match Scope::parse(scope) {
                Some(s @ (Scope::Read | Scope::Operator | Scope::Admin)) => s,
                _ => return Err(GrantError::Scope(item.to_owned())),
            };
            let dn = dn.trim();
            if dn.is_empty() || !dn.contains('=') {
                return Err(GrantError::Shape(item.to_owned()));
            }
            Ok(Grant {
                group_dn: dn.to_owned(),
                group_key: normalize_dn(dn),
                scope,
                stamp,
            })
        })
        .collect()
}

/// A DN in a form two spellings of the same DN share: lower case, no blanks around the `,` and
/// `=` that separate its parts (`CN=Ops, OU=Groups` and `cn=ops,ou=groups` compare equal).
pub fn normalize_dn(dn: &str) -> String {
    let mut out = String::with_capacity(dn.len());
    let mut escaped = false;
    for c in dn.trim().chars() {
        if !escaped && (c == ',' || c == '=') {
            while out.ends_with(' ') {
                out.pop();
            }
            out.push(c);
            continue;
        }
        if !escaped && c == ' ' && (out.ends_with(',') || out.ends_with('=')) {
            continue;
        }
        escaped = !escaped && c == '\\';
        out.extend(c.to_lowercase());
    }
    out
}

fn rank(s: Scope) -> u8 {
    match s {
        Scope::Admin => 3,
        Scope::Operator => 2,
        Scope::Read => 1,
        Scope::Collector => 0,
    }
}

/// The grant a person gets, if any, given which grants' groups they are in.
pub fn best(grants: &[Grant], is_member: impl Fn(&Grant) -> bool) -> Option<&Grant> {
    let mut best: Option<&Grant> = None;
    for g in grants.iter().filter(|g| is_member(g)) {
        best = match best {
            None => Some(g),
            Some(b) => {
                let better = rank(g.scope) > rank(b.scope)
                    || (rank(g.scope) == rank(b.scope) && b.stamp.is_some() && g.stamp.is_none());
                Some(if better { g } else { b })
            }
        };
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_parse_with_optional_stamps_and_dns_that_contain_equals_signs() {
        let g = parse(
            "admin=CN=Stampbook Admins,OU=Groups,DC=corp,DC=example; read@ams-01 = cn=ams readers,ou=groups,dc=corp,dc=example\n",
        )
        .unwrap();
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].scope, Scope::Admin);
        assert_eq!(g[0].stamp, None);
        assert_eq!(
            g[0].group_dn,
            "CN=Stampbook Admins,OU=Groups,DC=corp,DC=example"
        );
        assert_eq!(g[1].scope, Scope::Read);
        assert_eq!(g[1].stamp.as_deref(), Some("ams-01"));
    }

    #[test]
    fn a_collector_grant_or_a_missing_dn_is_refused() {
        assert!(matches!(
            parse("collector=cn=x,dc=y"),
            Err(GrantError::Scope(_))
        ));
        assert!(matches!(parse("admin"), Err(GrantError::Shape(_))));
        assert!(matches!(parse("admin@=cn=x"), Err(GrantError::Shape(_))));
        assert!(matches!(parse("admin=nodn"), Err(GrantError::Shape(_))));
    }

    #[test]
    fn two_spellings_of_one_dn_normalize_alike() {
        assert_eq!(
            normalize_dn("CN=NOC Ops, OU=Groups ,DC=corp, DC = example"),
            normalize_dn("cn=noc ops,ou=groups,dc=corp,dc=example")
        );
        assert_ne!(normalize_dn("cn=a\\,b,dc=x"), normalize_dn("cn=a,b,dc=x"));
    }

    #[test]
    fn the_highest_scope_wins_and_unlimited_beats_limited_at_equal_scope() {
        let g = parse("read=cn=r,dc=x;operator@ams=cn=o,dc=x;operator=cn=o2,dc=x;admin=cn=a,dc=x")
            .unwrap();
        let pick = |groups: &[&str]| {
            best(&g, |x| groups.contains(&x.group_key.as_str())).map(|b| b.group_key.clone())
        };
        assert_eq!(
            pick(&["cn=r,dc=x", "cn=o,dc=x"]).as_deref(),
            Some("cn=o,dc=x")
        );
        assert_eq!(
            pick(&["cn=o,dc=x", "cn=o2,dc=x"]).as_deref(),
            Some("cn=o2,dc=x")
        );
        assert_eq!(
            pick(&["cn=a,dc=x", "cn=o2,dc=x"]).as_deref(),
            Some("cn=a,dc=x")
        );
        assert_eq!(pick(&["cn=other,dc=x"]), None);
    }
}
