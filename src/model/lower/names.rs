//! Name spelling: how HCL users write a field (`clone_options`) and how the schema spells it
//! (`cloneOptions`), compared squashed (`cloneoptions`), with the plural a singular block name
//! stands for. Pure string functions: no schema, no diagnostics.

/// `display_name`, `displayName` and `DISPLAYNAME` all squash to `displayname`.
pub(super) fn squash(name: &str) -> String {
    name.chars().filter(|c| *c != '_').flat_map(char::to_lowercase).collect()
}

/// `displayName` → `display_name`: how HCL users write a field.
pub(crate) fn snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    let mut prev_lower = false;
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            if prev_lower {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
            prev_lower = false;
        } else {
            out.push(c);
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        }
    }
    out
}

/// `clone_options` → `cloneOptions`.
pub(super) fn camel(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' {
            upper = !out.is_empty();
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// `inline_policy` → `inlinepolicies`, `task` → `tasks` (squashed plurals).
pub(super) fn plural(squashed: &str) -> String {
    match squashed.strip_suffix('y') {
        Some(stem) if !stem.ends_with(['a', 'e', 'i', 'o', 'u']) => format!("{stem}ies"),
        _ => format!("{squashed}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_follows_hcl_spelling() {
        assert_eq!(snake("displayName"), "display_name");
        assert_eq!(snake("picURL"), "pic_url");
        assert_eq!(snake("disableSSH"), "disable_ssh");
        assert_eq!(snake("additionalRepositories"), "additional_repositories");
    }

    #[test]
    fn helpers() {
        assert_eq!(camel("clone_options"), "cloneOptions");
        assert_eq!(plural("inlinepolicy"), "inlinepolicies");
        assert_eq!(plural("key"), "keys");
        assert_eq!(plural("additionalrepository"), "additionalrepositories");
    }
}
