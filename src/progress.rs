//! Progress of work done per cat. The ops layer reports through the [`Reporter`] trait; the
//! one implementation, [`Progress`], draws one live indicatif line per cat on a terminal, and
//! otherwise prints a plain status line when each cat finishes (and its steps with `-v`).

use std::collections::HashMap;

use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::printer::{Color, Printer};

/// What the ops layer says about each cat's work as it goes; it never prints itself.
pub trait Reporter: Sync {
    /// What `cat` is doing now (a build step, a push status, a rollout state).
    fn step(&self, cat: &str, message: &str);
    /// `cat` is done: `verb` (e.g. "Built") and what it produced.
    fn done(&self, cat: &str, verb: &str, message: &str);
    /// `cat` failed; `summary` is the first line of why (the command prints the rest).
    fn failed(&self, cat: &str, summary: &str);
    /// Something about `cat` the user should see even without a live line (e.g. waiting for
    /// another deploy).
    fn note(&self, cat: &str, message: &str);
}

/// A reporter that says nothing.
pub struct Silent;

impl Reporter for Silent {
    fn step(&self, _: &str, _: &str) {}
    fn done(&self, _: &str, _: &str, _: &str) {}
    fn failed(&self, _: &str, _: &str) {}
    fn note(&self, _: &str, _: &str) {}
}

/// The lines of one command's cats.
pub struct Progress {
    multi: Option<MultiProgress>,
    printer: Printer,
    width: usize,
    lines: HashMap<String, CatLine>,
}

impl Reporter for Progress {
    fn step(&self, cat: &str, message: &str) {
        if let Some(line) = self.lines.get(cat) {
            line.set(message);
        }
    }

    fn done(&self, cat: &str, verb: &str, message: &str) {
        if let Some(line) = self.lines.get(cat) {
            line.done(verb, message);
        }
    }

    fn failed(&self, cat: &str, summary: &str) {
        if let Some(line) = self.lines.get(cat) {
            line.failed(summary);
        }
    }

    fn note(&self, cat: &str, message: &str) {
        let text = format!("{cat}: {message}");
        match &self.multi {
            Some(multi) => {
                let _ = multi.println(text);
            }
            None => self.printer.note(&text),
        }
    }
}

impl Progress {
    /// One line per cat, each "waiting"; live only when the printer allows progress.
    pub fn new(printer: &Printer, cats: &[String]) -> Progress {
        let multi = printer
            .shows_progress()
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        let mut progress = Progress {
            multi,
            printer: printer.clone(),
            width: cats.iter().map(String::len).max().unwrap_or(0),
            lines: HashMap::new(),
        };
        for cat in cats {
            let line = progress.line(cat, "waiting");
            progress.lines.insert(cat.clone(), line);
        }
        progress
    }

    /// The line of one cat, starting with `message` (e.g. "waiting").
    fn line(&self, cat: &str, message: &str) -> CatLine {
        let bar = self.multi.as_ref().map(|multi| {
            let bar = multi.add(ProgressBar::new_spinner());
            let style = ProgressStyle::with_template("{spinner:.cyan} {prefix:.bold} {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner());
            bar.set_style(style);
            bar.set_prefix(format!("{cat:<width$}", width = self.width));
            bar.set_message(message.to_string());
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        });
        CatLine {
            bar,
            printer: self.printer.clone(),
            cat: cat.to_string(),
        }
    }
}

/// One cat's line.
struct CatLine {
    bar: Option<ProgressBar>,
    printer: Printer,
    cat: String,
}

impl CatLine {
    /// What the cat is doing now (a build step, a push status).
    fn set(&self, message: &str) {
        match &self.bar {
            Some(bar) => bar.set_message(message.to_string()),
            None => self.printer.detail(&format!("{}: {message}", self.cat)),
        }
    }

    /// The cat is done: `verb` (e.g. "Built") and what it produced.
    fn done(&self, verb: &str, message: &str) {
        match &self.bar {
            Some(bar) => {
                let mark = self.printer.paint_stderr("✓", Color::Green);
                bar.set_style(finished_style(&mark));
                bar.finish_with_message(format!("{verb} {message}"));
            }
            None => self
                .printer
                .status(verb, &format!("{} {message}", self.cat)),
        }
    }

    /// The cat failed; the details are printed by the command once the lines are finished.
    fn failed(&self, summary: &str) {
        if let Some(bar) = &self.bar {
            let mark = self.printer.paint_stderr("✗", Color::Red);
            bar.set_style(finished_style(&mark));
            bar.finish_with_message(summary.to_string());
        }
    }
}

fn finished_style(mark: &str) -> ProgressStyle {
    let template = format!("{} {{prefix:.bold}} {{wide_msg}}", mark.replace('{', "{{"));
    ProgressStyle::with_template(&template).unwrap_or_else(|_| ProgressStyle::default_spinner())
}
