//! `catctl status [CAT…]`: per cat what is declared, what the registry has, what runs, and
//! where they drift apart.

use anyhow::Result;

use crate::cli::StatusArgs;
use crate::commands::ExitStatus;
use crate::commands::shared::deploy_handles;
use crate::context::Context;
use crate::image::Digest;
use crate::ops::status::{CatStatus, status};
use crate::output::{Kind, StatusItem};

pub async fn run(ctx: &Context, args: &StatusArgs) -> Result<ExitStatus> {
    let farm = ctx.farm()?;
    let cats = farm.select(&args.cats, args.cats.is_empty())?;
    let handles = deploy_handles(ctx).await?;
    let rows = status(
        farm,
        handles.cluster,
        handles.registry,
        handles.daemon,
        &cats,
        args.cats.is_empty(),
    )
    .await?;
    let all_ok = rows.iter().all(|r| r.drift.is_empty());
    let rows: Vec<StatusItem> = rows.into_iter().map(item).collect();
    let header = [
        "CAT", "TAG", "REGISTRY", "RUNNING", "READY", "RESTARTS", "AGE", "DRIFT",
    ];
    ctx.printer.rows(Kind::StatusResult, &rows, &header, |r| {
        vec![
            r.cat.clone(),
            r.tag.clone(),
            r.digest.as_ref().map_or("-", Digest::short).to_string(),
            if r.running_digests.is_empty() {
                "-".into()
            } else {
                let short: Vec<&str> = r.running_digests.iter().map(Digest::short).collect();
                short.join(",")
            },
            r.desired.map_or("-".into(), |d| format!("{}/{d}", r.ready)),
            r.restarts.to_string(),
            r.age_seconds.map_or("-".into(), age),
            if r.drift.is_empty() {
                "ok".into()
            } else {
                r.drift.join("; ")
            },
        ]
    })?;
    Ok(if args.check && !all_ok {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

fn item(s: CatStatus) -> StatusItem {
    StatusItem {
        result: if s.drift.is_empty() { "ok" } else { "drift" },
        cat: s.cat,
        tag: s.tag,
        digest: s.registry_digest,
        running_digests: s.running_digests,
        ready: s.ready,
        desired: s.desired,
        restarts: s.restarts,
        age_seconds: s.age_seconds,
        drift: s.drift,
    }
}

/// An age as kubectl prints it: 45s, 12m, 5h, 3d.
fn age(seconds: i64) -> String {
    match seconds {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}
