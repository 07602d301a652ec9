//! The value rules of request bodies and path segments. Each rule is also declared in the OpenAPI
//! document (as `pattern`, `minLength`, `maxLength`); the two must say the same thing, so both are
//! written next to each other here and the handlers call these functions only.

use crate::problem::Problem;

/// `pattern` of a tenant name.
pub const TENANT_NAME_PATTERN: &str = "^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$";
/// `pattern` of a plan name.
pub const PLAN_PATTERN: &str = "^[A-Za-z0-9_.-]{1,64}$";
/// `pattern` of a secret name.
pub const SECRET_NAME_PATTERN: &str = "^[A-Za-z0-9_.-]{1,128}$";
/// `pattern` of a scope name.
pub const SCOPE_PATTERN: &str = "^(operator|admin|mcp|mcp:[A-Za-z0-9_.-]{1,128})$";
/// `pattern` of an email (or login name): no spaces or control characters.
pub const EMAIL_PATTERN: &str = "^[^\\x00-\\x20\\x7F]+$";
/// `pattern` of a display name or label: no control characters.
pub const LABEL_PATTERN: &str = "^[^\\x00-\\x1F\\x7F]+$";

/// `pattern` of a virtual endpoint's slug (a URL path segment).
pub const SLUG_PATTERN: &str = "^[a-z0-9][a-z0-9_-]{0,62}$";
/// `pattern` of a tool's exposed name: what the clients people use accept.
pub const TOOL_NAME_PATTERN: &str = "^[A-Za-z0-9_-]{1,64}$";
/// A registered API's or server's name (the namespace of its tools): no `__`, which separates
/// the namespace from the tool's name.
pub const BACKEND_NAME_PATTERN: &str = "^[A-Za-z0-9][A-Za-z0-9.-]*(_[A-Za-z0-9.-]+)*$";
/// The longest registered API or server name.
pub const BACKEND_NAME_MAX: usize = 48;

/// Longest endpoint description, in characters.
pub const ENDPOINT_DESCRIPTION_MAX: usize = 1024;
/// Longest tool description override, in characters.
pub const TOOL_DESCRIPTION_MAX: usize = 8192;
/// Longest backend name or backend tool name, in characters.
pub const REFERENCE_MAX: usize = 128;
/// Most tools one endpoint selects.
pub const ENDPOINT_TOOLS_MAX: usize = 1000;

/// Longest email, in characters.
pub const EMAIL_MAX: usize = 254;
/// Longest user display name, in characters.
pub const USER_NAME_MAX: usize = 200;
/// Longest token label, in characters.
pub const TOKEN_NAME_MAX: usize = 128;
/// Longest secret value, in characters.
pub const SECRET_VALUE_MAX: usize = 65_536;
/// Most scopes on one token.
pub const SCOPES_MAX: usize = 64;
/// Longest token lifetime: ten years.
pub const EXPIRES_IN_MAX: u64 = 315_360_000;

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

fn is_control(c: char) -> bool {
    c <= '\x1f' || c == '\x7f'
}

/// A tenant name: a letter or digit, then up to 63 letters, digits, `_`, `.` or `-`.
pub fn tenant_name(name: &str) -> Result<(), Problem> {
    let ok = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.chars().all(is_name_char);
    ok.then_some(()).ok_or_else(|| {
        Problem::invalid(format!(
            "`name` must be 1 to 64 letters, digits, `_`, `.` or `-`, starting with a letter or \
             digit (pattern {TENANT_NAME_PATTERN})"
        ))
    })
}

/// A plan name: 1 to 64 letters, digits, `_`, `.` or `-`.
pub fn plan(plan: &str) -> Result<(), Problem> {
    let ok = (1..=64).contains(&plan.len()) && plan.chars().all(is_name_char);
    ok.then_some(()).ok_or_else(|| {
        Problem::invalid(format!(
            "`plan` must be 1 to 64 letters, digits, `_`, `.` or `-` (pattern {PLAN_PATTERN})"
        ))
    })
}

/// A secret name: 1 to 128 letters, digits, `_`, `.` or `-`.
pub fn secret_name(name: &str) -> Result<(), Problem> {
    let ok = (1..=128).contains(&name.len()) && name.chars().all(is_name_char);
    ok.then_some(()).ok_or_else(|| {
        Problem::invalid(format!(
            "the secret name must be 1 to 128 letters, digits, `_`, `.` or `-` (pattern \
             {SECRET_NAME_PATTERN})"
        ))
    })
}

/// An email or login name: 1 to 254 characters, none a space or control character.
pub fn email(email: &str) -> Result<(), Problem> {
    let count = email.chars().count();
    let ok = (1..=EMAIL_MAX).contains(&count) && email.chars().all(|c| c > ' ' && c != '\x7f');
    ok.then_some(()).ok_or_else(|| {
        Problem::invalid(format!(
            "`email` must be 1 to {EMAIL_MAX} characters without spaces or control characters \
             (pattern {EMAIL_PATTERN})"
        ))
    })
}

