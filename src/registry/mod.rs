//! Talking to an image registry directly (Docker Registry HTTP API v2), without a daemon and
//! without pulling: the digest of a tag is one `HEAD /v2/<name>/manifests/<tag>`, asked with
//! the Docker v2 and OCI manifest types in `Accept` (without them a registry may convert the
//! manifest to schema 1 and answer another digest). Token authentication is done as registries
//! ask for it (`WWW-Authenticate: Bearer …` or `Basic`).

pub mod credentials;
pub mod insecure;

use std::collections::BTreeMap;
use std::fmt;

use anyhow::{Context as _, Result, anyhow, bail};
use base64::Engine as _;
use reqwest::header::{self, HeaderValue};
use reqwest::{Method, StatusCode};

use crate::http::{Client, HttpError, Problem, Response, sensitive};

pub use credentials::Credentials;
pub use insecure::{InsecureRegistries, Rule};

use crate::image::{Digest, ImageRef, Platform};

/// The manifest types a digest may be read for, in the order docker asks for them.
const MANIFEST_TYPES: &str = "application/vnd.docker.distribution.manifest.v2+json, \
     application/vnd.docker.distribution.manifest.list.v2+json, \
     application/vnd.oci.image.manifest.v1+json, \
     application/vnd.oci.image.index.v1+json";

/// A client for registries; cheap to clone.
#[derive(Clone)]
pub struct Registry {
    client: Client,
    insecure: InsecureRegistries,
}

/// Why the registry could not answer: unreachable (with the host), or it refused.
#[derive(Debug)]
pub enum RegistryError {
    Unreachable {
        host: String,
        reason: String,
        /// Which scheme was used, and why.
        rule: Rule,
    },
    Denied {
        host: String,
        status: StatusCode,
    },
}

impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegistryError::Unreachable { host, reason, rule } => write!(
                f,
                "cannot reach the registry {host}: {reason} [{rule}] — is it running? is \
                 `registry` in catctl.toml (or --registry) right?"
            ),
            RegistryError::Denied { host, status } => write!(
                f,
                "the registry {host} refused access ({status}) — log in with `docker login {host}` \
                 or configure a credential helper in ~/.docker/config.json"
            ),
        }
    }
}

impl std::error::Error for RegistryError {}

impl Registry {
    /// A client that speaks plain HTTP to the registries `insecure` names, HTTPS to others.
    pub fn new(insecure: InsecureRegistries) -> Result<Registry> {
        Ok(Registry {
            client: Client::new()?,
            insecure,
        })
    }

    #[cfg(test)]
    fn with_bounds(bounds: crate::http::Bounds) -> Registry {
        Registry {
            client: Client::with_bounds(bounds).unwrap(),
            insecure: InsecureRegistries::default(),
        }
    }

    /// The scheme `image`'s registry is spoken to with, and why.
    pub fn rule(&self, image: &ImageRef) -> Rule {
        self.insecure.rule(&image.registry)
    }

    /// The rule for a registry prefix as catctl.toml writes it (`host[:port][/path]`).
    pub fn registry_rule(&self, prefix: &str) -> Rule {
        self.insecure
            .rule(prefix.split_once('/').map_or(prefix, |(host, _)| host))
    }

    /// `http://host[:port]` or `https://…`: the registry's API endpoint.
    fn base_url(&self, image: &ImageRef) -> String {
        format!("{}://{}", self.rule(image).scheme(), image.api_host())
    }

