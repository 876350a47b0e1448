//! Progress of work done per cat: on a terminal one live indicatif line per cat; otherwise a
//! plain status line when each cat finishes (and its steps with `-v`).

use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::printer::{Color, Printer};

/// The lines of one command's cats.
pub struct Progress {
    multi: Option<MultiProgress>,
    printer: Printer,
    width: usize,
}

impl Progress {
    /// Live lines only when the printer allows progress; `cats` sets the name column's width.
    pub fn new(printer: &Printer, cats: &[String]) -> Progress {
        let multi = printer
            .shows_progress()
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Progress {
            multi,
            printer: printer.clone(),
            width: cats.iter().map(String::len).max().unwrap_or(0),
        }
    }

    /// The line of one cat, starting with `message` (e.g. "waiting").
    pub fn line(&self, cat: &str, message: &str) -> CatLine {
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
#[derive(Clone)]
pub struct CatLine {
    bar: Option<ProgressBar>,
    printer: Printer,
    cat: String,
}

impl CatLine {
    /// What the cat is doing now (a build step, a push status).
    pub fn set(&self, message: &str) {
        match &self.bar {
            Some(bar) => bar.set_message(message.to_string()),
            None => self.printer.detail(&format!("{}: {message}", self.cat)),
        }
    }

    /// The cat is done: `verb` (e.g. "Built") and what it produced.
    pub fn done(&self, verb: &str, message: &str) {
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
    pub fn failed(&self, summary: &str) {
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
