//! Reporting several problems found by one check as one error, so a user fixes them all at once.

/// One error listing every problem: the problem itself when there is one, else a headline
/// (`summary`, e.g. "2 cat names are not valid") with each problem on its own indented line.
pub fn combine(summary: &str, problems: &[String]) -> anyhow::Error {
    match problems {
        [one] => anyhow::anyhow!("{one}"),
        many => {
            let lines: Vec<String> = many.iter().map(|p| format!("  - {p}")).collect();
            anyhow::anyhow!("{summary}:\n{}", lines.join("\n"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_problem_is_itself() {
        assert_eq!(combine("x", &["a".to_string()]).to_string(), "a");
    }

    #[test]
    fn many_problems_are_listed() {
        let err = combine("2 problems", &["a".to_string(), "b".to_string()]);
        assert_eq!(err.to_string(), "2 problems:\n  - a\n  - b");
    }
}
