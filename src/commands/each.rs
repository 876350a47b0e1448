//! What the per-cat commands share: running one future per cat, at most `concurrency` at a
//! time, keeping the cats' order; and reporting the ones that failed.

use std::future::Future;
use std::time::Duration;

use futures::StreamExt as _;

use crate::commands::ExitStatus;
use crate::farm::Cat;
use crate::printer::Printer;

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
