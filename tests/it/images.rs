//! `build`, `push`, `verify`, `up` and `down` against the real Docker daemon and registry of
//! scripts/test-services.sh. Every test uses its own cat names, so tests run in parallel
//! against one daemon and one registry, and runs again without clashing with old images.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::Value;

use crate::common::{catctl, stderr_of, stdout_of};
use crate::services::{Services, services};

/// A farm whose template is a `FROM scratch` image holding a static busybox.
pub struct ImageFarm {
    dir: tempfile::TempDir,
    pub services: &'static Services,
    pub registry: String,
    /// The kubeconfig catctl is given (a fake cluster's), if any.
    pub kubeconfig: Option<std::path::PathBuf>,
}

const DOCKERFILE: &str = "FROM scratch\nCOPY busybox /bin/busybox\nCOPY . /cat\n\
                          CMD [\"/bin/busybox\", \"sleep\", \"3600\"]\n";

impl ImageFarm {
    pub fn new() -> ImageFarm {
        let services = services();
        let dir = tempfile::tempdir().unwrap();
        let farm = ImageFarm {
            dir,
            services,
            registry: services.registry.clone(),
            kubeconfig: None,
        };
        farm.write(
            "catctl.toml",
            &format!("registry = \"{}\"\nconcurrency = 4\n", services.registry),
        );
        std::fs::create_dir_all(farm.path().join("templates/cat")).unwrap();
        std::fs::copy(&services.busybox, farm.path().join("templates/cat/busybox")).unwrap();
        farm.write("templates/cat/Dockerfile", DOCKERFILE);
        farm.write("templates/cat/engine.txt", "the engine\n");
        farm
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, relative: &str, text: &str) {
        let path = self.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// A new cat with a name no other test (or earlier run) uses.
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

    pub fn image(&self, cat: &str, version: &str) -> String {
        format!("{}/{cat}:{version}", self.registry)
    }

    pub fn catctl(&self, args: &[&str]) -> Output {
        let mut cmd = catctl();
        cmd.current_dir(self.path())
            .env("DOCKER_HOST", &self.services.docker_host)
            .env("DOCKER_CONFIG", self.path().join(".docker"))
            .env(
                "KUBECONFIG",
                self.kubeconfig
                    .clone()
                    .unwrap_or_else(|| self.path().join("no-kubeconfig")),
            )
            .args(args);
        cmd.output().unwrap()
    }

    /// Runs catctl and insists it succeeds.
    pub fn ok(&self, args: &[&str]) -> Output {
        let output = self.catctl(args);
        assert!(
            output.status.success(),
            "catctl {args:?} failed:\n{}\n{}",
            stdout_of(&output),
            stderr_of(&output)
        );
        output
    }

    /// Runs catctl and insists it fails; returns stdout + stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let output = self.catctl(args);
        let text = format!("{}{}", stdout_of(&output), stderr_of(&output));
        assert!(
            !output.status.success(),
            "catctl {args:?} succeeded:\n{text}"
        );
        text
    }

    pub fn json(&self, args: &[&str]) -> Value {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["-o", "json"]);
        serde_json::from_str(&stdout_of(&self.ok(&all))).unwrap()
    }

    pub fn docker(&self, args: &[&str]) -> String {
        let output = Command::new("docker")
            .args(args)
            .env("DOCKER_HOST", &self.services.docker_host)
            .output()
            .unwrap();
        assert!(output.status.success(), "docker {args:?}: {output:?}");
        stdout_of(&output)
    }
}

/// The digest the registry serves for `image`'s tag, asked with curl.
pub fn registry_digest(registry: &str, cat: &str, tag: &str) -> Option<String> {
    let output = Command::new("curl")
        .args([
            "-sS",
            "-I",
            "-H",
            "Accept: application/vnd.docker.distribution.manifest.v2+json",
            &format!("http://{registry}/v2/{cat}/manifests/{tag}"),
        ])
        .output()
        .unwrap();
    stdout_of(&output).lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case("docker-content-digest")
            .then(|| value.trim().to_string())
    })
}

