//! Images and digests as types. This is the only place an image reference or a digest is taken
//! apart or put together as text: everything else holds an [`ImageRef`] or a [`Digest`].

use std::fmt;
use std::str::FromStr;

use anyhow::{Result, anyhow, bail};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A content digest, `sha256:<64 hex digits>` (the registry's manifest digest, a local image
/// id, a source digest). Parsed once; always valid.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(String);

impl Digest {
    /// Parses `algorithm:hex` as the OCI image spec defines it (`sha256` needs 64 digits).
    pub fn parse(text: &str) -> Result<Digest> {
        let (algorithm, hex) = text
            .split_once(':')
            .ok_or_else(|| anyhow!("'{text}' is not a digest (expected sha256:<hex>)"))?;
        let hex_ok = hex.len() >= 32 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        let algorithm_ok = !algorithm.is_empty()
            && algorithm
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if !hex_ok || !algorithm_ok || (algorithm == "sha256" && hex.len() != 64) {
            bail!("'{text}' is not a digest (expected sha256:<64 lower-case hex digits>)");
        }
        Ok(Digest(text.to_string()))
    }

    /// The digest of a sha256 hash's output bytes.
    pub fn sha256(hash: &[u8]) -> Digest {
        use std::fmt::Write as _;
        let hex = hash.iter().fold(String::new(), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        });
        Digest(format!("sha256:{hex}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The hex digits without the algorithm.
    pub fn hex(&self) -> &str {
        self.0.split_once(':').map_or(&*self.0, |(_, hex)| hex)
    }

    /// The short form tables show: the first 12 hex digits.
    pub fn short(&self) -> &str {
        &self.hex()[..12]
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.0)
    }
}

impl FromStr for Digest {
    type Err = anyhow::Error;
    fn from_str(text: &str) -> Result<Digest> {
        Digest::parse(text)
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Digest, D::Error> {
        let text = String::deserialize(deserializer)?;
        Digest::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// `registry/repository:tag`, optionally pinned `@digest`. catctl's images always name their
/// registry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageRef {
    /// `127.0.0.1:5000`, `gcr.io`, `docker.io`.
    pub registry: String,
    /// The repository inside the registry: `dd`, `cream-heros/dd`.
    pub repository: String,
    pub tag: String,
    pub digest: Option<Digest>,
}

impl ImageRef {
    /// A cat's image: `<registry prefix>/<cat>:<version>`; the prefix may hold a path
    /// (`gcr.io/cream-heros`).
    pub fn for_cat(registry_prefix: &str, cat: &str, version: &str) -> ImageRef {
        let (registry, path) = match registry_prefix.split_once('/') {
            Some((registry, path)) => (registry, format!("{path}/{cat}")),
            None => (registry_prefix, cat.to_string()),
        };
        ImageRef {
            registry: registry.to_string(),
            repository: path,
            tag: version.to_string(),
            digest: None,
        }
    }

    /// Parses `host[:port]/path…/name:tag[@algorithm:hex]`.
    pub fn parse(image: &str) -> Result<ImageRef> {
        let (named, digest) = match image.split_once('@') {
            Some((named, digest)) => (named, Some(Digest::parse(digest)?)),
            None => (image, None),
        };
        let (name, tag) = named
            .rsplit_once(':')
            .filter(|(_, tag)| !tag.contains('/'))
            .ok_or_else(|| anyhow!("image '{image}' has no tag"))?;
        let (registry, repository) = name
            .split_once('/')
            .ok_or_else(|| anyhow!("image '{image}' does not name its registry"))?;
        if registry.is_empty() || repository.is_empty() || tag.is_empty() {
            bail!("image '{image}' is not of the form registry/repository:tag");
        }
        Ok(ImageRef {
            registry: registry.to_string(),
            repository: repository.to_string(),
            tag: tag.to_string(),
            digest,
        })
    }

    /// Parses a reference as docker reads one (a Dockerfile's `FROM`, a `RepoDigests` entry):
    /// the registry may be left out (`node:22` is `docker.io/library/node:22`), and so may the
    /// tag (`latest`).
    pub fn parse_docker(reference: &str) -> Result<ImageRef> {
        let bad = || anyhow!("'{reference}' is not an image reference");
        let (named, digest) = match reference.split_once('@') {
            Some((named, digest)) => (named, Some(Digest::parse(digest)?)),
            None => (reference, None),
        };
        let (name, tag) = match named.rsplit_once(':') {
            Some((name, tag)) if !tag.contains('/') => (name, tag),
            _ => (named, "latest"),
        };
        let (registry, repository) = match name.split_once('/') {
            Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => {
                (first.to_string(), rest.to_string())
            }
            _ if name.contains('/') => ("docker.io".to_string(), name.to_string()),
            _ => ("docker.io".to_string(), format!("library/{name}")),
        };
        let repository_ok = repository.split('/').all(|part| {
            !part.is_empty()
                && part.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
                })
        });
        let tag_ok = !tag.is_empty()
            && tag
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if registry.is_empty() || !repository_ok || !tag_ok {
            return Err(bad());
        }
        Ok(ImageRef {
            registry,
            repository,
            tag: tag.to_string(),
            digest,
        })
    }

    /// `registry/repository`, the name docker pushes and pulls.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// `registry/repository:tag`, without any digest.
    pub fn tagged(&self) -> String {
        format!("{}:{}", self.name(), self.tag)
    }

    /// This image pinned to `digest`.
    pub fn pinned(&self, digest: Digest) -> ImageRef {
        ImageRef {
            digest: Some(digest),
            ..self.clone()
        }
    }

    /// `registry/repository@digest`: how docker lists a pushed image in `RepoDigests`.
    pub fn by_digest(&self, digest: &Digest) -> String {
        format!("{}@{digest}", self.name())
    }

    /// What the registry API is asked for: the digest when pinned, else the tag.
    pub fn manifest_reference(&self) -> String {
        match &self.digest {
            Some(digest) => digest.to_string(),
            None => self.tag.clone(),
        }
    }

    /// The key docker's config file uses for this registry.
    pub fn server(&self) -> String {
        if self.registry == "docker.io" {
            "https://index.docker.io/v1/".to_string()
        } else {
            self.registry.clone()
        }
    }

    /// The registry's API host (`registry-1.docker.io` for Docker Hub); whether it is spoken
    /// to over HTTP or HTTPS is [`crate::registry::InsecureRegistries`]' to say.
    pub fn api_host(&self) -> &str {
        if self.registry == "docker.io" {
            "registry-1.docker.io"
        } else {
            &self.registry
        }
    }
}

/// The full form: `registry/repository:tag` or `registry/repository:tag@digest`.
impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.tagged())?;
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

impl Serialize for ImageRef {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ImageRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ImageRef, D::Error> {
        let text = String::deserialize(deserializer)?;
        ImageRef::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The digest a container runs, from a pod's `status.containerStatuses[].imageID`
/// (`docker-pullable://repo@sha256:…`, `repo@sha256:…`); `None` while it is not known yet or
/// when the runtime reports only a local image id.
pub fn running_digest(image_id: &str) -> Option<Digest> {
    let (_, digest) = image_id.rsplit_once('@')?;
    Digest::parse(digest).ok()
}

/// A platform images are built for and nodes run: `os/arch[/variant]`, as docker's
/// `--platform` writes it (`linux/amd64`, `linux/arm64`, `linux/arm/v7`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct Platform {
    pub os: String,
    pub arch: String,
    pub variant: Option<String>,
}

impl Platform {
    /// `os/arch[/variant]`; `arch` alone means Linux. Go's names, as docker and Kubernetes use
    /// them (`x86_64` and `aarch64` are taken as `amd64` and `arm64`).
    pub fn parse(text: &str) -> Result<Platform> {
        let bad = || {
            anyhow!(
                "platform '{text}' is not os/arch[/variant] — write e.g. linux/amd64, linux/arm64 \
                 or linux/arm/v7"
            )
        };
        let parts: Vec<&str> = text.trim().split('/').collect();
        let valid = |part: &&str| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        };
        if !parts.iter().all(valid) {
            return Err(bad());
        }
        let (os, arch, variant) = match parts.as_slice() {
            [arch] => ("linux", *arch, None),
            [os, arch] => (*os, *arch, None),
            [os, arch, variant] => (*os, *arch, Some(variant.to_string())),
            _ => return Err(bad()),
        };
        Ok(Platform {
            os: os.to_string(),
            arch: Platform::go_arch(arch).to_string(),
            variant,
        })
    }

    /// Linux on `arch` (a node's `status.nodeInfo.architecture`, an image config's
    /// `architecture`, or the host's `std::env::consts::ARCH`).
    pub fn linux(arch: &str) -> Platform {
        Platform {
            os: "linux".to_string(),
            arch: Platform::go_arch(arch).to_string(),
            variant: None,
        }
    }

    /// The platform of the machine catctl runs on.
    pub fn host() -> Platform {
        Platform::linux(std::env::consts::ARCH)
    }

    fn go_arch(arch: &str) -> &str {
        match arch {
            "x86_64" | "x86-64" => "amd64",
            "aarch64" => "arm64",
            "i386" | "i686" | "x86" => "386",
            other => other,
        }
    }

    /// Whether a node of `node` can run an image built for `self` (same OS and architecture;
    /// a variant only narrows the same architecture).
    pub fn runs_on(&self, node: &Platform) -> bool {
        self.os == node.os && self.arch == node.arch
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.arch)?;
        if let Some(variant) = &self.variant {
            write!(f, "/{variant}")?;
        }
        Ok(())
    }
}

