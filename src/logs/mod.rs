//! `catctl logs` without the sources: what a log source reports ([`LogEvent`]), how bytes become
//! whole lines, how pods are tagged, and the one writer that prints every line whole, tagged and
//! coloured per cat. The sources are `k8s::logs` (pods) and [`local`] (the Docker daemon).

pub mod docker;
pub mod kube;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::printer::{Color, Printer};

/// What the logs of a run ask for, whatever the source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogOptions {
    /// Keep reading, and pick up pods (or containers) that appear later.
    pub follow: bool,
    /// The previous container's log instead of the current one.
    pub previous: bool,
    /// Prefix each line with the time the container wrote it.
    pub timestamps: bool,
    /// Only lines written this long ago or less.
    pub since: Option<Duration>,
    /// Only the last N lines of each container (before following).
    pub tail: Option<u64>,
}

/// Where a line comes from: its cat (for the colour) and its tag (`dd-0`, `coco/7f9c2`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub cat: Arc<str>,
    pub tag: Arc<str>,
}

impl Source {
    pub fn new(cat: &str, tag: &str) -> Source {
        Source {
            cat: cat.into(),
            tag: tag.into(),
        }
    }
}

/// One thing for the writer to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogEvent {
    /// A line a container wrote, without its newline.
    Line { source: Source, text: String },
    /// A change in what is being followed, such as a replaced pod; printed in the stream.
    Marker { cat: Arc<str>, text: String },
    /// A remark about one source that is not a failure of the whole command (stderr).
    Note { text: String },
}

/// The tag of a pod: its name for a StatefulSet's pod (`dd-0`), `cat/<suffix>` for a
/// Deployment's (`coco-5d8f7c9b4-7f9c2` → `coco/7f9c2`), plus `/container` when the pod has
/// more than one container.
pub fn pod_tag(cat: &str, pod_name: &str, of_replica_set: bool, container: Option<&str>) -> String {
    let mut tag = match pod_name.rsplit_once('-') {
        Some((_, suffix)) if of_replica_set => format!("{cat}/{suffix}"),
        _ => pod_name.to_string(),
    };
    if let Some(container) = container {
        tag.push('/');
        tag.push_str(container);
    }
    tag
}

/// The width tags are padded to so that lines start in one column: the widest tag the cats'
/// pods will have (`dd-0`, or `coco/7f9c2` for cats with several copies).
pub fn tag_width<'a>(cats: impl IntoIterator<Item = (&'a str, bool)>) -> usize {
    cats.into_iter()
        .map(|(name, several_copies)| name.len() + if several_copies { 6 } else { 2 })
        .max()
        .unwrap_or(0)
}

/// Cuts a byte stream into lines. Chunks may end anywhere (mid-line, mid-character); a line is
/// only given out once its newline has arrived, or at the end.
#[derive(Debug, Default)]
pub struct LineSplitter {
    partial: Vec<u8>,
}

impl LineSplitter {
    /// The complete lines in `partial + chunk`, without their `\n` (or `\r\n`).
    pub fn push(&mut self, chunk: &[u8]) -> Vec<String> {
        let mut lines = Vec::new();
        let mut rest = chunk;
        while let Some(end) = rest.iter().position(|&b| b == b'\n') {
            self.partial.extend_from_slice(&rest[..end]);
            lines.push(take_line(&mut self.partial));
            rest = &rest[end + 1..];
        }
        self.partial.extend_from_slice(rest);
        lines
    }

    /// What is left after the last newline, when the stream has ended.
    pub fn finish(&mut self) -> Option<String> {
        (!self.partial.is_empty()).then(|| take_line(&mut self.partial))
    }
}

/// `bytes` as a line of text (lossy UTF-8, no trailing `\r`), leaving `bytes` empty.
pub fn take_line(bytes: &mut Vec<u8>) -> String {
    if bytes.last() == Some(&b'\r') {
        bytes.pop();
    }
    let line = String::from_utf8_lossy(bytes).into_owned();
    bytes.clear();
    line
}

/// Lines that a source stamped with the time they were written (`2025-01-31T10:00:00.123Z text`,
/// as Kubernetes and Docker do when asked): keeps the stamp only when the user asked for it,
/// remembers the last one so that a dropped stream can resume there, and drops lines at or
/// before a resume point.
#[derive(Debug, Default)]
pub struct Stamped {
    keep: bool,
    skip_until: Option<jiff::Timestamp>,
    newest: Option<jiff::Timestamp>,
}

impl Stamped {
    pub fn new(keep: bool, skip_until: Option<jiff::Timestamp>) -> Stamped {
        Stamped {
            keep,
            skip_until,
            newest: None,
        }
    }

    /// The text to print for a stamped `line`, or `None` when it was printed before. Every line
    /// stamped at or before `skip_until` is skipped, not only the first ones: stdout and stderr
    /// arrive interleaved, so an older line may follow a newer one.
    pub fn line(&mut self, line: String) -> Option<String> {
        let (stamp, text) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        let time = stamp.parse::<jiff::Timestamp>().ok();
        if let (Some(cut), Some(time)) = (self.skip_until, time)
            && time <= cut
        {
            return None;
        }
        if let Some(time) = time {
            self.newest = Some(self.newest.map_or(time, |newest| newest.max(time)));
        }
        if self.keep {
            Some(line)
        } else {
            Some(text.to_string())
        }
    }

    /// The newest stamp given out (where a resumed read starts), if any line had one.
    pub fn last(&self) -> Option<jiff::Timestamp> {
        self.newest.or(self.skip_until)
    }
}

/// How the printing of a stream ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Every source is done.
    Done,
    /// Nobody reads stdout any more (e.g. `| head` has exited); the sources must stop.
    Closed,
}

