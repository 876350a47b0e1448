//! `doctor`: every thing catctl depends on, checked once, each with a state and a fix — the
//! Docker daemon, the registry, the kube context (API, version, namespace, RBAC, nodes), every
//! cat's files and every cat's token. Checks run concurrently, each inside a time limit.

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::{Namespace, Node};
use kube::Api;
use kube::api::{ListParams, PostParams};
use serde::Serialize;

use crate::cat_runtime::secret_name;
use crate::docker::Daemon;
use crate::farm::Farm;
use crate::image::ImageRef;
use crate::k8s::Cluster;
use crate::k8s::nodes::NodePlatform;
use crate::ops::platform::check_runnable;
use crate::registry::Registry;

/// How long any one check may take.
const CHECK_TIMEOUT: Duration = Duration::from_millis(2500);

/// The verbs catctl uses, as (verb, group, resource, subresource).
const NEEDED: [(&str, &str, &str, &str); 10] = [
    ("patch", "apps", "statefulsets", ""),
    ("patch", "apps", "deployments", ""),
    ("watch", "", "pods", ""),
    ("get", "", "pods", "log"),
    ("delete", "", "pods", ""),
    ("get", "", "secrets", ""),
    ("patch", "", "secrets", ""),
    ("watch", "", "events", ""),
    ("patch", "batch", "cronjobs", ""),
    ("patch", "rbac.authorization.k8s.io", "roles", ""),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Ok,
    /// Could not be checked, or not a blocker (e.g. no cluster configured).
    Warn,
    Fail,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Ok => "ok",
            State::Warn => "warn",
            State::Fail => "FAIL",
        }
    }
}

/// One check's outcome.
#[derive(Debug, Clone)]
pub struct Check {
    pub check: String,
    pub state: State,
    pub detail: String,
    pub fix: Option<String>,
}

fn ok(check: &str, detail: impl Into<String>) -> Check {
    Check {
        check: check.into(),
        state: State::Ok,
        detail: detail.into(),
        fix: None,
    }
}

fn bad(state: State, check: &str, detail: impl Into<String>, fix: impl Into<String>) -> Check {
    Check {
        check: check.into(),
        state,
        detail: detail.into(),
        fix: Some(fix.into()),
    }
}

/// What `doctor` is given: the farm (or why there is none), the daemon's connection attempt,
/// the registry client, and the cluster (`None` when no kubeconfig exists).
pub struct Subjects<'a> {
    pub farm: Result<&'a Farm, String>,
    pub daemon: Result<&'a Daemon, String>,
    pub registry: Option<&'a Registry>,
    pub cluster: Option<Result<&'a Cluster, String>>,
}

/// Runs every check.
pub async fn doctor(subjects: &Subjects<'_>) -> Vec<Check> {
    let farm = subjects.farm.as_ref().ok().copied();
    let (docker, registry, kube) = tokio::join!(
        docker_checks(&subjects.daemon),
        registry_check(farm, subjects.registry),
        kube_checks(farm, subjects.cluster.as_ref()),
    );
    let mut checks = Vec::new();
    checks.push(match &subjects.farm {
        Ok(farm) => ok(
            "farm",
            format!("{}", farm.root.join("catctl.toml").display()),
        ),
        Err(why) => bad(
            State::Fail,
            "farm",
            why.clone(),
            "run catctl inside a farm, or `catctl init DIR` to start one",
        ),
    });
    checks.extend(docker);
    checks.push(registry);
    let (kube, cluster, nodes) = kube;
    checks.extend(kube);
    if let (Some(farm), Some(nodes)) = (farm, nodes.as_deref()) {
        checks.push(node_check(farm, nodes));
        if let Some(registry) = subjects.registry {
            checks.extend(image_platform_checks(farm, registry, nodes).await);
        }
    }
    if let Some(farm) = farm {
        checks.extend(cat_checks(farm));
        checks.extend(secret_checks(farm, cluster).await);
    }
    checks
}

async fn bounded<T>(work: impl Future<Output = T>) -> Option<T> {
    tokio::time::timeout(CHECK_TIMEOUT, work).await.ok()
}

fn late(check: &str) -> Check {
    bad(
        State::Fail,
        check,
        format!("no answer within {} ms", CHECK_TIMEOUT.as_millis()),
        "check that it runs and is reachable from here",
    )
}

