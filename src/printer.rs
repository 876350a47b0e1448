//! The one place that writes to the terminal: data to stdout (a table or JSON), everything
//! else (status, warnings, errors) to stderr, in colour only when wanted.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::borrow::Cow;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use anstream::{AutoStream, ColorChoice};
use anstyle::{AnsiColor, Effects, Style};
use serde::Serialize;

use crate::output::{Envelope, Kind};

/// How data is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Yaml,
}

impl Format {
    /// Whether the output is for programs (`-o json`, `-o yaml`).
    pub fn is_structured(self) -> bool {
        self != Format::Table
    }

    /// The `-o` value, for messages.
    pub fn flag(self) -> &'static str {
        match self {
            Format::Table => "-o table",
            Format::Json => "-o json",
            Format::Yaml => "-o yaml",
        }
    }
}

/// How much is said on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    Quiet,
    Normal,
    Verbose,
}

/// The colour decision: `--color`, then (for `auto`) anstream's reading of `NO_COLOR`,
/// `CLICOLOR_FORCE`, `CLICOLOR`, `TERM` and whether the stream is a terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorMode {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Color {
    Red,
    Green,
    Yellow,
    Blue,
    Magenta,
    Cyan,
    BrightRed,
    BrightGreen,
    BrightYellow,
    BrightBlue,
    BrightMagenta,
    BrightCyan,
    Bold,
    Dim,
}

/// The colours a cat's tag can have; red alone is left to errors.
const CAT_PALETTE: [Color; 11] = [
    Color::Cyan,
    Color::Green,
    Color::Yellow,
    Color::Blue,
    Color::Magenta,
    Color::BrightCyan,
    Color::BrightGreen,
    Color::BrightYellow,
    Color::BrightBlue,
    Color::BrightMagenta,
    Color::BrightRed,
];

impl Color {
    fn style(self) -> Style {
        let color = match self {
            Color::Red => AnsiColor::Red,
            Color::Green => AnsiColor::Green,
            Color::Yellow => AnsiColor::Yellow,
            Color::Blue => AnsiColor::Blue,
            Color::Magenta => AnsiColor::Magenta,
            Color::Cyan => AnsiColor::Cyan,
            Color::BrightRed => AnsiColor::BrightRed,
            Color::BrightGreen => AnsiColor::BrightGreen,
            Color::BrightYellow => AnsiColor::BrightYellow,
            Color::BrightBlue => AnsiColor::BrightBlue,
            Color::BrightMagenta => AnsiColor::BrightMagenta,
            Color::BrightCyan => AnsiColor::BrightCyan,
            Color::Bold => return Style::new().effects(Effects::BOLD),
            Color::Dim => return Style::new().effects(Effects::DIMMED),
        };
        Style::new().fg_color(Some(color.into()))
    }
}

impl Color {
    /// The colour of a cat's name: the same in every run and on every machine (FNV-1a of the
    /// name), so `dd` is always the same colour in `catctl logs`.
    pub fn of_cat(name: &str) -> Color {
        let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
        });
        let index = usize::try_from(hash % CAT_PALETTE.len() as u64).unwrap_or(0);
        CAT_PALETTE[index]
    }
}

#[derive(Debug, Clone)]
pub struct Printer {
    pub format: Format,
    pub verbosity: Verbosity,
    stdout_color: bool,
    stderr_color: bool,
    stderr_terminal: bool,
    secrets: Arc<Secrets>,
}

/// The token values catctl knows (those in `secret/`), read once on first need, so that no
/// text printed — an answer from Slack, the registry or the API server included — shows one.
#[derive(Debug, Default)]
struct Secrets {
    dir: OnceLock<PathBuf>,
    values: OnceLock<Vec<String>>,
}

/// Tokens shorter than this are not scrubbed: they would mangle ordinary words.
const SHORTEST_SCRUBBED: usize = 8;

impl Secrets {
    fn values(&self) -> &[String] {
        let Some(dir) = self.dir.get() else {
            return &[];
        };
        self.values.get_or_init(|| {
            let mut ignored = crate::secrets::local::Findings::default();
            let mut values: Vec<String> = crate::secrets::local::scan(dir, "secret", &mut ignored)
                .iter()
                .flat_map(|secret| secret.data.values())
                .filter_map(|value| std::str::from_utf8(value.expose().trim_ascii()).ok())
                .filter(|token| token.len() >= SHORTEST_SCRUBBED)
                .map(str::to_string)
                .collect();
            // Longest first, so that a token containing another is replaced whole.
            values.sort_by_key(|token| std::cmp::Reverse(token.len()));
            values
        })
    }

