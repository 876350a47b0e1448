//! Which Docker daemon to talk to, chosen as the docker CLI chooses it: `DOCKER_HOST` (with
//! `DOCKER_TLS_VERIFY`/`DOCKER_CERT_PATH`), else the context named by `DOCKER_CONTEXT`, else the
//! `currentContext` of `config.json` in `DOCKER_CONFIG` (or `~/.docker`), else the default
//! socket. A context's endpoint and TLS material come from `contexts/meta` and `contexts/tls`.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

/// Where docker looks when nothing else is set.
pub const DEFAULT_HOST: &str = "unix:///var/run/docker.sock";

/// The daemon's address and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `unix://…`, `tcp://…`, `https://…` or `ssh://…`.
    pub host: String,
    /// Client certificate, key and CA to speak TLS with (`None`: plain).
    pub tls: Option<TlsFiles>,
    /// Why this endpoint: the variable or context that chose it.
    pub origin: String,
}

/// The files of a TLS connection, as docker keeps them: `ca.pem`, `cert.pem`, `key.pem`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub dir: PathBuf,
}

impl TlsFiles {
    pub fn ca(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }
    pub fn cert(&self) -> PathBuf {
        self.dir.join("cert.pem")
    }
    pub fn key(&self) -> PathBuf {
        self.dir.join("key.pem")
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.host)?;
        if let Some(tls) = &self.tls {
            write!(f, " (TLS, certificates in {})", tls.dir.display())?;
        }
        write!(f, " [{}]", self.origin)
    }
}

/// What the resolution reads from the process: environment variables and the home directory.
pub trait Environment {
    fn var(&self, name: &str) -> Option<String>;
    fn home(&self) -> Option<PathBuf>;
}

/// The real process environment.
pub struct ProcessEnvironment;

impl Environment for ProcessEnvironment {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.is_empty())
    }
    fn home(&self) -> Option<PathBuf> {
        std::env::home_dir()
    }
}

/// The endpoint the docker CLI would use in `env`.
pub fn resolve(env: &dyn Environment) -> Result<Endpoint> {
    let config_dir = config_dir(env);
    if let Some(host) = env.var("DOCKER_HOST") {
        return from_docker_host(env, &config_dir, host, "DOCKER_HOST");
    }
    let (context, origin) = match env.var("DOCKER_CONTEXT") {
        Some(name) => (Some(name), "DOCKER_CONTEXT".to_string()),
        None => (
            current_context(&config_dir)?,
            format!(
                "currentContext in {}",
                config_dir.join("config.json").display()
            ),
        ),
    };
    match context {
        Some(name) if name != "default" => from_context(&config_dir, &name, &origin),
        _ => Ok(Endpoint {
            host: DEFAULT_HOST.to_string(),
            tls: None,
            origin: "the default socket: no DOCKER_HOST, no docker context".to_string(),
        }),
    }
}

/// `DOCKER_CONFIG`, else `~/.docker`.
fn config_dir(env: &dyn Environment) -> PathBuf {
    env.var("DOCKER_CONFIG")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            env.home()
                .unwrap_or_else(|| PathBuf::from("/"))
                .join(".docker")
        })
}

fn from_docker_host(
    env: &dyn Environment,
    config_dir: &Path,
    host: String,
    origin: &str,
) -> Result<Endpoint> {
    check_scheme(&host).with_context(|| format!("checking {origin}={host}"))?;
    let tls = match env.var("DOCKER_TLS_VERIFY") {
        Some(_) if !host.starts_with("unix://") && !host.starts_with("ssh://") => {
            let dir = env
                .var("DOCKER_CERT_PATH")
                .map(PathBuf::from)
                .unwrap_or_else(|| config_dir.to_path_buf());
            Some(TlsFiles { dir })
        }
        _ if host.starts_with("https://") => Some(TlsFiles {
            dir: env
                .var("DOCKER_CERT_PATH")
                .map(PathBuf::from)
                .unwrap_or_else(|| config_dir.to_path_buf()),
        }),
        _ => None,
    };
    let origin = match &tls {
        Some(_) => format!("{origin}, DOCKER_TLS_VERIFY"),
        None => origin.to_string(),
    };
    Ok(Endpoint { host, tls, origin })
}