/// The nodes against the farm's `[build] platform`: builds without one are for the nodes.
fn node_check(farm: &Farm, nodes: &[NodePlatform]) -> Check {
    let summary = {
        let mut platforms: Vec<String> = nodes.iter().map(|n| n.platform.to_string()).collect();
        platforms.sort();
        platforms.dedup();
        platforms.join(", ")
    };
    match &farm.settings.build_platform {
        Some(platform) if !nodes.iter().any(|n| platform.runs_on(&n.platform)) => bad(
            State::Fail,
            "nodes",
            format!(
                "catctl.toml builds for {platform} (`[build] platform`), the nodes run {summary}"
            ),
            format!("set `[build] platform` in catctl.toml to one the nodes run ({summary})"),
        ),
        Some(platform) => ok("nodes", format!("run {summary}; builds are for {platform}")),
        None => ok(
            "nodes",
            format!("run {summary}; builds are for them unless --platform says otherwise"),
        ),
    }
}

/// Each cat's image in the registry (its declared tag) against the nodes' platforms.
async fn image_platform_checks(
    farm: &Farm,
    registry: &Registry,
    nodes: &[NodePlatform],
) -> Vec<Check> {
    let Ok(names) = farm.cat_names() else {
        return Vec::new();
    };
    let checks = names
        .iter()
        .filter_map(|name| farm.cat(name).ok())
        .map(|cat| async move {
            let image = cat.image(&farm.settings);
            let check = format!("image {}", cat.name);
            let found = bounded(async {
                let creds = crate::ops::verify::registry_credentials(&image).await?;
                let Some(digest) = registry.manifest_digest(&image, creds.as_ref()).await? else {
                    return Ok(None);
                };
                registry
                    .image_platforms(&image, &digest, creds.as_ref())
                    .await
                    .map(Some)
            })
            .await;
            match found {
                None => late(&check),
                Some(Ok(None)) => bad(
                    State::Warn,
                    &check,
                    format!("{image} is not in the registry"),
                    format!("catctl build {0} && catctl push {0}", cat.name),
                ),
                Some(Ok(Some(platforms))) => match check_runnable(&image, &platforms, nodes) {
                    Ok(()) => ok(
                        &check,
                        format!(
                            "{image} is {}, which the nodes run",
                            platforms
                                .iter()
                                .map(ToString::to_string)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ),
                    Err(err) => bad(
                        State::Fail,
                        &check,
                        format!("{err:#}"),
                        format!("catctl build --platform {} {}", nodes[0].platform, cat.name),
                    ),
                },
                Some(Err(err)) => bad(
                    State::Warn,
                    &check,
                    format!("cannot read {image}'s platform: {err:#}"),
                    "see the registry check",
                ),
            }
        });
    futures::future::join_all(checks).await
}

/// The daemon's checks.
async fn docker_checks(daemon: &Result<&Daemon, String>) -> Vec<Check> {
    let daemon = match daemon {
        Ok(daemon) => daemon,
        Err(why) => {
            let fix = "start the Docker daemon, or point DOCKER_HOST at it";
            return vec![bad(State::Fail, "docker", why.clone(), fix)];
        }
    };
    let Some((version, info)) =
        bounded(async { tokio::join!(daemon.docker.version(), daemon.docker.info()) }).await
    else {
        return vec![late("docker")];
    };
    match (version, info) {
        (Ok(version), Ok(info)) => {
            let detail = format!(
                "{} — Docker {}, API {}, storage {}, {} on {}",
                daemon.host,
                version.version.unwrap_or_default(),
                version.api_version.unwrap_or_default(),
                info.driver.unwrap_or_default(),
                daemon.platform,
                if daemon.buildkit {
                    "BuildKit"
                } else {
                    "the legacy builder"
                }
            );
            vec![ok("docker", detail)]
        }
        (Err(err), _) | (_, Err(err)) => vec![bad(
            State::Fail,
            "docker",
            format!("{}: {}", daemon.host, crate::docker::daemon_message(&err)),
            "check the daemon's log; restart it",
        )],
    }
}

/// Reachable, and the credentials catctl would use accepted: a manifest that does not exist
/// is asked for, which reads nothing and writes nothing.
async fn registry_check(farm: Option<&Farm>, registry: Option<&Registry>) -> Check {
    let (Some(farm), Some(registry)) = (farm, registry) else {
        return bad(
            State::Warn,
            "registry",
            "not checked: no farm",
            "see `farm`",
        );
    };
    let probe = ImageRef::for_cat(&farm.settings.registry, "catctl-doctor-probe", "none");
    let asked = bounded(async {
        let creds = crate::ops::verify::registry_credentials(&probe).await?;
        registry.manifest_digest(&probe, creds.as_ref()).await
    })
    .await;
    match asked {
        None => late("registry"),
        Some(Ok(_)) => ok(
            "registry",
            format!(
                "{} reachable, credentials accepted (push not tried)",
                farm.settings.registry
            ),
        ),
        Some(Err(err)) => bad(
            State::Fail,
            "registry",
            format!("{err:#}"),
            "start the registry, fix `registry` in catctl.toml, or `docker login` to it",
        ),
    }
}

/// Where kubectl would look for a kubeconfig (`--kubeconfig`, else `KUBECONFIG`, else
/// ~/.kube/config), and whether any of it exists.
fn kubeconfig_paths(explicit: Option<&std::path::Path>) -> (String, bool) {
    if let Some(path) = explicit {
        return (format!("--kubeconfig {}", path.display()), path.is_file());
    }
    match std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        Some(paths) => {
            let exists = std::env::split_paths(&paths).any(|p| p.is_file());
            (format!("KUBECONFIG={}", paths.to_string_lossy()), exists)
        }
        None => {
            let home = std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_default();
            let path = home.join(".kube/config");
            (path.display().to_string(), path.is_file())
        }
    }
}

