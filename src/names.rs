//! Cat names: what Kubernetes accepts, and the valid name to suggest when it does not.
//!
//! A cat's name becomes a StatefulSet or Deployment name, its pods' names, the Secret
//! `<name>-token`, the `app=<name>` label and the names of the CronJobs that put it to sleep
//! and wake it. The longest of those decides how long a cat name may be.

use std::fmt;

/// CronJob names may be at most 52 characters (Kubernetes appends an 11-character suffix to
/// the Jobs it creates), and catctl's schedule CronJobs are called `<cat>-sleep` / `<cat>-wake`.
/// That is stricter than the StatefulSet limit (its `controller-revision-hash` label,
/// `<name>-<10 characters>`, must fit in 63) and than `<name>-token` (a DNS subdomain).
pub const MAX_CAT_NAME_LEN: usize = 52 - "-sleep".len();

/// Why a name was refused, with the name to use instead when one can be derived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidName {
    pub name: String,
    pub reason: String,
    pub suggestion: Option<String>,
}

impl fmt::Display for InvalidName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid cat name '{}': {}", self.name, self.reason)?;
        match &self.suggestion {
            Some(valid) => write!(f, " — use '{valid}'"),
            None => write!(f, " — use lower-case letters, digits and '-'"),
        }
    }
}

impl std::error::Error for InvalidName {}

/// Checks that `name` is a lower-case RFC 1123 label short enough for every object catctl
/// derives from it.
pub fn validate_cat_name(name: &str) -> Result<(), InvalidName> {
    let reason = if name.is_empty() {
        "a name cannot be empty".to_string()
    } else if name.chars().any(|c| c.is_ascii_uppercase()) {
        "Kubernetes names must be lower case".to_string()
    } else if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        format!(
            "Kubernetes names cannot contain {}; only lower-case letters, digits and '-' are allowed",
            describe_char(bad)
        )
    } else if name.starts_with('-') || name.ends_with('-') {
        "a name must start and end with a letter or digit".to_string()
    } else if name.len() > MAX_CAT_NAME_LEN {
        format!(
            "it is {} characters long; cat names may be at most {MAX_CAT_NAME_LEN} so that the \
             names Kubernetes derives from them (pods, controller revisions, `<cat>-sleep` \
             CronJobs) stay within their limits",
            name.len()
        )
    } else {
        return Ok(());
    };
    let suggestion = suggest(name).filter(|s| s != name);
    Err(InvalidName {
        name: name.to_string(),
        reason,
        suggestion,
    })
}

fn describe_char(c: char) -> String {
    match c {
        '_' => "'_'".to_string(),
        ' ' => "spaces".to_string(),
        c if c.is_ascii_graphic() => format!("'{c}'"),
        c => format!("'{}'", c.escape_unicode()),
    }
}

/// The closest valid name: lower-cased, runs of other characters turned into one '-',
/// trimmed and cut to the length limit. `None` when nothing usable is left.
pub fn suggest(name: &str) -> Option<String> {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let mut out = out.trim_matches('-').to_string();
    out.truncate(MAX_CAT_NAME_LEN);
    let out = out.trim_end_matches('-').to_string();
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_seven_cats() {
        for name in [
            "dd", "tt", "coco", "momo", "chuchu", "lulu", "lala", "cat-2", "7",
        ] {
            assert_eq!(validate_cat_name(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn underscore_suggests_dash() {
        let err = validate_cat_name("dd_1").unwrap_err();
        assert_eq!(err.suggestion.as_deref(), Some("dd-1"));
        assert!(err.to_string().contains("'_'"), "{err}");
    }

    #[test]
    fn upper_case_suggests_lower_case() {
        let err = validate_cat_name("DD").unwrap_err();
        assert_eq!(err.suggestion.as_deref(), Some("dd"));
        assert!(err.reason.contains("lower case"));
    }

    #[test]
    fn too_long_states_the_limit() {
        let name = "a".repeat(MAX_CAT_NAME_LEN + 1);
        let err = validate_cat_name(&name).unwrap_err();
        assert!(err.reason.contains(&MAX_CAT_NAME_LEN.to_string()));
        assert_eq!(err.suggestion.unwrap().len(), MAX_CAT_NAME_LEN);
        assert_eq!(validate_cat_name(&"a".repeat(MAX_CAT_NAME_LEN)), Ok(()));
    }

    #[test]
    fn edges_and_odd_characters() {
        assert_eq!(suggest("-dd-").as_deref(), Some("dd"));
        assert_eq!(suggest("Cream Heroes!").as_deref(), Some("cream-heroes"));
        assert_eq!(suggest("__"), None);
        assert!(validate_cat_name("").is_err());
        assert!(validate_cat_name("dd.tt").is_err());
        assert!(validate_cat_name("디디").unwrap_err().suggestion.is_none());
    }
}
