//! `catctl doctor`: every dependency checked, with a fix for each problem.

use anyhow::Result;

use crate::cli::DoctorArgs;
use crate::commands::ExitStatus;
use crate::context::Context;
use crate::ops::doctor::{self, Check, State, Subjects};

pub async fn run(ctx: &Context, _args: &DoctorArgs) -> Result<ExitStatus> {
    let farm = ctx.farm().map_err(|err| format!("{err:#}"));
    let cluster = match (&farm, doctor::cluster_configured()) {
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
    ctx.printer.rows(&checks, &header, |c: &Check| {
        vec![
            c.check.clone(),
            c.state.as_str().to_string(),
            c.detail.clone(),
            c.fix.clone().unwrap_or_else(|| "-".into()),
        ]
    })?;
    Ok(if checks.iter().any(|c| c.state == State::Fail) {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}
