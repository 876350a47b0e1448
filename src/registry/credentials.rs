//! Registry credentials the way the docker CLI finds them: `$DOCKER_CONFIG/config.json` (default
//! `~/.docker/config.json`) — `credHelpers` for this host, else `credsStore`, else `auths` —
//! running the `docker-credential-<name>` helper programs (e.g. gcloud's) when one is named.
//! No secret ever reaches a message: `Debug` hides them and errors name only hosts and files.

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{Context as _, Result, bail};
use base64::Engine as _;
use serde::Deserialize;

/// What to log in with.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    pub username: Option<String>,
    pub password: Option<String>,
    /// An OAuth refresh token, given by helpers as username `<token>`.
    pub identity_token: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<hidden>"))
            .field(
                "identity_token",
                &self.identity_token.as_ref().map(|_| "<hidden>"),
            )
            .finish()
    }
}

impl Credentials {
    pub fn to_bollard(&self, server: &str) -> bollard::auth::DockerCredentials {
        bollard::auth::DockerCredentials {
            username: self.username.clone(),
            password: self.password.clone(),
            identitytoken: self.identity_token.clone(),
            serveraddress: Some(server.to_string()),
            ..Default::default()
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct ConfigFile {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
    #[serde(default, rename = "credHelpers")]
    cred_helpers: BTreeMap<String, String>,
    #[serde(default, rename = "credsStore")]
    creds_store: Option<String>,
}

#[derive(Default, Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default, rename = "identitytoken")]
    identity_token: Option<String>,
}

impl fmt::Debug for AuthEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuthEntry(<hidden>)")
    }
}

/// Where docker keeps its configuration: `$DOCKER_CONFIG/config.json`, else
/// `~/.docker/config.json`.
pub fn config_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".docker/config.json"))
}

/// The credentials for `host` (e.g. `gcr.io`, `127.0.0.1:5000`), or `None` to go anonymous.
/// `server` is the key docker uses for it (`https://index.docker.io/v1/` for Docker Hub).
pub fn lookup(host: &str, server: &str) -> Result<Option<Credentials>> {
    let Some(path) = config_path() else {
        return Ok(None);
    };
    let Some(config) =
        crate::docker::read_config_json::<ConfigFile>(&path, "a valid docker config file (JSON)")?
    else {
        return Ok(None);
    };
    resolve(&config, host, server, &run_helper)
        .with_context(|| format!("reading the credentials for {host} from {}", path.display()))
}

/// A helper run: program name (without `docker-credential-`), server → its JSON answer, or
/// `None` when it has no credentials for the server.
type Helper<'a> = dyn Fn(&str, &str) -> Result<Option<HelperAnswer>> + 'a;

#[derive(Deserialize)]
pub struct HelperAnswer {
    #[serde(rename = "Username", default)]
    username: String,
    #[serde(rename = "Secret", default)]
    secret: String,
}

fn resolve(
    config: &ConfigFile,
    host: &str,
    server: &str,
    helper: &Helper<'_>,
) -> Result<Option<Credentials>> {
    let helper_name = config
        .cred_helpers
        .iter()
        .find(|(key, _)| hostname(key) == host)
        .map(|(_, name)| name)
        .or(config.creds_store.as_ref());
    // A store without an entry for this host falls back to `auths`, as docker does.
    if let Some(name) = helper_name.filter(|n| !n.is_empty())
        && let Some(answer) = helper(name, server)?
    {
        return Ok(Some(from_helper(answer)));
    }
    let entry = config
        .auths
        .iter()
        .find(|(key, _)| hostname(key) == host)
        .map(|(_, entry)| entry);
    let Some(entry) = entry else {
        return Ok(None);
    };
    let mut creds = Credentials {
        username: entry.username.clone().filter(|u| !u.is_empty()),
        password: entry.password.clone().filter(|p| !p.is_empty()),
        identity_token: entry.identity_token.clone().filter(|t| !t.is_empty()),
    };
    if let Some(auth) = entry.auth.as_deref().filter(|a| !a.is_empty()) {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok());
        let Some((user, pass)) = decoded.as_deref().and_then(|d| d.split_once(':')) else {
            bail!("the `auth` entry for {host} is not base64 of `user:password`");
        };
        creds.username = Some(user.to_string());
        creds.password = Some(pass.to_string());
    }
    if creds == Credentials::default() {
        return Ok(None);
    }
    Ok(Some(creds))
}

fn from_helper(answer: HelperAnswer) -> Credentials {
    if answer.username == "<token>" {
        Credentials {
            identity_token: Some(answer.secret),
            ..Default::default()
        }
    } else {
        Credentials {
            username: Some(answer.username),
            password: Some(answer.secret),
            identity_token: None,
        }
    }
}

