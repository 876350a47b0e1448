//! Fixtures: one builder for a throwaway farm ([`Farm`]) and one way to run the binary
//! ([`Catctl`] → [`Run`], or a [`Following`] child for commands that stream).
//!
//! ```ignore
//! let farm = Farm::new().with_services().with_cluster();
//! let cat = farm.new_cat("dd");
//! farm.run(["build", &cat]).ok();
//! let reports = farm.run(["deploy", &cat, "-o", "json"]).ok().items();
//! ```

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fmt;
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::cluster::Cluster;
use crate::services::{Services, services};

/// The repository root (where Cargo.toml is).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The binary under test (cargo builds it for integration tests).
pub fn catctl_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_catctl"))
}

/// The template of a farm `with_services`: a `FROM scratch` image holding a static busybox.
const BUSYBOX_DOCKERFILE: &str = "FROM scratch\nCOPY busybox /bin/busybox\nCOPY . /cat\n\
                                  CMD [\"/bin/busybox\", \"sleep\", \"3600\"]\n";

/// A farm in a temporary directory. `Farm::new()` holds the repository's `templates/` and a
/// `catctl.toml` (registry 127.0.0.1:5000, namespace default); the `with_*` and cat methods
/// add to it in any order.
pub struct Farm {
    dir: tempfile::TempDir,
    services: Option<&'static Services>,
    cluster: Option<Cluster>,
}

impl Farm {
    pub fn new() -> Farm {
        let dir = tempfile::tempdir().expect("temp dir");
        copy_tree(&repo().join("templates"), &dir.path().join("templates"));
        let farm = Farm {
            dir,
            services: None,
            cluster: None,
        };
        farm.write(
            "catctl.toml",
            "registry = \"127.0.0.1:5000\"\nnamespace = \"default\"\n",
        );
        farm
    }

    /// The real Docker daemon and registry of scripts/test-services.sh: catctl.toml points at
    /// the registry, and the only template is a busybox `FROM scratch` cat.
    pub fn with_services(mut self) -> Farm {
        let services = services();
        self.services = Some(services);
        self.write(
            "catctl.toml",
            &format!("registry = \"{}\"\nconcurrency = 4\n", services.registry),
        );
        fs::remove_dir_all(self.path().join("templates")).expect("remove templates/");
        fs::create_dir_all(self.path().join("templates/cat")).unwrap();
        fs::copy(&services.busybox, self.path().join("templates/cat/busybox")).unwrap();
        self.write("templates/cat/Dockerfile", BUSYBOX_DOCKERFILE);
        self.write("templates/cat/engine.txt", "the engine\n");
        self
    }

    /// A fake cluster of its own (tests/fake-kube); every run gets its kubeconfig.
    pub fn with_cluster(mut self) -> Farm {
        self.cluster = Some(Cluster::start());
        self
    }

