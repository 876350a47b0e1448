//! `.dockerignore`: which paths of a build context are left out, with the Docker CLI's rules —
//! Go `filepath.Match` patterns plus `**`, `!` exceptions, the last matching line wins, and a
//! path is excluded when it or any of its parent directories matches.

/// The parsed patterns of one `.dockerignore` file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DockerIgnore {
    patterns: Vec<Pattern>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Pattern {
    exception: bool,
    tokens: Vec<Token>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Char(char),
    /// `*`: any run of characters other than '/'.
    Star,
    /// `?`: one character other than '/'.
    AnyChar,
    /// `**/` (or `**` before more pattern): any number of whole leading directories, even none.
    AnyDirs,
    /// `**` at the end: everything.
    AnyRest,
    /// `[…]`: one character (not '/') in (or, negated, not in) the ranges.
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl DockerIgnore {
    /// Parses the text of a `.dockerignore` file. Blank lines and `#` comments are skipped.
    pub fn parse(text: &str) -> DockerIgnore {
        let patterns = text
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .filter_map(|line| {
                let (exception, body) = match line.strip_prefix('!') {
                    Some(rest) => (true, rest.trim()),
                    None => (false, line),
                };
                let cleaned = clean(body);
                (!cleaned.is_empty()).then(|| Pattern {
                    exception,
                    tokens: tokenize(&cleaned),
                })
            })
            .collect();
        DockerIgnore { patterns }
    }

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether `path` ('/'-separated, relative to the context root) is left out of the context.
    pub fn excludes(&self, path: &str) -> bool {
        let parts: Vec<&str> = path.split('/').collect();
        let mut excluded = false;
        for pattern in &self.patterns {
            // A line can only change the answer: an exclusion when not yet excluded, an
            // exception when excluded.
            if pattern.exception != excluded {
                continue;
            }
            let chars: Vec<char> = path.chars().collect();
            let mut matched = matches(&pattern.tokens, &chars);
            for depth in 1..parts.len() {
                if matched {
                    break;
                }
                let parent: Vec<char> = parts[..depth].join("/").chars().collect();
                matched = matches(&pattern.tokens, &parent);
            }
            if matched {
                excluded = !pattern.exception;
            }
        }
        excluded
    }
}

/// Go's `filepath.Clean` for '/'-separated relative patterns, with any leading '/' removed.
fn clean(pattern: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in pattern.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|last| *last != "..") {
                    parts.pop();
                } else if !pattern.starts_with('/') {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}

fn tokenize(pattern: &str) -> Vec<Token> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' if chars.get(i + 1) == Some(&'*') => {
                i += 2;
                if chars.get(i) == Some(&'/') {
                    i += 1;
                }
                tokens.push(if i >= chars.len() {
                    Token::AnyRest
                } else {
                    Token::AnyDirs
                });
                continue;
            }
            '*' => tokens.push(Token::Star),
            '?' => tokens.push(Token::AnyChar),
            '\\' if i + 1 < chars.len() => {
                i += 1;
                tokens.push(Token::Char(chars[i]));
            }
            '[' => {
                if let Some((token, next)) = class(&chars, i + 1) {
                    tokens.push(token);
                    i = next;
                    continue;
                }
                tokens.push(Token::Char('['));
            }
            c => tokens.push(Token::Char(c)),
        }
        i += 1;
    }
    tokens
}

/// A character class starting after its '['; returns it and the index after its ']'.
fn class(chars: &[char], mut i: usize) -> Option<(Token, usize)> {
    let negated = chars.get(i) == Some(&'^');
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    let mut first = true;
    loop {
        let c = *chars.get(i)?;
        if c == ']' && !first {
            return Some((Token::Class { negated, ranges }, i + 1));
        }
        first = false;
        let lo = if c == '\\' {
            i += 1;
            *chars.get(i)?
        } else {
            c
        };
        i += 1;
        if chars.get(i) == Some(&'-') && chars.get(i + 1).is_some_and(|c| *c != ']') {
            let hi = *chars.get(i + 1)?;
            ranges.push((lo, hi));
            i += 2;
        } else {
            ranges.push((lo, lo));
        }
    }
}

fn matches(tokens: &[Token], text: &[char]) -> bool {
    let Some((token, rest)) = tokens.split_first() else {
        return text.is_empty();
    };
    match token {
        Token::Char(c) => text.first() == Some(c) && matches(rest, &text[1..]),
        Token::AnyChar => text.first().is_some_and(|c| *c != '/') && matches(rest, &text[1..]),
        Token::Class { negated, ranges } => {
            text.first().is_some_and(|c| {
                let inside = ranges.iter().any(|(lo, hi)| lo <= c && c <= hi);
                *c != '/' && inside != *negated
            }) && matches(rest, &text[1..])
        }
        Token::Star => {
            let run = text.iter().take_while(|c| **c != '/').count();
            (0..=run).any(|n| matches(rest, &text[n..]))
        }
        Token::AnyRest => true,
        Token::AnyDirs => {
            // Nothing, or anything up to and including a '/'.
            matches(rest, text)
                || (0..text.len()).any(|n| text[n] == '/' && matches(rest, &text[n + 1..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ignore(text: &str) -> DockerIgnore {
        DockerIgnore::parse(text)
    }

    #[test]
    fn plain_names_and_their_contents() {
        let rules = ignore("# comment\n\nnode_modules\n/secret.txt\n");
        assert!(rules.excludes("node_modules"));
        assert!(rules.excludes("node_modules/x/y.js"));
        assert!(rules.excludes("secret.txt"));
        assert!(
            !rules.excludes("src/node_modules"),
            "patterns are anchored at the root"
        );
        assert!(!rules.excludes("bot.js"));
    }

    #[test]
    fn stars_do_not_cross_directories() {
        let rules = ignore("*.log\n*/tmp\n");
        assert!(rules.excludes("a.log"));
        assert!(!rules.excludes("logs/a.log"));
        assert!(rules.excludes("src/tmp"));
        assert!(rules.excludes("src/tmp/x"));
        assert!(!rules.excludes("a/b/tmp"));
    }

    #[test]
    fn double_star_spans_directories() {
        let rules = ignore("**/*.log\ndocs/**\n");
        assert!(rules.excludes("a.log"));
        assert!(rules.excludes("a/b/c.log"));
        assert!(rules.excludes("docs/x/y"));
        assert!(!rules.excludes("docs"));
        assert!(!rules.excludes("src/a.txt"));
    }

    #[test]
    fn last_matching_line_wins_and_exceptions_reinclude() {
        let rules = ignore("*.md\n!README.md\n");
        assert!(rules.excludes("NOTES.md"));
        assert!(!rules.excludes("README.md"));
        let rules = ignore("!README.md\n*.md\n");
        assert!(rules.excludes("README.md"));
    }

    #[test]
    fn classes_question_marks_and_escapes() {
        let rules = ignore("file[0-9].txt\n[^a]x\nq?\nstar\\*\n");
        assert!(rules.excludes("file7.txt"));
        assert!(!rules.excludes("filex.txt"));
        assert!(rules.excludes("bx"));
        assert!(!rules.excludes("ax"));
        assert!(rules.excludes("q1"));
        assert!(!rules.excludes("q/"));
        assert!(rules.excludes("star*"));
        assert!(!rules.excludes("starx"));
    }

    #[test]
    fn patterns_are_cleaned() {
        let rules = ignore("./a/../b/\n");
        assert!(rules.excludes("b"));
        assert!(rules.excludes("b/c"));
        assert!(ignore("   \n#x\n").is_empty());
    }
}
