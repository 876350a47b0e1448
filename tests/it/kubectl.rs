//! kubectl's conventions: `--kubeconfig`, `KUBECONFIG` with several files, exec credential
//! plugins named (with their installHint and stderr) when missing or failing, `-v` saying
//! which context, API server and namespace are used and why, and completion of `--context`
//! and `-n` values.

use std::os::unix::fs::PermissionsExt as _;

use crate::common::Farm;
use crate::completions::complete_in_bash_with;

/// The fake cluster's API server URL, from its kubeconfig.
fn server(farm: &Farm) -> String {
    let text = std::fs::read_to_string(farm.cluster().kubeconfig()).unwrap();
    text.lines()
        .find_map(|l| l.trim().strip_prefix("server: "))
        .expect("a server line")
        .to_string()
}

/// A kubeconfig whose one context `plugged` reaches the fake cluster as a user whose
/// credentials come from the exec plugin `command`.
fn with_plugin(farm: &Farm, command: &str) -> String {
    let text = format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: plugged\n\
         clusters:\n- name: gke\n  cluster:\n    server: {}\n\
         contexts:\n- name: plugged\n  context:\n    cluster: gke\n    user: gke-user\n\
         users:\n- name: gke-user\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n\
         \x20     command: {command}\n      provideClusterInfo: true\n\
         \x20     installHint: Install gke-gcloud-auth-plugin for use with kubectl by following\n        https://cloud.google.com/kubernetes-engine/docs/how-to/cluster-access-for-kubectl#install_plugin\n",
        server(farm)
    );
    farm.write("plugged.kubeconfig", &text);
    farm.path()
        .join("plugged.kubeconfig")
        .to_str()
        .unwrap()
        .to_string()
}

#[test]
fn the_kubeconfig_flag_wins_over_kubeconfig_the_variable() {
    let farm = Farm::new().with_cluster().cats(["dd"]);
    let real = farm.cluster().kubeconfig().to_str().unwrap().to_string();
    // KUBECONFIG names no file: without the flag, the error says where it looked.
    let lost = farm
        .command(["status"])
        .env("KUBECONFIG", farm.path().join("nowhere"))
        .run()
        .fails();
    lost.stderr_has("KUBECONFIG=")
        .stderr_has("--kubeconfig FILE");
    let found = farm
        .command(["status", "--kubeconfig", &real, "-v"])
        .env("KUBECONFIG", farm.path().join("nowhere"))
        .run()
        .ok();
    found.stderr_has(&format!("kubeconfig --kubeconfig {real}"));
    // A missing --kubeconfig file is named.
    farm.run(["status", "--kubeconfig", "/nonexistent/config"])
        .fails()
        .stderr_has("cannot read the kubeconfig /nonexistent/config");
}

#[test]
fn kubeconfig_with_several_files_is_merged_as_kubectl_does() {
    let farm = Farm::new().with_cluster().cats(["dd"]);
    let text = std::fs::read_to_string(farm.cluster().kubeconfig()).unwrap();
    // The first file only chooses the context; the second has everything but that choice.
    farm.write(
        "a.kubeconfig",
        "apiVersion: v1\nkind: Config\ncurrent-context: fake\n",
    );
    farm.write("b.kubeconfig", &text.replace("current-context: fake\n", ""));
    let joined = format!(
        "{}:{}",
        farm.path().join("a.kubeconfig").display(),
        farm.path().join("b.kubeconfig").display()
    );
    farm.command(["status", "-v"])
        .env("KUBECONFIG", &joined)
        .run()
        .ok()
        .stderr_has("kube context fake (from the kubeconfig's current context)");
}

#[test]
fn a_missing_exec_plugin_is_named_once_with_its_install_hint() {
    let farm = Farm::new().with_cluster().cats(["dd"]);
    let kubeconfig = with_plugin(&farm, "no-such-plugin");
    let run = farm.run(["status", "--kubeconfig", &kubeconfig]).fails();
    let stderr = run.stderr();
    assert_eq!(
        stderr.matches("no-such-plugin").count(),
        1,
        "named once:\n{stderr}"
    );
    assert!(
        stderr.contains(
            "the credential plugin `no-such-plugin` of kube context 'plugged' (user 'gke-user') \
             is not installed or not on PATH"
        ),
        "{stderr}"
    );
    assert_eq!(
        stderr
            .matches("Install gke-gcloud-auth-plugin for use with kubectl")
            .count(),
        1,
        "{stderr}"
    );
    assert!(!stderr.contains("os error 2"), "{stderr}");
}

