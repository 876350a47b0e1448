//! Talking to the cluster through kube-rs. `client` is the one seam: it honours `KUBECONFIG`,
//! `--context` and catctl.toml's `context` the way kubectl does, so tests point it at the fake
//! API server with a kubeconfig file.

pub mod history;
pub mod kubeconfig;
pub mod lock;
pub mod nodes;
pub mod objects;
pub mod observe;
pub mod rollout;
pub mod secrets;
pub mod sleep;
pub mod workload;

use std::time::Duration;

use anyhow::{Context as _, Result};
use kube::client::ClientBuilder;
use kube::config::KubeConfigOptions;
use tower::BoxError;
use tower::util::MapErrLayer;

use crate::k8s::kubeconfig::{Chosen, ContextFrom, Loaded};
use crate::settings::{Origin, Settings};

/// The label naming the cat an object belongs to.
pub use crate::labels::NAME as CAT_LABEL;
/// The label every object catctl manages carries.
pub use crate::labels::{MANAGED_BY as MANAGED_BY_LABEL, MANAGED_BY_CATCTL as MANAGED_BY};
/// The field manager of catctl's server-side applies.
pub const FIELD_MANAGER: &str = "catctl";

/// The cluster catctl works on: a client for the chosen kube context and the namespace every
/// request goes to. Created once per run (by [`crate::context::Context::cluster`]).
#[derive(Clone)]
pub struct Cluster {
    /// Every request, watches included, is bounded: [`CONNECT_TIMEOUT`] to connect and
    /// [`READ_TIMEOUT`] between bytes (watches ask the server to end them sooner, see
    /// [`WATCH_TIMEOUT_SECS`]).
    pub client: kube::Client,
    /// For streams that may be silent for long (`logs -f`): connecting is bounded, reading not.
    /// Made on first use ([`Cluster::streams`]): a kubeconfig's exec credential plugin runs
    /// once per client, and most commands never stream.
    streaming: Option<kube::Config>,
    streams: std::sync::Arc<std::sync::OnceLock<kube::Client>>,
    pub namespace: String,
    /// The kube context's name and the API server's URL, for messages.
    pub context: String,
    pub url: String,
    /// Where the context, the namespace and the kubeconfig came from, for `-v`.
    pub origins: Origins,
}

/// Where a [`Cluster`]'s settings came from, in words (`--context`, `catctl.toml`, …).
#[derive(Debug, Clone, Default)]
pub struct Origins {
    pub kubeconfig: String,
    pub context: &'static str,
    pub namespace: &'static str,
}

impl Cluster {
    /// Connects to the cluster of `settings`' kube context, in its namespace.
    /// The namespace is `-n`, else catctl.toml's, else the kube context's, else `default`
    /// (kubectl's order).
    pub async fn connect(settings: &Settings) -> Result<Cluster> {
        let loaded = kubeconfig::load(settings.kubeconfig.as_deref())?;
        let named = settings.context.as_deref().map(|name| {
            let from = match settings.context_origin {
                Some(Origin::File) => ContextFrom::CatctlToml,
                _ => ContextFrom::Flag,
            };
            (name, from)
        });
        let chosen = loaded.choose(named)?;
        chosen.check_plugin()?;
        let config = config(&loaded, &chosen)
            .await
            .map_err(|err| chosen.explain(err))?;
        let (namespace, namespace_from) = match (&settings.namespace, settings.namespace_origin) {
            (Some(namespace), Some(Origin::File)) => (namespace.clone(), "catctl.toml"),
            (Some(namespace), _) => (namespace.clone(), "-n/--namespace"),
            (None, _) => match &chosen.namespace {
                Some(namespace) => (namespace.clone(), "the kube context"),
                None => ("default".to_string(), "the default"),
            },
        };
        let origins = Origins {
            kubeconfig: loaded.source.clone(),
            context: match chosen.from {
                ContextFrom::Flag => "--context",
                ContextFrom::CatctlToml => "catctl.toml",
                ContextFrom::CurrentContext => "the kubeconfig's current context",
            },
            namespace: namespace_from,
        };
        let context = chosen.context.clone();
        let cluster = config.cluster_url.to_string();
        let mut bounded = config.clone();
        bounded.connect_timeout = Some(CONNECT_TIMEOUT);
        bounded.read_timeout = Some(READ_TIMEOUT);
        bounded.write_timeout = Some(READ_TIMEOUT);
        let mut streaming = config;
        streaming.connect_timeout = Some(CONNECT_TIMEOUT);
        streaming.read_timeout = None;
        streaming.write_timeout = Some(READ_TIMEOUT);
        let client =
            named_client(bounded, &cluster, &context).map_err(|err| chosen.explain(err))?;
        Ok(Cluster {
            client,
            streaming: Some(streaming),
            streams: Default::default(),
            namespace,
            context,
            url: cluster,
            origins,
        })
    }
}