    /// The digest (`sha256:…`) the registry serves for `image`'s tag, or `None` when the tag
    /// (or the repository) is not there. Nothing is pulled.
    pub async fn manifest_digest(
        &self,
        image: &ImageRef,
        credentials: Option<&Credentials>,
    ) -> Result<Option<Digest>> {
        let mut session = Session::new(self, image, credentials);
        let path = format!("manifests/{}", image.manifest_reference());
        let Some(response) = session.fetch(Method::HEAD, &path, MANIFEST_TYPES).await? else {
            return Ok(None);
        };
        let digest = response
            .headers
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                anyhow!(
                    "{} answered without a Docker-Content-Digest",
                    image.registry
                )
            })?;
        Digest::parse(digest)
            .map(Some)
            .with_context(|| format!("{} answered a bad Docker-Content-Digest", image.registry))
    }

    /// The labels of the image the registry serves as `digest` in `image`'s repository (from
    /// its config blob; a multi-platform index is read for linux/amd64, else its first image).
    /// `None` when the registry does not have it.
    pub async fn image_labels(
        &self,
        image: &ImageRef,
        digest: &Digest,
        credentials: Option<&Credentials>,
    ) -> Result<Option<BTreeMap<String, String>>> {
        let mut session = Session::new(self, image, credentials);
        let Some(mut manifest) = session
            .json(&format!("manifests/{digest}"), MANIFEST_TYPES)
            .await?
        else {
            return Ok(None);
        };
        if let Some(list) = manifest.get("manifests").and_then(|m| m.as_array()) {
            let chosen = list
                .iter()
                .find(|m| {
                    m.pointer("/platform/os").and_then(|v| v.as_str()) == Some("linux")
                        && m.pointer("/platform/architecture").and_then(|v| v.as_str())
                            == Some("amd64")
                })
                .or_else(|| list.first())
                .and_then(|m| m.get("digest"))
                .and_then(|d| d.as_str())
                .ok_or_else(|| anyhow!("{image} is an empty image index"))?
                .to_string();
            let Some(inner) = session
                .json(&format!("manifests/{chosen}"), MANIFEST_TYPES)
                .await?
            else {
                return Ok(None);
            };
            manifest = inner;
        }
        let Some(config) = session.config_of(&manifest).await? else {
            return Ok(None);
        };
        let labels = config
            .pointer("/config/Labels")
            .and_then(|l| l.as_object())
            .map(|labels| {
                labels
                    .iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Some(labels))
    }

    /// The platforms of the image the registry serves as `digest` in `image`'s repository:
    /// each entry of a multi-platform index, or the `os`/`architecture` of a single image's
    /// config. Empty when the registry does not have it.
    pub async fn image_platforms(
        &self,
        image: &ImageRef,
        digest: &Digest,
        credentials: Option<&Credentials>,
    ) -> Result<Vec<Platform>> {
        let mut session = Session::new(self, image, credentials);
        let Some(manifest) = session
            .json(&format!("manifests/{digest}"), MANIFEST_TYPES)
            .await?
        else {
            return Ok(Vec::new());
        };
        let platform_of = |value: &serde_json::Value| {
            let arch = value.get("architecture")?.as_str()?;
            Some(Platform {
                os: value.get("os")?.as_str()?.to_string(),
                variant: value
                    .get("variant")
                    .and_then(|v| v.as_str())
                    .map(str::to_string),
                ..Platform::linux(arch)
            })
        };
        if let Some(list) = manifest.get("manifests").and_then(|m| m.as_array()) {
            // Attestations are listed as platform unknown/unknown.
            return Ok(list
                .iter()
                .filter_map(|m| platform_of(m.get("platform")?))
                .filter(|p| p.os != "unknown")
                .collect());
        }
        let Some(config) = session.config_of(&manifest).await? else {
            return Ok(Vec::new());
        };
        Ok(platform_of(&config).into_iter().collect())
    }

    /// Sends `request` within the client's bounds; a registry that cannot be reached, goes
    /// silent or answers too much is named in the error.
    async fn send(&self, image: &ImageRef, request: reqwest::RequestBuilder) -> Result<Response> {
        self.client.send(request).await.map_err(|err| match err {
            HttpError {
                problem: Problem::TooLarge(_),
                ..
            } => anyhow!("the registry {}: {}", image.registry, err.reason()),
            err => RegistryError::Unreachable {
                host: image.registry.clone(),
                reason: err.reason(),
                rule: self.rule(image),
            }
            .into(),
        })
    }

    /// The `Authorization` header answering `challenge`.
    async fn authorize(
        &self,
        image: &ImageRef,
        challenge: &str,
        credentials: Option<&Credentials>,
    ) -> Result<String> {
        let denied = || RegistryError::Denied {
            host: image.registry.clone(),
            status: StatusCode::UNAUTHORIZED,
        };
        let (scheme, params) = parse_challenge(challenge);
        if scheme.eq_ignore_ascii_case("basic") {
            let creds = credentials.ok_or_else(denied)?;
            return basic(creds).ok_or_else(|| denied().into());
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(denied().into());
        }
        let realm = params
            .iter()
            .find(|(k, _)| k == "realm")
            .map(|(_, v)| v.clone())
            .ok_or_else(denied)?;
        let mut query = vec![format!("scope=repository:{}:pull", image.repository)];
        if let Some((_, service)) = params.iter().find(|(k, _)| k == "service") {
            query.push(format!("service={}", encode(service)));
        }
        let mut request = self
            .client
            .request(Method::GET, &format!("{realm}?{}", query.join("&")));
        if let Some(value) = credentials.and_then(basic) {
            request = request.header(header::AUTHORIZATION, sensitive(&value)?);
        } else if let Some(token) = credentials.and_then(|c| c.identity_token.as_deref()) {
            // An identity token is exchanged through the OAuth2 refresh grant.
            let mut form = format!(
                "grant_type=refresh_token&client_id=catctl&refresh_token={}&scope={}",
                encode(token),
                encode(&format!("repository:{}:pull", image.repository))
            );
            if let Some((_, service)) = params.iter().find(|(k, _)| k == "service") {
                form.push_str(&format!("&service={}", encode(service)));
            }
            let request = self
                .client
                .request(Method::POST, &realm)
                .header(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/x-www-form-urlencoded"),
                )
                .body(form);
            return self.token(image, request).await;
        }
        self.token(image, request).await
    }

    async fn token(&self, image: &ImageRef, request: reqwest::RequestBuilder) -> Result<String> {
        let response = self.send(image, request).await?;
        let status = response.status;
        if !status.is_success() {
            return Err(RegistryError::Denied {
                host: image.registry.clone(),
                status,
            }
            .into());
        }
        let body = response.body;
        #[derive(serde::Deserialize)]
        struct TokenAnswer {
            token: Option<String>,
            access_token: Option<String>,
        }
        let answer: TokenAnswer = serde_json::from_slice(&body)
            .with_context(|| format!("{} answered a token request with no JSON", image.registry))?;
        let token = answer.token.or(answer.access_token).ok_or_else(|| {
            anyhow!(
                "{} answered a token request without a token",
                image.registry
            )
        })?;
        Ok(format!("Bearer {token}"))
    }
}