/// Prints events as they arrive, each line whole and flushed, until every sender is gone or
/// stdout is closed. The one place lines meet, so they never interleave mid-line.
pub async fn print(printer: &Printer, mut events: mpsc::Receiver<LogEvent>, width: usize) -> Ended {
    while let Some(event) = events.recv().await {
        match event {
            LogEvent::Note { text } => printer.note(&text),
            event => {
                if printer
                    .data_or_closed(&render(printer, &event, width))
                    .is_err()
                {
                    return Ended::Closed;
                }
            }
        }
    }
    Ended::Done
}

/// Collects the lines as items for `-o json`/`-o yaml` (which `-f` cannot have: the output
/// would never end); markers and notes go to stderr as they arrive.
pub async fn collect(
    printer: &Printer,
    mut events: mpsc::Receiver<LogEvent>,
) -> Vec<crate::output::LogItem> {
    let mut items = Vec::new();
    while let Some(event) = events.recv().await {
        match event {
            LogEvent::Line { source, text } => items.push(crate::output::LogItem {
                cat: source.cat.to_string(),
                source: source.tag.to_string(),
                line: text,
            }),
            LogEvent::Marker { cat, text } => printer.note(&format!("--- {cat}: {text}")),
            LogEvent::Note { text } => printer.note(&text),
        }
    }
    items
}

/// One event as the text written to stdout.
fn render(printer: &Printer, event: &LogEvent, width: usize) -> String {
    match event {
        LogEvent::Line { source, text } => {
            let tag = printer.paint_stdout(
                &format!("{:<width$}", source.tag),
                Color::of_cat(&source.cat),
            );
            format!("{tag} {text}\n")
        }
        LogEvent::Marker { cat, text } => {
            let mark = printer.paint_stdout(&format!("--- {cat}:"), Color::of_cat(cat));
            format!("{mark} {}\n", printer.paint_stdout(text, Color::Dim))
        }
        LogEvent::Note { text } => format!("{text}\n"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::printer::{ColorMode, Format, Verbosity};

    #[test]
    fn tags() {
        assert_eq!(pod_tag("dd", "dd-0", false, None), "dd-0");
        assert_eq!(
            pod_tag("coco", "coco-5d8f7c9b4-7f9c2", true, None),
            "coco/7f9c2"
        );
        assert_eq!(pod_tag("dd", "dd-0", false, Some("side")), "dd-0/side");
        assert_eq!(tag_width([("dd", false), ("coco", true)]), 10);
    }

    #[test]
    fn lines_are_only_given_out_whole() {
        let mut splitter = LineSplitter::default();
        assert_eq!(splitter.push(b"one\ntw"), vec!["one"]);
        assert_eq!(splitter.push(b"o\r\n\xc3"), vec!["two"]);
        assert_eq!(splitter.push(b"\xa9t\n"), vec!["ét"]);
        assert_eq!(splitter.push(b"last"), Vec::<String>::new());
        assert_eq!(splitter.finish().as_deref(), Some("last"));
        assert_eq!(splitter.finish(), None);
    }

    #[test]
    fn stamps_are_dropped_unless_asked_and_resume_skips_what_was_sent() {
        let mut plain = Stamped::new(false, None);
        assert_eq!(
            plain
                .line("2025-01-31T10:00:00.5Z hello world".into())
                .as_deref(),
            Some("hello world")
        );
        assert_eq!(plain.last(), "2025-01-31T10:00:00.5Z".parse().ok());
        let mut resumed = Stamped::new(true, plain.last());
        assert_eq!(
            resumed.line("2025-01-31T10:00:00.5Z hello world".into()),
            None
        );
        assert_eq!(
            resumed.line("2025-01-31T10:00:01Z next".into()).as_deref(),
            Some("2025-01-31T10:00:01Z next")
        );
        // stderr's older line after stdout's newer one was sent before: still skipped.
        assert_eq!(resumed.line("2025-01-31T10:00:00Z late".into()), None);
        assert_eq!(resumed.last(), "2025-01-31T10:00:01Z".parse().ok());
    }

    #[test]
    fn the_resume_point_is_the_newest_line_not_the_last_one() {
        let mut stamped = Stamped::new(false, None);
        stamped.line("2025-01-31T10:00:03Z three (stdout)".into());
        stamped.line("2025-01-31T10:00:02Z two (stderr, delivered late)".into());
        assert_eq!(stamped.last(), "2025-01-31T10:00:03Z".parse().ok());
        let mut resumed = Stamped::new(false, stamped.last());
        assert_eq!(
            resumed.line("2025-01-31T10:00:03Z three (stdout)".into()),
            None
        );
        assert_eq!(
            resumed.last(),
            stamped.last(),
            "nothing new: same resume point"
        );
    }

    #[test]
    fn lines_are_padded_and_coloured_per_cat() {
        let plain = Printer::new(Format::Table, Verbosity::Normal, ColorMode::Never);
        let line = LogEvent::Line {
            source: Source::new("dd", "dd-0"),
            text: "hello".into(),
        };
        assert_eq!(render(&plain, &line, 10), "dd-0       hello\n");
        let marker = LogEvent::Marker {
            cat: "dd".into(),
            text: "dd-0 replaced by new pod dd-0".into(),
        };
        assert_eq!(
            render(&plain, &marker, 10),
            "--- dd: dd-0 replaced by new pod dd-0\n"
        );
        let coloured = Printer::new(Format::Table, Verbosity::Normal, ColorMode::Always);
        let text = render(&coloured, &line, 4);
        assert!(text.starts_with("\x1b["), "{text:?}");
        assert!(text.ends_with("dd-0\x1b[0m hello\n"), "{text:?}");
    }
}
