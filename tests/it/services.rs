//! The real Docker daemon and registry that image tests use, from scripts/test-services.sh.
//! A test that needs them never skips: it starts them, or fails saying why.

use std::process::Command;
use std::sync::OnceLock;

use crate::common::{Farm, repo};

/// Where the test daemon and registry are.
#[derive(Debug, Clone)]
pub struct Services {
    pub docker_host: String,
    pub registry: String,
    pub busybox: String,
}

/// The services, started (idempotently) on first use by the project's script.
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
        let start = Command::new(&script)
            .arg("start")
            .output()
            .expect("run test-services.sh");
        assert!(
            start.status.success(),
            "the Docker daemon and registry the tests need did not start \
             (scripts/test-services.sh start):\n{}",
            String::from_utf8_lossy(&start.stderr)
        );
        let env = Command::new(&script)
            .arg("env")
            .output()
            .expect("run test-services.sh env");
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

#[test]
fn daemon_builds_and_registry_serves_a_scratch_image() {
    let farm = Farm::new().with_services();
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(&farm.services().busybox, dir.path().join("busybox")).unwrap();
    std::fs::write(
        dir.path().join("Dockerfile"),
        "FROM scratch\nCOPY busybox /bin/busybox\nCMD [\"/bin/busybox\", \"true\"]\n",
    )
    .unwrap();
    let image = format!("{}/catctl-selftest:v1", farm.registry());
    farm.docker(&["build", "-q", "-t", &image, dir.path().to_str().unwrap()]);
    let pushed = farm.docker(&["push", &image]);
    assert!(pushed.contains("digest: sha256:"), "{pushed}");
}