impl FromStr for Platform {
    type Err = anyhow::Error;
    fn from_str(text: &str) -> Result<Platform> {
        Platform::parse(text)
    }
}

impl Serialize for Platform {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Platform {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Platform, D::Error> {
        let text = String::deserialize(deserializer)?;
        Platform::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn digests_parse_once_and_print_short() {
        let digest = Digest::parse(&format!("sha256:{HEX}")).unwrap();
        assert_eq!(digest.short(), "0123456789ab");
        assert_eq!(digest.hex(), HEX);
        assert_eq!(digest.to_string(), format!("sha256:{HEX}"));
        for bad in [
            "",
            "sha256:",
            "sha256:abc",
            "abc",
            &format!("sha256:{}", HEX.to_uppercase()),
        ] {
            assert!(Digest::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Digest::sha256(&[0xab; 32]).hex(), "ab".repeat(32));
    }

    #[test]
    fn image_references() {
        let image = ImageRef::parse("127.0.0.1:5000/dd:v1").unwrap();
        assert_eq!(
            (
                image.registry.as_str(),
                image.repository.as_str(),
                image.tag.as_str()
            ),
            ("127.0.0.1:5000", "dd", "v1")
        );
        assert_eq!(image.api_host(), "127.0.0.1:5000");
        assert_eq!(image.manifest_reference(), "v1");
        let image = ImageRef::parse("gcr.io/cream-heros/dd:v2").unwrap();
        assert_eq!(image.repository, "cream-heros/dd");
        assert_eq!(image.name(), "gcr.io/cream-heros/dd");
        assert_eq!(image.api_host(), "gcr.io");
        assert_eq!(image.to_string(), "gcr.io/cream-heros/dd:v2");
        assert!(ImageRef::parse("127.0.0.1:5000/dd").is_err());
        assert!(ImageRef::parse("dd:v1").is_err());
        assert_eq!(ImageRef::for_cat("gcr.io/cream-heros", "dd", "v2"), image);
    }

    #[test]
    fn docker_references_fill_in_the_registry_and_tag() {
        let parts = |text: &str| {
            let image = ImageRef::parse_docker(text).unwrap();
            (image.registry, image.repository, image.tag)
        };
        let hub =
            |repo: &str, tag: &str| ("docker.io".to_string(), repo.to_string(), tag.to_string());
        assert_eq!(parts("node:22"), hub("library/node", "22"));
        assert_eq!(parts("node"), hub("library/node", "latest"));
        assert_eq!(parts("bitnami/node:1.2"), hub("bitnami/node", "1.2"));
        assert_eq!(
            parts("127.0.0.1:5000/base/node:v1"),
            ("127.0.0.1:5000".into(), "base/node".into(), "v1".into())
        );
        assert_eq!(
            parts("localhost/base"),
            ("localhost".into(), "base".into(), "latest".into())
        );
        let pinned = ImageRef::parse_docker(&format!("node@sha256:{HEX}")).unwrap();
        assert_eq!(pinned.name(), "docker.io/library/node");
        assert_eq!(pinned.digest.unwrap().hex(), HEX);
        for bad in ["", "Node:22", "node:", "a//b", "node:22 AS x"] {
            assert!(ImageRef::parse_docker(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn pinned_form_round_trips() {
        let digest = Digest::parse(&format!("sha256:{HEX}")).unwrap();
        let image = ImageRef::parse("127.0.0.1:5000/dd:v1")
            .unwrap()
            .pinned(digest.clone());
        let text = format!("127.0.0.1:5000/dd:v1@sha256:{HEX}");
        assert_eq!(image.to_string(), text);
        assert_eq!(ImageRef::parse(&text).unwrap(), image);
        assert_eq!(image.manifest_reference(), digest.to_string());
        assert_eq!(
            image.by_digest(&digest),
            format!("127.0.0.1:5000/dd@sha256:{HEX}")
        );
        let json = serde_json::to_string(&image).unwrap();
        assert_eq!(serde_json::from_str::<ImageRef>(&json).unwrap(), image);
    }

    #[test]
    fn running_digest_from_pod_image_ids() {
        let expected = Digest::parse(&format!("sha256:{HEX}")).unwrap();
        for id in [
            format!("docker-pullable://127.0.0.1:5000/dd@sha256:{HEX}"),
            format!("127.0.0.1:5000/dd@sha256:{HEX}"),
        ] {
            assert_eq!(running_digest(&id), Some(expected.clone()), "{id}");
        }
        assert_eq!(running_digest(""), None);
        assert_eq!(running_digest(&format!("sha256:{HEX}")), None);
    }

    #[test]
    fn platforms() {
        assert_eq!(
            Platform::parse("linux/arm64").unwrap().to_string(),
            "linux/arm64"
        );
        assert_eq!(
            Platform::parse("arm64").unwrap(),
            Platform::linux("aarch64")
        );
        assert_eq!(
            Platform::parse("linux/arm/v7").unwrap().to_string(),
            "linux/arm/v7"
        );
        assert_eq!(Platform::linux("x86_64").to_string(), "linux/amd64");
        assert!(
            Platform::parse("linux/arm64")
                .unwrap()
                .runs_on(&Platform::linux("arm64"))
        );
        assert!(
            !Platform::parse("linux/arm64")
                .unwrap()
                .runs_on(&Platform::linux("amd64"))
        );
        for bad in ["", "linux/", "Linux/amd64", "a/b/c/d", "linux amd64"] {
            assert!(Platform::parse(bad).is_err(), "{bad}");
        }
    }
}
