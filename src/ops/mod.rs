//! The work of each command, under thin pages in `commands/`: typed options in, typed results
//! out, progress through [`Reporter`]. Nothing here knows clap or prints.

pub mod build;
pub mod delete;
pub mod deploy;
pub mod diff;
pub mod doctor;
pub mod history;
pub mod init;
pub mod platform;
pub mod push;
pub mod schedule;
pub mod secrets;
pub mod sleep;
pub mod status;
pub mod up;
pub mod verify;

use std::future::Future;
use std::time::{Duration, Instant};

use futures::StreamExt as _;

use crate::farm::Cat;
use crate::progress::Reporter;

/// One cat's outcome of a per-cat operation, with the time it took.
pub struct CatResult<'a, T> {
    pub cat: &'a Cat,
    pub result: anyhow::Result<T>,
    pub elapsed: Duration,
}

/// Runs `work` for every cat, `concurrency` at once, keeping the cats' order; one cat's failure
/// does not stop the others and is reported (its first line) to `reporter`.
pub async fn each_cat<'a, T, F, Fut>(
    cats: &'a [Cat],
    concurrency: usize,
    reporter: &dyn Reporter,
    work: F,
) -> Vec<CatResult<'a, T>>
where
    F: Fn(&'a Cat) -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    futures::stream::iter(cats.iter().map(|cat| {
        let work = work(cat);
        async move {
            let start = Instant::now();
            let result = work.await;
            if let Err(err) = &result {
                reporter.failed(&cat.name, &format!("failed: {}", first_line(err)));
            }
            CatResult {
                cat,
                result,
                elapsed: start.elapsed(),
            }
        }
    }))
    .buffered(concurrency.max(1))
    .collect()
    .await
}

/// The first line of an error with its causes.
pub fn first_line(err: &anyhow::Error) -> String {
    let text = format!("{err:#}");
    text.lines().next().unwrap_or_default().to_string()
}
