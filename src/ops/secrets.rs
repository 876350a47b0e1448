//! The cats' tokens beyond `secret sync`: local against cluster (`secret list`), and asking
//! Slack whose token each one is (`secret verify`). No value ever leaves this module.

use std::collections::BTreeMap;

use anyhow::{Result, bail};
use futures::StreamExt as _;

use crate::cat_runtime::secret_name;
use crate::farm::Farm;
use crate::http::Client;
use crate::k8s::Cluster;
use crate::k8s::secrets as cluster_secrets;
use crate::secrets::slack::{self, Verdict};
use crate::secrets::sync::Checked;

/// One Secret, local and in the cluster, by fingerprint.
#[derive(Debug)]
pub struct SecretState {
    pub name: String,
    pub keys: Vec<String>,
    pub local: Option<String>,
    pub cluster: Option<String>,
    pub state: &'static str,
}

/// Every local Secret and every catctl-managed one in the cluster: in sync, differs, or on
/// one side only.
pub async fn compare(checked: &Checked, cluster: &Cluster) -> Result<Vec<SecretState>> {
    let in_cluster = cluster_secrets::list(cluster).await?;
    let mut rows: BTreeMap<String, SecretState> = BTreeMap::new();
    for secret in &checked.secrets {
        rows.insert(
            secret.name.clone(),
            SecretState {
                name: secret.name.clone(),
                keys: secret.data.keys().cloned().collect(),
                local: Some(secret.fingerprint()),
                cluster: None,
                state: "only local",
            },
        );
    }
    for secret in in_cluster {
        let Some(row) = rows.get_mut(&secret.name) else {
            if secret.managed {
                rows.insert(
                    secret.name.clone(),
                    SecretState {
                        keys: secret.data.keys().cloned().collect(),
                        cluster: Some(secret.fingerprint()),
                        name: secret.name,
                        local: None,
                        state: "only in cluster",
                    },
                );
            }
            continue;
        };
        let fingerprint = secret.fingerprint();
        row.state = if row.local.as_deref() == Some(fingerprint.as_str()) {
            "in sync"
        } else {
            "differs"
        };
        row.cluster = Some(fingerprint);
    }
    Ok(rows.into_values().collect())
}

/// Asks Slack (`auth.test`) whose bot each named cat's token is (every cat with a token when
/// none is named), and judges the answers against the cats' expected bot users.
pub async fn verify(farm: &Farm, checked: &Checked, names: &[String]) -> Result<Vec<Verdict>> {
    let cats = if names.is_empty() {
        let with_secret: Vec<String> = checked.owners.values().cloned().collect();
        farm.select(&with_secret, false)?
    } else {
        farm.select(names, false)?
    };
    if cats.is_empty() {
        bail!(
            "no cat has a token in secret/ — put each cat's bot token in secret/<cat>-token/bot-token"
        );
    }
    let expected: BTreeMap<String, String> = farm
        .select(&[], true)?
        .into_iter()
        .map(|cat| {
            let user = cat
                .config
                .slack_user
                .clone()
                .unwrap_or_else(|| cat.name.clone());
            (cat.name, user)
        })
        .collect();
    let client = Client::new()?;
    let base = slack::api_url();
    let calls = cats.iter().map(|cat| {
        let (client, base) = (&client, &base);
        async move {
            let name = secret_name(&cat.name);
            let answer = match checked.secrets.iter().find(|s| s.name == name) {
                None => Err(anyhow::anyhow!(
                    "secret/{name} does not exist — put {}'s bot token there",
                    cat.name
                )),
                Some(secret) => match slack::bot_token(secret) {
                    Ok(token) => slack::auth_test(client, base, token).await,
                    Err(err) => Err(err),
                },
            };
            (cat.name.clone(), name, answer)
        }
    });
    let answers: Vec<_> = futures::stream::iter(calls)
        .buffered(farm.settings.concurrency)
        .collect()
        .await;
    Ok(slack::judge(&expected, answers))
}