/// Requests about one repository, authenticating once when the registry asks.
struct Session<'a> {
    registry: &'a Registry,
    image: &'a ImageRef,
    credentials: Option<&'a Credentials>,
    auth: Option<String>,
}

impl<'a> Session<'a> {
    fn new(
        registry: &'a Registry,
        image: &'a ImageRef,
        credentials: Option<&'a Credentials>,
    ) -> Session<'a> {
        Session {
            registry,
            image,
            credentials,
            auth: None,
        }
    }

    /// `method` on `/v2/<name>/<path>`: the response when found, `None` on 404. Follows one
    /// redirect (blob stores), without the registry's credentials.
    async fn fetch(
        &mut self,
        method: Method,
        path: &str,
        accept: &'static str,
    ) -> Result<Option<Response>> {
        let image = self.image;
        let client = &self.registry.client;
        let url = format!(
            "{}/v2/{}/{path}",
            self.registry.base_url(image),
            image.repository
        );
        for attempt in 0..2 {
            let mut request = client
                .request(method.clone(), &url)
                .header(header::ACCEPT, HeaderValue::from_static(accept));
            if let Some(value) = &self.auth {
                request = request.header(header::AUTHORIZATION, sensitive(value)?);
            }
            let response = self.registry.send(image, request).await?;
            let status = response.status;
            match status {
                s if s.is_success() => return Ok(Some(response)),
                StatusCode::NOT_FOUND => return Ok(None),
                s if s.is_redirection() => {
                    let location = response
                        .headers
                        .get(header::LOCATION)
                        .and_then(|v| v.to_str().ok())
                        .ok_or_else(|| anyhow!("{} redirected nowhere", image.registry))?;
                    let request = client.request(method.clone(), location);
                    let response = self.registry.send(image, request).await?;
                    if !response.status.is_success() {
                        bail!(
                            "the registry {} answered {} for {path}: {}",
                            image.registry,
                            response.status,
                            response.excerpt(&self.secrets())
                        );
                    }
                    return Ok(Some(response));
                }
                StatusCode::UNAUTHORIZED if attempt == 0 => {
                    let challenge = response
                        .headers
                        .get(header::WWW_AUTHENTICATE)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string();
                    self.auth = Some(
                        self.registry
                            .authorize(image, &challenge, self.credentials)
                            .await?,
                    );
                }
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                    return Err(RegistryError::Denied {
                        host: image.registry.clone(),
                        status,
                    }
                    .into());
                }
                status => bail!(
                    "the registry {} answered {status} for {image}: {}",
                    image.registry,
                    response.excerpt(&self.secrets())
                ),
            }
        }
        Err(RegistryError::Denied {
            host: image.registry.clone(),
            status: StatusCode::UNAUTHORIZED,
        }
        .into())
    }

    /// Every credential this session knows, to scrub from what the registry says.
    fn secrets(&self) -> Vec<&str> {
        let credentials = self.credentials.into_iter().flat_map(|c| {
            [&c.password, &c.identity_token]
                .into_iter()
                .filter_map(|value| value.as_deref())
        });
        let token = self
            .auth
            .as_deref()
            .and_then(|auth| auth.split_once(' '))
            .map(|(_, token)| token);
        credentials.chain(token).collect()
    }

    /// The image config blob a single-platform `manifest` names (`None`: not in the registry).
    async fn config_of(
        &mut self,
        manifest: &serde_json::Value,
    ) -> Result<Option<serde_json::Value>> {
        let config = manifest
            .pointer("/config/digest")
            .and_then(|d| d.as_str())
            .ok_or_else(|| anyhow!("the manifest of {} names no config", self.image))?
            .to_string();
        self.json(&format!("blobs/{config}"), "*/*").await
    }

    async fn json(
        &mut self,
        path: &str,
        accept: &'static str,
    ) -> Result<Option<serde_json::Value>> {
        let Some(response) = self.fetch(Method::GET, path, accept).await? else {
            return Ok(None);
        };
        let host = &self.image.registry;
        let value = serde_json::from_slice(&response.body)
            .with_context(|| format!("{host} answered {path} with no JSON"))?;
        Ok(Some(value))
    }
}