fn unused_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn build_push_verify_and_the_registry_serves_the_printed_digest() {
    let farm = ImageFarm::new();
    let cat = farm.new_cat("bpv");
    let built = farm.json(&["build", &cat]);
    assert_eq!(built[0]["result"], "built");
    let source = built[0]["source_digest"].as_str().unwrap().to_string();
    assert!(source.starts_with("sha256:"), "{source}");

    let labels = farm.docker(&[
        "image",
        "inspect",
        "--format",
        "{{json .Config.Labels}}",
        &farm.image(&cat, "v1"),
    ]);
    let labels: Value = serde_json::from_str(&labels).unwrap();
    assert_eq!(labels["io.catctl.cat"], cat.as_str());
    assert_eq!(labels["io.catctl.source-digest"], source.as_str());

    let pushed = farm.ok(&["push", &cat]);
    let table = stdout_of(&pushed);
    let served = registry_digest(&farm.registry, &cat, "v1").expect("the tag is served");
    assert!(
        table.contains(&served),
        "push printed {table}, registry serves {served}"
    );
    assert!(stderr_of(&pushed).contains(&format!("Pushed {cat}")));

    let verified = farm.json(&["verify", &cat]);
    assert_eq!(verified[0]["findings"], Value::Array(vec![]));
    assert_eq!(verified[0]["registry_digest"], served.as_str());
    assert_eq!(verified[0]["source_digest"], source.as_str());
    let table = stdout_of(&farm.ok(&["verify", &cat]));
    assert!(
        table.contains("unchanged") && table.contains(" ok"),
        "{table}"
    );
}

#[test]
fn changed_sources_are_reported_until_reverted() {
    let farm = ImageFarm::new();
    let cat = farm.new_cat("src");
    farm.ok(&["build", &cat]);
    farm.ok(&["push", &cat]);
    farm.ok(&["verify", &cat]);

    farm.write(&format!("cats/{cat}/reply.txt"), "meow\n");
    let text = farm.fails(&["verify", &cat]);
    let expected = format!(
        "cats/{cat} (or templates/cat) changed since {} was built — rebuild with `catctl build {cat}`, or bump `version` in cats/{cat}/cat.toml",
        farm.image(&cat, "v1")
    );
    assert!(text.contains(&expected), "{text}");
    std::fs::remove_file(farm.path().join(format!("cats/{cat}/reply.txt"))).unwrap();
    farm.ok(&["verify", &cat]);

    farm.write("templates/cat/engine.txt", "a new engine\n");
    let text = farm.fails(&["verify", &cat]);
    assert!(text.contains("changed since"), "{text}");
    farm.write("templates/cat/engine.txt", "the engine\n");
    farm.ok(&["verify", &cat]);

    // Where no local image exists (a CI runner, another machine), the registry's image config
    // gives the recorded digest.
    farm.docker(&["rmi", &farm.image(&cat, "v1")]);
    let verified = farm.json(&["verify", &cat]);
    assert_eq!(verified[0]["local_image_id"], Value::Null);
    assert_eq!(verified[0]["findings"], Value::Array(vec![]));
    farm.write(&format!("cats/{cat}/reply.txt"), "meow\n");
    let text = farm.fails(&["verify", &cat]);
    assert!(text.contains("changed since"), "{text}");
}

