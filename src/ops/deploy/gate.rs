//! The gate: every check a deploy makes before its first write, reading only — the image
//! (tag in the registry, local image pushed, sources unchanged), the cat's Secret, no workload
//! of the other kind beside it — and the cat's manifest rendered, pinned by digest.

use std::collections::BTreeMap;

use anyhow::{Context as _, Result, bail};
use futures::StreamExt as _;
use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use kube::api::DynamicObject;

use crate::cat_runtime::secret_name;
use crate::docker::Daemon;
use crate::farm::{Cat, Farm};
use crate::image::Digest;
use crate::image::ImageRef;
use crate::k8s::Cluster;
use crate::k8s::history::{self, Revision};
use crate::k8s::nodes::NodePlatform;
use crate::k8s::observe::Observer;
use crate::k8s::secrets::{self as cluster_secrets, ClusterSecret};
use crate::k8s::sleep::{self, Asleep};
use crate::k8s::{rollout, workload};
use crate::manifest::{
    self, CHANGE_CAUSE_ANNOTATION, Kind, RESTARTED_AT_ANNOTATION, RenderInput, Rendered,
    SECRET_CHECKSUM_ANNOTATION,
};
use crate::ops::deploy::{DeployOptions, ImageChoice, Report};
use crate::ops::platform::check_runnable;
use crate::ops::verify;
use crate::registry::Registry;
use tokio::sync::OnceCell;

/// A cat that passed the gate, ready to apply.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub cat: Cat,
    /// The image, pinned by digest.
    pub image: ImageRef,
    pub rendered: Rendered,
    pub restarted_at: Option<String>,
    /// The cat's history before this deploy.
    pub history: Vec<Revision>,
    pub cause: String,
    /// What the image says it was built from: its sources' digest, the git commit, and
    /// whether the tree had uncommitted changes.
    pub source_digest: Option<Digest>,
    pub git_commit: Option<String>,
    pub git_dirty: bool,
    /// What the user should know though nothing stops the deploy.
    pub warnings: Vec<String>,
    /// Whether this deploy must not replace a newer revision (a declared image, not a
    /// rollback, without `--allow-downgrade`).
    pub guard_downgrade: bool,
    /// Set when `catctl sleep` put the cat to sleep.
    pub asleep: Option<Asleep>,
    /// Apply with 0 replicas and wait for nothing: the cat sleeps and no `--wake` was given.
    pub keep_asleep: bool,
    /// The cat's history ConfigMap as the gate read it (`Some(None)`: there was none; `None`:
    /// to be read again); its deploy lock is taken with a write conditional on it.
    pub configmap: Option<Option<ConfigMap>>,
    /// The cluster already runs exactly this: the live workload has every field of the
    /// rendered one, its rollout is done, its pods run this digest, and the history's newest
    /// entry is this very deploy. Nothing is written for it.
    pub unchanged: Option<Vec<String>>,
}

/// The image a cat is to run, with what it says about its making.
struct Built {
    image: ImageRef,
    cause: String,
    source_digest: Option<Digest>,
    git_commit: Option<String>,
    git_dirty: bool,
    warnings: Vec<String>,
}

/// What went through the gate: the cats to apply, and a report for each refused one.
pub struct Gated {
    pub prepared: Vec<Prepared>,
    pub refused: Vec<Report>,
}

/// What the cluster holds for the cats, read once for all of them: one request per kind.
pub struct Snapshot {
    secrets: BTreeMap<String, ClusterSecret>,
    statefulsets: BTreeMap<String, DynamicObject>,
    deployments: BTreeMap<String, DynamicObject>,
    histories: BTreeMap<String, ConfigMap>,
    pods: BTreeMap<String, Vec<Pod>>,
    /// The nodes' platforms, or why they could not be listed: read once, and only when an image
    /// not already running has to be checked (a deploy that changes no image lists no nodes).
    nodes: OnceCell<std::result::Result<Vec<NodePlatform>, String>>,
}

