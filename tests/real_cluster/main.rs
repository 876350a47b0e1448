//! catctl against a real Kubernetes: the cluster of `scripts/real-cluster.sh` (etcd,
//! kube-apiserver, kube-controller-manager, kube-scheduler and a kubelet running containers
//! through containerd and runc), the real Docker daemon and registry of
//! `scripts/test-services.sh`, and `FROM scratch` busybox cats. Every test runs the catctl binary
//! as a user types it, in a namespace of its own, and judges the result with `kubectl` and the
//! API server's audit log — never catctl's internals.
//!
//! The cluster is found through `CATCTL_REAL_CLUSTER` (its kubeconfig, printed by
//! `scripts/real-cluster.sh env`). Without it the tests fail under `CI=true` and are skipped
//! (with a note) otherwise.

// A skipped test and a fail-fast timing say so on stderr, which cargo test shows.
#![allow(clippy::print_stderr)]

mod cluster;
mod farm;

mod scenarios;