#[test]
fn a_bumped_version_not_pushed_and_a_rebuild_not_pushed_are_reported() {
    let farm = ImageFarm::new();
    let cat = farm.new_cat("v12");
    farm.ok(&["build", &cat]);
    farm.ok(&["push", &cat]);

    // The seed's v1/v2 mistake: bumped and built, never pushed.
    farm.write(&format!("cats/{cat}/cat.toml"), "version = \"v2\"\n");
    farm.ok(&["build", &cat]);
    let text = farm.fails(&["verify", &cat]);
    let expected = format!(
        "{} is not in the registry — run `catctl push {cat}`",
        farm.image(&cat, "v2")
    );
    assert!(text.contains(&expected), "{text}");
    farm.ok(&["push", &cat]);
    farm.ok(&["verify", &cat]);

    // Rebuilt with a change under the same tag, not pushed.
    farm.write(&format!("cats/{cat}/reply.txt"), "purr\n");
    farm.ok(&["build", &cat]);
    let text = farm.fails(&["verify", &cat]);
    let expected = format!(
        "local {} differs from the registry's (built but not pushed)",
        farm.image(&cat, "v2")
    );
    assert!(text.contains(&expected), "{text}");
    let verified: Value =
        serde_json::from_str(&stdout_of(&farm.catctl(&["verify", &cat, "-o", "json"]))).unwrap();
    let kinds: Vec<&str> = verified[0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["local_differs"], "the sources are those just built");
}