/// A display name or label `field`: 1 to `max` characters, none a control character.
pub fn label(field: &str, value: &str, max: usize) -> Result<(), Problem> {
    let count = value.chars().count();
    let ok = (1..=max).contains(&count) && !value.chars().any(is_control);
    ok.then_some(()).ok_or_else(|| {
        Problem::invalid(format!(
            "`{field}` must be 1 to {max} characters without control characters (pattern \
             {LABEL_PATTERN})"
        ))
    })
}

/// A virtual endpoint's slug: a lower-case letter or digit, then up to 62 lower-case letters,
/// digits, `_` or `-`.
pub fn slug(slug: &str) -> Result<(), Problem> {
    let ok = (1..=63).contains(&slug.len())
        && slug.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-'));
    ok.then_some(()).ok_or_else(|| {
        Problem::invalid(format!(
            "`slug` must be 1 to 63 lower-case letters, digits, `_` or `-`, starting with a letter \
             or digit (pattern {SLUG_PATTERN}); it becomes the path /mcp/SLUG"
        ))
    })
}

/// A registered API's or server's name: 1 to 48 letters, digits, `.`, `-` or single `_`s,
/// starting with a letter or digit and not ending with `_`.
pub fn backend_name(name: &str) -> Result<(), Problem> {
    let ok = (1..=BACKEND_NAME_MAX).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && !name.ends_with('_')
        && !name.contains("__")
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    ok.then_some(()).ok_or_else(|| {
        Problem::invalid(format!(
            "`name` must be 1 to {BACKEND_NAME_MAX} letters, digits, `.`, `-` or single `_`s, \
             starting with a letter or digit (pattern {BACKEND_NAME_PATTERN}); it namespaces the \
             tools as NAME__tool"
        ))
    })
}

/// A tool's exposed name `field`: 1 to 64 letters, digits, `_` or `-`.
pub fn tool_name(field: &str, name: &str) -> Result<(), Problem> {
    let ok = (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'));
    ok.then_some(()).ok_or_else(|| {
        Problem::invalid(format!(
            "`{field}` must be 1 to 64 letters, digits, `_` or `-` (pattern {TOOL_NAME_PATTERN}), \
             the tool names MCP clients accept; got {name:?}"
        ))
    })
}

/// A text `field` of at most `max` characters (empty allowed).
pub fn text(field: &str, value: &str, max: usize) -> Result<(), Problem> {
    let count = value.chars().count();
    (count <= max).then_some(()).ok_or_else(|| {
        Problem::invalid(format!(
            "`{field}` must be at most {max} characters, got {count}"
        ))
    })
}

/// Scope names: known ones ([`crate::Scopes::validate`]), endpoint names of 1 to 128 letters,
/// digits, `_`, `.` or `-`, between 1 and [`SCOPES_MAX`] of them.
pub fn scopes(scopes: &[String]) -> Result<(), Problem> {
    if scopes.is_empty() || scopes.len() > SCOPES_MAX {
        return Err(Problem::invalid(format!(
            "`scopes` must list 1 to {SCOPES_MAX} scopes (known scopes: {})",
            crate::Scopes::NAMES
        )));
    }
    crate::Scopes::validate(scopes).map_err(|e| Problem::invalid(format!("`scopes`: {e}")))?;
    if let Some(bad) = scopes.iter().find(|s| {
        s.strip_prefix("mcp:")
            .is_some_and(|e| e.len() > 128 || !e.chars().all(is_name_char))
    }) {
        return Err(Problem::invalid(format!(
            "`scopes`: `{bad}` is not a valid endpoint scope; an endpoint name is 1 to 128 \
             letters, digits, `_`, `.` or `-` (pattern {SCOPE_PATTERN})"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_accept_and_refuse() {
        tenant_name("acme-1.prod_x").unwrap();
        for bad in ["", "-acme", "acme corp", &"a".repeat(65), "ümlaut"] {
            assert!(tenant_name(bad).is_err(), "{bad}");
        }
        secret_name("GITHUB_TOKEN.v2-a").unwrap();
        for bad in ["", "a/b", "a b", &"a".repeat(129)] {
            assert!(secret_name(bad).is_err(), "{bad}");
        }
        email("ops@example.com").unwrap();
        assert!(email("a b@example.com").is_err());
        label("name", "Ada Lovelace", 10).unwrap_err();
        label("name", "Ada Lovelace", 20).unwrap();
        assert!(label("name", "a\nb", 20).is_err());
        slug("dev-tools_2").unwrap();
        for bad in ["", "-dev", "Dev", "dev.tools", "dev tools", &"a".repeat(64)] {
            assert!(slug(bad).is_err(), "{bad}");
        }
        tool_name("name", "search-Repos_2").unwrap();
        for bad in ["", "a.b", "a b", &"a".repeat(65)] {
            assert!(tool_name("name", bad).is_err(), "{bad}");
        }
        text("description", "", 3).unwrap();
        assert!(text("description", "four", 3).is_err());
        scopes(&["mcp:github".into(), "admin".into()]).unwrap();
        let err = scopes(&["mcp:git hub".into()]).unwrap_err();
        assert!(err.detail().contains("mcp:git hub"));
        let err = scopes(&["root".into()]).unwrap_err();
        assert!(err.detail().contains("`root`"));
        assert!(scopes(&[]).is_err());
    }
}
