//! `catctl schedule [CAT…] [--remove]`: the cats' sleep/wake schedules with their next runs,
//! or their removal from the cluster.

use anyhow::Result;

use crate::cli::ScheduleArgs;
use crate::commands::ExitStatus;
use crate::context::Context;
use crate::ops::schedule::{self, ScheduleRow};

pub async fn run(ctx: &Context, args: &ScheduleArgs) -> Result<ExitStatus> {
    let farm = ctx.farm()?;
    let cats = farm.select(&args.cats, args.cats.is_empty())?;
    if args.remove {
        let cluster = ctx.cluster().await?;
        for cat in &cats {
            let removed = schedule::remove(cluster, &cat.name).await?;
            let what = if removed.is_empty() {
                "nothing there".to_string()
            } else {
                removed.join(", ")
            };
            ctx.printer
                .status("Removed", &format!("{}: {what}", cat.name));
            if cat.config.schedule.is_some() {
                ctx.printer.warn(&format!(
                    "cats/{}/cat.toml still has a [schedule]: the next deploy puts it back",
                    cat.name
                ));
            }
        }
        return Ok(ExitStatus::Success);
    }
    let cluster = match ctx.cluster().await {
        Ok(cluster) => Some(cluster),
        Err(err) => {
            ctx.printer.note(&format!(
                "not asking the cluster: {}",
                crate::ops::first_line(&err)
            ));
            None
        }
    };
    let rows = schedule::list(&cats, cluster).await?;
    let header = [
        "CAT",
        "ACTION",
        "CRON",
        "TIME ZONE",
        "NEXT RUN",
        "IN CLUSTER",
    ];
    ctx.printer.rows(&rows, &header, |r: &ScheduleRow| {
        vec![
            r.cat.clone(),
            r.action.clone(),
            r.cron.clone(),
            r.time_zone.clone(),
            r.next_run.clone().unwrap_or_else(|| "-".into()),
            match r.in_cluster {
                Some(true) => "yes".into(),
                Some(false) => "no (deploy applies it)".into(),
                None => "-".into(),
            },
        ]
    })?;
    Ok(ExitStatus::Success)
}
