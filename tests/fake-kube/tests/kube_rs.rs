//! catctl talks to clusters through kube-rs: its watcher, server-side apply and log streams
//! work against the fake.

use std::time::Duration;

use fake_kube::{Config, FakeKube, PodScript};
use futures::{AsyncBufReadExt, StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::api::{Api, DeleteParams, LogParams, Patch, PatchParams, PostParams};
use kube::runtime::watcher;

async fn client(fake: &FakeKube) -> kube::Client {
    let kubeconfig = kube::config::Kubeconfig::read_from(fake.kubeconfig()).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .unwrap();
    kube::Client::try_from(config).unwrap()
}

fn sts(replicas: i32) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": "dd", "labels": {"app": "dd"}},
        "spec": {"replicas": replicas, "serviceName": "dd", "selector": {"matchLabels": {"app": "dd"}},
            "template": {"metadata": {"labels": {"app": "dd"}},
                "spec": {"containers": [{"name": "dd", "image": "example.com/dd:v1"}]}}}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watcher_apply_and_log_stream() {
    let fake = FakeKube::start(Config::default()).await.unwrap();
    fake.script(
        "dd",
        PodScript::healthy()
            .log(["dd: hello"])
            .every(Duration::from_millis(30), "dd: tick {n}"),
    );
    let client = client(&fake).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let sets: Api<StatefulSet> = Api::namespaced(client.clone(), "default");

    let mut events = watcher(pods.clone(), watcher::Config::default().labels("app=dd")).boxed();
    let applied = sets
        .patch(
            "dd",
            &PatchParams::apply("catctl").force(),
            &Patch::Apply(&sts(1)),
        )
        .await
        .unwrap();
    assert_eq!(
        applied.metadata.managed_fields.unwrap()[0]
            .manager
            .as_deref(),
        Some("catctl")
    );

    let ready = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(event) = events.try_next().await.unwrap() {
            if let watcher::Event::Apply(pod) = event
                && pod
                    .status
                    .as_ref()
                    .and_then(|s| s.conditions.as_ref())
                    .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
            {
                return pod;
            }
        }
        panic!("the watch ended");
    })
    .await
    .expect("the watcher saw dd-0 become ready");
    assert_eq!(ready.metadata.name.as_deref(), Some("dd-0"));

    let params = LogParams {
        follow: true,
        timestamps: true,
        ..LogParams::default()
    };
    let mut lines = pods.log_stream("dd-0", &params).await.unwrap().lines();
    let first = tokio::time::timeout(Duration::from_secs(5), lines.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(first.ends_with(" dd: hello"), "{first}");
    let second = tokio::time::timeout(Duration::from_secs(5), lines.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(second.ends_with(" dd: tick 1"), "{second}");

    // Another manager's change is a 409 naming it, unless forced.
    sets.patch(
        "dd",
        &PatchParams::apply("someone-else").force(),
        &Patch::Apply(&serde_json::json!({
        "apiVersion": "apps/v1", "kind": "StatefulSet", "spec": {"replicas": 2}})),
    )
    .await
    .unwrap();
    let err = sets
        .patch("dd", &PatchParams::apply("catctl"), &Patch::Apply(&sts(1)))
        .await
        .unwrap_err();
    match err {
        kube::Error::Api(status) => {
            assert_eq!(status.code, 409);
            assert!(
                status
                    .message
                    .contains("conflict with \"someone-else\": .spec.replicas"),
                "{}",
                status.message
            );
        }
        other => panic!("{other}"),
    }
    let reads = fake.count("get", "pods/log");
    assert_eq!(reads, 1);

    let deleted = pods.delete("dd-0", &DeleteParams::default()).await.unwrap();
    assert!(
        deleted.is_left(),
        "a graceful delete returns the Terminating pod"
    );
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(line) = lines.next().await {
            line.unwrap();
        }
    })
    .await;
    assert!(ended.is_ok(), "the log stream ended with its pod");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_errors_and_dry_run() {
    let fake = FakeKube::start(Config::default()).await.unwrap();
    let secrets: Api<Secret> = Api::namespaced(client(&fake).await, "default");
    let bad: Secret =
        serde_json::from_value(serde_json::json!({"metadata": {"name": "dd_token"}})).unwrap();
    let kube::Error::Api(status) = secrets
        .create(&PostParams::default(), &bad)
        .await
        .unwrap_err()
    else {
        panic!("not an API error");
    };
    assert_eq!((status.code, status.reason.as_str()), (422, "Invalid"));
    let kube::Error::Api(status) = secrets.get("nope").await.unwrap_err() else {
        panic!()
    };
    assert_eq!(
        (status.code, status.message.as_str()),
        (404, "secrets \"nope\" not found")
    );

    let good: Secret = serde_json::from_value(serde_json::json!({"metadata": {"name": "dd-token"},
        "stringData": {"bot-token": "x"}}))
    .unwrap();
    let dry = PostParams {
        dry_run: true,
        ..Default::default()
    };
    secrets.create(&dry, &good).await.unwrap();
    assert!(
        fake.list("secrets", Some("default")).is_empty(),
        "a dry run stores nothing"
    );
    assert_eq!(fake.count("create", "secrets"), 2);
    assert_eq!(fake.writes(), 2);
}
