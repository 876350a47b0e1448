//! Rendering a cat's Kubernetes workload from `templates/deployment.yaml` (or the cat's own
//! `cats/<cat>/deployment.yaml`) with minijinja. Pure: no I/O beyond reading the template.

pub mod schedule;
pub mod slack;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

use crate::cat_runtime::{
    DEFAULT_HEALTH_PORT, HEALTH_PORT_ENV, SECRET_DIR_ENV, SECRET_MOUNT_PATH, secret_name,
};
use crate::config::Resources;
use crate::farm::{Cat, Farm};
use crate::image::ImageRef;
use crate::labels;

/// The template's file name, in `templates/` and as a cat's override.
pub const TEMPLATE_FILE: &str = "deployment.yaml";
/// The path the engine serves its health endpoint on.
pub const HEALTH_PATH: &str = "/healthz";
/// The uid the cat runs as (the engine image's non-root user).
pub const RUN_AS_USER: u32 = 1000;
/// Pod-template annotation holding the checksum of the cat's Secret data.
pub use crate::labels::{
    CHANGE_CAUSE as CHANGE_CAUSE_ANNOTATION, RESTARTED_AT as RESTARTED_AT_ANNOTATION,
    SECRET_CHECKSUM as SECRET_CHECKSUM_ANNOTATION,
};

/// The kind of workload a cat runs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Kind {
    StatefulSet,
    Deployment,
}

impl Kind {
    pub fn for_cat(cat: &Cat) -> Kind {
        if cat.config.several_copies {
            Kind::Deployment
        } else {
            Kind::StatefulSet
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::StatefulSet => "StatefulSet",
            Kind::Deployment => "Deployment",
        }
    }
}

/// What a render needs beyond the cat itself.
#[derive(Debug, Clone)]
pub struct RenderInput {
    /// The namespace the workload goes to.
    pub namespace: String,
    /// The image, pinned by digest.
    pub image: ImageRef,
    /// Checksum of the cat's Secret data in the cluster.
    pub secret_checksum: String,
    /// Set to restart the pods although nothing else changed (redeploy).
    pub restarted_at: Option<String>,
    /// The `kubernetes.io/change-cause` annotation: what was deployed, by which command.
    pub change_cause: String,
}

/// A rendered workload: the YAML text and the object it parses to.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub kind: Kind,
    pub name: String,
    pub template: PathBuf,
    pub yaml: String,
    pub object: serde_json::Value,
}

#[derive(Serialize)]
struct TemplateValues<'a> {
    kind: &'static str,
    name: &'a str,
    namespace: &'a str,
    replicas: u32,
    labels: BTreeMap<&'static str, String>,
    selector: BTreeMap<&'static str, String>,
    image: String,
    version: &'a str,
    change_cause: String,
    secret_name: String,
    secret_checksum: &'a str,
    secret_mount_path: &'static str,
    secret_dir_env: &'static str,
    health_port_env: &'static str,
    health_port: u16,
    health_path: &'static str,
    probes: bool,
    /// catctl.toml's `[env]`, as `{name, value}` entries.
    env: Vec<EnvVar<'a>>,
    resources: &'a Resources,
    run_as_user: u32,
    restarted_at: Option<&'a str>,
}

#[derive(Serialize)]
struct EnvVar<'a> {
    name: &'a str,
    value: &'a str,
}

/// The labels of a cat's workload and pods.
pub fn labels(cat: &Cat) -> BTreeMap<&'static str, String> {
    BTreeMap::from([
        (labels::APP, cat.name.clone()),
        (labels::NAME, cat.name.clone()),
        (labels::PART_OF, labels::MANAGED_BY_CATCTL.to_string()),
        (labels::MANAGED_BY, labels::MANAGED_BY_CATCTL.to_string()),
        (labels::VERSION, cat.config.version.clone()),
    ])
}

/// catctl's own template, used by a farm that has no `templates/deployment.yaml`.
pub const BUILT_IN_TEMPLATE: &str = include_str!("../../templates/deployment.yaml");

/// The template used for `cat`: its own `cats/<cat>/deployment.yaml`, else the farm's
/// `templates/deployment.yaml`; `None` means the built-in one.
pub fn template_path(farm: &Farm, cat: &Cat) -> Option<PathBuf> {
    [
        cat.dir.join(TEMPLATE_FILE),
        farm.root.join("templates").join(TEMPLATE_FILE),
    ]
    .into_iter()
    .find(|path| path.is_file())
}

/// Renders the workload of `cat`.
pub fn render(farm: &Farm, cat: &Cat, input: &RenderInput) -> Result<Rendered> {
    match template_path(farm, cat) {
        Some(template) => {
            let source = std::fs::read_to_string(&template).with_context(|| {
                format!("cannot read the manifest template {}", template.display())
            })?;
            render_source(&template, &source, cat, &farm.settings.env, input)
        }
        None => render_source(
            Path::new("(catctl's built-in deployment.yaml)"),
            BUILT_IN_TEMPLATE,
            cat,
            &farm.settings.env,
            input,
        ),
    }
}