fn check_scheme(host: &str) -> Result<()> {
    if let Some(rest) = host.strip_prefix("ssh://") {
        let authority = rest.split('/').next().unwrap_or_default();
        let hostname = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        if let Some((name, port)) = hostname.rsplit_once(':')
            && port.chars().all(|c| c.is_ascii_digit())
        {
            bail!(
                "'{host}': a port in an ssh:// address is not supported yet (the ssh connection \
                 cannot be given one) — set `Port {port}` for `Host {name}` in ~/.ssh/config and \
                 write ssh://{}",
                authority.replacen(&format!(":{port}"), "", 1)
            );
        }
    }
    match host.split_once("://") {
        Some(("unix" | "tcp" | "http" | "https" | "ssh", rest)) if !rest.is_empty() => Ok(()),
        Some(("npipe", _)) => bail!("npipe:// is Windows' named pipe; catctl runs on Unix"),
        _ => bail!(
            "'{host}' is not an address docker understands — write unix:///path/to/docker.sock, \
             tcp://HOST:PORT or ssh://USER@HOST"
        ),
    }
}

#[derive(Deserialize)]
struct ConfigFile {
    #[serde(rename = "currentContext", default)]
    current_context: Option<String>,
}

/// `currentContext` of `config.json` (none when the file or the key is missing).
fn current_context(config_dir: &Path) -> Result<Option<String>> {
    let path = config_dir.join("config.json");
    let Some(config) =
        super::read_config_json::<ConfigFile>(&path, "docker's config.json (fix or remove it)")?
    else {
        return Ok(None);
    };
    Ok(config.current_context.filter(|c| !c.is_empty()))
}

#[derive(Deserialize)]
struct ContextMeta {
    #[serde(rename = "Endpoints", default)]
    endpoints: std::collections::HashMap<String, ContextEndpoint>,
}

#[derive(Deserialize)]
struct ContextEndpoint {
    #[serde(rename = "Host", default)]
    host: Option<String>,
    #[serde(rename = "SkipTLSVerify", default)]
    skip_tls_verify: bool,
}

