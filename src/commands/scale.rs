//! `catctl scale --workload KIND/NAME --replicas N` (hidden): what the schedule's CronJobs run
//! inside the cluster — one scale write, with the pod's own service account.

use anyhow::{Result, bail};

use crate::cli::ScaleArgs;
use crate::commands::ExitStatus;
use crate::context::Context;
use crate::k8s::Cluster;
use crate::k8s::sleep::scale_to;
use crate::manifest::Kind;

pub async fn run(ctx: &Context, args: &ScaleArgs) -> Result<ExitStatus> {
    let (kind, name) = match args.workload.split_once('/') {
        Some(("statefulset", name)) => (Kind::StatefulSet, name),
        Some(("deployment", name)) => (Kind::Deployment, name),
        _ => bail!(
            "--workload '{}': write statefulset/NAME or deployment/NAME",
            args.workload
        ),
    };
    let cluster = Cluster::infer().await?;
    scale_to(&cluster, kind, name, args.replicas).await?;
    ctx.printer.status(
        "Scaled",
        &format!(
            "{} {name} to {} in namespace {}",
            kind.as_str(),
            args.replicas,
            cluster.namespace
        ),
    );
    Ok(ExitStatus::Success)
}
