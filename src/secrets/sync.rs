//! `secret sync`: make the cluster's Secrets match `secret/` — check everything first, then
//! create, update or (with `prune`) delete, touching only what differs.

use crate::k8s::Cluster;
use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;

use crate::cat_runtime::secret_name;
use crate::errors;
use crate::farm::{Farm, SECRET_DIR};
use crate::k8s::secrets::{self as cluster, ClusterSecret};
use crate::secrets::local::{self, Findings, LocalSecret};

/// The local Secrets, checked, with the warnings to show.
#[derive(Debug)]
pub struct Checked {
    pub secrets: Vec<LocalSecret>,
    pub warnings: Vec<String>,
    /// Secret name → the cat it belongs to (`<cat>-token` of an existing cat).
    pub owners: BTreeMap<String, String>,
}

/// Reads and checks `secret/`. Any error refuses the whole sync, listing every problem.
pub fn check(farm: &Farm) -> Result<Checked> {
    let dir = farm.root.join(SECRET_DIR);
    let mut findings = Findings::default();
    let secrets = local::scan(&dir, SECRET_DIR, &mut findings);
    local::check(&secrets, SECRET_DIR, &mut findings);
    local::check_exposure(&farm.root, &dir, SECRET_DIR, &mut findings);
    if !findings.errors.is_empty() {
        let summary = format!(
            "{} problems in {SECRET_DIR}/ (nothing was written)",
            findings.errors.len()
        );
        if let [one] = findings.errors.as_mut_slice() {
            one.push_str(" (nothing was written)");
        }
        return Err(errors::combine(&summary, &findings.errors));
    }
    let cats: BTreeSet<String> = farm.cat_names()?.into_iter().collect();
    let owners = cats
        .iter()
        .map(|cat| (secret_name(cat), cat.clone()))
        .filter(|(secret, _)| secrets.iter().any(|s| &s.name == secret))
        .collect();
    Ok(Checked {
        secrets,
        warnings: findings.warnings,
        owners,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Created,
    Updated,
    Unchanged,
    Pruned,
}

/// What happened (or, in a dry run, would happen) to one Secret.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub name: String,
    pub keys: Vec<String>,
    pub action: Action,
    pub fingerprint: String,
    pub error: Option<String>,
}

/// The action for each Secret, comparing data and catctl's labels.
pub fn plan(checked: &Checked, in_cluster: &[ClusterSecret], prune: bool) -> Vec<Outcome> {
    let by_name: BTreeMap<&str, &ClusterSecret> =
        in_cluster.iter().map(|s| (s.name.as_str(), s)).collect();
    let mut outcomes: Vec<Outcome> = checked
        .secrets
        .iter()
        .map(|secret| {
            let wanted_labels =
                cluster::labels_for(checked.owners.get(&secret.name).map(String::as_str));
            let action = match by_name.get(secret.name.as_str()) {
                None => Action::Created,
                Some(existing)
                    if existing.data == secret.data
                        && wanted_labels
                            .iter()
                            .all(|(k, v)| existing.labels.get(k) == Some(v)) =>
                {
                    Action::Unchanged
                }
                Some(_) => Action::Updated,
            };
            Outcome {
                name: secret.name.clone(),
                keys: secret.data.keys().cloned().collect(),
                action,
                fingerprint: secret.fingerprint(),
                error: None,
            }
        })
        .collect();
    if prune {
        let local: BTreeSet<&str> = checked.secrets.iter().map(|s| s.name.as_str()).collect();
        for gone in in_cluster
            .iter()
            .filter(|s| s.managed && !local.contains(s.name.as_str()))
        {
            outcomes.push(Outcome {
                name: gone.name.clone(),
                keys: gone.data.keys().cloned().collect(),
                action: Action::Pruned,
                fingerprint: gone.fingerprint(),
                error: None,
            });
        }
    }
    outcomes
}

/// An empty `secret/` is what a fresh clone has (it is git-ignored): `--prune` there would
/// delete every cat's Secret. Refused, naming them, by a dry run too.
fn refuse_pruning_everything(checked: &Checked, outcomes: &[Outcome]) -> Result<()> {
    let pruned: Vec<&str> = outcomes
        .iter()
        .filter(|o| o.action == Action::Pruned)
        .map(|o| o.name.as_str())
        .collect();
    if checked.secrets.is_empty() && !pruned.is_empty() {
        anyhow::bail!(
            "{SECRET_DIR}/ has no entries, so --prune would delete every Secret catctl manages \
             ({}) — put the tokens in {SECRET_DIR}/ first (a fresh clone has none), or delete \
             them with kubectl (nothing was written)",
            pruned.join(", ")
        );
    }
    Ok(())
}

/// Carries out `plan` unless `dry_run`. A failed Secret is recorded in its outcome; the others
/// still go ahead.
pub async fn run(
    cluster: &Cluster,
    checked: &Checked,
    prune: bool,
    dry_run: bool,
) -> Result<Vec<Outcome>> {
    let in_cluster = cluster::list(cluster).await?;
    let mut outcomes = plan(checked, &in_cluster, prune);
    // A dry run says what the real run would do, refusal included.
    refuse_pruning_everything(checked, &outcomes)?;
    if dry_run {
        return Ok(outcomes);
    }
    let work = outcomes.iter().map(|outcome| async move {
        let result = match outcome.action {
            Action::Unchanged => Ok(()),
            Action::Pruned => cluster::delete(cluster, &outcome.name).await,
            Action::Created | Action::Updated => {
                let secret = checked
                    .secrets
                    .iter()
                    .find(|s| s.name == outcome.name)
                    .expect("planned from these secrets");
                let owner = checked.owners.get(&secret.name).map(String::as_str);
                cluster::apply(cluster, secret, owner).await
            }
        };
        result.err().map(|err| format!("{err:#}"))
    });
    let errors = futures::future::join_all(work).await;
    for (outcome, error) in outcomes.iter_mut().zip(errors) {
        outcome.error = error;
    }
    Ok(outcomes)
}
