//! `catctl list`: the farm's cats with their versions and images.

use anyhow::Result;

use crate::cli::ListArgs;
use crate::commands::ExitStatus;
use crate::context::Context;
use crate::output::{Kind, ListItem};

pub fn run(ctx: &Context, _args: &ListArgs) -> Result<ExitStatus> {
    let farm = ctx.farm()?;
    let mut rows = Vec::new();
    let mut status = ExitStatus::Success;
    for name in farm.cat_names()? {
        match farm.cat(&name) {
            Ok(cat) => rows.push(ListItem {
                image: cat.image(&farm.settings),
                cat: cat.name,
                tag: cat.config.version,
                replicas: cat.config.replicas,
                several_copies: cat.config.several_copies,
            }),
            Err(err) => {
                ctx.printer.error(&err);
                status = ExitStatus::Failure;
            }
        }
    }
    if rows.is_empty() && !ctx.printer.format.is_structured() {
        ctx.printer.status(
            "Empty",
            "this farm has no cats yet — create some with `catctl copycat NAME…`",
        );
        return Ok(status);
    }
    let header = ["CAT", "VERSION", "REPLICAS", "IMAGE"];
    ctx.printer.rows(Kind::ListResult, &rows, &header, |r| {
        vec![
            r.cat.clone(),
            r.tag.clone(),
            r.replicas.to_string(),
            r.image.to_string(),
        ]
    })?;
    Ok(status)
}