/// Renders `source` (the text of `template`) for `cat`, and checks the result.
pub fn render_source(
    template: &Path,
    source: &str,
    cat: &Cat,
    env: &BTreeMap<String, String>,
    input: &RenderInput,
) -> Result<Rendered> {
    let kind = Kind::for_cat(cat);
    let values = TemplateValues {
        kind: kind.as_str(),
        name: &cat.name,
        namespace: &input.namespace,
        replicas: cat.config.replicas,
        labels: labels(cat),
        selector: BTreeMap::from([(labels::APP, cat.name.clone())]),
        image: input.image.to_string(),
        version: &cat.config.version,
        change_cause: input.change_cause.clone(),
        secret_name: secret_name(&cat.name),
        secret_checksum: &input.secret_checksum,
        secret_mount_path: SECRET_MOUNT_PATH,
        secret_dir_env: SECRET_DIR_ENV,
        health_port_env: HEALTH_PORT_ENV,
        health_port: cat.config.health_port.unwrap_or(DEFAULT_HEALTH_PORT),
        health_path: HEALTH_PATH,
        probes: cat.config.probes,
        env: env
            .iter()
            .map(|(name, value)| EnvVar { name, value })
            .collect(),
        resources: &cat.config.resources,
        run_as_user: RUN_AS_USER,
        restarted_at: input.restarted_at.as_deref(),
    };
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    let yaml = env
        .render_str(source, minijinja::value::Serde(&values))
        .with_context(|| format!("cannot render {} for {}", template.display(), cat.name))?;
    let object: serde_json::Value = serde_saphyr::from_str(&yaml).with_context(|| {
        format!(
            "{} rendered for {} is not valid YAML — check the template",
            template.display(),
            cat.name
        )
    })?;
    check_rendered(template, cat, kind, &object)?;
    Ok(Rendered {
        kind,
        name: cat.name.clone(),
        template: template.to_path_buf(),
        yaml,
        object,
    })
}

