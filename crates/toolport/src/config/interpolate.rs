//! `${VAR}` and `${VAR:-default}` in configuration strings, resolved from an environment that is
//! passed in (the process environment in production, a map in tests). `$${` writes a literal `${`.
//! `${secret:NAME}` takes a vault secret, where the caller allows secrets (credentials: headers,
//! environment variables, API auth values), and nowhere else (a URL or a command line ends up in
//! logs). `${user_secret:NAME}` (the calling user's own secret) is allowed only in an MCP server's
//! `env` and `headers` and an API's `auth` values and `headers`; it stays in the value as written,
//! and the gateway fills it in per user.

use toolport_gateway::config::user_secret_placeholder;

/// Resolves a vault secret by name; the error says how to set it.
pub type SecretLookup<'a> = &'a dyn Fn(&str) -> Result<String, String>;

/// Expands every reference in `input`; the error names the first unset variable. `secrets` is
/// `None` where secrets are not allowed. User secrets are refused (see [`expand_per_user`]).
pub fn expand(
    input: &str,
    env: &dyn Fn(&str) -> Option<String>,
    secrets: Option<SecretLookup<'_>>,
) -> Result<String, String> {
    expand_with(input, env, secrets, None)
}

/// Like [`expand`] for a value that may also reference user secrets: each one stays as
/// `${user_secret:NAME}` and its name is added to `user_secrets`.
pub fn expand_per_user(
    input: &str,
    env: &dyn Fn(&str) -> Option<String>,
    secrets: SecretLookup<'_>,
    user_secrets: &mut Vec<String>,
) -> Result<String, String> {
    expand_with(input, env, Some(secrets), Some(user_secrets))
}

fn expand_with(
    input: &str,
    env: &dyn Fn(&str) -> Option<String>,
    secrets: Option<SecretLookup<'_>>,
    mut user_secrets: Option<&mut Vec<String>>,
) -> Result<String, String> {
    let mut out = String::with_capacity(input.len());
    let mut rest = input;
    while let Some(start) = rest.find("${") {
        if rest[..start].ends_with('$') {
            out.push_str(&rest[..start - 1]);
            out.push_str("${");
            rest = &rest[start + 2..];
            continue;
        }
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("unclosed \"${{\" in {input:?}; write $${{ for a literal"))?;
        let body = &after[..end];
        if let Some(name) = body.strip_prefix("user_secret:") {
            let names = user_secrets.as_deref_mut().ok_or_else(|| {
                format!(
                    "${{user_secret:{name}}} is not allowed here; user secrets go in an MCP server's env or headers, or an API's auth values or headers"
                )
            })?;
            let valid = (1..=128).contains(&name.len())
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
            if !valid {
                return Err(format!(
                    "invalid user secret name {name:?}: use 1 to 128 letters, digits, '_', '.' or '-'"
                ));
            }
            out.push_str(&user_secret_placeholder(name));
            names.push(name.to_string());
            rest = &after[end + 1..];
            continue;
        }
        if let Some(secret) = body.strip_prefix("secret:") {
            let lookup = secrets.ok_or_else(|| {
                format!(
                    "${{secret:{secret}}} is not allowed here; secrets go in env, headers and auth values"
                )
            })?;
            out.push_str(&lookup(secret)?);
            rest = &after[end + 1..];
            continue;
        }
        let (name, default) = match body.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (body, None),
        };
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("invalid variable name {name:?} in {input:?}"));
        }
        match (
            env(name).filter(|v| !v.is_empty() || default.is_none()),
            default,
        ) {
            (Some(value), _) => out.push_str(&value),
            (None, Some(default)) => out.push_str(default),
            (None, None) => {
                return Err(format!(
                    "environment variable {name} is not set; set it or write ${{{name}:-default}}"
                ));
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOME" => Some("/home/me".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn expands_variables_and_defaults() {
        assert_eq!(expand("${HOME}/x", &env, None).unwrap(), "/home/me/x");
        assert_eq!(expand("a${NOPE:-b}c", &env, None).unwrap(), "abc");
        assert_eq!(
            expand("${EMPTY:-fallback}", &env, None).unwrap(),
            "fallback"
        );
        assert_eq!(expand("${EMPTY}", &env, None).unwrap(), "");
        assert_eq!(expand("$${HOME}", &env, None).unwrap(), "${HOME}");
        assert_eq!(expand("no refs", &env, None).unwrap(), "no refs");
    }

    #[test]
    fn secrets_resolve_only_where_allowed() {
        let secrets = |name: &str| match name {
            "gh" => Ok("ghp_1".to_string()),
            other => Err(format!("secret {other} is not set")),
        };
        assert_eq!(
            expand("Bearer ${secret:gh}", &env, Some(&secrets)).unwrap(),
            "Bearer ghp_1"
        );
        assert!(
            expand("${secret:nope}", &env, Some(&secrets))
                .unwrap_err()
                .contains("nope is not set")
        );
        assert!(
            expand("https://${secret:gh}@host", &env, None)
                .unwrap_err()
                .contains("not allowed here")
        );
    }

    #[test]
    fn user_secrets_stay_as_written_where_allowed() {
        let secrets = |_: &str| Ok("shared".to_string());
        let mut names = Vec::new();
        assert_eq!(
            expand_per_user(
                "token ${user_secret:GH_TOKEN} ${secret:x}",
                &env,
                &secrets,
                &mut names
            )
            .unwrap(),
            "token ${user_secret:GH_TOKEN} shared"
        );
        assert_eq!(names, ["GH_TOKEN"]);
        assert!(
            expand("${user_secret:GH_TOKEN}", &env, Some(&secrets))
                .unwrap_err()
                .contains("not allowed here")
        );
        assert!(
            expand_per_user("${user_secret:a b}", &env, &secrets, &mut names)
                .unwrap_err()
                .contains("invalid user secret name")
        );
    }

    #[test]
    fn errors_name_the_problem() {
        assert!(
            expand("${NOPE}", &env, None)
                .unwrap_err()
                .contains("NOPE is not set")
        );
        assert!(
            expand("${HOME", &env, None)
                .unwrap_err()
                .contains("unclosed")
        );
        assert!(
            expand("${BAD-NAME}", &env, None)
                .unwrap_err()
                .contains("invalid variable name")
        );
    }
}
