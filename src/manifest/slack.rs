//! The Slack app manifest of a cat: `templates/cat/slack-manifest.yaml` (or the cat's own
//! `cats/<cat>/slack-manifest.yaml`) rendered with the cat's name, checked to be YAML.

use anyhow::{Context as _, Result, bail};
use minijinja::{Environment, UndefinedBehavior, context};

use crate::farm::{Cat, Farm};

/// The template's file name, in `templates/cat/` and as a cat's override.
pub const SLACK_MANIFEST_FILE: &str = "slack-manifest.yaml";

/// The YAML that Slack's "Create an app → From an app manifest" takes for `cat`.
pub fn slack_manifest(farm: &Farm, cat: &Cat) -> Result<String> {
    let candidates = [
        cat.dir.join(SLACK_MANIFEST_FILE),
        farm.template_dir().join(SLACK_MANIFEST_FILE),
    ];
    let Some(template) = candidates.iter().find(|p| p.is_file()) else {
        bail!(
            "no Slack app manifest template: neither {} nor {} exists — the cat template ships one",
            farm.display_path(&candidates[0]),
            farm.display_path(&candidates[1])
        );
    };
    let shown = farm.display_path(template).to_string();
    let source =
        std::fs::read_to_string(template).with_context(|| format!("cannot read {shown}"))?;
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    let text = env
        .render_str(
            &source,
            context! { name => &cat.name, display_name => &cat.config.slack_user },
        )
        .with_context(|| format!("rendering {shown} for {}", cat.name))?;
    serde_saphyr::from_str::<serde_json::Value>(&text)
        .with_context(|| format!("{shown} does not render to YAML for {}", cat.name))?;
    Ok(text)
}