#[test]
fn the_source_digest_depends_on_contents_not_mtimes() {
    let farm = ImageFarm::new();
    let cat = farm.new_cat("mt");
    let first = farm.json(&["build", &cat]);
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(30 * 86_400);
    for path in ["templates/cat/Dockerfile", "templates/cat/engine.txt"] {
        std::fs::File::options()
            .write(true)
            .open(farm.path().join(path))
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    std::fs::File::options()
        .write(true)
        .open(farm.path().join(format!("cats/{cat}/cat.toml")))
        .unwrap()
        .set_modified(old)
        .unwrap();
    let second = farm.json(&["build", &cat]);
    assert_eq!(first[0]["source_digest"], second[0]["source_digest"]);
    assert_eq!(
        second[0]["result"], "up to date",
        "nothing to build: {second}"
    );
    assert_eq!(first[0]["image_id"], second[0]["image_id"]);
    // Forced through the daemon, the same sources still give the same digest.
    let forced = farm.json(&["build", &cat, "--no-cache"]);
    assert_eq!(forced[0]["result"], "built");
    assert_eq!(first[0]["source_digest"], forced[0]["source_digest"]);
    farm.write(&format!("cats/{cat}/extra.txt"), "x");
    let third = farm.json(&["build", &cat]);
    assert_ne!(first[0]["source_digest"], third[0]["source_digest"]);
}

#[test]
fn dockerignore_keeps_files_out_of_the_image_and_the_digest() {
    let farm = ImageFarm::new();
    let cat = farm.new_cat("ign");
    farm.write("templates/cat/.dockerignore", "*.log\n");
    farm.write(&format!("cats/{cat}/debug.log"), "noise\n");
    farm.write(&format!("cats/{cat}/keep.txt"), "kept\n");
    farm.ok(&["build", &cat]);
    farm.ok(&["push", &cat]);
    let listing = farm.docker(&[
        "run",
        "--rm",
        "--network",
        "none",
        &farm.image(&cat, "v1"),
        "/bin/busybox",
        "ls",
        "-a",
        "/cat",
    ]);
    assert!(listing.contains("keep.txt"), "{listing}");
    assert!(!listing.contains("debug.log"), "{listing}");
    farm.write(&format!("cats/{cat}/debug.log"), "more noise\n");
    farm.ok(&["verify", &cat]);
    // `catctl context --out` writes what build sends.
    farm.ok(&["context", &cat, "--out", "ctx"]);
    assert!(farm.path().join("ctx/keep.txt").exists());
    assert!(!farm.path().join("ctx/debug.log").exists());
}

#[test]
fn a_broken_dockerfile_shows_the_failing_step_and_the_others_still_build() {
    let farm = ImageFarm::new();
    let good = farm.new_cat("good");
    let bad = farm.new_cat("bad");
    farm.write(
        &format!("cats/{bad}/Dockerfile"),
        "FROM scratch\nCOPY busybox /bin/busybox\n\
         RUN [\"/bin/busybox\", \"sh\", \"-c\", \"echo compiling the cat; echo hairball >&2; exit 3\"]\n",
    );
    let output = farm.catctl(&["build", &bad, &good, "-o", "json"]);
    assert!(!output.status.success());
    let rows: Value = serde_json::from_str(&stdout_of(&output)).unwrap();
    assert_eq!(rows[0]["result"], "failed");
    assert_eq!(rows[1]["result"], "built");
    let stderr = stderr_of(&output);
    assert!(
        stderr.contains(&format!("building {}", farm.image(&bad, "v1"))),
        "{stderr}"
    );
    assert!(stderr.contains("the build failed at Step 3/"), "{stderr}");
    assert!(stderr.contains("| compiling the cat"), "{stderr}");
    assert!(stderr.contains("| hairball"), "{stderr}");
    assert!(stderr.contains("returned a non-zero code: 3"), "{stderr}");
    // Nothing half-done: the broken cat has no image.
    let images = farm.docker(&["images", "-q", &farm.image(&bad, "v1")]);
    assert!(images.trim().is_empty(), "{images}");
}

#[test]
fn an_unreachable_daemon_is_a_clear_error() {
    let farm = ImageFarm::new();
    let cat = farm.new_cat("dead");
    for host in [
        "unix:///nonexistent/docker.sock".to_string(),
        format!("tcp://127.0.0.1:{}", unused_port()),
    ] {
        let output = catctl()
            .current_dir(farm.path())
            .env("DOCKER_HOST", &host)
            .args(["build", &cat])
            .output()
            .unwrap();
        assert!(!output.status.success());
        let stderr = stderr_of(&output);
        assert!(
            stderr.contains(&format!(
                "cannot reach the Docker daemon at {host}: is it running? is DOCKER_HOST right?"
            )),
            "{stderr}"
        );
    }
}

#[test]
fn an_unreachable_registry_is_a_clear_error() {
    let farm = ImageFarm::new();
    let cat = farm.new_cat("noreg");
    let registry = format!("127.0.0.1:{}", unused_port());
    farm.ok(&["--registry", &registry, "build", &cat]);
    for command in ["push", "verify"] {
        let text = farm.fails(&["--registry", &registry, command, &cat]);
        assert!(
            text.contains(&format!("cannot reach the registry {registry}")),
            "{command}: {text}"
        );
        assert!(text.contains("is it running?"), "{command}: {text}");
    }
}

#[test]
fn push_takes_credentials_from_a_docker_credential_helper() {
    let farm = ImageFarm::new();
    let cat = farm.new_cat("cred");
    let bin = farm.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = farm.path().join("helper.log");
    let helper = bin.join("docker-credential-cattest");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\nread server\necho \"$1 $server\" >> {}\n\
             echo '{{\"ServerURL\":\"'$server'\",\"Username\":\"cat\",\"Secret\":\"s3cret-token\"}}'\n",
            log.display()
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    farm.write(".docker/config.json", r#"{"credsStore": "cattest"}"#);
    farm.ok(&["build", &cat]);
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = catctl()
        .current_dir(farm.path())
        .env("DOCKER_HOST", &farm.services.docker_host)
        .env("DOCKER_CONFIG", farm.path().join(".docker"))
        .env("PATH", path)
        .args(["push", &cat])
        .output()
        .unwrap();
    let text = format!("{}{}", stdout_of(&output), stderr_of(&output));
    assert!(output.status.success(), "{text}");
    assert!(
        !text.contains("s3cret-token"),
        "a secret was printed: {text}"
    );
    let calls = std::fs::read_to_string(&log).unwrap();
    assert!(calls.contains(&format!("get {}", farm.registry)), "{calls}");
}

#[test]
fn up_twice_leaves_one_container_and_down_removes_it() {
    let farm = ImageFarm::new();
    let cat = farm.new_cat("up");
    farm.write(&format!("secret/{cat}-token"), "xoxb-not-a-real-token\n");
    farm.ok(&["build", &cat]);
    farm.ok(&["push", &cat]);
    let containers = || {
        farm.docker(&[
            "ps",
            "-a",
            "-q",
            "--filter",
            &format!("name=^/catctl-{cat}$"),
        ])
        .lines()
        .count()
    };
    farm.ok(&["up", &cat, "--network", "none"]);
    let up = farm.ok(&["up", &cat, "--network", "none"]);
    assert!(stdout_of(&up).contains("running"), "{}", stdout_of(&up));
    let labelled = farm.docker(&["ps", "-q", "--filter", &format!("label=io.catctl.up={cat}")]);
    assert_eq!(labelled.lines().count(), 1, "exactly one running container");
    assert_eq!(containers(), 1);
    let name = format!("catctl-{cat}");
    let token = farm.docker(&[
        "exec",
        &name,
        "/bin/busybox",
        "cat",
        &format!("/run/secrets/cat/{cat}-token"),
    ]);
    assert_eq!(token, "xoxb-not-a-real-token\n");
    let env = farm.docker(&["exec", &name, "/bin/busybox", "env"]);
    assert!(env.contains("CAT_SECRET_DIR=/run/secrets/cat"), "{env}");
    let writable = Command::new("docker")
        .args([
            "exec",
            &name,
            "/bin/busybox",
            "sh",
            "-c",
            &format!("echo x > /run/secrets/cat/{cat}-token"),
        ])
        .env("DOCKER_HOST", &farm.services.docker_host)
        .output()
        .unwrap();
    assert!(!writable.status.success(), "the token is mounted read-only");

    let down = farm.ok(&["down", &cat]);
    assert!(stdout_of(&down).contains("removed"));
    assert_eq!(containers(), 0);
    let again = farm.ok(&["down", &cat]);
    assert!(stdout_of(&again).contains("not running"));
}

#[test]
fn up_refuses_an_unverified_image_or_a_missing_token_and_starts_nothing() {
    let farm = ImageFarm::new();
    let cat = farm.new_cat("refuse");
    // Neither built nor pushed (a local build runs unpushed: see image_promise.rs).
    let text = farm.fails(&["up", &cat, "--network", "none"]);
    assert!(
        text.contains(&format!("secret/{cat}-token does not exist")),
        "{text}"
    );
    farm.write(&format!("secret/{cat}-token"), "xoxb\n");
    let text = farm.fails(&["up", &cat, "--network", "none"]);
    assert!(
        text.contains(&format!(
            "{} is not in the registry and not built",
            farm.image(&cat, "v1")
        )),
        "{text}"
    );
    let any = farm.docker(&["ps", "-a", "-q", "--filter", &format!("name=catctl-{cat}")]);
    assert!(any.trim().is_empty(), "no container was created: {any}");
}

#[test]
fn a_missing_dockerfile_names_the_cat_and_the_fix() {
    let farm = ImageFarm::new();
    let cat = farm.new_cat("nodf");
    std::fs::remove_file(farm.path().join("templates/cat/Dockerfile")).unwrap();
    let text = farm.fails(&["build", &cat]);
    assert!(
        text.contains(&format!(
            "{cat} has no Dockerfile: neither templates/cat/Dockerfile nor cats/{cat}/Dockerfile exists"
        )),
        "{text}"
    );
}

#[test]
fn progress_lines_are_drawn_only_on_a_terminal() {
    let farm = ImageFarm::new();
    let (on_tty, piped) = (farm.new_cat("tty"), farm.new_cat("pipe"));
    // `script` gives catctl a pseudo-terminal, as an interactive shell would.
    let command = format!(
        "{} build {on_tty}",
        assert_cmd::cargo::cargo_bin("catctl").display()
    );
    let output = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(farm.path())
        .env("DOCKER_HOST", &farm.services.docker_host)
        .env("NO_COLOR", "1")
        .env_remove("CATCTL_CONFIG")
        .output()
        .unwrap();
    let terminal = stdout_of(&output);
    assert!(output.status.success(), "{terminal}");
    assert!(
        terminal.contains('✓'),
        "a finished progress line: {terminal}"
    );
    let plain = farm.ok(&["build", &piped]);
    let plain = format!("{}{}", stdout_of(&plain), stderr_of(&plain));
    assert!(
        !plain.contains('✓'),
        "no progress lines when piped: {plain}"
    );
    assert!(plain.contains(&format!("Built {piped}")), "{plain}");
}
