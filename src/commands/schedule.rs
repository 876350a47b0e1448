//! `catctl schedule [CAT…] [--remove]`: the cats' sleep/wake schedules with their next runs,
//! or their removal from the cluster.

use anyhow::Result;

use crate::cli::ScheduleArgs;
use crate::commands::ExitStatus;
use crate::context::Context;
use crate::ops::schedule;
use crate::output::{DeleteItem, Kind, ScheduleItem};

pub async fn run(ctx: &Context, args: &ScheduleArgs) -> Result<ExitStatus> {
    let farm = ctx.farm()?;
    let cats = farm.select(&args.cats, args.cats.is_empty())?;
    if args.remove {
        let cluster = ctx.cluster().await?;
        let mut items = Vec::new();
        for cat in &cats {
            let removed = schedule::remove(cluster, &cat.name).await?;
            let what = if removed.is_empty() {
                "nothing there".to_string()
            } else {
                removed.join(", ")
            };
            ctx.printer
                .status("Removed", &format!("{}: {what}", cat.name));
            items.push(DeleteItem {
                cat: cat.name.clone(),
                result: if removed.is_empty() {
                    "nothing_there"
                } else {
                    "deleted"
                },
                objects: removed,
            });
            if cat.config.schedule.is_some() {
                ctx.printer.warn(&format!(
                    "cats/{}/cat.toml still has a [schedule]: the next deploy puts it back",
                    cat.name
                ));
            }
        }
        if ctx.printer.format.is_structured() {
            ctx.printer.items(Kind::DeleteResult, &items)?;
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
    let rows: Vec<ScheduleItem> = schedule::list(&cats, cluster)
        .await?
        .into_iter()
        .map(|r| ScheduleItem {
            cat: r.cat,
            command: r.action,
            cron: r.cron,
            time_zone: r.time_zone,
            next_run: r.next_run,
            in_cluster: r.in_cluster,
        })
        .collect();
    let header = [
        "CAT",
        "ACTION",
        "CRON",
        "TIME ZONE",
        "NEXT RUN",
        "IN CLUSTER",
    ];
    ctx.printer
        .rows(Kind::ScheduleResult, &rows, &header, |r| {
            vec![
                r.cat.clone(),
                r.command.clone(),
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
