//! Building and reaching like docker (issue 16): BuildKit builds for a chosen platform, an
//! image no node can run refused before any write, the daemon chosen by a docker context, and a
//! registry reached through a host name over plain HTTP only when `insecure_registries` says so.

use std::path::Path;

use sha2::{Digest as _, Sha256};

use crate::common::Farm;
use crate::deploy::DeployFarm;

/// `docker image inspect`'s Architecture of a local image.
fn architecture(farm: &Farm, image: &str) -> String {
    farm.docker(&["image", "inspect", "--format", "{{.Architecture}}", image])
        .trim()
        .to_string()
}

#[test]
fn build_for_arm64_gives_an_arm64_image_that_deploy_to_amd64_nodes_refuses_with_zero_writes() {
    let farm = Farm::new().with_services().with_cluster();
    let cat = farm.new_cat("arm");
    let built = farm
        .run(["-v", "build", "--platform", "linux/arm64", &cat])
        .ok();
    let text = built.text();
    assert!(text.contains("linux/arm64"), "{text}");
    assert!(text.contains("builds on BuildKit"), "{text}");
    assert_eq!(architecture(&farm, &farm.image(&cat, "v1")), "arm64");
    farm.run(["push", &cat]).ok();
    farm.sync_token(&cat);
    let cluster = farm.cluster();
    cluster.reset_requests();
    let refused = farm.run(["deploy", &cat]).fails().text();
    assert!(
        refused.contains(&format!("{} is linux/arm64", farm.image(&cat, "v1"))),
        "{refused}"
    );
    assert!(refused.contains("linux/amd64 on fake-node"), "{refused}");
    assert!(refused.contains("--platform linux/amd64"), "{refused}");
    assert!(
        cluster.write_counts().is_empty(),
        "{:?}",
        cluster.write_counts()
    );
    let doctor = farm.run(["doctor"]).fails().text();
    assert!(
        doctor.contains(&format!("image {cat}")) && doctor.contains("no node can run it"),
        "{doctor}"
    );

    // Without --platform the build is for the nodes (amd64 here): the arm64 image is not
    // "fresh" for it, so it is built again.
    farm.write(&format!("cats/{cat}/cat.toml"), "version = \"v2\"\n");
    let text = farm.run(["-v", "build", &cat]).ok().text();
    assert!(
        text.contains("building for linux/amd64: the cluster's nodes' (linux/amd64 on fake-node)"),
        "{text}"
    );
    assert_eq!(architecture(&farm, &farm.image(&cat, "v2")), "amd64");
    farm.run(["push", &cat]).ok();
    farm.run(["deploy", &cat]).ok();
}

#[test]
fn a_platform_in_catctl_toml_and_a_cached_rebuild_of_seven_cats() {
    let farm = Farm::new().with_services();
    let config = std::fs::read_to_string(farm.path().join("catctl.toml")).unwrap();
    farm.write(
        "catctl.toml",
        &format!("{config}[build]\nplatform = \"linux/arm64\"\n"),
    );
    let cats: Vec<String> = (0..7).map(|i| farm.new_cat(&format!("seven{i}"))).collect();
    farm.run(["build", "--all"]).ok();
    for cat in &cats {
        assert_eq!(architecture(&farm, &farm.image(cat, "v1")), "arm64");
    }
    let started = std::time::Instant::now();
    let again = farm.run(["build", "--all"]).ok().stdout();
    let elapsed = started.elapsed();
    assert_eq!(again.matches("up to date").count(), 7, "{again}");
    assert!(
        elapsed.as_millis() < 1000,
        "a cached rebuild took {elapsed:?}"
    );
    // --platform wins over catctl.toml: the arm64 images are not up to date for amd64.
    let amd = farm
        .run(["build", "--platform", "linux/amd64", &cats[0]])
        .ok()
        .stdout();
    assert!(amd.contains("built"), "{amd}");
    assert_eq!(architecture(&farm, &farm.image(&cats[0], "v1")), "amd64");
}

#[test]
fn a_failing_run_step_shows_its_output_on_buildkit() {
    let farm = Farm::new().with_services();
    let cat = farm.new_cat("fails");
    farm.write(
        &format!("cats/{cat}/Dockerfile"),
        "FROM scratch\nCOPY busybox /bin/busybox\n\
         RUN [\"/bin/busybox\", \"sh\", \"-c\", \"echo making the cat; echo no milk >&2; exit 3\"]\n",
    );
    let out = farm.run(["build", &cat]).fails().text();
    assert!(out.contains("the build failed at [2/2] RUN"), "{out}");
    assert!(out.contains("| making the cat"), "{out}");
    assert!(out.contains("| no milk"), "{out}");
    assert!(out.contains("exit code: 3"), "{out}");
}

