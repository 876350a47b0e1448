//! `build`, `push`, `verify`, `up` and `down` against the real Docker daemon and registry of
//! scripts/test-services.sh. Every test uses its own cat names, so tests run in parallel
//! against one daemon and one registry, and runs again without clashing with old images.

use serde_json::Value;

use crate::common::Farm;

fn unused_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn build_push_verify_and_the_registry_serves_the_printed_digest() {
    let farm = Farm::new().with_services();
    let cat = farm.new_cat("bpv");
    let built = farm.run(["build", &cat, "-o", "json"]).ok().items();
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

    let pushed = farm.run(["push", &cat]).ok();
    let table = pushed.stdout();
    let served = farm.registry_digest(&cat, "v1").expect("the tag is served");
    assert!(
        table.contains(&served),
        "push printed {table}, registry serves {served}"
    );
    assert!(pushed.stderr().contains(&format!("Pushed {cat}")));

    let verified = farm.run(["verify", &cat, "-o", "json"]).ok().items();
    assert_eq!(verified[0]["findings"], Value::Array(vec![]));
    assert_eq!(verified[0]["digest"], served.as_str());
    assert_eq!(verified[0]["source_digest"], source.as_str());
    let table = farm.run(["verify", &cat]).ok().stdout();
    assert!(
        table.contains("unchanged") && table.contains(" ok"),
        "{table}"
    );
}

#[test]
fn changed_sources_are_reported_until_reverted() {
    let farm = Farm::new().with_services();
    let cat = farm.new_cat("src");
    farm.run(["build", &cat]).ok();
    farm.run(["push", &cat]).ok();
    farm.run(["verify", &cat]).ok();

    farm.write(&format!("cats/{cat}/reply.txt"), "meow\n");
    let text = farm.run(["verify", &cat]).fails().text();
    let expected = format!(
        "cats/{cat} (or templates/cat) changed since {} was built — rebuild with `catctl build {cat}`, or bump `version` in cats/{cat}/cat.toml",
        farm.image(&cat, "v1")
    );
    assert!(text.contains(&expected), "{text}");
    std::fs::remove_file(farm.path().join(format!("cats/{cat}/reply.txt"))).unwrap();
    farm.run(["verify", &cat]).ok();

    farm.write("templates/cat/engine.txt", "a new engine\n");
    let text = farm.run(["verify", &cat]).fails().text();
    assert!(text.contains("changed since"), "{text}");
    farm.write("templates/cat/engine.txt", "the engine\n");
    farm.run(["verify", &cat]).ok();

    // Where no local image exists (a CI runner, another machine), the registry's image config
    // gives the recorded digest.
    farm.docker(&["rmi", &farm.image(&cat, "v1")]);
    let verified = farm.run(["verify", &cat, "-o", "json"]).ok().items();
    assert_eq!(verified[0]["local_image_id"], Value::Null);
    assert_eq!(verified[0]["findings"], Value::Array(vec![]));
    farm.write(&format!("cats/{cat}/reply.txt"), "meow\n");
    let text = farm.run(["verify", &cat]).fails().text();
    assert!(text.contains("changed since"), "{text}");
}