/// Whether a cluster is configured at all (a kubeconfig exists).
pub fn cluster_configured(explicit: Option<&std::path::Path>) -> bool {
    kubeconfig_paths(explicit).1
}

type KubeResult<'a> = (Vec<Check>, Option<&'a Cluster>, Option<Vec<NodePlatform>>);

async fn kube_checks<'a>(
    farm: Option<&Farm>,
    cluster: Option<&Result<&'a Cluster, String>>,
) -> KubeResult<'a> {
    let cluster = match cluster {
        None => {
            let explicit = farm.and_then(|f| f.settings.kubeconfig.as_deref());
            let (paths, _) = kubeconfig_paths(explicit);
            let check = bad(
                State::Warn,
                "kube context",
                format!("no cluster configured ({paths} does not exist)"),
                "set KUBECONFIG (or pass --kubeconfig) to deploy; build, push and up work \
                 without one",
            );
            return (vec![check], None, None);
        }
        Some(Err(why)) => {
            let fix = "check `kubectl config get-contexts`, or pass --context";
            return (
                vec![bad(State::Fail, "kube context", why.clone(), fix)],
                None,
                None,
            );
        }
        Some(Ok(cluster)) => *cluster,
    };
    let context = format!(
        "{} (from {}), namespace {} (from {})",
        cluster.context, cluster.origins.context, cluster.namespace, cluster.origins.namespace
    );
    let mut checks = vec![ok("kube context", context)];
    let client = cluster.client.clone();
    let namespace = cluster.namespace.clone();
    let Some(version) = bounded(client.apiserver_version()).await else {
        checks.push(late("kube API"));
        return (checks, None, None);
    };
    match version {
        Ok(info) => checks.push(ok(
            "kube API",
            format!("reachable, Kubernetes {}", info.git_version),
        )),
        Err(err) => {
            checks.push(bad(
                State::Fail,
                "kube API",
                format!("{:#}", crate::k8s::readable(err)),
                "check the cluster is up and the kubeconfig's server address",
            ));
            return (checks, None, None);
        }
    }
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let nodes: Api<Node> = Api::all(client.clone());
    let all = ListParams::default();
    let (found, reviews, listed) = tokio::join!(
        bounded(namespaces.get_opt(&namespace)),
        bounded(access_reviews(&client, &namespace)),
        bounded(nodes.list(&all)),
    );
    checks.push(match found {
        None => late("namespace"),
        Some(Ok(Some(_))) => ok("namespace", format!("{namespace} exists")),
        Some(Ok(None)) => bad(
            State::Fail,
            "namespace",
            format!("{namespace} does not exist"),
            format!("kubectl create namespace {namespace}, or set `namespace` in catctl.toml"),
        ),
        Some(Err(err)) => bad(
            State::Warn,
            "namespace",
            format!("cannot read: {:#}", crate::k8s::readable(err)),
            "ask for `get namespaces`, or ignore: catctl only needs its own namespace",
        ),
    });
    checks.push(match reviews {
        None => late("RBAC"),
        Some(Ok(denied)) if denied.is_empty() => ok(
            "RBAC",
            format!("every verb catctl uses is allowed in {namespace}"),
        ),
        Some(Ok(denied)) => bad(
            State::Fail,
            "RBAC",
            format!("not allowed in {namespace}: {}", denied.join(", ")),
            "ask your cluster admin for a Role with these verbs",
        ),
        Some(Err(err)) => bad(
            State::Fail,
            "RBAC",
            format!("SelfSubjectAccessReview failed: {err:#}"),
            "check that the cluster serves authorization.k8s.io/v1",
        ),
    });
    let nodes = match listed {
        Some(Ok(list)) => Some(crate::k8s::nodes::of(&list.items)),
        _ => {
            checks.push(bad(
                State::Warn,
                "nodes",
                "cannot list the nodes: their architecture is not checked",
                "ask for `list nodes`, or check `kubectl get nodes -o wide` by hand",
            ));
            None
        }
    };
    (checks, Some(cluster), nodes)
}

