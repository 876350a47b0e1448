//! Building one image: the context is written as a tar into a channel by a blocking task and
//! streamed to the daemon as the request body (nothing is copied to disk); the build runs on
//! BuildKit (with a session, as `docker build` does) or, on a daemon without it, on the legacy
//! builder. Its progress is followed step by step so a failure can show the failing step and
//! what it printed.

use std::collections::{HashMap, VecDeque};
use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Result, anyhow};
use bollard::moby::buildkit::v1::StatusResponse;
use bollard::models::{BuildInfoAux, ImageId};
use bollard::query_parameters::{BuildImageOptionsBuilder, BuilderVersion};
use bytes::Bytes;
use futures::StreamExt as _;
use tokio::sync::mpsc;

use super::{Daemon, daemon_message};
use crate::build_context::overlay::{Entry, EntryKind};
use crate::image::{Digest, ImageRef, Platform};

/// What a build asks for.
#[derive(Debug, Clone)]
pub struct BuildSpec {
    /// `<registry>/<cat>:<version>`.
    pub tag: ImageRef,
    pub labels: HashMap<String, String>,
    /// `--build-arg`s.
    pub args: HashMap<String, String>,
    pub no_cache: bool,
    /// The platform to build for (`None`: the daemon's own).
    pub platform: Option<Platform>,
    /// The network of `RUN` steps (`None`: the daemon's default, its bridge).
    pub network: Option<String>,
}

/// Lines kept from a failing step's output (the last ones).
const FAILED_STEP_LINES: usize = 40;

/// Builds `entries` as `spec.tag`; `on_step` hears each step as it starts (`[2/5] COPY …` on
/// BuildKit, `Step N/M : …` on the legacy builder). Returns the image id. A failed build's
/// error names the failing step and carries its output.
pub async fn build(
    daemon: &Daemon,
    entries: Vec<Entry>,
    spec: &BuildSpec,
    on_step: impl Fn(&str),
) -> Result<Digest> {
    let tag = spec.tag.tagged();
    let platform = spec.platform.as_ref().map(Platform::to_string);
    let mut options = BuildImageOptionsBuilder::default()
        .dockerfile("Dockerfile")
        .t(&tag)
        .rm(true)
        .forcerm(true)
        .nocache(spec.no_cache)
        .labels(&spec.labels)
        .buildargs(&spec.args);
    if let Some(platform) = &platform {
        options = options.platform(platform);
    }
    if let Some(network) = &spec.network {
        options = options.networkmode(network);
    }
    options = match daemon.buildkit {
        true => options
            .version(BuilderVersion::BuilderBuildKit)
            .session(&session_id()),
        false => options.version(BuilderVersion::BuilderV1),
    };
    let (body, writer) = tar_stream(entries);
    let mut stream =
        daemon
            .docker
            .build_image(options.build(), None, Some(bollard::body_try_stream(body)));
    let mut steps = Steps::default();
    let mut image_id = None;
    while let Some(item) = stream.next().await {
        match item {
            Ok(info) => {
                if let Some(text) = info.stream {
                    steps.legacy_output(&text, &on_step);
                }
                match info.aux {
                    Some(BuildInfoAux::Default(ImageId { id: Some(id) })) => image_id = Some(id),
                    Some(BuildInfoAux::BuildKit(status)) => steps.buildkit_status(status, &on_step),
                    _ => {}
                }
            }
            Err(err) => {
                // A context that could not be written (an unreadable file) explains more than
                // the daemon's view of a cut-off upload.
                if let Ok(Err(write_err)) = writer.await {
                    return Err(write_err);
                }
                return Err(steps.failed(&daemon_message(&err)));
            }
        }
    }
    writer
        .await
        .map_err(|err| anyhow!("the build context writer stopped: {err}"))??;
    match image_id {
        Some(id) => Digest::parse(&id),
        None => match daemon.local_image(&spec.tag).await? {
            Some(image) => Ok(image.id),
            None => Err(anyhow!(
                "the daemon finished building {} without an image",
                spec.tag
            )),
        },
    }
}

