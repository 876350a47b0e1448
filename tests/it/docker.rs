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
    // The best of three runs: other tests share the machine's cores.
    let elapsed = (0..3)
        .map(|_| {
            let started = std::time::Instant::now();
            let again = farm.run(["build", "--all"]).ok().stdout();
            assert_eq!(again.matches("up to date").count(), 7, "{again}");
            started.elapsed()
        })
        .min()
        .unwrap();
    assert!(
        elapsed.as_millis() < 1000,
        "a cached rebuild of 7 cats took {elapsed:?}"
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
            "registry: {registry} (from catctl.toml) over plain HTTP: '{registry}' is in `insecure_registries`"
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

/// Certificates as `docker-machine`/minikube make them, with the openssl CLI: a CA, a server
/// certificate for 127.0.0.1 and a client certificate; `client/` holds what DOCKER_CERT_PATH
/// points at (ca.pem, cert.pem, key.pem).
fn make_certificates(dir: &Path) {
    let openssl = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("the openssl CLI runs");
        assert!(out.status.success(), "openssl {args:?}: {out:?}");
    };
    std::fs::create_dir_all(dir.join("client")).unwrap();
    std::fs::write(
        dir.join("ext.cnf"),
        "[server]\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n\
         extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1\n\
         [client]\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n\
         extendedKeyUsage=clientAuth\n",
    )
    .unwrap();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let ca_args = [
        &["req", "-x509", "-days", "2", "-subj", "/CN=catctl test CA"][..],
        &ec,
        &["-keyout", "ca-key.pem", "-out", "client/ca.pem"],
        &["-addext", "basicConstraints=critical,CA:TRUE"],
        &["-addext", "keyUsage=critical,keyCertSign,cRLSign"],
    ]
    .concat();
    openssl(&ca_args);
    for (name, key, cert) in [
        ("server", "server-key.pem", "server.pem"),
        ("client", "client/key.pem", "client/cert.pem"),
    ] {
        let csr = format!("{name}.csr");
        let subject = format!("/CN={name}");
        let req = [
            &["req", "-new", "-subj", &subject][..],
            &ec,
            &["-keyout", key, "-out", &csr],
        ]
        .concat();
        openssl(&req);
        openssl(&[
            "x509",
            "-req",
            "-days",
            "2",
            "-in",
            &csr,
            "-CA",
            "client/ca.pem",
            "-CAkey",
            "ca-key.pem",
            "-CAcreateserial",
            "-out",
            cert,
            "-extfile",
            "ext.cnf",
            "-extensions",
            name,
        ]);
    }
}

/// A TLS endpoint on 127.0.0.1 in front of the test daemon's unix socket, asking for a client
/// certificate of the test CA (as dockerd's `--tlsverify`); runs until the test ends.
fn tls_proxy(dir: &Path, socket: &str) -> String {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for ca in CertificateDer::pem_file_iter(dir.join("client/ca.pem")).unwrap() {
        roots.add(ca.unwrap()).unwrap();
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        std::sync::Arc::new(roots),
        provider.clone(),
    )
    .build()
    .unwrap();
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(dir.join("server.pem"))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let key = PrivateKeyDer::from_pem_file(dir.join("server-key.pem")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    let socket = socket.trim_start_matches("unix://").to_string();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            while let Ok((tcp, _)) = listener.accept().await {
                let (acceptor, socket) = (acceptor.clone(), socket.clone());
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let Ok(mut daemon) = tokio::net::UnixStream::connect(&socket).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut daemon).await;
                });
            }
        });
    });
    format!("tcp://{address}")
}

#[test]
fn docker_tls_verify_and_docker_cert_path_reach_a_tls_daemon() {
    let farm = Farm::new().with_services();
    let cat = farm.new_cat("tls");
    let certs = tempfile::tempdir().unwrap();
    make_certificates(certs.path());
    let host = tls_proxy(certs.path(), &farm.services().docker_host);
    let cert_path = certs.path().join("client");
    let out = farm
        .command(["-v", "build", &cat])
        .env("DOCKER_HOST", &host)
        .env("DOCKER_TLS_VERIFY", "1")
        .env("DOCKER_CERT_PATH", &cert_path)
        .run()
        .ok()
        .text();
    assert!(
        out.contains(&format!(
            "Docker daemon: {host} (TLS, certificates in {}) [DOCKER_HOST, DOCKER_TLS_VERIFY]",
            cert_path.display()
        )),
        "{out}"
    );
    assert!(out.contains("builds on BuildKit"), "{out}");
    assert_eq!(architecture(&farm, &farm.image(&cat, "v1")), "amd64");
    // Plain HTTP to the TLS port fails, naming the endpoint; so does a missing client key.
    let out = farm
        .command(["build", &cat])
        .env("DOCKER_HOST", &host)
        .run()
        .fails()
        .text();
    assert!(
        out.contains(&format!(
            "cannot reach the Docker daemon at {host} [DOCKER_HOST]"
        )),
        "{out}"
    );
    std::fs::remove_file(cert_path.join("key.pem")).unwrap();
    let out = farm
        .command(["build", &cat])
        .env("DOCKER_HOST", &host)
        .env("DOCKER_TLS_VERIFY", "1")
        .env("DOCKER_CERT_PATH", &cert_path)
        .run()
        .fails()
        .text();
    assert!(
        out.contains("key.pem") && out.contains("it is missing"),
        "{out}"
    );
}

#[test]
fn up_refuses_an_image_of_another_platform_unless_platform_names_it() {
    let farm = Farm::new().with_services();
    let cat = farm.new_cat("uparm");
    farm.write(&format!("secret/{cat}-token"), "xoxb-not-a-real-token");
    farm.run(["build", "--platform", "linux/arm64", &cat]).ok();
    let containers = || {
        farm.docker(&[
            "ps",
            "-aq",
            "--filter",
            &format!("label=io.catctl.up={cat}"),
        ])
        .lines()
        .count()
    };
    let refused = farm.run(["up", &cat, "--network", "none"]).fails().text();
    assert!(
        refused.contains(&format!(
            "{} is linux/arm64 but the Docker daemon",
            farm.image(&cat, "v1")
        )) && refused.contains("runs linux/amd64")
            && refused.contains("catctl up --platform linux/arm64"),
        "{refused}"
    );
    assert_eq!(containers(), 0, "nothing was created");
    // The test image's busybox is the host's, so "emulating" arm64 runs it as is.
    farm.run(["up", &cat, "--network", "none", "--platform", "linux/arm64"])
        .ok();
    assert_eq!(containers(), 1);
    farm.run(["down", &cat]).ok();
}

#[test]
fn an_ssh_docker_host_is_reached_through_ssh_and_named_when_it_fails() {
    let farm = Farm::new().with_services();
    let cat = farm.new_cat("ssh");
    let host = "ssh://nobody@catctl-no-such-host.invalid";
    let out = farm
        .command(["build", &cat])
        .env("DOCKER_HOST", host)
        .run()
        .fails()
        .text();
    assert!(
        out.contains(&format!(
            "cannot reach the Docker daemon at {host} [DOCKER_HOST]"
        )),
        "{out}"
    );
    assert!(out.contains("catctl-no-such-host.invalid"), "{out}");
}