    /// Cats with `version = "v1"` and nothing else.
    pub fn cats<'a>(self, names: impl IntoIterator<Item = &'a str>) -> Farm {
        names
            .into_iter()
            .fold(self, |farm, name| farm.cat(name, ""))
    }

    /// A cat whose cat.toml is `version = "v1"` followed by `extra`.
    pub fn cat(self, name: &str, extra: &str) -> Farm {
        self.write(
            &format!("cats/{name}/cat.toml"),
            &format!("version = \"v1\"\n{extra}"),
        );
        self
    }

    /// A cat's token directory `secret/<cat>-token/{bot-token,app-token}`, private.
    pub fn token(self, cat: &str, bot: &str, app: &str) -> Farm {
        self.write_token(cat, bot, app);
        self
    }

    pub fn write_token(&self, cat: &str, bot: &str, app: &str) {
        self.secret(&format!("{cat}-token/bot-token"), bot);
        self.secret(&format!("{cat}-token/app-token"), app);
    }

    /// Writes `secret/<relative>` and makes all of secret/ private (700 and 600).
    pub fn secret(&self, relative: &str, bytes: impl AsRef<[u8]>) {
        let path = self.path().join("secret").join(relative);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, bytes).unwrap();
        self.make_secrets_private();
    }

    /// chmod 700 on every directory and 600 on every file under secret/.
    pub fn make_secrets_private(&self) {
        for entry in walk(&self.path().join("secret")) {
            let mode = if entry.is_dir() { 0o700 } else { 0o600 };
            fs::set_permissions(&entry, fs::Permissions::from_mode(mode)).unwrap();
        }
    }

    /// A new cat (`version = "v1"`) whose name no other test, or earlier run, uses: the
    /// daemon and the registry are shared.
    pub fn new_cat(&self, hint: &str) -> String {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!(
            "{hint}-{}-{:x}{}",
            std::process::id(),
            nanos,
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        self.write(&format!("cats/{name}/cat.toml"), "version = \"v1\"\n");
        name
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, relative: &str, text: &str) {
        let path = self.path().join(relative);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    pub fn read(&self, relative: &str) -> String {
        fs::read_to_string(self.path().join(relative))
            .unwrap_or_else(|e| panic!("reading {relative}: {e}"))
    }

    pub fn remove(&self, relative: &str) {
        let path = self.path().join(relative);
        if path.is_dir() {
            fs::remove_dir_all(path).unwrap();
        } else {
            fs::remove_file(path).unwrap();
        }
    }

    /// The fake cluster (`with_cluster`).
    #[track_caller]
    pub fn cluster(&self) -> &Cluster {
        self.cluster
            .as_ref()
            .expect("the farm has no cluster: use Farm::with_cluster")
    }

    /// The Docker daemon and registry (`with_services`).
    #[track_caller]
    pub fn services(&self) -> &'static Services {
        self.services
            .expect("the farm has no services: use Farm::with_services")
    }

    pub fn registry(&self) -> &str {
        &self.services().registry
    }

    pub fn image(&self, cat: &str, version: &str) -> String {
        format!("{}/{cat}:{version}", self.registry())
    }

    /// The digest the registry serves for the cat's tag, asked with curl.
    pub fn registry_digest(&self, cat: &str, tag: &str) -> Option<String> {
        let output = Command::new("curl")
            .args([
                "-sS",
                "-I",
                "-H",
                "Accept: application/vnd.docker.distribution.manifest.v2+json",
                &format!("http://{}/v2/{cat}/manifests/{tag}", self.registry()),
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .find_map(|line| {
                let (key, value) = line.split_once(':')?;
                key.eq_ignore_ascii_case("docker-content-digest")
                    .then(|| value.trim().to_string())
            })
    }

    /// The docker CLI against the test daemon; it must succeed. Returns stdout.
    #[track_caller]
    pub fn docker(&self, args: &[&str]) -> String {
        let output = self.docker_output(args);
        assert!(output.status.success(), "docker {args:?}: {output:?}");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// The docker CLI against the test daemon, whatever its outcome.
    pub fn docker_output(&self, args: &[&str]) -> Output {
        Command::new("docker")
            .args(args)
            .env("DOCKER_HOST", &self.services().docker_host)
            .env("DOCKER_BUILDKIT", "0")
            .output()
            .expect("the docker CLI runs")
    }

    /// insta settings that make output of this farm stable: its directory, the registry, the
    /// `cats` named, digests and times are replaced by placeholders.
    pub fn snapshot_settings(&self, cats: &[&str]) -> insta::Settings {
        let mut settings = insta::Settings::clone_current();
        settings.set_omit_expression(true);
        settings.add_filter(&literal(&self.path().display().to_string()), "[FARM]");
        if let Some(services) = self.services {
            settings.add_filter(&literal(&services.registry), "[REGISTRY]");
        }
        for cat in cats {
            settings.add_filter(&literal(cat), "[CAT]");
        }
        settings.add_filter(r"sha256:[0-9a-f]{64}", "sha256:[DIGEST]");
        // Other SHA-256s (checksums of the tokens, which hold the cat's name).
        settings.add_filter(r"\b[0-9a-f]{64}\b", "[SHA256]");
        settings.add_filter(
            r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})",
            "[TIME]",
        );
        settings.add_filter(r"/tmp/\.tmp[A-Za-z0-9]+", "[TEMP]");
        settings
    }

    /// `catctl ARGS` in the farm, to adjust (env, directory) before running.
    pub fn command<S: AsRef<OsStr>>(&self, args: impl IntoIterator<Item = S>) -> Catctl {
        self.environment(Catctl::new(args))
    }

    /// `catctl ARGS` in the farm.
    pub fn run<S: AsRef<OsStr>>(&self, args: impl IntoIterator<Item = S>) -> Run {
        self.command(args).run()
    }

    /// `catctl ARGS` in the farm as a child whose stdout is read line by line.
    pub fn spawn<S: AsRef<OsStr>>(&self, args: impl IntoIterator<Item = S>) -> Following {
        self.command(args).spawn()
    }

    /// A bash script in the farm, with catctl's environment, `catctl` on PATH and `$CATCTL`.
    pub fn shell(&self, script: &str) -> Catctl {
        self.environment(Catctl::shell(script))
    }

    /// What every run in the farm sees: the farm as working directory, its cluster's
    /// kubeconfig (else none at all), its own Docker config, the test daemon.
    fn environment(&self, mut command: Catctl) -> Catctl {
        let kubeconfig = match &self.cluster {
            Some(cluster) => cluster.kubeconfig().to_path_buf(),
            None => self.path().join("no-kubeconfig"),
        };
        command = command
            .current_dir(self.path())
            .env("KUBECONFIG", kubeconfig)
            .env("DOCKER_CONFIG", self.path().join(".docker"));
        if let Some(services) = self.services {
            command = command.env("DOCKER_HOST", &services.docker_host);
        }
        command
    }
}

/// The binary, or a shell script that runs it, with a clean environment (no inherited catctl
/// settings, no colour); built up, then run once.
pub struct Catctl {
    command: Command,
    line: String,
}

impl Catctl {
    pub fn new<S: AsRef<OsStr>>(args: impl IntoIterator<Item = S>) -> Catctl {
        let mut command = Command::new(catctl_bin());
        let mut line = String::from("catctl");
        for arg in args {
            line.push(' ');
            line.push_str(&arg.as_ref().to_string_lossy());
            command.arg(arg);
        }
        Catctl::clean(command, line)
    }

    /// `bash -c SCRIPT` with catctl's directory first on PATH and `$CATCTL` set to it.
    pub fn shell(script: &str) -> Catctl {
        let bin = catctl_bin();
        let path = format!(
            "{}:{}",
            bin.parent().unwrap().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut command = Command::new("bash");
        command
            .args(["-c", script])
            .env("PATH", path)
            .env("CATCTL", &bin);
        Catctl::clean(command, format!("bash -c {script:?}"))
    }

    fn clean(mut command: Command, line: String) -> Catctl {
        for var in ["CATCTL_CONFIG", "CATCTL_REGISTRY", "COMPLETE"] {
            command.env_remove(var);
        }
        command.env("NO_COLOR", "1");
        Catctl { command, line }
    }

    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Catctl {
        self.command.current_dir(dir);
        self
    }

    pub fn env(mut self, key: &str, value: impl AsRef<OsStr>) -> Catctl {
        self.command.env(key, value);
        self
    }

    pub fn env_remove(mut self, key: &str) -> Catctl {
        self.command.env_remove(key);
        self
    }

    /// Runs to the end and captures both streams.
    pub fn run(mut self) -> Run {
        let output = self
            .command
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("{}: cannot start: {e}", self.line));
        Run {
            line: self.line,
            output,
        }
    }

    /// Starts it; stdout is read line by line as it comes, stderr kept for the end.
    pub fn spawn(mut self) -> Following {
        let mut child = self
            .command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: cannot start: {e}", self.line));
        let (sender, lines) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let mut stderr_pipe = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr_pipe.read_to_string(&mut text);
            text
        });
        Following {
            line: self.line,
            child,
            lines,
            stderr: Some(stderr),
            seen: Vec::new(),
        }
    }
}

