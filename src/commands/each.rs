//! What the per-cat commands share: running one future per cat, at most `concurrency` at a
//! time, keeping the cats' order, each with its progress line; and reporting the ones that
//! failed.

use std::future::Future;
use std::time::{Duration, Instant};

use futures::StreamExt as _;

use crate::commands::ExitStatus;
use crate::farm::Cat;
use crate::printer::Printer;
use crate::progress::{CatLine, Progress};

/// Runs `work` for every cat, `concurrency` at once; one cat's failure does not stop the others.
pub async fn each<'a, T, F, Fut>(cats: &'a [Cat], concurrency: usize, work: F) -> Vec<T>
where
    F: Fn(&'a Cat) -> Fut,
    Fut: Future<Output = T>,
{
    futures::stream::iter(cats.iter().map(work))
        .buffered(concurrency.max(1))
        .collect()
        .await
}

/// [`each`] with a progress line per cat (live on a terminal) and the time each took; a failed
/// cat's line ends with the first line of its error. The lines are finished when this returns.
pub async fn each_with_progress<'a, T, F, Fut>(
    printer: &Printer,
    cats: &'a [Cat],
    concurrency: usize,
    work: F,
) -> Vec<(&'a Cat, anyhow::Result<T>, Duration)>
where
    F: Fn(&'a Cat, CatLine) -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    let progress = Progress::new(printer, &names(cats));
    each(cats, concurrency, |cat| {
        let line = progress.line(&cat.name, "waiting");
        let work = work(cat, line.clone());
        async move {
            let start = Instant::now();
            let result = work.await;
            if let Err(err) = &result {
                line.failed(&format!("failed: {}", first_line(err)));
            }
            (cat, result, start.elapsed())
        }
    })
    .await
}

/// The first line of an error with its causes.
pub fn first_line(err: &anyhow::Error) -> String {
    let text = format!("{err:#}");
    text.lines().next().unwrap_or_default().to_string()
}

/// Prints each failure (with its causes) once the progress lines are done; the exit status
/// says whether every cat succeeded.
pub fn report<T>(printer: &Printer, results: &[(String, anyhow::Result<T>)]) -> ExitStatus {
    let mut status = ExitStatus::Success;
    for (_, result) in results {
        if let Err(err) = result {
            printer.error(err);
            status = ExitStatus::Failure;
        }
    }
    status
}

/// `1.2s`, as the summary tables show times.
pub fn seconds(elapsed: Duration) -> String {
    format!("{:.1}s", elapsed.as_secs_f64())
}

/// The names of `cats`, for progress widths.
pub fn names(cats: &[Cat]) -> Vec<String> {
    cats.iter().map(|c| c.name.clone()).collect()
}
