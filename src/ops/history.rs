//! A cat's deploy history, as recorded on its workload, and the revision a rollback returns to.

use anyhow::{Result, bail};

use crate::farm::Cat;
use crate::k8s::Cluster;
use crate::k8s::workload::{self, Revision};
use crate::manifest::Kind;

/// The revisions recorded for `cat`; an error that says what to do when it is not deployed.
pub async fn history(cluster: &Cluster, cat: &Cat) -> Result<Vec<Revision>> {
    let kind = Kind::for_cat(cat);
    match workload::get(cluster, kind, &cat.name).await? {
        Some(object) => Ok(workload::history(&object)),
        None => bail!(
            "{} is not deployed in namespace {} (no {} {}) — deploy it with `catctl deploy {}`",
            cat.name,
            cluster.namespace,
            kind.as_str(),
            cat.name,
            cat.name
        ),
    }
}

/// The revision to go back to: the one asked for, else the one before the newest.
pub fn choose(history: &[Revision], wanted: Option<u32>, cat: &str) -> Result<Revision> {
    if let Some(number) = wanted {
        return match history.iter().find(|r| r.revision == number) {
            Some(r) => Ok(r.clone()),
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
    match history {
        [.., previous, _current] => Ok(previous.clone()),
        _ => bail!("{cat} has no earlier revision to roll back to — see `catctl history {cat}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::{Digest, ImageRef};

    fn revision(n: u32) -> Revision {
        Revision {
            revision: n,
            tag: format!("v{n}"),
            digest: Digest::sha256(&[n as u8; 32]),
            image: ImageRef::parse(&format!("r/dd:v{n}")).unwrap(),
            deployed_at: String::new(),
            cause: String::new(),
        }
    }

    #[test]
    fn previous_or_chosen_revision() {
        let history = vec![revision(1), revision(2), revision(3)];
        assert_eq!(choose(&history, None, "dd").unwrap().revision, 2);
        assert_eq!(choose(&history, Some(1), "dd").unwrap().revision, 1);
        assert!(
            choose(&history, Some(9), "dd")
                .unwrap_err()
                .to_string()
                .contains("known: 1, 2, 3")
        );
        assert!(choose(&history[..1], None, "dd").is_err());
    }
}