    fn scrub<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut text = Cow::Borrowed(text);
        for token in self.values() {
            if text.contains(token.as_str()) {
                text = Cow::Owned(text.replace(token.as_str(), "[redacted]"));
            }
        }
        text
    }
}

fn wants_color<S: anstream::stream::RawStream>(mode: ColorMode, stream: &S) -> bool {
    match mode {
        ColorMode::Always => true,
        ColorMode::Never => false,
        ColorMode::Auto => AutoStream::choice(stream) != ColorChoice::Never,
    }
}

impl Printer {
    pub fn new(format: Format, verbosity: Verbosity, color: ColorMode) -> Printer {
        let stderr_terminal = std::io::stderr().is_terminal();
        Printer {
            format,
            verbosity,
            stdout_color: wants_color(color, &std::io::stdout()),
            stderr_color: wants_color(color, &std::io::stderr()),
            stderr_terminal,
            secrets: Arc::default(),
        }
    }

    /// The directory of the farm's tokens: from now on, no printed text shows one of them.
    pub fn scrub_secrets_of(&self, dir: PathBuf) {
        let _ = self.secrets.dir.set(dir);
    }

    /// Whether live progress (spinners, bars) may be drawn on stderr.
    pub fn shows_progress(&self) -> bool {
        self.stderr_terminal && self.verbosity >= Verbosity::Normal && !self.format.is_structured()
    }

    pub fn paint_stdout(&self, text: &str, color: Color) -> String {
        paint(self.stdout_color, text, color)
    }

    pub fn paint_stderr(&self, text: &str, color: Color) -> String {
        paint(self.stderr_color, text, color)
    }

    /// A status line such as `     Created cats/dd`, like cargo's. Hidden by `-q`.
    pub fn status(&self, verb: &str, message: &str) {
        if self.verbosity >= Verbosity::Normal {
            let verb = self.paint_stderr(&format!("{verb:>12}"), Color::Green);
            eprintln!("{verb} {}", self.secrets.scrub(message));
        }
    }

    /// Extra detail shown with `-v`.
    pub fn detail(&self, message: &str) {
        if self.verbosity >= Verbosity::Verbose {
            let message = self.secrets.scrub(message);
            eprintln!("{}", self.paint_stderr(&message, Color::Dim));
        }
    }

    /// Plain text on stderr that `-q` does not hide (e.g. a failing container's log).
    pub fn evidence(&self, text: &str) {
        eprintln!("{}", self.secrets.scrub(text));
    }

    pub fn warn(&self, message: &str) {
        let message = self.secrets.scrub(message);
        eprintln!("{} {message}", self.paint_stderr("warning:", Color::Yellow));
    }

    /// An error with its chain of causes, printed once, at the top.
    pub fn error(&self, error: &anyhow::Error) {
        let scrub = |text: String| self.secrets.scrub(&text).into_owned();
        let error_label = self.paint_stderr("error:", Color::Red);
        eprintln!("{error_label} {}", scrub(error.to_string()));
        for cause in error.chain().skip(1) {
            let label = self.paint_stderr("caused by:", Color::Red);
            eprintln!("  {label} {}", scrub(cause.to_string()));
        }
    }

    /// Data for stdout. A closed pipe (e.g. `| head`) is not an error worth a panic.
    pub fn data(&self, text: &str) {
        let text = self.secrets.scrub(text);
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    }