/// A finished run: its exit status and both streams. The assertions panic with all of them.
pub struct Run {
    line: String,
    output: Output,
}

impl Run {
    /// It must have succeeded.
    #[track_caller]
    pub fn ok(self) -> Run {
        assert!(self.success(), "expected success:\n{self}");
        self
    }

    /// It must have failed.
    #[track_caller]
    pub fn fails(self) -> Run {
        assert!(!self.success(), "expected a failure:\n{self}");
        self
    }

    /// It must have ended with this exit code.
    #[track_caller]
    pub fn code(self, code: i32) -> Run {
        assert_eq!(self.exit_code(), Some(code), "the exit code:\n{self}");
        self
    }

    /// stdout must contain `needle`.
    #[track_caller]
    pub fn stdout_has(self, needle: &str) -> Run {
        assert!(
            self.stdout().contains(needle),
            "stdout lacks {needle:?}:\n{self}"
        );
        self
    }

    /// stderr must contain `needle`.
    #[track_caller]
    pub fn stderr_has(self, needle: &str) -> Run {
        assert!(
            self.stderr().contains(needle),
            "stderr lacks {needle:?}:\n{self}"
        );
        self
    }

    /// stderr must not contain `needle`.
    #[track_caller]
    pub fn stderr_lacks(self, needle: &str) -> Run {
        assert!(
            !self.stderr().contains(needle),
            "stderr has {needle:?}:\n{self}"
        );
        self
    }

