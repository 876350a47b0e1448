//! A cat's deploy history, and the revision a rollback returns to.

use anyhow::{Result, bail};

use crate::farm::Cat;
use crate::image::Digest;
use crate::k8s::Cluster;
use crate::k8s::history::{self, Revision};
use crate::k8s::workload;

/// The revisions recorded for `cat`, and the digests its pods run now.
pub async fn history(cluster: &Cluster, cat: &Cat) -> Result<(Vec<Revision>, Vec<Digest>)> {
    let (recorded, running) = tokio::try_join!(
        history::read(cluster, &cat.name),
        workload::running_digests(cluster, &cat.name)
    )?;
    if recorded.is_empty() {
        bail!(
            "{} has no deploy history in namespace {} — deploy it with `catctl deploy {}`",
            cat.name,
            cluster.namespace,
            cat.name
        );
    }
    Ok((recorded, running))
}

/// The revision to go back to: the one asked for; else, when the cluster runs the newest
/// revision that ran, the one that ran before it; when it runs anything else (a deploy that
/// failed, an image set by hand), the newest one that ran.
pub fn choose(
    history: &[Revision],
    wanted: Option<u32>,
    cat: &str,
    running: &[Digest],
) -> Result<Revision> {
    if let Some(number) = wanted {
        return match history.iter().find(|r| r.revision == number) {
            Some(r) if r.ran() => Ok(r.clone()),
            Some(_) => bail!(
                "revision {number} of {cat} failed when it was deployed — choose one that ran \
                 (see `catctl history {cat}`)"
            ),
            None => {
                let known: Vec<String> = history.iter().map(|r| r.revision.to_string()).collect();
                bail!(
                    "{cat} has no revision {number} (known: {}) — see `catctl history {cat}`",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                )
            }
        };
    }
    let ran: Vec<&Revision> = history.iter().filter(|r| r.ran()).collect();
    let target = match ran.as_slice() {
        [.., previous, current] if running == [current.digest.clone()] => Some(*previous),
        [.., current] if running != [current.digest.clone()] => Some(*current),
        _ => None,
    };
    match target {
        Some(revision) => Ok(revision.clone()),
        None => bail!(
            "{cat} has no earlier revision that ran to roll back to — see `catctl history {cat}`"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::ImageRef;
    use crate::k8s::history::Ran;

    fn revision(n: u32, result: Ran) -> Revision {
        Revision {
            revision: n,
            result,
            tag: format!("v{n}"),
            digest: Digest::sha256(&[n as u8; 32]),
            image: ImageRef::parse(&format!("r/dd:v{n}")).unwrap(),
            source_digest: None,
            git_commit: None,
            git_dirty: false,
            manifest_checksum: String::new(),
            workload: serde_json::Value::Null,
            deployed_at: String::new(),
            by: String::new(),
            cause: String::new(),
        }
    }

    fn running(n: u8) -> Vec<Digest> {
        vec![Digest::sha256(&[n; 32])]
    }

    #[test]
    fn previous_or_chosen_revision() {
        let history = vec![
            revision(1, Ran::Ran),
            revision(2, Ran::Ran),
            revision(3, Ran::Ran),
        ];
        assert_eq!(
            choose(&history, None, "dd", &running(3)).unwrap().revision,
            2
        );
        assert_eq!(
            choose(&history, Some(1), "dd", &running(3))
                .unwrap()
                .revision,
            1
        );
        assert!(
            choose(&history, Some(9), "dd", &running(3))
                .unwrap_err()
                .to_string()
                .contains("known: 1, 2, 3")
        );
        assert!(choose(&history[..1], None, "dd", &running(1)).is_err());
    }

    #[test]
    fn a_failed_deploy_is_never_a_revision_to_return_to() {
        // v3 ran, v4 was deployed and crash-loops: rollback returns to v3, not v2.
        let history = vec![
            revision(2, Ran::Ran),
            revision(3, Ran::Ran),
            revision(4, Ran::Failed),
        ];
        assert_eq!(
            choose(&history, None, "dd", &running(4)).unwrap().revision,
            3
        );
        assert!(choose(&history, Some(4), "dd", &running(4)).is_err());
        // Once v3 runs again, the one before it is v2.
        assert_eq!(
            choose(&history, None, "dd", &running(3)).unwrap().revision,
            2
        );
    }
}