#[test]
fn a_bumped_version_not_pushed_and_a_rebuild_not_pushed_are_reported() {
    let farm = Farm::new().with_services();
    let cat = farm.new_cat("v12");
    farm.run(["build", &cat]).ok();
    farm.run(["push", &cat]).ok();

    // The seed's v1/v2 mistake: bumped and built, never pushed.
    farm.write(&format!("cats/{cat}/cat.toml"), "version = \"v2\"\n");
    farm.run(["build", &cat]).ok();
    let text = farm.run(["verify", &cat]).fails().text();
    let expected = format!(
        "{} is not in the registry — run `catctl push {cat}`",
        farm.image(&cat, "v2")
    );
    assert!(text.contains(&expected), "{text}");
    farm.run(["push", &cat]).ok();
    farm.run(["verify", &cat]).ok();

    // Rebuilt with a change under the same tag, not pushed.
    farm.write(&format!("cats/{cat}/reply.txt"), "purr\n");
    farm.run(["build", &cat]).ok();
    let text = farm.run(["verify", &cat]).fails().text();
    let expected = format!(
        "local {} differs from the registry's (built but not pushed)",
        farm.image(&cat, "v2")
    );
    assert!(text.contains(&expected), "{text}");
    let verified = farm.run(["verify", &cat, "-o", "json"]).items();
    let kinds: Vec<&str> = verified[0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["finding"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["local_differs"], "the sources are those just built");
}

#[test]
fn the_source_digest_depends_on_contents_not_mtimes() {
    let farm = Farm::new().with_services();
    let cat = farm.new_cat("mt");
    let first = farm.run(["build", &cat, "-o", "json"]).ok().items();
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
    let second = farm.run(["build", &cat, "-o", "json"]).ok().items();
    assert_eq!(first[0]["source_digest"], second[0]["source_digest"]);
    assert_eq!(
        second[0]["result"], "up_to_date",
        "nothing to build: {second}"
    );
    assert_eq!(first[0]["image_id"], second[0]["image_id"]);
    // Forced through the daemon, the same sources still give the same digest.
    let forced = farm
        .run(["build", &cat, "--no-cache", "-o", "json"])
        .ok()
        .items();
    assert_eq!(forced[0]["result"], "built");
    assert_eq!(first[0]["source_digest"], forced[0]["source_digest"]);
    farm.write(&format!("cats/{cat}/extra.txt"), "x");
    let third = farm.run(["build", &cat, "-o", "json"]).ok().items();
    assert_ne!(first[0]["source_digest"], third[0]["source_digest"]);
}

#[test]
fn dockerignore_keeps_files_out_of_the_image_and_the_digest() {
    let farm = Farm::new().with_services();
    let cat = farm.new_cat("ign");
    farm.write("templates/cat/.dockerignore", "*.log\n");
    farm.write(&format!("cats/{cat}/debug.log"), "noise\n");
    farm.write(&format!("cats/{cat}/keep.txt"), "kept\n");
    farm.run(["build", &cat]).ok();
    farm.run(["push", &cat]).ok();
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
    farm.run(["verify", &cat]).ok();
    // `catctl context --out` writes what build sends.
    farm.run(["context", &cat, "--out", "ctx"]).ok();
    assert!(farm.path().join("ctx/keep.txt").exists());
    assert!(!farm.path().join("ctx/debug.log").exists());
}

#[test]
fn a_broken_dockerfile_shows_the_failing_step_and_the_others_still_build() {
    let farm = Farm::new().with_services();
    let good = farm.new_cat("good");
    let bad = farm.new_cat("bad");
    farm.write(
        &format!("cats/{bad}/Dockerfile"),
        "FROM scratch\nCOPY busybox /bin/busybox\n\
         RUN [\"/bin/busybox\", \"sh\", \"-c\", \"echo compiling the cat; echo hairball >&2; exit 3\"]\n",
    );
    let output = farm.run(["build", &bad, &good, "-o", "json"]).fails();
    let rows = output.items();
    assert_eq!(rows[0]["result"], "failed");
    assert_eq!(rows[1]["result"], "built");
    let stderr = output.stderr();
    assert!(
        stderr.contains(&format!("building {}", farm.image(&bad, "v1"))),
        "{stderr}"
    );
    // BuildKit's step name, what the step printed, and how it ended.
    assert!(stderr.contains("the build failed at [2/2] RUN"), "{stderr}");
    assert!(stderr.contains("| compiling the cat"), "{stderr}");
    assert!(stderr.contains("| hairball"), "{stderr}");
    assert!(stderr.contains("exit code: 3"), "{stderr}");
    // Nothing half-done: the broken cat has no image.
    let images = farm.docker(&["images", "-q", &farm.image(&bad, "v1")]);
    assert!(images.trim().is_empty(), "{images}");
}

#[test]
fn an_unreachable_daemon_is_a_clear_error() {
    let farm = Farm::new().with_services();
    let cat = farm.new_cat("dead");
    for host in [
        "unix:///nonexistent/docker.sock".to_string(),
        format!("tcp://127.0.0.1:{}", unused_port()),
    ] {
        let output = farm
            .command(["build", &cat])
            .env("DOCKER_HOST", &host)
            .run()
            .fails();
        let stderr = output.stderr();
        assert!(
            stderr.contains(&format!(
                "cannot reach the Docker daemon at {host} [DOCKER_HOST]: is it running? are \
                 DOCKER_HOST and the docker context right?"
            )),
            "{stderr}"
        );
    }
}

#[test]
fn an_unreachable_registry_is_a_clear_error() {
    let farm = Farm::new().with_services();
    let cat = farm.new_cat("noreg");
    let registry = format!("127.0.0.1:{}", unused_port());
    farm.run(["--registry", &registry, "build", &cat]).ok();
    for command in ["push", "verify"] {
        let text = farm
            .run(["--registry", &registry, command, &cat])
            .fails()
            .text();
        assert!(
            text.contains(&format!("cannot reach the registry {registry}")),
            "{command}: {text}"
        );
        assert!(text.contains("is it running?"), "{command}: {text}");
    }
}

#[test]
fn push_takes_credentials_from_a_docker_credential_helper() {
    let farm = Farm::new().with_services();
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
    farm.run(["build", &cat]).ok();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = farm.command(["push", &cat]).env("PATH", path).run().ok();
    let text = output.text();
    assert!(
        !text.contains("s3cret-token"),
        "a secret was printed: {text}"
    );
    let calls = std::fs::read_to_string(&log).unwrap();
    assert!(
        calls.contains(&format!("get {}", farm.registry())),
        "{calls}"
    );
}

#[test]
fn up_twice_leaves_one_container_and_down_removes_it() {
    let farm = Farm::new().with_services();
    let cat = farm.new_cat("up");
    farm.write(&format!("secret/{cat}-token"), "xoxb-not-a-real-token\n");
    farm.run(["build", &cat]).ok();
    farm.run(["push", &cat]).ok();
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
    farm.run(["up", &cat, "--network", "none"]).ok();
    let up = farm.run(["up", &cat, "--network", "none"]).ok();
    assert!(up.stdout().contains("running"), "{}", up.stdout());
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
    let writable = farm.docker_output(&[
        "exec",
        &name,
        "/bin/busybox",
        "sh",
        "-c",
        &format!("echo x > /run/secrets/cat/{cat}-token"),
    ]);
    assert!(!writable.status.success(), "the token is mounted read-only");

    let down = farm.run(["down", &cat]).ok();
    assert!(down.stdout().contains("removed"));
    assert_eq!(containers(), 0);
    let again = farm.run(["down", &cat]).ok();
    assert!(again.stdout().contains("not running"));
}

#[test]
fn up_refuses_an_unverified_image_or_a_missing_token_and_starts_nothing() {
    let farm = Farm::new().with_services();
    let cat = farm.new_cat("refuse");
    // Neither built nor pushed (a local build runs unpushed: see image_promise.rs).
    let text = farm.run(["up", &cat, "--network", "none"]).fails().text();
    assert!(
        text.contains(&format!("secret/{cat}-token does not exist")),
        "{text}"
    );
    farm.write(&format!("secret/{cat}-token"), "xoxb\n");
    let text = farm.run(["up", &cat, "--network", "none"]).fails().text();
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
    let farm = Farm::new().with_services();
    let cat = farm.new_cat("nodf");
    std::fs::remove_file(farm.path().join("templates/cat/Dockerfile")).unwrap();
    let text = farm.run(["build", &cat]).fails().text();
    assert!(
        text.contains(&format!(
            "{cat} has no Dockerfile: neither templates/cat/Dockerfile nor cats/{cat}/Dockerfile exists"
        )),
        "{text}"
    );
}

#[test]
fn progress_lines_are_drawn_only_on_a_terminal() {
    let farm = Farm::new().with_services();
    let (on_tty, piped) = (farm.new_cat("tty"), farm.new_cat("pipe"));
    // `script` gives catctl a pseudo-terminal, as an interactive shell would.
    let output = farm
        .shell(&format!("script -qec 'catctl build {on_tty}' /dev/null"))
        .run()
        .ok();
    let terminal = output.stdout();
    assert!(
        terminal.contains('✓'),
        "a finished progress line: {terminal}"
    );
    let plain = farm.run(["build", &piped]).ok().text();
    assert!(
        !plain.contains('✓'),
        "no progress lines when piped: {plain}"
    );
    assert!(plain.contains(&format!("Built {piped}")), "{plain}");
}

#[test]
fn up_gives_the_health_port_and_the_farm_env_and_turns_health_checks_off_only_when_declared() {
    let farm = Farm::new().with_services();
    let config = farm.read("catctl.toml");
    farm.write(
        "catctl.toml",
        &format!("{config}[env]\nCAT_SLACK_API_URL = \"http://127.0.0.1:3111/api/\"\n"),
    );
    let cat = farm.new_cat("health");
    farm.write(&format!("secret/{cat}-token"), "xoxb-health-token\n");
    let name = format!("catctl-{cat}");
    let inspect = |format: &str| farm.docker(&["inspect", "-f", format, &name]);

    farm.run(["build", &cat]).ok();
    farm.run(["up", &cat, "--network", "none"]).ok();
    let env = inspect("{{range .Config.Env}}{{println .}}{{end}}");
    assert!(env.contains("CAT_HEALTH_PORT=8080\n"), "{env}");
    assert!(
        env.contains("CAT_SLACK_API_URL=http://127.0.0.1:3111/api/\n"),
        "{env}"
    );
    // On by default: the image's own check (busybox has none), at the probes' pace.
    assert_eq!(inspect("{{.Config.Healthcheck.Interval}}").trim(), "5s");
    assert_eq!(
        inspect("{{.Config.Healthcheck.StartPeriod}}").trim(),
        "3m0s"
    );

    farm.write(
        &format!("cats/{cat}/cat.toml"),
        "version = \"v1\"\nprobes = false\nhealth_port = 9000\n",
    );
    farm.run(["build", &cat]).ok();
    farm.run(["up", &cat, "--network", "none"]).ok();
    assert_eq!(inspect("{{.Config.Healthcheck.Test}}").trim(), "[NONE]");
    assert!(
        inspect("{{range .Config.Env}}{{println .}}{{end}}").contains("CAT_HEALTH_PORT=9000\n")
    );
    farm.run(["down", &cat]).ok();
}

#[test]
fn an_env_name_catctl_sets_itself_is_refused_naming_the_file() {
    let farm = Farm::new().with_services();
    let config = farm.read("catctl.toml");
    farm.write(
        "catctl.toml",
        &format!("{config}[env]\nCAT_HEALTH_PORT = \"1\"\n"),
    );
    let text = farm.run(["list"]).fails().text();
    assert!(text.contains("`[env]` in"), "{text}");
    assert!(
        text.contains("CAT_HEALTH_PORT is set by catctl itself"),
        "{text}"
    );
}