    /// Data for stdout that must stop its producer when nobody reads any more: the text is
    /// written whole and flushed, and an error (e.g. a closed pipe under `| head`) is returned
    /// instead of ignored.
    pub fn data_or_closed(&self, text: &str) -> std::io::Result<()> {
        let text = self.secrets.scrub(text);
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())?;
        out.flush()
    }

    /// Asks a yes/no question on stderr and reads the answer from stdin; only "y" or "yes" is
    /// a yes.
    pub fn ask(&self, question: &str) -> std::io::Result<bool> {
        eprint!("{question} [y/N] ");
        std::io::stderr().flush()?;
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        Ok(matches!(answer.trim().to_lowercase().as_str(), "y" | "yes"))
    }

    /// Asks for a value on stderr and reads it from stdin; an empty answer is `default`.
    pub fn prompt(&self, question: &str, default: &str) -> std::io::Result<String> {
        eprint!("{question} [{default}]: ");
        std::io::stderr().flush()?;
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        let answer = answer.trim();
        Ok(if answer.is_empty() { default } else { answer }.to_string())
    }

    /// A plain remark on stderr, e.g. `tt is not deployed`. Hidden by `-q`.
    pub fn note(&self, message: &str) {
        if self.verbosity >= Verbosity::Normal {
            eprintln!("{}", self.secrets.scrub(message));
        }
    }

    /// `items` in the one envelope of [`crate::output`], as JSON or YAML on stdout. Only for
    /// `-o json` and `-o yaml`.
    pub fn items<T: Serialize>(&self, kind: Kind, items: &[T]) -> anyhow::Result<()> {
        let envelope = Envelope::new(kind, items);
        let text = match self.format {
            Format::Yaml => serde_saphyr::to_string(&envelope)?,
            Format::Json | Format::Table => {
                let mut text = serde_json::to_string_pretty(&envelope)?;
                text.push('\n');
                text
            }
        };
        self.data(&text);
        Ok(())
    }

    /// Reported state: `rows` in the envelope with `-o json`/`-o yaml`, else as a table of
    /// `cells(row)` under `header`.
    pub fn rows<R: Serialize>(
        &self,
        kind: Kind,
        rows: &[R],
        header: &[&str],
        cells: impl Fn(&R) -> Vec<String>,
    ) -> anyhow::Result<()> {
        if self.format.is_structured() {
            return self.items(kind, rows);
        }
        let cells: Vec<Vec<String>> = rows.iter().map(cells).collect();
        self.table(header, &cells);
        Ok(())
    }

    /// Rows under a header, in columns separated by three spaces, as kubectl prints them.
    pub fn table(&self, header: &[&str], rows: &[Vec<String>]) {
        self.data(&render_table(header, rows));
    }
}

fn paint(enabled: bool, text: &str, color: Color) -> String {
    if enabled {
        let style = color.style();
        format!("{style}{text}{style:#}")
    } else {
        text.to_string()
    }
}

/// Pads every column to its widest cell; the last column is not padded.
pub fn render_table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (index, cell) in row.iter().enumerate() {
            if index + 1 == row.len() {
                line.push_str(cell);
            } else {
                let pad = widths[index] - cell.chars().count();
                line.push_str(cell);
                line.push_str(&" ".repeat(pad + 3));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_columns_line_up() {
        let rows = vec![
            vec!["dd".to_string(), "v1".to_string()],
            vec!["chuchu".to_string(), "v12".to_string()],
        ];
        assert_eq!(
            render_table(&["CAT", "VERSION"], &rows),
            "CAT      VERSION\ndd       v1\nchuchu   v12\n"
        );
    }

    #[test]
    fn colour_only_when_asked() {
        assert_eq!(paint(false, "x", Color::Red), "x");
        assert_eq!(paint(true, "x", Color::Red), "\x1b[31mx\x1b[0m");
        assert_eq!(paint(true, "x", Color::Dim), "\x1b[2mx\x1b[0m");
        assert_eq!(paint(true, "x", Color::BrightCyan), "\x1b[96mx\x1b[0m");
        let pipe: Vec<u8> = Vec::new();
        assert!(wants_color(ColorMode::Always, &pipe));
        assert!(!wants_color(ColorMode::Never, &std::io::stderr()));
        assert!(!wants_color(ColorMode::Auto, &pipe));
    }

    #[test]
    fn cat_colours_are_stable_and_spread() {
        assert_eq!(Color::of_cat("dd"), Color::of_cat("dd"));
        let cats = ["dd", "coco", "lala", "chuchu", "tt", "mimi", "nana"];
        let colours: std::collections::BTreeSet<String> = cats
            .iter()
            .map(|cat| Color::of_cat(cat).style().to_string())
            .collect();
        assert!(colours.len() >= 4, "{colours:?}");
        assert!(cats.iter().all(|cat| Color::of_cat(cat) != Color::Red));
    }
}
