//! The logs of the cats' containers on the local Docker daemon — `catctl up` names them
//! `catctl-<cat>` — as [`LogEvent`]s. Followed, a cat's container that stops and starts again
//! (or is replaced by the next `catctl up`) is picked up from the daemon's event stream.

use std::collections::HashMap;
use std::pin::pin;
use std::time::Duration;

use anyhow::{Result, anyhow};
use bollard::Docker;
use bollard::query_parameters::{EventsOptionsBuilder, LogsOptionsBuilder};
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::docker::containers::container_name;
use crate::logs::{LineSplitter, LogEvent, LogOptions, Source, Stamped};

/// Sends the logs of each cat's local container to `events`: once, or followed until
/// `events` is closed. Returns how many of the cats have a container.
pub async fn stream(
    docker: &Docker,
    cats: &[String],
    options: &LogOptions,
    events: mpsc::Sender<LogEvent>,
) -> Result<usize> {
    let mut running = 0;
    for cat in cats {
        match docker.inspect_container(&container_name(cat), None).await {
            Ok(_) => running += 1,
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => {
                let text = format!(
                    "{cat} is not running locally (no container {}) — start it with `catctl up \
                     {cat}`{}",
                    container_name(cat),
                    if options.follow {
                        "; waiting for it"
                    } else {
                        ""
                    }
                );
                if events.send(LogEvent::Note { text }).await.is_err() {
                    return Ok(running);
                }
            }
            Err(err) => {
                return Err(anyhow!(err).context(format!(
                    "cannot inspect the container {}",
                    container_name(cat)
                )));
            }
        }
    }
    if !options.follow {
        for cat in cats {
            let source = Source::new(cat, cat);
            let name = container_name(cat);
            if read(docker, &name, &source, options, None, &events)
                .await
                .is_err()
            {
                break;
            }
        }
        return Ok(running);
    }
    let mut followers = JoinSet::new();
    for cat in cats {
        followers.spawn(follow(
            docker.clone(),
            cat.clone(),
            options.clone(),
            events.clone(),
        ));
    }
    while followers.join_next().await.is_some() {}
    Ok(running)
}

/// The receiver is gone: stop.
struct Closed;

/// Sends the container's log (from `resume`, else as `options` say) as lines; returns the
/// stamp of the last line.
async fn read(
    docker: &Docker,
    container: &str,
    source: &Source,
    options: &LogOptions,
    resume: Option<jiff::Timestamp>,
    events: &mpsc::Sender<LogEvent>,
) -> Result<Option<jiff::Timestamp>, Closed> {
    let mut builder = LogsOptionsBuilder::new()
        .stdout(true)
        .stderr(true)
        .follow(options.follow)
        .timestamps(true);
    if let Some(resume) = resume {
        builder = builder.since(unix_seconds(resume));
    } else {
        if let Some(since) = options.since {
            let since =
                jiff::Timestamp::now() - jiff::SignedDuration::try_from(since).unwrap_or_default();
            builder = builder.since(unix_seconds(since));
        }
        if let Some(tail) = options.tail {
            builder = builder.tail(&tail.to_string());
        }
    }
    let mut stamped = Stamped::new(options.timestamps, resume);
    let mut splitters: HashMap<bool, LineSplitter> = HashMap::new();
    let mut output = pin!(docker.logs(container, Some(builder.build())));
    while let Some(chunk) = output.next().await {
        let Ok(chunk) = chunk else { break };
        let is_stderr = matches!(chunk, bollard::container::LogOutput::StdErr { .. });
        let lines = splitters.entry(is_stderr).or_default().push(chunk.as_ref());
        send(lines, &mut stamped, source, events).await?;
    }
    for splitter in splitters.values_mut() {
        send(splitter.finish(), &mut stamped, source, events).await?;
    }
    Ok(stamped.last())
}

async fn send(
    lines: impl IntoIterator<Item = String>,
    stamped: &mut Stamped,
    source: &Source,
    events: &mpsc::Sender<LogEvent>,
) -> Result<(), Closed> {
    for line in lines {
        if let Some(text) = stamped.line(line) {
            let event = LogEvent::Line {
                source: source.clone(),
                text,
            };
            events.send(event).await.map_err(|_| Closed)?;
        }
    }
    Ok(())
}

fn unix_seconds(time: jiff::Timestamp) -> i32 {
    i32::try_from(time.as_second()).unwrap_or(i32::MAX)
}

/// Follows one cat's container: reads it while it runs, then waits for the daemon to start a
/// container of that name again (a restart, or the next `catctl up`), and reads on.
async fn follow(docker: Docker, cat: String, options: LogOptions, events: mpsc::Sender<LogEvent>) {
    let name = container_name(&cat);
    let source = Source::new(&cat, &cat);
    let mut resume = None;
    let mut seen: Option<(String, String)> = None;
    let mut since = jiff::Timestamp::now();
    loop {
        if let Ok(info) = docker.inspect_container(&name, None).await {
            let id = info.id.unwrap_or_default();
            let started_at = info.state.and_then(|s| s.started_at).unwrap_or_default();
            let run = (id, started_at);
            if seen.as_ref() != Some(&run) {
                if let Some((old_id, _)) = &seen {
                    let text = if *old_id == run.0 {
                        format!("container {name} restarted")
                    } else {
                        format!("new container {name}")
                    };
                    let marker = LogEvent::Marker {
                        cat: source.cat.clone(),
                        text,
                    };
                    if events.send(marker).await.is_err() {
                        return;
                    }
                }
                if let Ok(started) = run.1.parse::<jiff::Timestamp>()
                    && started.as_second() > 0
                {
                    since = started;
                }
                seen = Some(run);
                match read(&docker, &name, &source, &options, resume, &events).await {
                    Ok(Some(last)) => resume = Some(last),
                    Ok(None) => {}
                    Err(Closed) => return,
                }
            }
        }
        if !wait_for_start(&docker, &name, since, &events).await {
            return;
        }
        since = jiff::Timestamp::now();
    }
}

/// Waits until the daemon starts a container named `name` after `since` (past events count,
/// so a start between two looks is not missed). False when the events' receiver is gone.
async fn wait_for_start(
    docker: &Docker,
    name: &str,
    since: jiff::Timestamp,
    events: &mpsc::Sender<LogEvent>,
) -> bool {
    let after = since + jiff::SignedDuration::from_micros(1);
    let filters = HashMap::from([
        ("type", vec!["container"]),
        ("container", vec![name]),
        ("event", vec!["start"]),
    ]);
    let options = EventsOptionsBuilder::new()
        .since(&format!(
            "{}.{:09}",
            after.as_second(),
            after.subsec_nanosecond()
        ))
        .filters(&filters)
        .build();
    let mut started = pin!(docker.events(Some(options)));
    tokio::select! {
        event = started.next() => {
            if !matches!(event, Some(Ok(_))) {
                // The daemon went away or the stream broke: look again after a pause.
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            true
        }
        () = events.closed() => false,
    }
}