/// The docker endpoint of context `name`, from `contexts/meta/<sha256(name)>/meta.json` and
/// its TLS material in `contexts/tls/<sha256(name)>/docker/`.
fn from_context(config_dir: &Path, name: &str, origin: &str) -> Result<Endpoint> {
    let id = hex(&Sha256::digest(name.as_bytes()));
    let meta_path = config_dir.join("contexts/meta").join(&id).join("meta.json");
    let text = std::fs::read_to_string(&meta_path).with_context(|| {
        format!(
            "docker context '{name}' (from {origin}) does not exist: cannot read {} — see \
             `docker context ls`, or `docker context use default`",
            meta_path.display()
        )
    })?;
    let meta: ContextMeta = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a docker context", meta_path.display()))?;
    let Some(endpoint) = meta.endpoints.get("docker") else {
        bail!(
            "docker context '{name}' has no docker endpoint ({})",
            meta_path.display()
        );
    };
    let Some(host) = endpoint.host.clone().filter(|h| !h.is_empty()) else {
        bail!(
            "docker context '{name}' has no Host in {}",
            meta_path.display()
        );
    };
    let origin = format!("docker context '{name}' from {origin}");
    check_scheme(&host).with_context(|| format!("checking the Host of {origin}"))?;
    let tls_dir = config_dir.join("contexts/tls").join(&id).join("docker");
    let tls = tls_dir.is_dir().then_some(TlsFiles { dir: tls_dir });
    if tls.is_some() && endpoint.skip_tls_verify {
        bail!(
            "docker context '{name}' sets SkipTLSVerify: catctl always verifies the daemon's \
             certificate — put its CA in {}/ca.pem and update the context with `docker context \
             update {name} --docker host={host},ca=CA,cert=CERT,key=KEY`",
            config_dir
                .join("contexts/tls")
                .join(&id)
                .join("docker")
                .display()
        );
    }
    Ok(Endpoint { host, tls, origin })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct FakeEnv {
        vars: HashMap<&'static str, String>,
        home: PathBuf,
    }

    impl Environment for FakeEnv {
        fn var(&self, name: &str) -> Option<String> {
            self.vars.get(name).cloned()
        }
        fn home(&self) -> Option<PathBuf> {
            Some(self.home.clone())
        }
    }

    fn env(home: &Path, vars: &[(&'static str, &str)]) -> FakeEnv {
        FakeEnv {
            vars: vars.iter().map(|(k, v)| (*k, v.to_string())).collect(),
            home: home.to_path_buf(),
        }
    }

    /// Writes context `name` as `docker context create` does.
    fn write_context(config_dir: &Path, name: &str, host: &str, tls: bool) {
        let id = hex(&Sha256::digest(name.as_bytes()));
        let meta = config_dir.join("contexts/meta").join(&id);
        std::fs::create_dir_all(&meta).unwrap();
        let json = serde_json::json!({
            "Name": name,
            "Metadata": {},
            "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": false}},
        });
        std::fs::write(meta.join("meta.json"), json.to_string()).unwrap();
        if tls {
            let dir = config_dir.join("contexts/tls").join(&id).join("docker");
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("ca.pem"), "").unwrap();
        }
    }

    #[test]
    fn the_context_id_is_the_sha256_of_its_name() {
        // As `docker context inspect colima` shows it under Storage.MetadataPath.
        assert_eq!(
            hex(&Sha256::digest(b"default")),
            "37a8eec1ce19687d132fe29051dca629d164e2c4958ba141d5f4133a33f0688f"
        );
    }

    #[test]
    fn docker_host_wins_then_docker_context_then_current_context() {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path();
        let config = home.join(".docker");
        write_context(&config, "colima", "unix:///colima.sock", false);
        write_context(&config, "remote", "tcp://10.0.0.5:2376", true);
        std::fs::write(config.join("config.json"), r#"{"currentContext":"colima"}"#).unwrap();

        let none = resolve(&env(home, &[])).unwrap();
        assert_eq!(none.host, "unix:///colima.sock");
        assert!(none.origin.contains("currentContext"), "{}", none.origin);

        let by_env = resolve(&env(home, &[("DOCKER_CONTEXT", "remote")])).unwrap();
        assert_eq!(by_env.host, "tcp://10.0.0.5:2376");
        let tls = by_env.tls.unwrap();
        assert!(tls.dir.ends_with("docker"), "{}", tls.dir.display());
        assert_eq!(tls.ca(), tls.dir.join("ca.pem"));

        let by_host = resolve(&env(
            home,
            &[
                ("DOCKER_HOST", "tcp://h:2375"),
                ("DOCKER_CONTEXT", "remote"),
            ],
        ))
        .unwrap();
        assert_eq!((by_host.host.as_str(), by_host.tls), ("tcp://h:2375", None));

        let default = resolve(&env(home, &[("DOCKER_CONTEXT", "default")])).unwrap();
        assert_eq!(default.host, DEFAULT_HOST);
    }

    #[test]
    fn docker_config_moves_the_config_dir() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("elsewhere");
        write_context(&dir, "minikube", "tcp://192.168.49.2:2376", true);
        std::fs::write(dir.join("config.json"), r#"{"currentContext":"minikube"}"#).unwrap();
        let dir_text = dir.display().to_string();
        let found = resolve(&env(tmp.path(), &[("DOCKER_CONFIG", &dir_text)])).unwrap();
        assert_eq!(found.host, "tcp://192.168.49.2:2376");
        assert!(found.to_string().contains("docker context 'minikube'"));
    }

    #[test]
    fn tls_verify_takes_the_cert_path() {
        let tmp = tempfile::tempdir().unwrap();
        let found = resolve(&env(
            tmp.path(),
            &[
                ("DOCKER_HOST", "tcp://192.168.49.2:2376"),
                ("DOCKER_TLS_VERIFY", "1"),
                ("DOCKER_CERT_PATH", "/certs/minikube"),
            ],
        ))
        .unwrap();
        assert_eq!(
            found.tls.unwrap().key(),
            Path::new("/certs/minikube/key.pem")
        );
        let default_path = resolve(&env(
            tmp.path(),
            &[("DOCKER_HOST", "tcp://h:2376"), ("DOCKER_TLS_VERIFY", "1")],
        ))
        .unwrap();
        assert_eq!(default_path.tls.unwrap().dir, tmp.path().join(".docker"));
    }

    #[test]
    fn a_missing_context_or_a_bad_host_says_what_to_do() {
        let tmp = tempfile::tempdir().unwrap();
        let err = resolve(&env(tmp.path(), &[("DOCKER_CONTEXT", "colima")])).unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("docker context 'colima' (from DOCKER_CONTEXT) does not exist"));
        assert!(text.contains("docker context ls"), "{text}");
        let err = resolve(&env(tmp.path(), &[("DOCKER_HOST", "ssh://me@box:2222")])).unwrap_err();
        let text = format!("{err:#}");
        assert!(text.contains("`Port 2222` for `Host box`"), "{text}");
        assert!(text.contains("write ssh://me@box"), "{text}");
        assert!(resolve(&env(tmp.path(), &[("DOCKER_HOST", "ssh://me@box")])).is_ok());
        let err =
            resolve(&env(tmp.path(), &[("DOCKER_HOST", "/var/run/docker.sock")])).unwrap_err();
        assert!(format!("{err:#}").contains("unix:///path/to/docker.sock"));
    }
}