#[test]
fn without_buildkit_the_legacy_builder_builds_and_says_so_in_one_line() {
    let farm = Farm::new().with_services();
    let cat = farm.new_cat("legacy");
    let out = farm
        .command(["build", &cat])
        .env("DOCKER_BUILDKIT", "0")
        .run()
        .ok()
        .text();
    assert_eq!(out.matches("legacy builder").count(), 1, "{out}");
}

/// Writes docker context `name` (endpoint `host`) into `config_dir` as `docker context create`
/// does: `contexts/meta/<sha256 of the name>/meta.json`.
fn write_docker_context(config_dir: &Path, name: &str, host: &str) {
    let id: String = Sha256::digest(name.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let dir = config_dir.join("contexts/meta").join(id);
    std::fs::create_dir_all(&dir).unwrap();
    let meta = serde_json::json!({
        "Name": name,
        "Metadata": {},
        "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": false}},
    });
    std::fs::write(dir.join("meta.json"), meta.to_string()).unwrap();
}

#[test]
fn without_docker_host_the_current_docker_context_is_used() {
    let farm = Farm::new().with_services();
    let cat = farm.new_cat("ctx");
    // The farm's DOCKER_CONFIG is <farm>/.docker.
    let config_dir = farm.path().join(".docker");
    let host = &farm.services().docker_host;
    write_docker_context(&config_dir, "catctl-test", host);
    write_docker_context(&config_dir, "nowhere", "unix:///nonexistent/docker.sock");
    std::fs::write(
        config_dir.join("config.json"),
        r#"{"auths": {}, "currentContext": "catctl-test"}"#,
    )
    .unwrap();
    let out = farm
        .command(["-v", "build", &cat])
        .env_remove("DOCKER_HOST")
        .run()
        .ok()
        .text();
    assert!(
        out.contains(&format!(
            "Docker daemon: {host} [docker context 'catctl-test'"
        )),
        "{out}"
    );
    assert!(
        farm.docker(&["image", "inspect", &farm.image(&cat, "v1")])
            .contains("Architecture")
    );
    // DOCKER_CONTEXT wins over config.json, and errors name the endpoint.
    let out = farm
        .command(["build", &cat])
        .env_remove("DOCKER_HOST")
        .env("DOCKER_CONTEXT", "nowhere")
        .run()
        .fails()
        .text();
    assert!(
        out.contains(
            "unix:///nonexistent/docker.sock [docker context 'nowhere' from DOCKER_CONTEXT]"
        ),
        "{out}"
    );
    let out = farm
        .command(["build", &cat])
        .env_remove("DOCKER_HOST")
        .env("DOCKER_CONTEXT", "colima")
        .run()
        .fails()
        .text();
    assert!(
        out.contains("docker context 'colima' (from DOCKER_CONTEXT) does not exist"),
        "{out}"
    );
}

/// The test registry under a host name that is not `localhost` nor a loopback address: the
/// machine's own name, which resolves to 127.0.0.1 (the daemon treats it as insecure, since it
/// resolves it into its 127.0.0.0/8; catctl does not resolve names and needs it listed).
fn registry_by_name(farm: &Farm) -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string();
    let port = farm.registry().rsplit_once(':').unwrap().1.to_string();
    let resolved: Vec<std::net::SocketAddr> =
        std::net::ToSocketAddrs::to_socket_addrs(&(name.as_str(), 5000))
            .unwrap_or_else(|e| panic!("the host name {name} does not resolve: {e}"))
            .collect();
    assert!(
        resolved.iter().any(|a| a.ip().is_loopback()),
        "this test needs the machine's name ({name}) to resolve to a loopback address: {resolved:?}"
    );
    assert!(name.parse::<std::net::IpAddr>().is_err() && name != "localhost");
    format!("{name}:{port}")
}

#[test]
fn a_registry_by_host_name_is_plain_http_only_when_listed_in_insecure_registries() {
    let farm = Farm::new().with_services();
    let registry = registry_by_name(&farm);
    let cat = farm.new_cat("insecure");
    farm.write("catctl.toml", &format!("registry = \"{registry}\"\n"));
    farm.run(["build", &cat]).ok();
    let refused = farm.run(["push", &cat]).fails().text();
    assert!(
        refused.contains(&format!("cannot reach the registry {registry}"))
            && refused.contains("HTTPS: not in `insecure_registries` in catctl.toml"),
        "{refused}"
    );
    farm.write(
        "catctl.toml",
        &format!("registry = \"{registry}\"\ninsecure_registries = [\"{registry}\"]\n"),
    );
    let out = farm.run(["-v", "push", &cat]).ok().text();
    assert!(
        out.contains(&format!(
            "registry: {registry} over plain HTTP: '{registry}' is in `insecure_registries`"
        )),
        "{out}"
    );
    farm.run(["verify", &cat]).ok();
    farm.write(
        "catctl.toml",
        &format!("registry = \"{registry}\"\ninsecure_registries = [\"http://{registry}\"]\n"),
    );
    let out = farm.run(["verify", &cat]).fails().text();
    assert!(out.contains("must not include a scheme"), "{out}");
}