impl Cluster {
    /// The client for streams that may be silent for long (`logs -f`): connecting is bounded,
    /// reading not; made once, on first use.
    pub fn streams(&self) -> Result<kube::Client> {
        let Some(streaming) = &self.streaming else {
            return Ok(self.client.clone());
        };
        if let Some(client) = self.streams.get() {
            return Ok(client.clone());
        }
        let client = named_client(streaming.clone(), &self.url, &self.context)?;
        Ok(self.streams.get_or_init(|| client).clone())
    }

    /// The cluster as kube-rs infers it — KUBECONFIG, else the pod's in-cluster service
    /// account — in its default namespace: how catctl runs inside a CronJob.
    pub async fn infer() -> Result<Cluster> {
        let config = kube::Config::infer()
            .await
            .context("no kubeconfig and not running in a cluster")?;
        let namespace = config.default_namespace.clone();
        let url = config.cluster_url.to_string();
        let mut bounded = config;
        bounded.connect_timeout = Some(CONNECT_TIMEOUT);
        bounded.read_timeout = Some(READ_TIMEOUT);
        bounded.write_timeout = Some(READ_TIMEOUT);
        let client = kube::Client::try_from(bounded).context("cannot create a kube client")?;
        Ok(Cluster {
            streaming: None,
            streams: Default::default(),
            client,
            namespace,
            context: "(in-cluster)".to_string(),
            url,
            origins: Origins {
                kubeconfig: "(in-cluster)".to_string(),
                context: "the pod's service account",
                namespace: "the pod's service account",
            },
        })
    }
}

/// How long connecting to the API server may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the API server may stay silent within one answer.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a watch asks the server to run before it ends it (the watcher then resumes), so a
/// quiet but healthy watch never meets [`READ_TIMEOUT`].
pub const WATCH_TIMEOUT_SECS: u32 = 8;

/// Why a request got no answer, in words naming the server: what every cluster command says
/// when the API server is down, unreachable or silent.
#[derive(Debug)]
struct Unanswered {
    said: String,
    cause: BoxError,
}

impl std::fmt::Display for Unanswered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.said)
    }
}

impl std::error::Error for Unanswered {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&*self.cause)
    }
}

/// A client whose transport errors (refused, timed out, reset) name the API server and the
/// kube context, wherever the request was made.
fn named_client(config: kube::Config, url: &str, context: &str) -> Result<kube::Client> {
    let said = format!("the API server at {url} does not answer (context {context})");
    let builder = ClientBuilder::try_from(config)
        .with_context(|| format!("cannot create a client for the cluster at {url}"))?;
    let name_the_server = MapErrLayer::new(move |cause: BoxError| -> BoxError {
        if unanswered(&*cause) {
            Box::new(Unanswered {
                said: said.clone(),
                cause,
            })
        } else {
            cause
        }
    });
    Ok(builder.with_layer(&name_the_server).build())
}

/// Whether an error, or one of its causes, says the server did not answer.
fn unanswered(err: &(dyn std::error::Error + 'static)) -> bool {
    use std::io::ErrorKind;
    let mut next = Some(err);
    while let Some(err) = next {
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                ErrorKind::TimedOut
                    | ErrorKind::ConnectionRefused
                    | ErrorKind::ConnectionReset
                    | ErrorKind::ConnectionAborted
                    | ErrorKind::HostUnreachable
                    | ErrorKind::NetworkUnreachable
            )
        {
            return true;
        }
        let text = err.to_string().to_lowercase();
        if text.contains("timed out") || text.contains("connection refused") {
            return true;
        }
        next = err.source();
    }
    false
}

/// The client configuration of the chosen kubeconfig context.
async fn config(loaded: &Loaded, chosen: &Chosen) -> Result<kube::Config> {
    let options = KubeConfigOptions {
        context: Some(chosen.context.clone()),
        cluster: None,
        user: None,
    };
    kube::Config::from_custom_kubeconfig(loaded.kubeconfig.clone(), &options)
        .await
        .with_context(|| {
            format!(
                "cannot use kube context '{}' from {} — check `kubectl config get-contexts`, or \
                 pass --context",
                chosen.context, loaded.source
            )
        })
}

/// A kube-rs error as one readable line: an API server refusal is its status message, code and
/// reason (kube-rs's own text repeats the whole `Status` in Debug form); others are kept as is.
pub fn readable(err: kube::Error) -> anyhow::Error {
    match err {
        kube::Error::Api(status) => anyhow::anyhow!(
            "the API server refused: {} ({} {})",
            status.message,
            status.code,
            status.reason
        ),
        other => anyhow::Error::new(other),
    }
}

/// Label selector for everything catctl manages.
pub fn managed_selector() -> String {
    format!("{MANAGED_BY_LABEL}={MANAGED_BY}")
}
