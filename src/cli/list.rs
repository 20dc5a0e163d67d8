//! Walking list operations page by page, with a progress bar on a terminal.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Map, Value};

use super::error::CliResult;
use crate::Hub;
use crate::catalog::Operation;
use futures::StreamExt;

const COUNTED: &str = "{msg} [{bar:30}] {pos}/{len} ({elapsed}, eta {eta})";

/// Give a bar a known length (a list's total, learnt from its first page).
pub fn set_total(pb: &ProgressBar, total: u64) {
    pb.set_length(total);
    if let Ok(s) = ProgressStyle::with_template(COUNTED) {
        pb.set_style(s.progress_chars("=> "));
    }
}

/// A progress bar on stderr, or a hidden one when `show` is false.
pub fn bar(show: bool, len: Option<u64>, what: &str) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::with_draw_target(len, ProgressDrawTarget::stderr());
    pb.set_message(what.to_string());
    match len {
        Some(n) => set_total(&pb, n),
        None => {
            if let Ok(s) = ProgressStyle::with_template("{msg} {spinner} {pos}") {
                pb.set_style(s);
            }
        }
    }
    pb
}

/// Walk `op`'s pages from `params`, calling `each` for every item, until the
/// end or `limit` items. `on_total` gets the total when the first page tells.
/// One page is held at a time ([`Hub::pages`]).
pub async fn walk(
    hub: &Hub,
    op: &'static Operation,
    params: Map<String, Value>,
    limit: Option<usize>,
    mut on_total: impl FnMut(Option<u64>),
    mut each: impl FnMut(Value) -> CliResult,
) -> CliResult<usize> {
    let mut pages = std::pin::pin!(hub.pages(op, &Value::Object(params)));
    let mut seen = 0usize;
    let mut first = true;
    while let Some(page) = pages.next().await {
        let page = page?;
        if std::mem::take(&mut first) {
            on_total(page.total);
        }
        for item in page.items {
            if limit.is_some_and(|l| seen >= l) {
                return Ok(seen);
            }
            each(item)?;
            seen += 1;
        }
        if limit.is_some_and(|l| seen >= l) {
            break;
        }
    }
    Ok(seen)
}
