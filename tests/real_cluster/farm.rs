//! A throwaway farm of `FROM scratch` busybox cats whose namespace (its own, per test) lives in
//! the real cluster, and the Docker daemon and registry of scripts/test-services.sh.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use serde_json::Value;

use crate::cluster::Real;

/// Where the test daemon and registry are.
#[derive(Debug)]
pub struct Services {
    pub docker_host: String,
    pub registry: String,
    pub busybox: String,
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The services, from the environment or started (idempotently) by the project's script.
pub fn services() -> &'static Services {
    static SERVICES: OnceLock<Services> = OnceLock::new();
    SERVICES.get_or_init(|| {
        if let (Ok(docker_host), Ok(registry), Ok(busybox)) = (
            std::env::var("DOCKER_HOST"),
            std::env::var("CATCTL_TEST_REGISTRY"),
            std::env::var("CATCTL_TEST_BUSYBOX"),
        ) {
            return Services {
                docker_host,
                registry,
                busybox,
            };
        }
        let script = repo().join("scripts/test-services.sh");
        let start = Command::new(&script).arg("start").output().unwrap();
        assert!(
            start.status.success(),
            "scripts/test-services.sh start failed:\n{}",
            String::from_utf8_lossy(&start.stderr)
        );
        let env = Command::new(&script).arg("env").output().unwrap();
        let env = String::from_utf8_lossy(&env.stdout).into_owned();
        let get = |name: &str| {
            env.lines()
                .find_map(|l| l.strip_prefix(&format!("export {name}=")))
                .unwrap_or_else(|| panic!("test-services.sh env does not give {name}"))
                .to_string()
        };
        Services {
            docker_host: get("DOCKER_HOST"),
            registry: get("CATCTL_TEST_REGISTRY"),
            busybox: get("CATCTL_TEST_BUSYBOX"),
        }
    })
}

/// The busybox cat: it idles, like a bot waiting for Slack, and serves `/healthz` on its health
/// port (busybox httpd, the file `templates/cat/www/healthz`) for the default probes.
pub const DOCKERFILE: &str = "FROM scratch\nCOPY busybox /bin/busybox\nCOPY . /cat\n\
    CMD [\"/bin/busybox\", \"sh\", \"-c\", \"exec /bin/busybox httpd -f -p ${CAT_HEALTH_PORT:-8080} -h /cat/www\"]\n";

/// The file busybox httpd serves as `/healthz`.
pub const HEALTHZ: &str = "templates/cat/www/healthz";

fn unique(hint: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{hint}-{}-{:x}{}",
        std::process::id(),
        nanos,
        COUNTER.fetch_add(1, Ordering::SeqCst)
    )
}

/// A farm and its own namespace in the real cluster (deleted when the farm is dropped).
pub struct Farm {
    dir: tempfile::TempDir,
    pub real: &'static Real,
    pub services: &'static Services,
    pub ns: String,
}

impl Farm {
    pub fn new(real: &'static Real, hint: &str) -> Farm {
        let services = services();
        let farm = Farm {
            dir: tempfile::tempdir().unwrap(),
            real,
            services,
            ns: unique(hint),
        };
        farm.write(
            "catctl.toml",
            &format!(
                "registry = \"{}\"\nnamespace = \"{}\"\nconcurrency = 4\n",
                services.registry, farm.ns
            ),
        );
        std::fs::create_dir_all(farm.path().join("templates/cat")).unwrap();
        std::fs::copy(&services.busybox, farm.path().join("templates/cat/busybox")).unwrap();
        farm.write("templates/cat/Dockerfile", DOCKERFILE);
        farm.write("templates/cat/engine.txt", "the engine\n");
        farm.write(HEALTHZ, "ok\n");
        // What `catctl copycat` renders a new cat's cat.toml from: the repository's own.
        std::fs::copy(
            repo().join("templates/cat/cat.toml"),
            farm.path().join("templates/cat/cat.toml"),
        )
        .unwrap();
        real.kubectl_ok(None, &["create", "namespace", &farm.ns]);
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

    /// A new cat (cats/<name>/cat.toml at v1) with a name no other test uses.
    pub fn new_cat(&self, hint: &str) -> String {
        let name = unique(hint);
        self.write(&format!("cats/{name}/cat.toml"), "version = \"v1\"\n");
        name
    }

    /// A second checkout of the farm (a copy of its directory, secrets included): the same
    /// cats, namespace and registry, to change apart from this one.
    pub fn checkout(&self) -> tempfile::TempDir {
        let copy = tempfile::tempdir().unwrap();
        let copied = Command::new("cp")
            .arg("-a")
            .arg(format!("{}/.", self.path().display()))
            .arg(copy.path())
            .status()
            .unwrap();
        assert!(copied.success(), "cp -a of the farm failed");
        copy
    }

    /// The command line a user types, inside the farm, against the real cluster.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_catctl"));
        for var in ["CATCTL_CONFIG", "CATCTL_REGISTRY", "COMPLETE"] {
            cmd.env_remove(var);
        }
        cmd.env("NO_COLOR", "1")
            .current_dir(self.path())
            .env("DOCKER_HOST", &self.services.docker_host)
            .env("DOCKER_CONFIG", self.path().join(".docker"))
            .env("KUBECONFIG", &self.real.kubeconfig)
            .args(args);
        cmd
    }