/// The verbs of [`NEEDED`] that the cluster denies, as `verb resource`.
async fn access_reviews(client: &kube::Client, namespace: &str) -> Result<Vec<String>> {
    let api: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    let reviews = NEEDED.iter().map(|(verb, group, resource, sub)| {
        let review = SelfSubjectAccessReview {
            spec: SelfSubjectAccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    namespace: Some(namespace.to_string()),
                    verb: Some(verb.to_string()),
                    group: Some(group.to_string()),
                    resource: Some(resource.to_string()),
                    subresource: (!sub.is_empty()).then(|| sub.to_string()),
                    ..ResourceAttributes::default()
                }),
                ..SelfSubjectAccessReviewSpec::default()
            },
            ..SelfSubjectAccessReview::default()
        };
        let api = api.clone();
        async move {
            let answer = api
                .create(&PostParams::default(), &review)
                .await
                .map_err(crate::k8s::readable)?;
            let allowed = answer.status.is_some_and(|s| s.allowed);
            let what = if sub.is_empty() {
                format!("{verb} {resource}")
            } else {
                format!("{verb} {resource}/{sub}")
            };
            anyhow::Ok((!allowed).then_some(what))
        }
    });
    let answers = futures::future::try_join_all(reviews).await?;
    Ok(answers.into_iter().flatten().collect())
}

/// Every cat: cat.toml valid, a Dockerfile to build from, a singleton run as one copy.
fn cat_checks(farm: &Farm) -> Vec<Check> {
    let names = match farm.cat_names() {
        Ok(names) => names,
        Err(err) => {
            return vec![bad(State::Fail, "cats", format!("{err:#}"), "fix cats/")];
        }
    };
    let template_dockerfile = farm.template_dir().join("Dockerfile").is_file();
    names
        .iter()
        .map(|name| {
            let check = format!("cat {name}");
            let cat = match farm.cat(name) {
                Ok(cat) => cat,
                Err(err) => {
                    return bad(
                        State::Fail,
                        &check,
                        format!("{err:#}"),
                        format!("fix cats/{name}/cat.toml"),
                    );
                }
            };
            if !template_dockerfile && !cat.dir.join("Dockerfile").is_file() {
                return bad(
                    State::Fail,
                    &check,
                    "no Dockerfile in templates/cat/ or cats/{name}/",
                    "restore templates/cat/Dockerfile",
                );
            }
            match crate::ops::deploy::check_singleton(&cat) {
                Ok(()) => ok(&check, format!("version {}", cat.config.version)),
                Err(err) => bad(
                    State::Fail,
                    &check,
                    format!("{err:#}"),
                    "set `replicas = 1`",
                ),
            }
        })
        .collect()
}

/// secret/ readable and safe (modes, git-ignored, not tracked); each cat's token present, and
/// the same in the cluster when there is one.
async fn secret_checks(farm: &Farm, cluster: Option<&Cluster>) -> Vec<Check> {
    let checked = match crate::secrets::sync::check(farm) {
        Ok(checked) => checked,
        Err(err) => {
            return vec![bad(
                State::Fail,
                "secret/",
                format!("{err:#}"),
                "fix the entries named",
            )];
        }
    };
    let mut checks = Vec::new();
    if checked.warnings.is_empty() {
        checks.push(ok(
            "secret/",
            "git-ignored, not tracked, not readable by others",
        ));
    }
    for warning in &checked.warnings {
        checks.push(bad(
            State::Fail,
            "secret/",
            warning.clone(),
            "as the message says",
        ));
    }
    let in_cluster = match cluster {
        Some(cluster) => bounded(crate::k8s::secrets::list(cluster)).await,
        None => None,
    };
    let in_cluster = match in_cluster {
        Some(Ok(list)) => Some(list),
        _ => None,
    };
    for name in farm.cat_names().unwrap_or_default() {
        let secret = secret_name(&name);
        let check = format!("token {name}");
        let Some(local) = checked.secrets.iter().find(|s| s.name == secret) else {
            checks.push(bad(
                State::Fail,
                &check,
                format!("secret/{secret} is missing"),
                format!("put the cat's tokens in secret/{secret}/ (bot-token, app-token)"),
            ));
            continue;
        };
        let Some(in_cluster) = &in_cluster else {
            checks.push(ok(
                &check,
                "present locally; the cluster's copy not checked",
            ));
            continue;
        };
        checks.push(match in_cluster.iter().find(|s| s.name == secret) {
            Some(remote) if remote.fingerprint() == local.fingerprint() => {
                ok(&check, format!("in sync ({})", local.fingerprint()))
            }
            Some(_) => bad(
                State::Fail,
                &check,
                "the cluster's Secret differs from secret/",
                "catctl secret sync",
            ),
            None => bad(
                State::Fail,
                &check,
                "not in the cluster",
                "catctl secret sync",
            ),
        });
    }
    checks
}
