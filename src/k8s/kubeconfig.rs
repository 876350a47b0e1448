//! The kubeconfig as kubectl reads it: `--kubeconfig FILE`, else `KUBECONFIG` (several files
//! joined by ':'), else `~/.kube/config`; the chosen context, its user and namespace; and the
//! user's exec credential plugin (e.g. `gke-gcloud-auth-plugin`), checked before use and
//! reported by name, with its `installHint` and its stderr, once.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow};
use kube::config::{ExecConfig, Kubeconfig};

/// The kubeconfig read, and where it came from (for messages).
pub struct Loaded {
    pub kubeconfig: Kubeconfig,
    /// `--kubeconfig /x`, `KUBECONFIG=/a:/b` or `~/.kube/config`.
    pub source: String,
}

/// Reads the kubeconfig: `explicit` (`--kubeconfig`), else `KUBECONFIG`, else `~/.kube/config`.
pub fn load(explicit: Option<&Path>) -> Result<Loaded> {
    if let Some(path) = explicit {
        let source = format!("--kubeconfig {}", path.display());
        let kubeconfig = Kubeconfig::read_from(path)
            .with_context(|| format!("cannot read the kubeconfig {}", path.display()))?;
        return Ok(Loaded { kubeconfig, source });
    }
    let source = match std::env::var_os("KUBECONFIG") {
        Some(paths) => format!("KUBECONFIG={}", paths.to_string_lossy()),
        None => "~/.kube/config".to_string(),
    };
    let kubeconfig = Kubeconfig::read().with_context(|| {
        format!("cannot read the kubeconfig ({source}) — set KUBECONFIG or pass --kubeconfig FILE")
    })?;
    Ok(Loaded { kubeconfig, source })
}

/// Where the context in use came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContextFrom {
    Flag,
    CatctlToml,
    CurrentContext,
}

/// The context a run uses, and what it says about the user and namespace.
#[derive(Debug, Clone)]
pub struct Chosen {
    pub context: String,
    pub from: ContextFrom,
    pub user: Option<String>,
    /// The context's own namespace, when it sets one.
    pub namespace: Option<String>,
    /// The user's exec credential plugin, when it has one.
    pub exec: Option<ExecConfig>,
}

impl Loaded {
    /// The context named (`--context` or catctl.toml's), else the current one.
    pub fn choose(&self, named: Option<(&str, ContextFrom)>) -> Result<Chosen> {
        let (context, from) = match named {
            Some((name, from)) => (name.to_string(), from),
            None => {
                let current = self.kubeconfig.current_context.clone().with_context(|| {
                    format!(
                        "the kubeconfig ({}) has no current context — pass --context, set \
                         `context` in catctl.toml, or run `kubectl config use-context NAME`",
                        self.source
                    )
                })?;
                (current, ContextFrom::CurrentContext)
            }
        };
        let found = self
            .kubeconfig
            .contexts
            .iter()
            .find(|c| c.name == context)
            .and_then(|c| c.context.clone())
            .with_context(|| {
                format!(
                    "the kubeconfig ({}) has no context '{context}' — it has: {}",
                    self.source,
                    self.context_names().join(", ")
                )
            })?;
        let exec = found.user.as_ref().and_then(|user| {
            self.kubeconfig
                .auth_infos
                .iter()
                .find(|a| &a.name == user)
                .and_then(|a| a.auth_info.as_ref())
                .and_then(|a| a.exec.clone())
        });
        Ok(Chosen {
            context,
            from,
            user: found.user,
            namespace: found.namespace,
            exec,
        })
    }

    /// Every context's name, as the kubeconfig lists them.
    pub fn context_names(&self) -> Vec<String> {
        self.kubeconfig
            .contexts
            .iter()
            .map(|c| c.name.clone())
            .collect()
    }
}

impl Chosen {
    /// Checks that the user's exec credential plugin exists before anything runs it: a missing
    /// plugin is named, with its `installHint`.
    pub fn check_plugin(&self) -> Result<()> {
        let Some(exec) = &self.exec else {
            return Ok(());
        };
        let command = exec.command.as_deref().unwrap_or("");
        if command.is_empty() {
            return Err(anyhow!(
                "kube user '{}' of context '{}' has an exec credential plugin without a command \
                 — fix `users[].user.exec.command` in the kubeconfig",
                self.user.as_deref().unwrap_or("?"),
                self.context
            ));
        }
        if find_program(command).is_none() {
            return Err(anyhow!("{}", self.missing(command)));
        }
        Ok(())
    }

