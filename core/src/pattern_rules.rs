//! Rules that map names to values, as `CONVOY_OWNERS` and `CONVOY_NOTIFY` write them:
//! `pattern=value,value; pattern=value`, where a pattern is a name or path with `*` globs and
//! the most specific matching rule wins.

/// Splits `text` into (pattern, values) rules: separated by `;`, each `pattern=value,value`;
/// blank rules and values are skipped. `what` names a rule in the error ("owner rule"), `how`
/// shows one written right.
pub(crate) fn parse(
    text: &str,
    what: &str,
    how: &str,
) -> Result<Vec<(String, Vec<String>)>, String> {
    text.split(';')
        .map(str::trim)
        .filter(|rule| !rule.is_empty())
        .map(|rule| {
            let (pattern, values) = rule
                .split_once('=')
                .ok_or_else(|| format!("{what} \"{rule}\" has no '=': write {how}"))?;
            let values = values
                .split(',')
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
                .collect();
            Ok((pattern.to_owned(), values))
        })
        .collect()
}

/// Of the rules that match, the most specific: a pattern without `*` before any glob, then
/// the longest pattern.
pub(crate) fn most_specific<R>(
    rules: &[R],
    pattern: impl Fn(&R) -> &str,
    matches: impl Fn(&R) -> bool,
) -> Option<&R> {
    rules
        .iter()
        .filter(|rule| matches(rule))
        .max_by_key(|rule| (!pattern(rule).contains('*'), pattern(rule).len()))
}

/// True when `text` matches `pattern`, where `*` matches any run of characters (`/` included).
pub fn glob_matches(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_any_run_of_characters() {
        assert!(glob_matches("ios/*", "ios/core-kit"));
        assert!(glob_matches("ios/*", "ios/sub/kit"));
        assert!(glob_matches("*Kit", "CoreKit"));
        assert!(glob_matches("a*b*c", "axxbyyc"));
        assert!(glob_matches("CoreKit", "CoreKit"));
        assert!(!glob_matches("CoreKit", "CoreKit2"));
        assert!(!glob_matches("ios/*", "android/kit"));
        assert!(!glob_matches("a*ab", "ab"));
    }

    #[test]
    fn a_rule_without_an_equals_sign_is_refused_in_the_callers_words() {
        assert_eq!(
            parse("a=b, c; ;d=", "owner rule", "x=y").unwrap(),
            [
                ("a".to_owned(), vec!["b".to_owned(), "c".to_owned()]),
                ("d".to_owned(), vec![])
            ]
        );
        assert_eq!(
            parse("a=b; oops", "owner rule", "x=y").unwrap_err(),
            "owner rule \"oops\" has no '=': write x=y"
        );
    }
}
