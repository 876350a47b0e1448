//! `catctl doctor`: every dependency checked, with a fix for each problem.

use anyhow::Result;

use crate::cli::DoctorArgs;
use crate::commands::ExitStatus;
use crate::context::Context;
use crate::ops::doctor::{self, State, Subjects};
use crate::output::{DoctorItem, Kind};

pub async fn run(ctx: &Context, _args: &DoctorArgs) -> Result<ExitStatus> {
    let farm = ctx.farm().map_err(|err| format!("{err:#}"));
    let explicit = ctx.overrides().kubeconfig.as_deref();
    let cluster = match (&farm, doctor::cluster_configured(explicit)) {
        (Ok(_), true) => Some(ctx.cluster().await.map_err(|err| format!("{err:#}"))),
        _ => None,
    };
    let subjects = Subjects {
        farm,
        daemon: ctx.daemon_if_running().await,
        registry: ctx.registry().await.ok(),
        cluster,
    };
    let checks = doctor::doctor(&subjects).await;
    let header = ["CHECK", "STATE", "DETAIL", "FIX"];
    let failed = checks.iter().any(|c| c.state == State::Fail);
    let items: Vec<DoctorItem> = checks
        .into_iter()
        .map(|c| DoctorItem {
            check: c.check,
            result: c.state,
            detail: c.detail,
            fix: c.fix,
        })
        .collect();
    ctx.printer.rows(Kind::DoctorResult, &items, &header, |c| {
        vec![
            c.check.clone(),
            c.result.as_str().to_string(),
            c.detail.clone(),
            c.fix.clone().unwrap_or_else(|| "-".into()),
        ]
    })?;
    Ok(if failed {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}