impl Snapshot {
    /// One LIST per kind, all at once — pods and workloads from `observer`'s watches instead
    /// when it has them (a deploy's rollout needs those watches anyway). Each cat's deploy lock
    /// sits in its history ConfigMap: taking it with a write conditional on the ConfigMap read
    /// here proves this history is still the newest.
    pub async fn read(cluster: &Cluster, observer: Option<&Observer>) -> Result<Snapshot> {
        let watched = |kind: Kind| -> Option<BTreeMap<String, DynamicObject>> {
            let observer = observer?;
            let objects: Vec<serde_json::Value> = match kind {
                Kind::StatefulSet => observer
                    .all_statefulsets()
                    .iter()
                    .filter_map(|o| serde_json::to_value(o).ok())
                    .collect(),
                Kind::Deployment => observer
                    .all_deployments()?
                    .iter()
                    .filter_map(|o| serde_json::to_value(o).ok())
                    .collect(),
            };
            Some(by_name(objects))
        };
        let workloads = |kind: Kind| {
            let known = watched(kind);
            async move {
                match known {
                    Some(known) => Ok(known),
                    None => workload::list(cluster, kind).await,
                }
            }
        };
        let pods = async {
            match observer {
                Some(observer) => Ok(observer.all_pods()),
                None => workload::pods(cluster).await,
            }
        };
        let (secrets, statefulsets, deployments, histories, pods) = tokio::try_join!(
            cluster_secrets::list_managed(cluster),
            workloads(Kind::StatefulSet),
            workloads(Kind::Deployment),
            history::list(cluster),
            pods,
        )?;
        Ok(Snapshot {
            secrets,
            statefulsets,
            deployments,
            histories,
            pods: workload::by_cat(&pods),
            nodes: OnceCell::new(),
        })
    }

    fn workload(&self, kind: Kind, name: &str) -> Option<&DynamicObject> {
        match kind {
            Kind::StatefulSet => self.statefulsets.get(name),
            Kind::Deployment => self.deployments.get(name),
        }
    }

    fn pods(&self, cat: &str) -> &[Pod] {
        self.pods.get(cat).map_or(&[], Vec::as_slice)
    }
}

/// Typed objects as the dynamic ones a LIST gives, by name.
fn by_name(objects: Vec<serde_json::Value>) -> BTreeMap<String, DynamicObject> {
    objects
        .into_iter()
        .filter_map(|o| serde_json::from_value::<DynamicObject>(o).ok())
        .filter_map(|o| Some((o.metadata.name.clone()?, o)))
        .collect()
}

/// What the gate needs, shared by all cats of a command.
pub struct Gate<'a> {
    pub farm: &'a Farm,
    pub cluster: &'a Cluster,
    pub registry: &'a Registry,
    /// The local daemon, when one answers (its image check is skipped otherwise).
    pub daemon: Option<&'a Daemon>,
    pub options: &'a DeployOptions,
    /// The rollout's watches, already started: the gate reads pods and workloads from them
    /// (`Err`: they could not start, which fails every cat as the lists would).
    pub observer: Option<Result<&'a Observer, String>>,
}

