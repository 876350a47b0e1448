//! `catctl list`: the farm's cats with their versions and images.

use anyhow::Result;
use serde::Serialize;

use crate::cli::ListArgs;
use crate::commands::ExitStatus;
use crate::context::Context;
use crate::printer::Format;

#[derive(Debug, Serialize)]
struct Row {
    name: String,
    version: String,
    replicas: u32,
    several_copies: bool,
    image: crate::image::ImageRef,
}

pub fn run(ctx: &Context, _args: &ListArgs) -> Result<ExitStatus> {
    let farm = ctx.farm()?;
    let mut rows = Vec::new();
    let mut status = ExitStatus::Success;
    for name in farm.cat_names()? {
        match farm.cat(&name) {
            Ok(cat) => rows.push(Row {
                image: cat.image(&farm.settings),
                name: cat.name,
                version: cat.config.version,
                replicas: cat.config.replicas,
                several_copies: cat.config.several_copies,
            }),
            Err(err) => {
                ctx.printer.error(&err);
                status = ExitStatus::Failure;
            }
        }
    }
    match ctx.printer.format {
        Format::Json => ctx.printer.json(&rows)?,
        Format::Table if rows.is_empty() => ctx.printer.status(
            "Empty",
            "this farm has no cats yet — create some with `catctl copycat NAME…`",
        ),
        Format::Table => {
            let cells: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    vec![
                        r.name.clone(),
                        r.version.clone(),
                        r.replicas.to_string(),
                        r.image.to_string(),
                    ]
                })
                .collect();
            ctx.printer
                .table(&["CAT", "VERSION", "REPLICAS", "IMAGE"], &cells);
        }
    }
    Ok(status)
}