/// Runs `docker-credential-<name> get` with the server on stdin.
fn run_helper(name: &str, server: &str) -> Result<Option<HelperAnswer>> {
    let program = format!("docker-credential-{name}");
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| {
            format!("cannot run the credential helper {program}: is it installed and on PATH?")
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(server.as_bytes())
            .with_context(|| format!("cannot talk to {program}"))?;
    }
    let output = child
        .wait_with_output()
        .with_context(|| format!("cannot run {program}"))?;
    if !output.status.success() {
        let said = String::from_utf8_lossy(&output.stdout);
        if said.contains("credentials not found") {
            return Ok(None);
        }
        // The helper's own words name the problem; they never contain the secret it failed
        // to produce.
        let stderr = String::from_utf8_lossy(&output.stderr);
        bail!(
            "{program} get failed ({}): {}",
            output.status,
            format!("{} {}", said.trim(), stderr.trim()).trim()
        );
    }
    let answer: HelperAnswer = serde_json::from_slice(&output.stdout)
        .with_context(|| format!("{program} get did not answer with the expected JSON"))?;
    Ok(Some(answer))
}

/// The host part of a config key: `https://gcr.io/v1/` → `gcr.io`.
fn hostname(key: &str) -> &str {
    let rest = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let host = rest.split('/').next().unwrap_or(rest);
    match host {
        "index.docker.io" | "registry-1.docker.io" => "docker.io",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: &str) -> ConfigFile {
        serde_json::from_str(json).unwrap()
    }

    fn no_helper(_: &str, _: &str) -> Result<Option<HelperAnswer>> {
        panic!("no helper should run")
    }

    #[test]
    fn auths_with_base64_user_password() {
        // "cat:s3cr:et" — a password may contain ':'.
        let cfg = config(r#"{"auths": {"https://gcr.io": {"auth": "Y2F0OnMzY3I6ZXQ="}}}"#);
        let creds = resolve(&cfg, "gcr.io", "gcr.io", &no_helper)
            .unwrap()
            .unwrap();
        assert_eq!(creds.username.as_deref(), Some("cat"));
        assert_eq!(creds.password.as_deref(), Some("s3cr:et"));
        assert!(
            !format!("{creds:?}").contains("s3cr"),
            "Debug hides secrets"
        );
        assert_eq!(
            resolve(&cfg, "quay.io", "quay.io", &no_helper).unwrap(),
            None
        );
    }

    #[test]
    fn cred_helpers_win_over_auths_and_tokens_are_identity_tokens() {
        let cfg = config(
            r#"{"auths": {"gcr.io": {"auth": "YTpi"}}, "credHelpers": {"gcr.io": "gcloud"}}"#,
        );
        let helper = |name: &str, server: &str| -> Result<Option<HelperAnswer>> {
            assert_eq!((name, server), ("gcloud", "gcr.io"));
            Ok(Some(HelperAnswer {
                username: "<token>".into(),
                secret: "refresh".into(),
            }))
        };
        let creds = resolve(&cfg, "gcr.io", "gcr.io", &helper).unwrap().unwrap();
        assert_eq!(creds.identity_token.as_deref(), Some("refresh"));
        assert_eq!(creds.username, None);
    }

    #[test]
    fn creds_store_falls_back_to_auths_when_it_has_nothing() {
        let cfg =
            config(r#"{"auths": {"127.0.0.1:5000": {"auth": "YTpi"}}, "credsStore": "pass"}"#);
        let empty = |_: &str, _: &str| -> Result<Option<HelperAnswer>> { Ok(None) };
        let creds = resolve(&cfg, "127.0.0.1:5000", "127.0.0.1:5000", &empty)
            .unwrap()
            .unwrap();
        assert_eq!(creds.username.as_deref(), Some("a"));
        let store = |_: &str, _: &str| -> Result<Option<HelperAnswer>> {
            Ok(Some(HelperAnswer {
                username: "u".into(),
                secret: "p".into(),
            }))
        };
        let creds = resolve(&cfg, "127.0.0.1:5000", "127.0.0.1:5000", &store)
            .unwrap()
            .unwrap();
        assert_eq!(creds.password.as_deref(), Some("p"));
    }

    #[test]
    fn bad_auth_is_an_error_without_the_secret() {
        let cfg = config(r#"{"auths": {"gcr.io": {"auth": "bm9jb2xvbg=="}}}"#);
        let err = resolve(&cfg, "gcr.io", "gcr.io", &no_helper).unwrap_err();
        assert!(err.to_string().contains("gcr.io"), "{err}");
        assert!(!err.to_string().contains("nocolon"), "{err}");
    }

    #[test]
    fn docker_hub_keys() {
        assert_eq!(hostname("https://index.docker.io/v1/"), "docker.io");
        assert_eq!(hostname("http://127.0.0.1:5000"), "127.0.0.1:5000");
    }
}