impl Gate<'_> {
    /// Every cat through the gate, concurrently. Rendering needs the registry digest and the
    /// Secret's checksum, so even a dry run asks the registry and the cluster.
    pub async fn check_all(&self, cats: Vec<(Cat, ImageChoice)>) -> Gated {
        let snapshot = if cats.is_empty() {
            Err(anyhow::anyhow!("no cats"))
        } else {
            match &self.observer {
                Some(Ok(observer)) => Snapshot::read(self.cluster, Some(observer)).await,
                Some(Err(err)) => Err(anyhow::anyhow!("{err}")),
                None => Snapshot::read(self.cluster, None).await,
            }
        };
        let snapshot = &snapshot;
        let checked: Vec<(Cat, Result<Prepared>)> = futures::stream::iter(cats)
            .map(|(cat, choice)| async move {
                let result = match snapshot {
                    Ok(snapshot) => self.check(&cat, &choice, snapshot).await,
                    Err(err) => Err(anyhow::anyhow!("{err:#}")),
                };
                (cat, result)
            })
            .buffered(self.farm.settings.deploy_concurrency)
            .collect()
            .await;
        let mut gated = Gated {
            prepared: Vec::new(),
            refused: Vec::new(),
        };
        for (cat, result) in checked {
            match result {
                Ok(p) => gated.prepared.push(p),
                Err(err) => {
                    gated
                        .refused
                        .push(Report::refused(&cat.name, &cat.config.version, &err))
                }
            }
        }
        gated
    }

    /// Every check for `cat`, reading only: the cluster as `snapshot` holds it.
    pub async fn check(
        &self,
        cat: &Cat,
        choice: &ImageChoice,
        snapshot: &Snapshot,
    ) -> Result<Prepared> {
        check_singleton(cat)?;
        let built = match choice {
            ImageChoice::Declared => self.declared_image(cat).await?,
            ImageChoice::Revision(revision) => self.revision_image(revision).await?,
        };
        let mut built = built;
        // An image the cat's pods already run is one a node runs.
        let runs_already = built
            .image
            .digest
            .as_ref()
            .is_some_and(|d| workload::digests_of(snapshot.pods(&cat.name)).contains(d));
        if !runs_already {
            self.check_platform(&built.image, snapshot, &mut built.warnings)
                .await?;
        }
        let (image, cause) = (built.image.clone(), built.cause.clone());
        let namespace = &self.cluster.namespace;
        let secret = secret_name(&cat.name);
        let secret = match snapshot.secrets.get(&secret) {
            Some(found) => found.clone(),
            // Not labelled as catctl's (made by hand): asked for by name.
            None => match cluster_secrets::get(self.cluster, &secret).await? {
                Some(found) => found,
                None => bail!(
                    "secret {secret} not found in namespace {namespace} — run `catctl secret sync`"
                ),
            },
        };
        let kind = Kind::for_cat(cat);
        self.refuse_other_kind(cat, kind, snapshot)?;
        let live = snapshot.workload(kind, &cat.name);
        let history = history::parse(
            self.cluster,
            &cat.name,
            snapshot
                .histories
                .get(&history::configmap_name(&cat.name))
                .cloned(),
        )?;
        let running = workload::digests_of(snapshot.pods(&cat.name));
        let guard_downgrade =
            matches!(choice, ImageChoice::Declared) && !self.options.allow_downgrade;
        if guard_downgrade
            && let Some(digest) = &image.digest
            && let Some(refusal) = downgrade(&cat.name, &history, &running, &image, digest)
        {
            bail!("{refusal}");
        }
        let restarted_at = if self.options.restart {
            Some(jiff::Timestamp::now().to_string())
        } else {
            live.and_then(live_restarted_at)
        };
        let rendered = match choice {
            ImageChoice::Declared => {
                let input = RenderInput {
                    namespace: namespace.clone(),
                    image: image.clone(),
                    secret_checksum: secret.checksum(),
                    restarted_at: restarted_at.clone(),
                    change_cause: cause.clone(),
                };
                manifest::render(self.farm, cat, &input)?
            }
            ImageChoice::Revision(revision) => {
                recorded(revision, kind, &cat.name, &cause, &secret.checksum())?
            }
        };
        let mut rendered = rendered;
        let asleep = live.and_then(sleep::asleep);
        let keep_asleep = asleep.is_some() && !self.options.wake;
        if keep_asleep {
            keep_replicas_at_zero(&mut rendered);
        }
        let unchanged = live
            .filter(|live| {
                !self.options.restart && unchanged(&rendered, live, &history, &running, &image)
            })
            .map(|_| pod_names(snapshot.pods(&cat.name)));
        Ok(Prepared {
            cat: cat.clone(),
            image,
            rendered,
            restarted_at,
            history,
            cause,
            source_digest: built.source_digest,
            git_commit: built.git_commit,
            git_dirty: built.git_dirty,
            warnings: built.warnings,
            guard_downgrade,
            asleep,
            keep_asleep,
            configmap: Some(
                snapshot
                    .histories
                    .get(&history::configmap_name(&cat.name))
                    .cloned(),
            ),
            unchanged,
        })
    }

    /// Refuses an image no node can run (its platforms read from the registry); when the nodes
    /// cannot be listed, says the check was skipped.
    async fn check_platform(
        &self,
        image: &ImageRef,
        snapshot: &Snapshot,
        warnings: &mut Vec<String>,
    ) -> Result<()> {
        let Some(digest) = &image.digest else {
            return Ok(());
        };
        let nodes = snapshot
            .nodes
            .get_or_init(|| async {
                crate::k8s::nodes::platforms(self.cluster)
                    .await
                    .map_err(|err| format!("{err:#}"))
            })
            .await;
        let nodes = match nodes {
            Ok(nodes) if nodes.is_empty() => return Ok(()),
            Ok(nodes) => nodes,
            Err(why) => {
                warnings.push(format!(
                    "the image's platform is not checked against the nodes: {why}"
                ));
                return Ok(());
            }
        };
        let creds = verify::registry_credentials(image).await?;
        let platforms = self
            .registry
            .image_platforms(image, digest, creds.as_ref())
            .await
            .with_context(|| format!("reading the platform of {image} from the registry"))?;
        check_runnable(image, &platforms, nodes)
    }

    /// A workload of the other kind beside the cat's would run a second copy.
    fn refuse_other_kind(&self, cat: &Cat, kind: Kind, snapshot: &Snapshot) -> Result<()> {
        let namespace = &self.cluster.namespace;
        let other = match kind {
            Kind::StatefulSet => Kind::Deployment,
            Kind::Deployment => Kind::StatefulSet,
        };
        if snapshot.workload(other, &cat.name).is_some() {
            bail!(
                "a {} named {} already runs in namespace {namespace}; a {} beside it would run a \
                 second copy — remove it first (`kubectl delete {} {} -n {namespace}`)",
                other.as_str(),
                cat.name,
                kind.as_str(),
                other.as_str().to_lowercase(),
                cat.name
            );
        }
        Ok(())
    }

    /// The image cat.toml declares, verified and pinned to the registry's digest.
    async fn declared_image(&self, cat: &Cat) -> Result<Built> {
        let verification = verify::verify_cat(self.farm, cat, self.registry, self.daemon).await?;
        let blocking = verification.blocking(self.options.allow_stale);
        if !blocking.is_empty() {
            let problems: Vec<String> = blocking.iter().map(|f| f.to_string()).collect();
            bail!("{}", problems.join("; "));
        }
        let image = verification
            .pinned_image()
            .context("the registry gave no digest")?;
        let cause = format!("catctl deploy {image}");
        let mut warnings = Vec::new();
        if verification.dirty {
            warnings.push(format!(
                "{image} was built from uncommitted changes{} — what runs may be in no commit; \
                 commit, then build and push again",
                verification
                    .git_commit
                    .as_deref()
                    .map_or(String::new(), |c| format!(
                        " on top of {}",
                        &c[..c.len().min(12)]
                    ))
            ));
        }
        Ok(Built {
            image,
            cause,
            source_digest: verification.built_source_digest,
            git_commit: verification.git_commit,
            git_dirty: verification.dirty,
            warnings,
        })
    }

    /// The image of a recorded revision, still in the registry.
    async fn revision_image(&self, revision: &Revision) -> Result<Built> {
        let image = revision.image.pinned(revision.digest.clone());
        let creds = verify::registry_credentials(&image).await?;
        if self
            .registry
            .manifest_digest(&image, creds.as_ref())
            .await?
            .is_none()
        {
            bail!("{image} is no longer in the registry — it cannot be rolled back to");
        }
        let cause = format!("catctl rollback to revision {} {image}", revision.revision);
        Ok(Built {
            image,
            cause,
            source_digest: revision.source_digest.clone(),
            git_commit: revision.git_commit.clone(),
            git_dirty: revision.git_dirty,
            warnings: Vec::new(),
        })
    }
}