/// The network `RUN` steps get: the daemon's default when it has a `bridge` network, else
/// `none` (BuildKit refuses to run a step on a daemon started with `--bridge=none`, where the
/// legacy builder ran it without a network).
pub async fn run_network(daemon: &Daemon) -> Result<Option<String>> {
    match daemon
        .docker
        .inspect_network(
            "bridge",
            None::<bollard::query_parameters::InspectNetworkOptions>,
        )
        .await
    {
        Ok(_) => Ok(None),
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(Some("none".to_string())),
        Err(err) => Err(anyhow!(
            "asking the Docker daemon at {} for its bridge network: {}",
            daemon.host,
            daemon_message(&err)
        )),
    }
}

/// A BuildKit session id, unique per build (as `docker build` makes one per run).
fn session_id() -> String {
    static BUILDS: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "catctl-{}-{nanos}-{}",
        std::process::id(),
        BUILDS.fetch_add(1, Ordering::Relaxed)
    )
}

/// The steps of one build as the daemon reports them: the legacy builder's `Step N/M` lines
/// with the output that follows each, or BuildKit's vertices with their logs and errors.
#[derive(Default)]
struct Steps {
    /// The legacy builder's current step and its output.
    step: String,
    output: VecDeque<String>,
    /// BuildKit's vertices by digest.
    vertices: HashMap<String, Vertex>,
}

#[derive(Default)]
struct Vertex {
    name: String,
    started: bool,
    error: String,
    log: VecDeque<String>,
}

impl Steps {
    fn legacy_output(&mut self, text: &str, on_step: &impl Fn(&str)) {
        // The daemon paints a step's stderr red.
        let text = console::strip_ansi_codes(text);
        for line in text.lines().map(str::trim_end).filter(|l| !l.is_empty()) {
            if line.starts_with("Step ") {
                self.step = line.to_string();
                self.output.clear();
                on_step(line);
            } else {
                keep_last(&mut self.output, line);
            }
        }
    }

    fn buildkit_status(&mut self, status: StatusResponse, on_step: &impl Fn(&str)) {
        for vertex in status.vertexes {
            let known = self.vertices.entry(vertex.digest).or_default();
            known.name = vertex.name;
            if !vertex.error.is_empty() {
                known.error = vertex.error;
            }
            if vertex.started.is_some() && vertex.completed.is_none() && !known.started {
                known.started = true;
                on_step(&known.name);
            }
        }
        for log in status.logs {
            let vertex = self.vertices.entry(log.vertex).or_default();
            let text = String::from_utf8_lossy(&log.msg);
            let text = console::strip_ansi_codes(&text);
            for line in text.lines().map(str::trim_end).filter(|l| !l.is_empty()) {
                keep_last(&mut vertex.log, line);
            }
        }
    }

    /// The build's error: the failing step (BuildKit's vertex with an error, else the legacy
    /// builder's last step), its output, and the daemon's message.
    fn failed(&self, message: &str) -> anyhow::Error {
        if let Some(vertex) = self.vertices.values().find(|v| !v.error.is_empty()) {
            return failed_step(&vertex.name, &vertex.log, message);
        }
        failed_step(&self.step, &self.output, message)
    }
}

fn keep_last(lines: &mut VecDeque<String>, line: &str) {
    if lines.len() == FAILED_STEP_LINES {
        lines.pop_front();
    }
    lines.push_back(line.to_string());
}

fn failed_step(step: &str, output: &VecDeque<String>, message: &str) -> anyhow::Error {
    let mut text = String::new();
    if step.is_empty() {
        text.push_str(&format!("the build failed: {message}"));
    } else {
        text.push_str(&format!("the build failed at {step}"));
        let shown: Vec<&String> = output
            .iter()
            .filter(|line| {
                !line.starts_with(" ---> ") && !line.starts_with("Removing intermediate container")
            })
            .collect();
        if !shown.is_empty() {
            text.push_str("\n  output of the step:");
            for line in shown {
                text.push_str(&format!("\n  | {line}"));
            }
        }
        text.push_str(&format!("\n  {message}"));
    }
    anyhow!(text)
}

type Chunk = Result<Bytes, io::Error>;

/// The tar of `entries` as a stream of chunks, written by a blocking task; the task's handle
/// says whether every file could be read.
fn tar_stream(
    entries: Vec<Entry>,
) -> (
    impl futures::Stream<Item = Chunk> + Send + 'static,
    tokio::task::JoinHandle<Result<()>>,
) {
    let (tx, rx) = mpsc::channel::<Chunk>(8);
    let writer = tokio::task::spawn_blocking(move || {
        let result = write_tar(&entries, ChannelWriter::new(tx.clone()));
        if let Err(err) = &result {
            let _ = tx.blocking_send(Err(io::Error::other(format!("{err:#}"))));
        }
        result
    });
    let body = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    (body, writer)
}

