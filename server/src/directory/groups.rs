//! The groups a user entry is in, nested ones included, as normalized DNs: by Active Directory's
//! in-chain matching rule (one base search on the user per configured group), or by walking
//! `memberOf` from group to group to a bounded depth (OpenLDAP's memberof overlay keeps it on
//! groups too), or the user's own `memberOf` only.

use std::collections::HashSet;

use ldap3::{Ldap, Scope as SearchScope, SearchEntry};

use super::grant::normalize_dn;
use super::settings::{Nesting, Settings};
use super::{LoginError, filter, values};

/// Result code of a search whose base does not exist.
const NO_SUCH_OBJECT: u32 = 32;

pub async fn resolve(
    ldap: &mut Ldap,
    s: &Settings,
    user: &SearchEntry,
) -> Result<HashSet<String>, LoginError> {
    let mut groups: HashSet<String> = values(user, "memberOf")
        .into_iter()
        .map(normalize_dn)
        .collect();
    match s.nesting {
        Nesting::Direct => {}
        Nesting::InChain => {
            for g in &s.grants {
                if groups.contains(&g.group_key) {
                    continue;
                }
                let (found, _) = ldap
                    .with_timeout(s.timeout)
                    .search(
                        &user.dn,
                        SearchScope::Base,
                        &filter::member_of_in_chain(&g.group_dn),
                        vec!["1.1"],
                    )
                    .await?
                    .success()?;
                if !found.is_empty() {
                    groups.insert(g.group_key.clone());
                }
            }
        }
        Nesting::Walk => {
            let mut frontier: Vec<String> = values(user, "memberOf")
                .into_iter()
                .map(str::to_owned)
                .collect();
            for _ in 1..s.depth {
                let mut next = Vec::new();
                for dn in frontier {
                    let res = ldap
                        .with_timeout(s.timeout)
                        .search(&dn, SearchScope::Base, "(objectClass=*)", vec!["memberOf"])
                        .await?;
                    if res.1.rc == NO_SUCH_OBJECT {
                        continue;
                    }
                    let (entries, _) = res.success()?;
                    for e in entries.into_iter().map(SearchEntry::construct) {
                        for parent in values(&e, "memberOf") {
                            if groups.insert(normalize_dn(parent)) {
                                next.push(parent.to_owned());
                            }
                        }
                    }
                }
                if next.is_empty() {
                    break;
                }
                frontier = next;
            }
        }
    }
    Ok(groups)
}