#[test]
fn a_failing_exec_plugin_shows_its_exit_status_and_stderr_once() {
    let farm = Farm::new().with_cluster().cats(["dd"]);
    farm.write(
        "bin/expired-plugin",
        "#!/bin/sh\necho 'ERROR: gcloud credentials expired: run gcloud auth login' >&2\nexit 1\n",
    );
    let plugin = farm.path().join("bin/expired-plugin");
    std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let kubeconfig = with_plugin(&farm, plugin.to_str().unwrap());
    let run = farm.run(["status", "--kubeconfig", &kubeconfig]).fails();
    let stderr = run.stderr();
    // The plugin writes to catctl's stderr itself (it could be asking the user something).
    assert!(
        stderr.contains("ERROR: gcloud credentials expired: run gcloud auth login\nerror: "),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "error: the credential plugin `{}` of kube context 'plugged' (user 'gke-user') failed \
             (exit status: 1); what it wrote to stderr is above",
            plugin.display()
        )),
        "{stderr}"
    );
    assert_eq!(stderr.matches("credentials expired").count(), 1, "{stderr}");
    assert!(!stderr.contains("Output {"), "{stderr}");
    assert!(!stderr.contains("ExitStatus("), "{stderr}");
}

#[test]
fn verbose_says_which_context_server_and_namespace_and_why() {
    let farm = Farm::new().with_cluster().cats(["dd"]);
    let url = server(&farm);
    farm.run(["status", "-v", "-n", "cats"])
        .ok()
        .stderr_has(&format!(
            "kube context fake (from the kubeconfig's current context), API server {url}"
        ))
        .stderr_has("namespace cats (from -n/--namespace)");
    farm.run(["status", "-v"])
        .ok()
        .stderr_has("namespace default (from catctl.toml)");
    farm.run(["status", "-v", "--context", "fake"])
        .ok()
        .stderr_has("kube context fake (from --context)");
    // Without -n or catctl.toml's namespace: the kube context's.
    farm.write("catctl.toml", "registry = \"127.0.0.1:5000\"\n");
    farm.run(["status", "-v"])
        .ok()
        .stderr_has("namespace default (from the kube context)");
    // An unknown context lists the known ones.
    farm.run(["status", "--context", "nope"])
        .fails()
        .stderr_has("has no context 'nope' — it has: fake");
}

#[test]
fn bash_completes_contexts_from_the_kubeconfig_and_namespaces_from_the_cluster() {
    let farm = Farm::new().with_cluster().cats(["dd"]);
    let text = std::fs::read_to_string(farm.cluster().kubeconfig()).unwrap();
    farm.write(
        "two.kubeconfig",
        &text.replace(
            "contexts:\n",
            "contexts:\n- name: gke-prod\n  context:\n    cluster: fake\n    user: fake\n    namespace: cream\n",
        ),
    );
    let kubeconfig = farm.path().join("two.kubeconfig");
    let complete =
        |line: &str| complete_in_bash_with(&farm, line, &[("KUBECONFIG", kubeconfig.as_path())]);
    assert_eq!(complete("catctl status --context "), ["fake", "gke-prod"]);
    assert_eq!(complete("catctl status --context g"), ["gke-prod"]);
    // The fake cluster lists its namespaces: default, kube-system, … — `d` narrows to one.
    assert_eq!(complete("catctl status -n d"), ["default"]);
    // Where the cluster does not answer, the namespaces the kubeconfig names.
    farm.write(
        "two.kubeconfig",
        &std::fs::read_to_string(&kubeconfig)
            .unwrap()
            .replace(&server(&farm), "http://127.0.0.1:9"),
    );
    assert_eq!(complete("catctl status -n c"), ["cream"]);
}

#[test]
fn a_working_exec_plugin_runs_for_one_client_only() {
    let farm = Farm::new().with_cluster().cats(["dd"]);
    let runs = farm.path().join("plugin-runs");
    farm.write(
        "bin/token-plugin",
        &format!(
            "#!/bin/sh\necho run >> {}\n\
             echo '{{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"plugin-token\"}}}}'\n",
            runs.display()
        ),
    );
    let plugin = farm.path().join("bin/token-plugin");
    std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let kubeconfig = with_plugin(&farm, plugin.to_str().unwrap());
    farm.run(["status", "--kubeconfig", &kubeconfig]).ok();
    let count = std::fs::read_to_string(&runs).unwrap().lines().count();
    // catctl makes one client per command; the unbounded one for `logs -f` only when it
    // streams (making both ran the plugin 6 times). kube-rs itself runs the plugin for each
    // look at the user's credentials while it makes a client (TLS identity, auth layer): 3.
    assert!(count <= 3, "the plugin ran {count} times for one status");
}