    /// stdout parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.output.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{self}"))
    }

    /// stdout as catctl's `-o json` envelope: checks `apiVersion` and that `kind` ends in
    /// `Result`, and gives the `items`.
    #[track_caller]
    pub fn items(&self) -> Value {
        let value = self.json();
        assert_eq!(value["apiVersion"], "catctl/v1", "the envelope:\n{self}");
        assert!(
            value["kind"]
                .as_str()
                .is_some_and(|k| k.ends_with("Result")),
            "the envelope's kind:\n{self}"
        );
        assert!(value["items"].is_array(), "the envelope's items:\n{self}");
        value["items"].clone()
    }

    pub fn success(&self) -> bool {
        self.output.status.success()
    }

    pub fn exit_code(&self) -> Option<i32> {
        self.output.status.code()
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    pub fn stdout_bytes(&self) -> &[u8] {
        &self.output.stdout
    }

    pub fn stderr_bytes(&self) -> &[u8] {
        &self.output.stderr
    }

    /// stdout followed by stderr.
    pub fn text(&self) -> String {
        format!("{}{}", self.stdout(), self.stderr())
    }
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "$ {}\nexit: {}\n--- stdout\n{}--- stderr\n{}---",
            self.line,
            self.output.status,
            self.stdout(),
            self.stderr()
        )
    }
}

impl fmt::Debug for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// A running child and the stdout lines read from it so far; killed when dropped.
pub struct Following {
    line: String,
    child: Child,
    lines: mpsc::Receiver<String>,
    stderr: Option<std::thread::JoinHandle<String>>,
    pub seen: Vec<String>,
}

impl Following {
    /// Reads lines until one satisfies `want` and returns its index in `seen`; fails after
    /// `timeout` with everything seen and stderr.
    #[track_caller]
    pub fn until(&mut self, timeout: Duration, want: impl Fn(&str) -> bool) -> usize {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line);
                    if want(self.seen.last().unwrap()) {
                        return self.seen.len() - 1;
                    }
                }
                Err(error) => {
                    let why = match error {
                        mpsc::RecvTimeoutError::Timeout => {
                            format!("did not come within {timeout:?}")
                        }
                        mpsc::RecvTimeoutError::Disconnected => "never came: stdout ended".into(),
                    };
                    let _ = self.child.kill();
                    let status = self.child.wait();
                    let stderr = self.take_stderr();
                    panic!(
                        "{}: the line wanted {why} (exit: {status:?})\n--- stdout\n{}\n--- stderr\n{stderr}",
                        self.line,
                        self.seen.join("\n"),
                    );
                }
            }
        }
    }

    /// The next line, if one comes within `timeout`.
    pub fn next_within(&mut self, timeout: Duration) -> Option<String> {
        let line = self.lines.recv_timeout(timeout).ok()?;
        self.seen.push(line.clone());
        Some(line)
    }

    /// Whether the child still runs.
    pub fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGINT, as Ctrl-C would.
    pub fn interrupt(&self) {
        let sent = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success(), "kill -INT {}", self.child.id());
    }

    /// Waits for the child to end (at most `timeout`, then it is killed and the test fails).
    #[track_caller]
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                let stderr = self.take_stderr();
                panic!(
                    "{}: did not end within {timeout:?}\n--- stdout\n{}\n--- stderr\n{stderr}",
                    self.line,
                    self.seen.join("\n"),
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Every stdout line not yet read, up to the end of the stream (call after the child ended).
    pub fn rest(&mut self) -> Vec<String> {
        let rest: Vec<String> = self.lines.iter().collect();
        self.seen.extend(rest.iter().cloned());
        rest
    }

    /// Everything the child wrote to stderr (waits for it to end).
    pub fn take_stderr(&mut self) -> String {
        self.stderr
            .take()
            .map(|reader| reader.join().unwrap_or_default())
            .unwrap_or_default()
    }
}

impl Drop for Following {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `check` until it holds; fails after `timeout` saying `what` was awaited.
#[track_caller]
pub fn wait_until(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn copy_tree(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            if entry.file_name() == "node_modules" {
                continue;
            }
            copy_tree(&entry.path(), &target);
        } else if kind.is_file() {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A regex matching `text` literally.
fn literal(text: &str) -> String {
    text.chars()
        .map(|c| {
            if r"\.+*?()|[]{}^$".contains(c) {
                format!("\\{c}")
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// `dir` and everything under it.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![dir.to_path_buf()];
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Every path under `root` with its bytes (None for directories): equal snapshots mean a
/// byte-identical tree.
pub fn tree(root: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    let mut out = BTreeMap::new();
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Option<Vec<u8>>>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let relative = path.strip_prefix(root).unwrap().to_path_buf();
            if path.is_dir() {
                out.insert(relative, None);
                walk(root, &path, out);
            } else {
                out.insert(relative, Some(fs::read(&path).unwrap()));
            }
        }
    }
    walk(root, root, &mut out);
    out
}