    fn missing(&self, command: &str) -> String {
        let mut said = format!(
            "the credential plugin `{command}` of kube context '{}' (user '{}') is not installed \
             or not on PATH",
            self.context,
            self.user.as_deref().unwrap_or("?")
        );
        match self.exec.as_ref().and_then(|e| e.install_hint.as_deref()) {
            Some(hint) => {
                said.push_str(":\n");
                said.push_str(hint.trim_end());
            }
            None => said.push_str(" — install it, or choose another context with --context"),
        }
        said
    }

    /// kube-rs's error about the plugin (which shows the process's raw `Output`) as one
    /// readable error naming the plugin, its exit status and its stderr; other errors as they
    /// are.
    pub fn explain(&self, err: anyhow::Error) -> anyhow::Error {
        let Some(exec) = &self.exec else {
            return err;
        };
        let command = exec.command.clone().unwrap_or_default();
        let user = self.user.as_deref().unwrap_or("?");
        for cause in err.chain() {
            match cause.downcast_ref::<kube::client::AuthError>() {
                Some(kube::client::AuthError::AuthExecRun { out, .. }) => {
                    // kube-rs lets the plugin write to our stderr (it may need to ask the
                    // user something), so its message is already above; captured, it is here.
                    let stderr = String::from_utf8_lossy(&out.stderr);
                    let stderr = last_lines(stderr.trim(), 10);
                    let said = if stderr.is_empty() {
                        "what it wrote to stderr is above".to_string()
                    } else {
                        format!("it said:\n{stderr}")
                    };
                    return anyhow!(
                        "the credential plugin `{command}` of kube context '{}' (user '{user}') \
                         failed ({}); {said}",
                        self.context,
                        out.status
                    );
                }
                Some(kube::client::AuthError::AuthExecStart(io)) => {
                    if io.kind() == std::io::ErrorKind::NotFound {
                        return anyhow!("{}", self.missing(&command));
                    }
                    return anyhow!(
                        "cannot run the credential plugin `{command}` of kube context '{}' \
                         (user '{user}'): {io}",
                        self.context
                    );
                }
                Some(kube::client::AuthError::AuthExecParse(parse)) => {
                    return anyhow!(
                        "the credential plugin `{command}` of kube context '{}' (user '{user}') \
                         printed no ExecCredential: {parse}",
                        self.context
                    );
                }
                _ => {}
            }
        }
        err
    }
}

/// The program `command` names: a path (with a '/'), else the first match on PATH.
fn find_program(command: &str) -> Option<PathBuf> {
    if command.contains('/') {
        let path = PathBuf::from(command);
        return path.is_file().then_some(path);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(command))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn last_lines(text: &str, count: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(count)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loaded(yaml: &str) -> Loaded {
        Loaded {
            kubeconfig: Kubeconfig::from_yaml(yaml).unwrap(),
            source: "test".into(),
        }
    }

    const TWO: &str = "apiVersion: v1\nkind: Config\ncurrent-context: a\n\
        clusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n\
        users: [{name: u, user: {exec: {apiVersion: client.authentication.k8s.io/v1beta1, \
        command: no-such-plugin-here, installHint: 'Install it with: apt install it'}}}, \
        {name: plain, user: {token: x}}]\n\
        contexts: [{name: a, context: {cluster: c, user: plain, namespace: cats}}, \
        {name: b, context: {cluster: c, user: u}}]\n";

    #[test]
    fn the_current_context_its_namespace_and_no_plugin() {
        let chosen = loaded(TWO).choose(None).unwrap();
        assert_eq!(chosen.context, "a");
        assert_eq!(chosen.from, ContextFrom::CurrentContext);
        assert_eq!(chosen.namespace.as_deref(), Some("cats"));
        assert!(chosen.exec.is_none());
        chosen.check_plugin().unwrap();
    }

    #[test]
    fn a_missing_plugin_is_named_with_its_install_hint() {
        let chosen = loaded(TWO).choose(Some(("b", ContextFrom::Flag))).unwrap();
        let err = chosen.check_plugin().unwrap_err().to_string();
        assert!(err.contains("`no-such-plugin-here`"), "{err}");
        assert!(err.contains("context 'b' (user 'u')"), "{err}");
        assert!(err.ends_with("Install it with: apt install it"), "{err}");
    }

    #[test]
    fn an_unknown_context_lists_the_known_ones() {
        let err = loaded(TWO)
            .choose(Some(("zz", ContextFrom::Flag)))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("no context 'zz'") && err.contains("a, b"),
            "{err}"
        );
    }
}
