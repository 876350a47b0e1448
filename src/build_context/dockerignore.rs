//! `.dockerignore`: which paths of a build context are left out, with the Docker CLI's rules —
//! Go `filepath.Match` patterns plus `**`, `!` exceptions, the last matching line wins, and a
//! path is excluded when it or any of its parent directories matches. Checked against the
//! cases of Docker's own matcher (moby's `patternmatcher` and `ignorefile` tests).

use anyhow::{Result, bail};

/// The parsed patterns of one `.dockerignore` file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DockerIgnore {
    patterns: Vec<Pattern>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Pattern {
    exception: bool,
    matcher: Matcher,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Matcher {
    /// `**` then plain characters (`**/foo`, `**.log`): Docker matches these as "ends with",
    /// so `**.log` excludes `a/b.log` and `**file` excludes `myfile`.
    Suffix(String),
    Tokens(Vec<Token>),
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
    /// Parses the text of a `.dockerignore` file as the Docker CLI reads it: a UTF-8 BOM is
    /// dropped, lines starting with `#` are comments, blank lines are skipped, each pattern is
    /// trimmed and cleaned (`./a/../b/` is `b`, a leading `/` is dropped). A malformed pattern
    /// (`[` unclosed, a lone `!`, a trailing `\`) is refused as `docker build` refuses it.
    pub fn parse(text: &str) -> Result<DockerIgnore> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut patterns = Vec::new();
        for (number, line) in text.lines().enumerate() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let line = line.trim();
            let (exception, body) = match line.strip_prefix('!') {
                Some(rest) => (true, rest.trim()),
                None => (false, line),
            };
            if exception && body.is_empty() {
                bail!(
                    ".dockerignore line {}: a lone `!` excepts nothing",
                    number + 1
                );
            }
            let cleaned = clean(body);
            if cleaned.is_empty() {
                continue;
            }
            let Some(matcher) = compile(&cleaned) else {
                bail!(
                    ".dockerignore line {}: syntax error in pattern `{line}`",
                    number + 1
                );
            };
            patterns.push(Pattern { exception, matcher });
        }
        Ok(DockerIgnore { patterns })
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
            let mut matched = pattern.matcher.matches(path);
            for depth in 1..parts.len() {
                if matched {
                    break;
                }
                matched = pattern.matcher.matches(&parts[..depth].join("/"));
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

impl Matcher {
    fn matches(&self, path: &str) -> bool {
        match self {
            Matcher::Suffix(suffix) => {
                path.ends_with(suffix.as_str())
                    || suffix.strip_prefix('/').is_some_and(|rest| path == rest)
            }
            Matcher::Tokens(tokens) => {
                let chars: Vec<char> = path.chars().collect();
                matches(tokens, &chars)
            }
        }
    }
}

/// The matcher for a cleaned pattern, `None` when it is malformed.
fn compile(pattern: &str) -> Option<Matcher> {
    let tokens = tokenize(pattern)?;
    let plain_suffix = pattern
        .strip_prefix("**")
        .filter(|rest| !rest.contains(['*', '?', '[', ']', '\\']));
    Some(match plain_suffix {
        Some(rest) => Matcher::Suffix(rest.to_string()),
        None => Matcher::Tokens(tokens),
    })
}

/// The tokens of a pattern, `None` when it is malformed (Go's `filepath.Match` errors).
fn tokenize(pattern: &str) -> Option<Vec<Token>> {
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
            '\\' => {
                i += 1;
                tokens.push(Token::Char(*chars.get(i)?));
            }
            '[' => {
                let (token, next) = class(&chars, i + 1)?;
                tokens.push(token);
                i = next;
                continue;
            }
            c => tokens.push(Token::Char(c)),
        }
        i += 1;
    }
    Some(tokens)
}

/// A character class starting after its '['; returns it and the index after its ']', or
/// `None` when it is malformed as Go's `filepath.Match` says: unclosed, empty, or with an
/// unescaped `-` or `]` where a character is expected (`[]a]`, `[-x]`, `[x-]`, `[a-b-c]`).
fn class(chars: &[char], mut i: usize) -> Option<(Token, usize)> {
    let negated = chars.get(i) == Some(&'^');
    if negated {
        i += 1;
    }
    let mut ranges = Vec::new();
    loop {
        if chars.get(i) == Some(&']') && !ranges.is_empty() {
            return Some((Token::Class { negated, ranges }, i + 1));
        }
        let (lo, next) = class_char(chars, i)?;
        i = next;
        if chars.get(i) == Some(&'-') {
            let (hi, next) = class_char(chars, i + 1)?;
            ranges.push((lo, hi));
            i = next;
        } else {
            ranges.push((lo, lo));
        }
    }
}