/// The whole workload `revision` applied, to apply again: its own image, labels and spec, with
/// today's change cause and Secret checksum (a token changed since then must not restart the
/// cat with the old one's checksum).
fn recorded(
    revision: &Revision,
    kind: Kind,
    name: &str,
    cause: &str,
    secret_checksum: &str,
) -> Result<Rendered> {
    let mut object = revision.workload.clone();
    if object.get("kind").and_then(|k| k.as_str()) != Some(kind.as_str()) {
        bail!(
            "revision {} of {name} ran as a {}, but {name} is now a {} — deploy it instead of \
             rolling back across that change",
            revision.revision,
            object.get("kind").and_then(|k| k.as_str()).unwrap_or("?"),
            kind.as_str()
        );
    }
    object["metadata"]["annotations"][CHANGE_CAUSE_ANNOTATION] = cause.into();
    object["spec"]["template"]["metadata"]["annotations"][SECRET_CHECKSUM_ANNOTATION] =
        secret_checksum.into();
    let yaml = serde_saphyr::to_string(&object)?;
    Ok(Rendered {
        kind,
        name: name.to_string(),
        template: std::path::PathBuf::from(format!("revision {}", revision.revision)),
        yaml,
        object,
    })
}

/// Why deploying `image` (pinned to `digest`) would be a downgrade, if it would: the cluster
/// runs a digest this farm's history recorded after `digest` last ran, or one the history does
/// not know at all.
pub fn downgrade(
    cat: &str,
    history: &[Revision],
    running: &[Digest],
    image: &ImageRef,
    digest: &Digest,
) -> Option<String> {
    let newest_with = |d: &Digest| history.iter().rposition(|r| &r.digest == d);
    let deploying = newest_with(digest);
    for now in running.iter().filter(|d| *d != digest) {
        let Some(index) = newest_with(now) else {
            return Some(format!(
                "{cat} runs {} in the cluster, which is not in this farm's history (set outside \
                 catctl?) — deploying {image} would replace it; pass --allow-downgrade if that \
                 is what you want",
                now.short()
            ));
        };
        if let Some(older) = deploying
            && older < index
        {
            let (new, old) = (&history[index], &history[older]);
            return Some(format!(
                "{cat} runs {} ({}, revision {}, deployed by {} at {}{}) but you are deploying \
                 {} ({}, revision {}, deployed by {} at {}{}) — an older revision: is this \
                 checkout behind? Pull, or go back on purpose with `catctl rollback {cat}` or \
                 `catctl deploy {cat} --allow-downgrade`",
                new.tag,
                new.digest.short(),
                new.revision,
                new.by,
                new.deployed_at,
                commit(new),
                old.tag,
                old.digest.short(),
                old.revision,
                old.by,
                old.deployed_at,
                commit(old),
            ));
        }
    }
    None
}

