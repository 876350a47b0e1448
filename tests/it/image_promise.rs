//! What runs is exactly what was built, on the image side: a pushed tag is never replaced by
//! other sources without `--force`, a re-push of the same sources pushes nothing, `up` runs a
//! local build before it is pushed (and says so), a base image is part of the sources, and
//! images carry the OCI labels and git's dirty flag. Real daemon and registry (see images.rs).

use std::process::Command;

use serde_json::Value;

use crate::common::Farm;

/// Seconds since the epoch, as `docker events --since/--until` take them.
fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The daemon's push events for `image` between `since` and now.
fn push_events(farm: &Farm, image: &str, since: u64) -> Vec<String> {
    let events = farm.docker(&[
        "events",
        "--since",
        &since.to_string(),
        "--until",
        &(now() + 1).to_string(),
        "--filter",
        "type=image",
        "--filter",
        "event=push",
        "--format",
        "{{.Actor.ID}}",
    ]);
    events
        .lines()
        .filter(|id| id.starts_with(image))
        .map(str::to_string)
        .collect()
}

/// `docker build` with the classic builder (what catctl uses) of `dockerfile` plus a busybox.
fn docker_build(farm: &Farm, tag: &str, dockerfile: &str, files: &[(&str, &str)]) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(&farm.services().busybox, dir.path().join("busybox")).unwrap();
    std::fs::write(dir.path().join("Dockerfile"), dockerfile).unwrap();
    for (name, content) in files {
        std::fs::write(dir.path().join(name), content).unwrap();
    }
    let output = Command::new("docker")
        .args(["build", "-q", "-t", tag, dir.path().to_str().unwrap()])
        .env("DOCKER_HOST", &farm.services().docker_host)
        .env("DOCKER_BUILDKIT", "0")
        .output()
        .unwrap();
    assert!(output.status.success(), "docker build {tag}: {output:?}");
}

fn labels(farm: &Farm, image: &str) -> Value {
    let json = farm.docker(&[
        "image",
        "inspect",
        "--format",
        "{{json .Config.Labels}}",
        image,
    ]);
    serde_json::from_str(&json).unwrap()
}