/// One character of a class at `i` (escaped with `\` or not `-`/`]`) and the index after it.
fn class_char(chars: &[char], i: usize) -> Option<(char, usize)> {
    match *chars.get(i)? {
        '-' | ']' => None,
        '\\' => Some((*chars.get(i + 1)?, i + 2)),
        c => Some((c, i + 1)),
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
        DockerIgnore::parse(text).unwrap()
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

    /// Docker's own cases: moby `patternmatcher` `TestMatches` (checked as
    /// `MatchesOrParentMatches`, which is what `docker build` uses), the Go `filepath.Match`
    /// cases it borrows, and its named tests. (pattern, path, excluded).
    const DOCKER_CASES: &[(&str, &str, bool)] = &[
        ("**", "file", true),
        ("**", "file/", true),
        ("**/", "file", true),
        ("**/", "file/", true),
        ("**", "/", true),
        ("**/", "/", true),
        ("**", "dir/file", true),
        ("**/", "dir/file", true),
        ("**", "dir/file/", true),
        ("**/", "dir/file/", true),
        ("**/**", "dir/file", true),
        ("**/**", "dir/file/", true),
        ("dir/**", "dir/file", true),
        ("dir/**", "dir/file/", true),
        ("dir/**", "dir/dir2/file", true),
        ("dir/**", "dir/dir2/file/", true),
        ("**/dir", "dir", true),
        ("**/dir", "dir/file", true),
        ("**/dir2/*", "dir/dir2/file", true),
        ("**/dir2/*", "dir/dir2/file/", true),
        ("**/dir2/**", "dir/dir2/dir3/file", true),
        ("**/dir2/**", "dir/dir2/dir3/file/", true),
        ("**file", "file", true),
        ("**file", "dir/file", true),
        ("**/file", "dir/file", true),
        ("**file", "dir/dir/file", true),
        ("**/file", "dir/dir/file", true),
        ("**/file*", "dir/dir/file", true),
        ("**/file*", "dir/dir/file.txt", true),
        ("**/file*txt", "dir/dir/file.txt", true),
        ("**/file*.txt", "dir/dir/file.txt", true),
        ("**/file*.txt*", "dir/dir/file.txt", true),
        ("**/**/*.txt", "dir/dir/file.txt", true),
        ("**/**/*.txt2", "dir/dir/file.txt", false),
        ("**/*.txt", "file.txt", true),
        ("**/**/*.txt", "file.txt", true),
        ("a**/*.txt", "a/file.txt", true),
        ("a**/*.txt", "a/dir/file.txt", true),
        ("a**/*.txt", "a/dir/dir/file.txt", true),
        ("a/*.txt", "a/dir/file.txt", false),
        ("a/*.txt", "a/file.txt", true),
        ("a/*.txt**", "a/file.txt", true),
        ("a[b-d]e", "ae", false),
        ("a[b-d]e", "ace", true),
        ("a[b-d]e", "aae", false),
        ("a[^b-d]e", "aze", true),
        (".*", ".foo", true),
        (".*", "foo", false),
        ("abc.def", "abcdef", false),
        ("abc.def", "abc.def", true),
        ("abc.def", "abcZdef", false),
        ("abc?def", "abcZdef", true),
        ("abc?def", "abcdef", false),
        ("a\\\\", "a\\", true),
        ("**/foo/bar", "foo/bar", true),
        ("**/foo/bar", "dir/foo/bar", true),
        ("**/foo/bar", "dir/dir2/foo/bar", true),
        ("abc/**", "abc", false),
        ("abc/**", "abc/def", true),
        ("abc/**", "abc/def/ghi", true),
        ("**/.foo", ".foo", true),
        ("**/.foo", "bar.foo", false),
        ("a(b)c/def", "a(b)c/def", true),
        ("a(b)c/def", "a(b)c/xyz", false),
        ("a.|)$(}+{bc", "a.|)$(}+{bc", true),
        (
            "dist/*.whl",
            "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
            true,
        ),
        ("a\\*b", "a*b", true),
        // `**` then plain characters is "ends with" in Docker.
        ("**file", "myfile", true),
        ("**.log", "a/b.log", true),
        // Go's filepath.Match cases.
        ("abc", "abc", true),
        ("*", "abc", true),
        ("*c", "abc", true),
        ("a*", "a", true),
        ("a*", "abc", true),
        ("a*", "ab/c", true),
        ("a*/b", "abc/b", true),
        ("a*/b", "a/c/b", false),
        ("a*b*c*d*e*/f", "axbxcxdxe/f", true),
        ("a*b*c*d*e*/f", "axbxcxdxexxx/f", true),
        ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false),
        ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", false),
        ("a*b?c*x", "abxbbxdbxebxczzx", true),
        ("a*b?c*x", "abxbbxdbxebxczzy", false),
        ("ab[c]", "abc", true),
        ("ab[b-d]", "abc", true),
        ("ab[e-g]", "abc", false),
        ("ab[^c]", "abc", false),
        ("ab[^b-d]", "abc", false),
        ("ab[^e-g]", "abc", true),
        ("a\\*b", "ab", false),
        ("a?b", "a☺b", true),
        ("a[^a]b", "a☺b", true),
        ("a???b", "a☺b", false),
        ("a[^a][^a][^a]b", "a☺b", false),
        ("[a-ζ]*", "α", true),
        ("*[a-ζ]", "A", false),
        ("a?b", "a/b", false),
        ("a*b", "a/b", false),
        ("[\\]a]", "]", true),
        ("[\\-]", "-", true),
        ("[x\\-]", "x", true),
        ("[x\\-]", "-", true),
        ("[x\\-]", "z", false),
        ("[\\-x]", "x", true),
        ("[\\-x]", "-", true),
        ("[\\-x]", "a", false),
        ("*x", "xxx", true),
        // Named tests: a directory and everything in it; trailing '/'; leading '/'; cleaning.
        ("*", "fileutils.go", true),
        ("*.go", "fileutils.go", true),
        ("docs", "docs/README.md", true),
        ("docs/", "docs/README.md", true),
        ("/docs", "docs/README.md", true),
        ("/a/file/here", "a/file/here", true),
        ("./a/../b/", "b/c", true),
        ("a/./b//c", "a/b/c", true),
        ("../x", "x", false),
        ("/../x", "x", true),
    ];

    #[test]
    fn dockers_own_pattern_cases() {
        let failures: Vec<String> = DOCKER_CASES
            .iter()
            .filter(|(pattern, path, excluded)| ignore(pattern).excludes(path) != *excluded)
            .map(|(pattern, path, excluded)| format!("{pattern:?} {path:?}: want {excluded}"))
            .collect();
        assert!(failures.is_empty(), "{failures:#?}");
    }

    #[test]
    fn dockers_own_multi_line_cases() {
        let cases: &[(&[&str], &str, bool)] = &[
            (&["**", "!util/docker/web"], "util/docker/web/foo", false),
            (
                &["**", "!util/docker/web", "util/docker/web/foo"],
                "util/docker/web/foo",
                true,
            ),
            (
                &["**", "!dist/*.whl"],
                "dist/proxy.py-2.4.0-py3-none-any.whl",
                false,
            ),
            (&["!fileutils.go", "*.go"], "fileutils.go", true),
            (&["*.go", "!fileutils.go"], "fileutils.go", false),
            (&["docs", "!docs/README.md"], "docs/README.md", false),
            (&["docs/", "!docs/README.md"], "docs/README.md", false),
            (&["docs/*", "!docs/README.md"], "docs/README.md", false),
            (&["docs", "  !docs/README.md  "], "docs/README.md", false),
            (&["docs", "! /docs/README.md"], "docs/README.md", false),
        ];
        for (lines, path, excluded) in cases {
            let rules = ignore(&lines.join("\n"));
            assert_eq!(rules.excludes(path), *excluded, "{lines:?} {path:?}");
        }
    }

    #[test]
    fn dockers_malformed_patterns_are_refused() {
        for bad in [
            "[]a]", "[-]", "[x-]", "[-x]", "\\", "[a-b-c]", "[", "[^", "[^bc", "a[", "!", "! ",
        ] {
            let err = DockerIgnore::parse(&format!("ok\n{bad}\n")).unwrap_err();
            assert!(err.to_string().contains("line 2"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn the_file_is_read_as_docker_reads_it() {
        // A BOM is dropped; only a `#` in the first column starts a comment.
        let rules = ignore("\u{feff}first\n # not a comment\n#second\n");
        assert!(rules.excludes("first"));
        assert!(rules.excludes("# not a comment"));
        assert!(!rules.excludes("#second"));
    }
}
