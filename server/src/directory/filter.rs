//! The user search filter, with every value typed by a person escaped per RFC 4515, so that a
//! login name such as `*)(uid=*` is looked up literally and can never widen the search.

/// Escapes a filter value (RFC 4515 §3): `*`, `(`, `)`, `\` and NUL become `\2a`, `\28`, `\29`,
/// `\5c`, `\00`; every other character stands for itself.
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        match c {
            '*' => out.push_str("\\2a"),
            '(' => out.push_str("\\28"),
            ')' => out.push_str("\\29"),
            '\\' => out.push_str("\\5c"),
            '\0' => out.push_str("\\00"),
            c => out.push(c),
        }
    }
    out
}

/// `(&<base filter>(|(attr1=name)(attr2=name)…))` for the login `name`.
pub fn user(base_filter: &str, attributes: &[String], name: &str) -> String {
    let value = escape(name);
    let alternatives: String = attributes
        .iter()
        .map(|a| format!("({a}={value})"))
        .collect();
    format!("(&{base_filter}(|{alternatives}))")
}

/// Matches an entry that is a member of `group_dn` at any depth of nesting, by Active Directory's
/// LDAP_MATCHING_RULE_IN_CHAIN, read on the user's own entry.
pub fn member_of_in_chain(group_dn: &str) -> String {
    format!("(memberOf:1.2.840.113556.1.4.1941:={})", escape(group_dn))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_special_character_of_rfc_4515_is_escaped() {
        assert_eq!(escape("*)(uid=*"), "\\2a\\29\\28uid=\\2a");
        assert_eq!(escape("a\\b\0c"), "a\\5cb\\00c");
        assert_eq!(escape("jdoe@corp.example"), "jdoe@corp.example");
        assert_eq!(escape("Jürgen"), "Jürgen");
    }

    #[test]
    fn an_injected_login_stays_one_literal_value_in_the_filter() {
        let f = user(
            "(objectClass=person)",
            &["sAMAccountName".to_owned(), "userPrincipalName".to_owned()],
            "*)(uid=*",
        );
        assert_eq!(
            f,
            "(&(objectClass=person)(|(sAMAccountName=\\2a\\29\\28uid=\\2a)(userPrincipalName=\\2a\\29\\28uid=\\2a)))"
        );
    }
}