fn finding_kinds(verified: &Value) -> Vec<String> {
    verified[0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["finding"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_pushed_tag_is_not_replaced_by_other_sources_without_force() {
    let farm = Farm::new().with_services();
    let cat = farm.new_cat("immut");
    let first = farm.run(["build", &cat, "-o", "json"]).ok().items();
    let first_sources = first[0]["source_digest"].as_str().unwrap().to_string();
    farm.run(["push", &cat]).ok();
    let pushed = farm.registry_digest(&cat, "v1").unwrap();

    // The story's mistake, made under one tag: new code, the version not bumped.
    farm.write(&format!("cats/{cat}/reply.txt"), "purr\n");
    let second = farm.run(["build", &cat, "-o", "json"]).ok().items();
    let second_sources = second[0]["source_digest"].as_str().unwrap().to_string();
    assert_ne!(first_sources, second_sources);
    let refused = farm.run(["push", &cat]).fails().text();
    let image = farm.image(&cat, "v1");
    assert!(
        refused.contains(&format!(
            "{image} is already in the registry, built from other sources (the registry's: \
             {first_sources}; the local image's: {second_sources}) — tags are immutable: bump \
             `version` in cats/{cat}/cat.toml"
        )),
        "{refused}"
    );
    assert!(refused.contains("push --force"), "{refused}");
    assert_eq!(
        farm.registry_digest(&cat, "v1").unwrap(),
        pushed,
        "the registry still serves the first push"
    );

    let forced = farm.run(["push", &cat, "--force", "-o", "json"]);
    assert!(forced.success(), "{}", forced.text());
    let rows: Value = forced.items();
    assert_eq!(rows[0]["result"], "replaced");
    assert_eq!(rows[0]["replaced"], pushed.as_str());
    let now_served = farm.registry_digest(&cat, "v1").unwrap();
    assert_ne!(now_served, pushed);
    assert_eq!(rows[0]["digest"], now_served.as_str());
    let stderr = forced.stderr();
    assert!(
        stderr.contains(&format!(
            "--force replaced {image} in the registry (it was {pushed}, built from other sources)"
        )),
        "{stderr}"
    );
    assert!(stderr.contains(&format!("Replaced {cat}")), "{stderr}");
    farm.run(["verify", &cat]).ok();
}

#[test]
fn a_re_push_of_the_same_sources_is_up_to_date_and_pushes_nothing() {
    let farm = Farm::new().with_services();
    let cat = farm.new_cat("same");
    let image = farm.image(&cat, "v1");
    farm.run(["build", &cat]).ok();
    let since = now();
    let first = farm.run(["push", &cat, "-o", "json"]).ok().items();
    assert_eq!(first[0]["result"], "pushed");
    assert!(
        !push_events(&farm, &image, since).is_empty(),
        "the daemon reports a real push, so its absence below means something"
    );
    let pushed = farm.registry_digest(&cat, "v1").unwrap();

    // A rebuild of the same sources is a new image id (its build time differs), not new code.
    let rebuilt = farm
        .run(["build", &cat, "--no-cache", "-o", "json"])
        .ok()
        .items();
    assert_eq!(rebuilt[0]["result"], "built");
    let since = now();
    let output = farm.run(["push", &cat]).ok();
    assert!(output.stdout().contains("up to date"), "{}", output.text());
    assert!(
        output.stderr().contains(&format!("Up to date {cat}")),
        "{}",
        output.text()
    );
    let again = farm.run(["push", &cat, "-o", "json"]).ok().items();
    assert_eq!(again[0]["result"], "up_to_date");
    assert_eq!(again[0]["digest"], pushed.as_str());
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(
        push_events(&farm, &image, since),
        Vec::<String>::new(),
        "nothing was pushed"
    );
    assert_eq!(farm.registry_digest(&cat, "v1").unwrap(), pushed);
    // And the rebuild is not "built but not pushed": push has nothing to push for it.
    let verified = farm.run(["verify", &cat, "-o", "json"]).ok().items();
    assert_eq!(finding_kinds(&verified), Vec::<String>::new(), "{verified}");
    let table = farm.run(["verify", &cat]).ok().stdout();
    assert!(table.contains("same sources"), "{table}");
}

#[test]
fn up_runs_a_built_but_unpushed_cat_and_says_it_is_local() {
    let farm = Farm::new().with_services();
    let cat = farm.new_cat("local");
    farm.write(&format!("secret/{cat}-token"), "xoxb-not-a-real-token\n");
    farm.run(["build", &cat]).ok();
    let output = farm.run(["up", &cat, "--network", "none"]).ok();
    let (stdout, stderr) = (output.stdout(), output.stderr());
    assert!(stdout.contains("running (local, unpushed)"), "{stdout}");
    assert!(
        stderr.contains(&format!(
            "Started {cat} catctl-{cat} from {} (local build, not pushed)",
            farm.image(&cat, "v1")
        )),
        "{stderr}"
    );
    let running = farm.docker(&["ps", "-q", "--filter", &format!("label=io.catctl.up={cat}")]);
    assert_eq!(running.lines().count(), 1, "the local build runs");
    let json = farm
        .run(["up", &cat, "--network", "none", "-o", "json"])
        .ok()
        .items();
    assert_eq!(json[0]["unpushed"], true);
    assert_eq!(json[0]["digest"], Value::Null, "no registry digest to pin");

    // The same source check as for a pushed image.
    farm.write(&format!("cats/{cat}/reply.txt"), "meow\n");
    let refused = farm.run(["up", &cat, "--network", "none"]).fails().text();
    assert!(
        refused.contains(&format!(
            "cats/{cat} (or templates/cat) changed since {} was built",
            farm.image(&cat, "v1")
        )),
        "{refused}"
    );
    std::fs::remove_file(farm.path().join(format!("cats/{cat}/reply.txt"))).unwrap();

    // Once pushed, up runs the registry's image, pinned, as before.
    farm.run(["push", &cat]).ok();
    let json = farm
        .run(["up", &cat, "--network", "none", "-o", "json"])
        .ok()
        .items();
    assert_eq!(json[0]["result"], "running");
    assert_eq!(json[0]["unpushed"], false);
    let served = farm.registry_digest(&cat, "v1").unwrap();
    assert_eq!(json[0]["digest"], served.as_str());
    farm.run(["down", &cat]).ok();
}

#[test]
fn a_base_image_update_is_a_source_change() {
    let farm = Farm::new().with_services();
    let cat = farm.new_cat("base");
    // A base image made here, never pushed: the daemon's own image is what builds use.
    let base = farm.image(&format!("{cat}-base"), "v1");
    let base_dockerfile = "FROM scratch\nCOPY busybox /bin/busybox\nCOPY base.txt /base.txt\n";
    docker_build(&farm, &base, base_dockerfile, &[("base.txt", "one\n")]);
    farm.write(
        &format!("cats/{cat}/Dockerfile"),
        &format!(
            "ARG BASE={base}\n# the cat on its base\nFROM ${{BASE}} AS run\nCOPY . /cat\n\
             CMD [\"/bin/busybox\", \"sleep\", \"3600\"]\n"
        ),
    );
    let built = farm.run(["build", &cat, "-o", "json"]).ok().items();
    assert_eq!(built[0]["result"], "built");
    farm.run(["push", &cat]).ok();
    farm.run(["verify", &cat]).ok();

    // The base changes under the same tag; not one file of the cat does.
    docker_build(&farm, &base, base_dockerfile, &[("base.txt", "two\n")]);
    let text = farm.run(["verify", &cat]).fails().text();
    assert!(
        text.contains(&format!(
            "cats/{cat} (or templates/cat) changed since {} was built",
            farm.image(&cat, "v1")
        )),
        "{text}"
    );
    let output = farm.run(["verify", &cat, "-o", "json"]);
    let verified: Value = output.items();
    assert_eq!(finding_kinds(&verified), ["source_changed"]);
    let rebuilt = farm.run(["build", &cat, "-o", "json"]).ok().items();
    assert_eq!(rebuilt[0]["result"], "built", "not fresh: its base changed");
    assert_ne!(rebuilt[0]["source_digest"], built[0]["source_digest"]);
}

#[test]
fn an_unresolvable_base_image_is_an_error_naming_the_from_line() {
    let farm = Farm::new().with_services();
    let cat = farm.new_cat("nobase");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let from = format!("FROM --platform=linux/amd64 127.0.0.1:{port}/nobase:v1");
    farm.write(
        &format!("cats/{cat}/Dockerfile"),
        &format!("{from}\nCOPY . /cat\n"),
    );
    for command in ["build", "verify"] {
        let text = farm.run([command, &cat]).fails().text();
        assert!(
            text.contains(&format!(
                "cannot resolve the base image of cats/{cat}/Dockerfile line 1 (`{from}`)"
            )),
            "{command}: {text}"
        );
        assert!(
            text.contains(&format!("cannot reach the registry 127.0.0.1:{port}")),
            "{command}: {text}"
        );
    }
}

#[test]
fn images_carry_the_oci_labels_and_the_dirty_flag() {
    let farm = Farm::new().with_services();
    let cat = farm.new_cat("oci");
    let git = |args: &[&str]| {
        let output = Command::new("git")
            .current_dir(farm.path())
            .args(["-c", "user.name=cat", "-c", "user.email=cat@example.com"])
            .args(args)
            .output()
            .unwrap();
        assert!(output.status.success(), "git {args:?}: {output:?}");
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    };
    git(&["init", "-q"]);
    git(&[
        "remote",
        "add",
        "origin",
        "https://cat:s3cret@example.com/farm.git",
    ]);
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "the farm"]);
    let head = git(&["rev-parse", "HEAD"]);

    farm.run(["build", &cat]).ok();
    let image = farm.image(&cat, "v1");
    let clean = labels(&farm, &image);
    assert_eq!(clean["org.opencontainers.image.revision"], head.as_str());
    assert_eq!(clean["org.opencontainers.image.version"], "v1");
    assert_eq!(
        clean["org.opencontainers.image.source"], "https://example.com/farm.git",
        "never the credentials"
    );
    let created = clean["org.opencontainers.image.created"].as_str().unwrap();
    assert!(created.parse::<jiff::Timestamp>().is_ok(), "{created}");
    assert_eq!(clean["io.catctl.git-dirty"], "false");
    farm.run(["push", &cat]).ok();
    assert_eq!(
        farm.run(["verify", &cat, "-o", "json"]).ok().items()[0]["git_dirty"],
        false
    );

    farm.write(&format!("cats/{cat}/cat.toml"), "version = \"v2\"\n");
    let built = farm.run(["build", &cat, "-o", "json"]).ok().items();
    assert_eq!(built[0]["git_dirty"], true);
    let dirty = labels(&farm, &farm.image(&cat, "v2"));
    assert_eq!(dirty["io.catctl.git-dirty"], "true");
    farm.run(["push", &cat]).ok();
    let verified = farm.run(["verify", &cat, "-o", "json"]).ok().items();
    assert_eq!(verified[0]["git_dirty"], true);
    // Read from the registry's image config too, where no local image exists.
    farm.docker(&["rmi", &farm.image(&cat, "v2")]);
    assert_eq!(
        farm.run(["verify", &cat, "-o", "json"]).ok().items()[0]["git_dirty"],
        true
    );
}

#[test]
fn build_args_reach_the_build_a_cats_own_win_and_they_are_part_of_the_sources() {
    let farm = Farm::new().with_services();
    let cat = farm.new_cat("args");
    farm.write(
        "templates/cat/Dockerfile",
        "FROM scratch\nARG NOTE=default\nCOPY busybox /bin/busybox\nLABEL note=$NOTE\n\
         CMD [\"/bin/busybox\", \"sleep\", \"3600\"]\n",
    );
    let toml = farm.read("catctl.toml");
    farm.write(
        "catctl.toml",
        &format!("{toml}\n[build.args]\nNOTE = \"farm\"\n"),
    );
    farm.run(["build", &cat]).ok();
    let image = farm.image(&cat, "v1");
    assert_eq!(labels(&farm, &image)["note"], "farm");
    farm.write(
        &format!("cats/{cat}/cat.toml"),
        "version = \"v1\"\n\n[build.args]\nNOTE = \"cat\"\n",
    );
    // A changed build argument changes what the image holds: the old image is stale.
    let verified = farm.run(["verify", &cat, "-o", "json"]).fails().items();
    assert!(
        finding_kinds(&verified).contains(&"source_changed".to_string()),
        "{verified}"
    );
    farm.run(["build", &cat]).ok();
    assert_eq!(labels(&farm, &image)["note"], "cat");
}