    pub fn catctl(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Runs catctl and insists it succeeds.
    pub fn ok(&self, args: &[&str]) -> Output {
        let output = self.catctl(args);
        assert!(
            output.status.success(),
            "catctl {args:?} failed:\n{}",
            text(&output)
        );
        output
    }

    /// Runs catctl and insists it fails; returns stdout + stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let output = self.catctl(args);
        let text = text(&output);
        assert!(
            !output.status.success(),
            "catctl {args:?} succeeded:\n{text}"
        );
        text
    }

    /// The `items` of catctl's `-o json` envelope (whose `apiVersion` is checked).
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["-o", "json"]);
        let value: Value = serde_json::from_slice(&self.ok(&all).stdout).unwrap();
        assert_eq!(value["apiVersion"], "catctl/v1", "{value}");
        value["items"].clone()
    }

    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        self.real.kubectl_ok(Some(&self.ns), args)
    }

    pub fn get(&self, what: &[&str]) -> Value {
        self.real.get_json(Some(&self.ns), what)
    }

    pub fn image(&self, cat: &str, version: &str) -> String {
        format!("{}/{cat}:{version}", self.services.registry)
    }

    /// The digest the registry serves for the cat's tag.
    pub fn digest(&self, cat: &str, tag: &str) -> String {
        let output = Command::new("curl")
            .args([
                "-sS",
                "-I",
                "-H",
                "Accept: application/vnd.docker.distribution.manifest.v2+json",
                &format!("http://{}/v2/{cat}/manifests/{tag}", self.services.registry),
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
            .unwrap_or_else(|| panic!("the registry has no {cat}:{tag}"))
    }

    /// The cat's token files in secret/, synced to the cluster.
    pub fn token(&self, cat: &str, bot_token: &str) {
        self.write(&format!("secret/{cat}-token/bot-token"), bot_token);
        self.write(
            &format!("secret/{cat}-token/app-token"),
            &format!("xapp-{cat}"),
        );
        self.ok(&["secret", "sync"]);
    }

    /// A cat built, pushed, and with its token synced.
    pub fn cat(&self, hint: &str) -> String {
        let cat = self.new_cat(hint);
        self.ok(&["build", &cat]);
        self.ok(&["push", &cat]);
        self.token(&cat, &format!("xoxb-{cat}"));
        cat
    }

    /// Changes the cat's sources and version, then builds and pushes.
    pub fn release(&self, cat: &str, version: &str) {
        self.write(
            &format!("cats/{cat}/cat.toml"),
            &format!("version = \"{version}\"\n"),
        );
        self.write(&format!("cats/{cat}/release.txt"), version);
        self.ok(&["build", cat]);
        self.ok(&["push", cat]);
    }

    /// The cat's pod `<cat>-0` as the API server has it.
    pub fn pod(&self, cat: &str) -> Value {
        self.get(&["pod", &format!("{cat}-0")])
    }

    /// The digest the node reports the cat's running container was started from.
    pub fn running_digest(&self, cat: &str) -> String {
        let pod = self.pod(cat);
        let status = &pod["status"]["containerStatuses"][0];
        assert!(
            status["state"]["running"].is_object(),
            "{cat}-0 is not running: {status}"
        );
        let image_id = status["imageID"].as_str().unwrap_or_default();
        image_id
            .rsplit_once('@')
            .map(|(_, digest)| digest.to_string())
            .unwrap_or_else(|| panic!("imageID {image_id:?} holds no digest"))
    }
}

impl Drop for Farm {
    fn drop(&mut self) {
        let _ = self
            .real
            .kubectl(None, &["delete", "namespace", &self.ns, "--wait=false"]);
    }
}

pub fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}
