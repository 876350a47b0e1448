//! Errors as a person reads them: several problems of one check as one error (so a user fixes
//! them all at once), and a library error's cause chain on one line.

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

/// The innermost cause of `err` ("Connection refused (os error 111)"): what a person can act on.
pub fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut last = err;
    while let Some(cause) = last.source() {
        last = cause;
    }
    last.to_string()
}

/// An error and its causes on one line ("client error (Connect): tcp connect error: Connection
/// refused (os error 111)").
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![err.to_string()];
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
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
