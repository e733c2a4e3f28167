//! Owners: the GitLab usernames who must act on a component. Convoy's configuration maps a
//! component name or a project path (with `*` globs) to usernames; the worker falls back to the
//! author of the release branch's newest commit that Convoy did not make, else nobody.

use crate::pattern_rules;

/// One line of the owner table: who owns the components whose name or project path matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerRule {
    /// A component name (`CoreKit`) or project path (`ios/core-kit`), `*` matching any run of
    /// characters (`ios/*`).
    pub pattern: String,
    /// GitLab usernames, without `@`.
    pub usernames: Vec<String>,
}

impl OwnerRule {
    /// Reads `pattern` and its usernames (a leading `@` is dropped). Refuses an empty pattern, a
    /// rule without usernames and a username GitLab would refuse.
    pub fn new(pattern: &str, usernames: &[String]) -> Result<OwnerRule, String> {
        let pattern = pattern.trim();
        if pattern.is_empty() {
            return Err("an owner rule has an empty component or project path".to_owned());
        }
        let usernames: Vec<String> = usernames
            .iter()
            .map(|name| name.trim().trim_start_matches('@').to_owned())
            .collect();
        if usernames.is_empty() {
            return Err(format!("the owners of {pattern} name no GitLab username"));
        }
        if let Some(bad) = usernames.iter().find(|name| !is_username(name)) {
            return Err(format!(
                "owner \"{bad}\" of {pattern} is not a GitLab username (letters, digits, _, - and . only)"
            ));
        }
        Ok(OwnerRule {
            pattern: pattern.to_owned(),
            usernames,
        })
    }

    fn matches(&self, name: &str, project_path: &str) -> bool {
        pattern_rules::glob_matches(&self.pattern, name)
            || pattern_rules::glob_matches(&self.pattern, project_path)
    }
}

/// Reads `CONVOY_OWNERS`: rules separated by `;`, each `pattern=user,user`
/// (`CoreKit=alice,bob; ios/*=carol`).
pub fn parse_owner_rules(text: &str) -> Result<Vec<OwnerRule>, String> {
    pattern_rules::parse(text, "owner rule", "component-or-path=user,user")?
        .into_iter()
        .map(|(pattern, usernames)| OwnerRule::new(&pattern, &usernames))
        .collect()
}

/// The configured owners of a component: those of the most specific matching rule (a pattern
/// without `*` before any glob, then the longest pattern), or `None` when no rule matches.
pub fn configured_owners<'a>(
    rules: &'a [OwnerRule],
    name: &str,
    project_path: &str,
) -> Option<&'a [String]> {
    pattern_rules::most_specific(
        rules,
        |rule| &rule.pattern,
        |rule| rule.matches(name, project_path),
    )
    .map(|rule| rule.usernames.as_slice())
}

/// GitLab's username characters (`Gitlab::PathRegex`: letters, digits, `_`, `-`, `.`).
fn is_username(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(pattern: &str, users: &[&str]) -> OwnerRule {
        let users: Vec<String> = users.iter().map(|u| u.to_string()).collect();
        OwnerRule::new(pattern, &users).unwrap()
    }

    #[test]
    fn the_most_specific_rule_names_the_owners() {
        let rules = [
            rule("ios/*", &["carol"]),
            rule("CoreKit", &["@alice", "bob"]),
        ];
        assert_eq!(
            configured_owners(&rules, "CoreKit", "ios/core-kit"),
            Some(&["alice".to_owned(), "bob".to_owned()][..])
        );
        assert_eq!(
            configured_owners(&rules, "NetKit", "ios/net-kit"),
            Some(&["carol".to_owned()][..])
        );
        assert_eq!(configured_owners(&rules, "NetKit", "android/net"), None);
    }

    #[test]
    fn the_environment_form_is_read_and_bad_rules_are_refused() {
        let rules = parse_owner_rules("CoreKit=alice, bob; ios/*=carol;").unwrap();
        assert_eq!(
            rules,
            [
                rule("CoreKit", &["alice", "bob"]),
                rule("ios/*", &["carol"])
            ]
        );
        assert!(parse_owner_rules("CoreKit").unwrap_err().contains("no '='"));
        assert!(
            parse_owner_rules("CoreKit=")
                .unwrap_err()
                .contains("no GitLab")
        );
        assert!(
            parse_owner_rules("CoreKit=al ice")
                .unwrap_err()
                .contains("not a GitLab username")
        );
    }
}