/// A template may change much, but not what catctl relies on: the kind, the name, the
/// namespace and the selector by which catctl finds the cat's pods.
fn check_rendered(
    template: &Path,
    cat: &Cat,
    kind: Kind,
    object: &serde_json::Value,
) -> Result<()> {
    let field = |pointer: &str| object.pointer(pointer).and_then(|v| v.as_str());
    let problems = [
        (
            field("/kind") != Some(kind.as_str()),
            format!("kind must be {}", kind.as_str()),
        ),
        (
            field("/metadata/name") != Some(&cat.name),
            format!("metadata.name must be {}", cat.name),
        ),
        (
            field("/spec/selector/matchLabels/app") != Some(&cat.name),
            format!("spec.selector.matchLabels must be app: {}", cat.name),
        ),
        (
            field("/spec/template/metadata/labels/app") != Some(&cat.name),
            format!("the pod template must be labelled app: {}", cat.name),
        ),
    ];
    let wrong: Vec<String> = problems
        .into_iter()
        .filter(|(bad, _)| *bad)
        .map(|(_, p)| p)
        .collect();
    if !wrong.is_empty() {
        bail!(
            "{} rendered for {} is not usable: {}",
            template.display(),
            cat.name,
            wrong.join("; ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CatConfig;

    const TEMPLATE: &str = BUILT_IN_TEMPLATE;

    fn cat(toml: &str) -> Cat {
        Cat {
            name: "dd".to_string(),
            dir: PathBuf::from("cats/dd"),
            config: crate::config::parse::<CatConfig>(Path::new("cat.toml"), toml).unwrap(),
        }
    }

    fn input() -> RenderInput {
        RenderInput {
            namespace: "cats".to_string(),
            image: ImageRef::parse(&format!("127.0.0.1:5000/dd:v2@sha256:{}", "ab".repeat(32)))
                .unwrap(),
            secret_checksum: "0123456789ab".to_string(),
            restarted_at: None,
            change_cause: format!(
                "catctl deploy 127.0.0.1:5000/dd:v2@sha256:{}",
                "ab".repeat(32)
            ),
        }
    }

    fn render(toml: &str, input: &RenderInput) -> Rendered {
        render_source(
            Path::new("templates/deployment.yaml"),
            TEMPLATE,
            &cat(toml),
            &BTreeMap::from([(
                "CAT_SLACK_API_URL".to_string(),
                "http://10.245.0.1:3000/api/".to_string(),
            )]),
            input,
        )
        .unwrap()
    }

    #[test]
    fn a_singleton_is_a_statefulset_of_one_pinned_by_digest() {
        let r = render("version = \"v2\"\n", &input());
        let o = &r.object;
        assert_eq!(r.kind, Kind::StatefulSet);
        assert_eq!(o["kind"], "StatefulSet");
        assert_eq!(o["metadata"]["namespace"], "cats");
        assert_eq!(o["spec"]["replicas"], 1);
        let container = &o["spec"]["template"]["spec"]["containers"][0];
        let digest = format!("sha256:{}", "ab".repeat(32));
        assert_eq!(container["image"], format!("127.0.0.1:5000/dd:v2@{digest}"));
        assert_eq!(
            o["metadata"]["annotations"][CHANGE_CAUSE_ANNOTATION],
            format!("catctl deploy 127.0.0.1:5000/dd:v2@{digest}")
        );
        assert_eq!(
            o["spec"]["template"]["metadata"]["annotations"][SECRET_CHECKSUM_ANNOTATION],
            "0123456789ab"
        );
        for (key, value) in [
            ("app", "dd"),
            ("app.kubernetes.io/name", "dd"),
            ("app.kubernetes.io/part-of", "catctl"),
            ("app.kubernetes.io/managed-by", "catctl"),
            ("app.kubernetes.io/version", "v2"),
        ] {
            assert_eq!(o["metadata"]["labels"][key], value, "{key}");
            assert_eq!(
                o["spec"]["template"]["metadata"]["labels"][key], value,
                "{key}"
            );
        }
    }

    #[test]
    fn the_secret_is_mounted_read_only_with_its_path_in_the_environment() {
        let r = render("version = \"v1\"\n", &input());
        let pod = &r.object["spec"]["template"]["spec"];
        let container = &pod["containers"][0];
        assert_eq!(container["volumeMounts"][0]["mountPath"], SECRET_MOUNT_PATH);
        assert_eq!(container["volumeMounts"][0]["readOnly"], true);
        assert_eq!(pod["volumes"][0]["secret"]["secretName"], "dd-token");
        assert_eq!(container["env"][0]["name"], SECRET_DIR_ENV);
        assert_eq!(container["env"][0]["value"], SECRET_MOUNT_PATH);
        let security = &container["securityContext"];
        assert_eq!(security["readOnlyRootFilesystem"], true);
        assert_eq!(security["allowPrivilegeEscalation"], false);
        assert_eq!(security["capabilities"]["drop"][0], "ALL");
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
        assert_eq!(container["resources"]["requests"]["memory"], "64Mi");
        assert_eq!(container["env"][2]["name"], "CAT_SLACK_API_URL", "[env]");
        assert_eq!(container["env"][2]["value"], "http://10.245.0.1:3000/api/");
    }

    #[test]
    fn probes_are_on_by_default_on_the_engine_health_port_and_off_only_when_declared() {
        let r = render("version = \"v1\"\n", &input());
        let container = &r.object["spec"]["template"]["spec"]["containers"][0];
        for probe in ["startupProbe", "readinessProbe", "livenessProbe"] {
            assert_eq!(container[probe]["httpGet"]["path"], HEALTH_PATH, "{probe}");
            assert_eq!(container[probe]["httpGet"]["port"], "health", "{probe}");
        }
        assert_eq!(container["ports"][0]["containerPort"], DEFAULT_HEALTH_PORT);
        assert_eq!(container["env"][1]["name"], HEALTH_PORT_ENV);
        assert_eq!(
            container["env"][1]["value"],
            DEFAULT_HEALTH_PORT.to_string()
        );

        let r = render("version = \"v1\"\nprobes = false\n", &input());
        let container = &r.object["spec"]["template"]["spec"]["containers"][0];
        for probe in ["startupProbe", "readinessProbe", "livenessProbe", "ports"] {
            assert!(container.get(probe).is_none(), "probes = false: no {probe}");
        }
    }

    #[test]
    fn several_copies_make_a_deployment_and_health_ports_make_probes() {
        let r = render(
            "version = \"v1\"\nreplicas = 3\nseveral_copies = true\nhealth_port = 9000\n[resources]\nmemory_limit = \"256Mi\"\n",
            &RenderInput {
                restarted_at: Some("2026-11-21T00:00:00Z".into()),
                ..input()
            },
        );
        let o = &r.object;
        assert_eq!(o["kind"], "Deployment");
        assert_eq!(o["spec"]["replicas"], 3);
        let container = &o["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(container["readinessProbe"]["httpGet"]["path"], HEALTH_PATH);
        assert_eq!(container["ports"][0]["containerPort"], 9000);
        assert_eq!(container["env"][1]["value"], "9000");
        assert_eq!(container["resources"]["limits"]["memory"], "256Mi");
        assert_eq!(
            o["spec"]["template"]["metadata"]["annotations"][RESTARTED_AT_ANNOTATION],
            "2026-11-21T00:00:00Z"
        );
    }

    #[test]
    fn a_template_that_loses_the_selector_is_refused() {
        let broken = TEMPLATE.replace(
            "matchLabels: {{ selector | tojson }}",
            "matchLabels: {cat: x}",
        );
        let err = render_source(
            Path::new("cats/dd/deployment.yaml"),
            &broken,
            &cat("version = \"v1\"\n"),
            &BTreeMap::new(),
            &input(),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("spec.selector.matchLabels must be app: dd"),
            "{err}"
        );
    }
}