fn write_tar(entries: &[Entry], out: ChannelWriter) -> Result<()> {
    use anyhow::Context as _;
    let mut tar = tar::Builder::new(out);
    tar.mode(tar::HeaderMode::Deterministic);
    for entry in entries {
        let mut header = tar::Header::new_gnu();
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(mtime(&entry.source));
        match &entry.kind {
            EntryKind::Dir => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(0o755);
                header.set_size(0);
                tar.append_data(&mut header, &entry.path, io::empty())
            }
            EntryKind::File { mode } => {
                let file = std::fs::File::open(&entry.source)
                    .with_context(|| format!("cannot read {}", entry.source.display()))?;
                let len = file
                    .metadata()
                    .with_context(|| format!("cannot read {}", entry.source.display()))?
                    .len();
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(*mode);
                header.set_size(len);
                tar.append_data(&mut header, &entry.path, file)
            }
            EntryKind::Symlink { target } => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_mode(0o777);
                header.set_size(0);
                tar.append_link(&mut header, &entry.path, target)
            }
        }
        .with_context(|| format!("adding {} to the build context", entry.source.display()))?;
    }
    let mut out = tar.into_inner().context("finishing the build context")?;
    out.flush().context("sending the build context")?;
    Ok(())
}

/// The file's modification time in seconds (kept as docker keeps it; the source digest and the
/// build cache ignore it).
fn mtime(path: &std::path::Path) -> u64 {
    std::fs::symlink_metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs())
}

/// Buffers writes into 64 KiB chunks sent down a channel.
struct ChannelWriter {
    tx: mpsc::Sender<Chunk>,
    buffer: Vec<u8>,
}

const CHUNK: usize = 64 * 1024;

impl ChannelWriter {
    fn new(tx: mpsc::Sender<Chunk>) -> ChannelWriter {
        ChannelWriter {
            tx,
            buffer: Vec::with_capacity(CHUNK),
        }
    }

    fn send(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buffer,
            Vec::with_capacity(CHUNK),
        ));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the daemon stopped reading"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(data);
        if self.buffer.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_streamed_tar_holds_the_context() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        std::fs::create_dir_all(root.join("t/src")).unwrap();
        std::fs::write(root.join("t/Dockerfile"), "FROM scratch\n").unwrap();
        std::fs::write(root.join("t/src/big.bin"), vec![7u8; 200_000]).unwrap();
        std::fs::create_dir_all(root.join("c")).unwrap();
        let entries =
            crate::build_context::overlay::build_context(&root.join("t"), &root.join("c")).unwrap();
        let (body, writer) = tar_stream(entries);
        let chunks: Vec<Bytes> = body.map(|c| c.unwrap()).collect().await;
        writer.await.unwrap().unwrap();
        assert!(chunks.len() > 1, "streamed in several chunks");
        let bytes: Vec<u8> = chunks.concat();
        let mut archive = tar::Archive::new(&bytes[..]);
        let mut seen = Vec::new();
        for entry in archive.entries().unwrap() {
            let entry = entry.unwrap();
            seen.push((
                entry.path().unwrap().to_string_lossy().into_owned(),
                entry.header().size().unwrap(),
            ));
        }
        assert_eq!(
            seen,
            [
                ("Dockerfile".to_string(), 13),
                ("src".to_string(), 0),
                ("src/big.bin".to_string(), 200_000)
            ]
        );
    }

    #[test]
    fn a_failed_step_shows_its_output() {
        let err = failed_step(
            "Step 3/3 : RUN make",
            &[" ---> Running in abc".into(), "boom".into()].into(),
            "The command '/bin/sh -c make' returned a non-zero code: 2",
        );
        let text = err.to_string();
        assert!(text.contains("failed at Step 3/3 : RUN make"), "{text}");
        assert!(text.contains("| boom"), "{text}");
        assert!(!text.contains("Running in"), "{text}");
        assert!(text.contains("non-zero code: 2"), "{text}");
        assert_eq!(
            console::strip_ansi_codes("\x1b[91moh no\n\x1b[0m"),
            "oh no\n"
        );
    }
}