fn basic(creds: &Credentials) -> Option<String> {
    let (user, pass) = (creds.username.as_ref()?, creds.password.as_ref()?);
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
    Some(format!("Basic {encoded}"))
}

/// `Bearer realm="…",service="…"` → ("Bearer", [(realm, …), (service, …)]).
fn parse_challenge(challenge: &str) -> (String, Vec<(String, String)>) {
    let (scheme, rest) = challenge.trim().split_once(' ').unwrap_or((challenge, ""));
    let mut params = Vec::new();
    let mut rest = rest.trim();
    while let Some((key, after)) = rest.split_once('=') {
        let key = key
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        let after = after.trim_start();
        let (value, remainder) = if let Some(quoted) = after.strip_prefix('"') {
            match quoted.split_once('"') {
                Some((value, remainder)) => (value.to_string(), remainder),
                None => (quoted.to_string(), ""),
            }
        } else {
            match after.split_once(',') {
                Some((value, remainder)) => (value.trim().to_string(), remainder),
                None => (after.trim().to_string(), ""),
            }
        };
        params.push((key, value));
        rest = remainder.trim_start_matches(',').trim();
    }
    (scheme.to_string(), params)
}

/// Percent-encoding for query and form values.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    mod faults {
        use std::time::{Duration, Instant};

        use tokio::io::AsyncWriteExt;

        use super::super::*;
        use crate::http::tests::{TEST_BOUNDS, fault_server, read_request};

        fn image(address: &str) -> ImageRef {
            ImageRef::parse(&format!("{address}/dd:v1")).unwrap()
        }

        #[tokio::test]
        async fn a_silent_registry_is_named_within_the_bound() {
            let address = fault_server(|mut stream| async move {
                read_request(&mut stream).await;
                tokio::time::sleep(Duration::from_secs(600)).await;
            })
            .await;
            let registry = Registry::with_bounds(TEST_BOUNDS);
            let started = Instant::now();
            let err = registry
                .manifest_digest(&image(&address), None)
                .await
                .unwrap_err();
            assert!(started.elapsed() < Duration::from_secs(5));
            let message = err.to_string();
            assert!(
                message.starts_with(&format!(
                    "cannot reach the registry {address}: no answer in time"
                )),
                "{message}"
            );
        }

        #[tokio::test]
        async fn an_endless_manifest_is_refused_naming_the_registry() {
            let address = fault_server(|mut stream| async move {
                read_request(&mut stream).await;
                let head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
                let _ = stream.write_all(head.as_bytes()).await;
                let chunk = [b"10000\r\n".as_slice(), &[b' '; 0x10000], b"\r\n"].concat();
                while stream.write_all(&chunk).await.is_ok() {}
            })
            .await;
            let registry = Registry::with_bounds(TEST_BOUNDS);
            let err = registry
                .image_labels(&image(&address), &Digest::sha256(&[0; 32]), None)
                .await
                .unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("the registry {address}: its answer is larger than 4 MiB")
            );
        }

        #[tokio::test]
        async fn what_the_registry_echoes_is_scrubbed_of_credentials() {
            // Asks for Basic credentials, then fails echoing what it was sent.
            let requests = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let address = fault_server(move |mut stream| {
                let requests = requests.clone();
                async move {
                    loop {
                        read_request(&mut stream).await;
                        let seen = requests.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        let answer = if seen == 0 {
                            "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"r\"\r\n\
                             Content-Length: 0\r\n\r\n"
                                .to_string()
                        } else {
                            let echo = "bad login hunter2, header Basic Y2F0Omh1bnRlcjI=";
                            format!(
                                "HTTP/1.1 500 Oops\r\nContent-Length: {}\r\n\r\n{echo}",
                                echo.len()
                            )
                        };
                        if stream.write_all(answer.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                }
            })
            .await;
            let credentials = Credentials {
                username: Some("cat".into()),
                password: Some("hunter2".into()),
                identity_token: None,
            };
            let registry = Registry::with_bounds(TEST_BOUNDS);
            let err = registry
                .image_labels(
                    &image(&address),
                    &Digest::sha256(&[0; 32]),
                    Some(&credentials),
                )
                .await
                .unwrap_err();
            let message = format!("{err:#} {err:?}");
            assert!(message.contains(&format!("the registry {address} answered 500")));
            assert!(message.contains("bad login <hidden>"), "{message}");
            assert!(!message.contains("hunter2"), "{message}");
            assert!(!message.contains("Y2F0Omh1bnRlcjI="), "{message}");
        }
    }

    #[test]
    fn challenges() {
        let (scheme, params) = parse_challenge(
            r#"Bearer realm="https://gcr.io/v2/token",service="gcr.io",scope="repository:x:pull""#,
        );
        assert_eq!(scheme, "Bearer");
        assert_eq!(
            params[0],
            ("realm".into(), "https://gcr.io/v2/token".into())
        );
        assert_eq!(params[1], ("service".into(), "gcr.io".into()));
        assert_eq!(params.len(), 3);
        let (scheme, params) = parse_challenge(r#"Basic realm="Registry Realm""#);
        assert_eq!((scheme.as_str(), params.len()), ("Basic", 1));
        assert_eq!(encode("a b/c"), "a%20b%2Fc");
    }
}