fn commit(revision: &Revision) -> String {
    match &revision.git_commit {
        Some(commit) => format!(
            ", commit {}{}",
            &commit[..commit.len().min(12)],
            if revision.git_dirty { " (dirty)" } else { "" }
        ),
        None => String::new(),
    }
}

/// Refuses a cat that would run a singleton as several copies (farm policy: a Slack bot
/// answers every message once per copy).
pub fn check_singleton(cat: &Cat) -> Result<()> {
    if !cat.config.several_copies && cat.config.replicas > 1 {
        bail!(
            "cats/{}/cat.toml asks for {} replicas, but {} is a singleton: every copy of a Slack \
             bot answers every message, so two copies answer twice — set `replicas = 1`, or \
             `several_copies = true` if the cat is really safe to run several times",
            cat.name,
            cat.config.replicas,
            cat.name
        );
    }
    Ok(())
}

fn live_restarted_at(object: &DynamicObject) -> Option<String> {
    object
        .data
        .pointer("/spec/template/metadata/annotations")
        .and_then(|a| a.get(RESTARTED_AT_ANNOTATION))
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

/// A sleeping cat's workload applies 0 replicas: the value its sleep manager holds, so the
/// apply neither conflicts nor wakes it.
fn keep_replicas_at_zero(rendered: &mut Rendered) {
    rendered.object["spec"]["replicas"] = serde_json::json!(0);
    let lines: Vec<&str> = rendered.yaml.lines().collect();
    let at: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].starts_with("  replicas: "))
        .collect();
    if let [i] = at[..] {
        let mut lines: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        lines[i] = "  replicas: 0  # asleep (catctl sleep); deploy --wake wakes it".into();
        rendered.yaml = lines.join("\n") + "\n";
    }
}
/// Whether deploying `rendered` would change nothing: `live` already has every field of it
/// with the same value (what catctl's apply would set; fields others set are not compared),
/// its rollout is done, its pods run only `image`'s digest, and the history's newest entry
/// is this same workload, which ran. Decided here, from what the gate read, so that a no-op
/// deploy sends no write at all.
fn unchanged(
    rendered: &Rendered,
    live: &DynamicObject,
    history: &[Revision],
    running: &[Digest],
    image: &ImageRef,
) -> bool {
    let Some(digest) = &image.digest else {
        return false;
    };
    let recorded = history.last().is_some_and(|last| {
        last.ran()
            && &last.digest == digest
            && last.manifest_checksum == history::manifest_checksum(&rendered.object)
    });
    let live_json = match serde_json::to_value(live) {
        Ok(value) => value,
        Err(_) => return false,
    };
    recorded
        && running.iter().all(|d| d == digest)
        && contains(&live_json, &rendered.object)
        && rolled_out(rendered.kind, live)
}

/// Whether `outer` has every field of `inner` with the same value; lists item by item, of the
/// same length.
fn contains(outer: &serde_json::Value, inner: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (outer, inner) {
        (Value::Object(outer), Value::Object(inner)) => inner
            .iter()
            .all(|(k, v)| outer.get(k).is_some_and(|o| contains(o, v))),
        (Value::Array(outer), Value::Array(inner)) => {
            outer.len() == inner.len() && outer.iter().zip(inner).all(|(o, i)| contains(o, i))
        }
        (Value::Number(o), Value::Number(i)) => o.as_f64() == i.as_f64(),
        (outer, inner) => outer == inner,
    }
}

/// Whether `live`'s rollout is done, as `kubectl rollout status` would say.
fn rolled_out(kind: Kind, live: &DynamicObject) -> bool {
    let done = match kind {
        Kind::StatefulSet => live
            .clone()
            .try_parse::<StatefulSet>()
            .map(|sts| rollout::statefulset_progress(&sts)),
        Kind::Deployment => live
            .clone()
            .try_parse::<Deployment>()
            .map(|d| rollout::deployment_progress(&d)),
    };
    matches!(done, Ok(rollout::Progress::Done))
}

fn pod_names(pods: &[Pod]) -> Vec<String> {
    let mut names: Vec<String> = pods
        .iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter_map(|p| p.metadata.name.clone())
        .collect();
    names.sort();
    names
}
