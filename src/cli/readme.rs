//! `dockerhub repos describe NAMESPACE/REPO --readme README.md [--short "…"]`:
//! sync a README and a short description to a repository, within Hub's
//! limits, skipping the write when nothing changed.

use std::process::ExitCode;

use clap::{Arg, ArgAction, ArgMatches, Command};
use serde_json::{Map, Value, json};

use super::error::{CliError, CliResult};
use super::output::{Format, Printer};
use super::{Ctx, ops};
use crate::catalog::{self, Module};

/// Hub's limit on the short description, in characters.
pub const SHORT_MAX_CHARS: usize = 100;
/// Hub's limit on the README (full description), in bytes.
pub const README_MAX_BYTES: usize = 25_000;

/// The `repos describe` command.
pub fn command() -> Command {
    Command::new("describe")
        .about("Sync a README and short description to a repository (skips unchanged)")
        .long_about(
            "Sync a README (full description) and a short description to a repository.\n\n\
Hub allows 100 characters for the short description and 25,000 bytes for the README: longer input is an error, \
or is cut with a notice under --truncate. --base-url rewrites relative links and images. Nothing is written when \
both already match; --dry-run shows the diff. Uses PATCH /v2/repositories/{ns}/{repo}/ (not with org tokens).",
        )
        .arg(
            Arg::new("target")
                .value_name("NAMESPACE/REPO")
                .required(true)
                .help("Repository"),
        )
        .arg(
            Arg::new("readme")
                .long("readme")
                .value_name("FILE")
                .help("Markdown file for the full description ('-' for stdin)"),
        )
        .arg(
            Arg::new("short")
                .long("short")
                .value_name("TEXT")
                .help("Short description (at most 100 characters)"),
        )
        .arg(
            Arg::new("truncate")
                .long("truncate")
                .action(ArgAction::SetTrue)
                .help("Cut over-long text to Hub's limits instead of failing"),
        )
        .arg(
            Arg::new("base-url")
                .long("base-url")
                .value_name("URL")
                .help("Rewrite relative links and images against this URL"),
        )
}

/// Cut `s` to at most `max` bytes, at a line end when one is near, else at a
/// character boundary.
pub fn truncate_bytes(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let cut = &s[..end];
    match cut.rfind('\n') {
        Some(i) if i > max / 2 => cut[..=i].to_string(),
        _ => cut.to_string(),
    }
}

fn is_relative(link: &str) -> bool {
    let l = link.trim();
    if l.is_empty() || l.starts_with('#') || l.starts_with("//") {
        return false;
    }
    // A scheme: letters then ':' before any '/'.
    if let Some(i) = l.find(':') {
        let scheme = &l[..i];
        if !scheme.is_empty()
            && !scheme.contains('/')
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        {
            return false;
        }
    }
    true
}

/// Rewrite relative Markdown links and images (`[t](x)`, `![a](x)`,
/// `[ref]: x`) and HTML `src`/`href` attributes against `base`, outside
/// fenced code blocks. Returns the text and how many links changed.
pub fn rewrite_links(text: &str, base: &reqwest::Url) -> (String, usize) {
    let md = regex::Regex::new(r"(!?\[[^\]]*\]\()\s*([^)\s]+)((?:\s+[^)]*)?\))").ok();
    let refdef = regex::Regex::new(r"^(\s{0,3}\[[^\]]+\]:\s*)(\S+)(.*)$").ok();
    let html = regex::Regex::new(r#"((?:src|href)\s*=\s*")([^"]+)(")"#).ok();
    let mut changed = 0usize;
    let mut out = String::with_capacity(text.len());
    let mut fenced = false;
    let join = |link: &str, changed: &mut usize| -> String {
        if !is_relative(link) {
            return link.to_string();
        }
        match base.join(link) {
            Ok(u) => {
                *changed += 1;
                u.to_string()
            }
            Err(_) => link.to_string(),
        }
    };
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            fenced = !fenced;
            out.push_str(line);
            continue;
        }
        if fenced {
            out.push_str(line);
            continue;
        }
        let mut l = line.to_string();
        if let Some(re) = &md {
            l = re
                .replace_all(&l, |c: &regex::Captures<'_>| {
                    format!("{}{}{}", &c[1], join(&c[2], &mut changed), &c[3])
                })
                .into_owned();
        }
        if let Some(re) = &refdef {
            let (body, nl) = match l.strip_suffix('\n') {
                Some(b) => (b.to_string(), "\n"),
                None => (l.clone(), ""),
            };
            if let Some(c) = re.captures(&body) {
                l = format!("{}{}{}{nl}", &c[1], join(&c[2], &mut changed), &c[3]);
            }
        }
        if let Some(re) = &html {
            l = re
                .replace_all(&l, |c: &regex::Captures<'_>| {
                    format!("{}{}{}", &c[1], join(&c[2], &mut changed), &c[3])
                })
                .into_owned();
        }
        out.push_str(&l);
    }
    (out, changed)
}

fn read_input(path: &str) -> CliResult<String> {
    if path == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .map_err(|e| CliError::io("stdin", e))?;
        return Ok(s);
    }
    std::fs::read_to_string(path).map_err(|e| CliError::io(path, e))
}

fn unified_diff(old: &str, new: &str, name: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("hub:{name}"), &format!("local:{name}"))
        .to_string()
}

/// Run `repos describe`.
pub async fn run(ctx: &Ctx, m: &ArgMatches) -> CliResult<ExitCode> {
    let g = &ctx.g;
    let (ns, repo) = ops::repo_target(m, "describe")?;
    let readme_path = m.get_one::<String>("readme");
    let short = m.get_one::<String>("short");
    if readme_path.is_none() && short.is_none() {
        return Err(CliError::usage(
            "nothing to sync",
            Some("pass --readme FILE and/or --short TEXT"),
        ));
    }
    let truncate = m.get_flag("truncate");
    let mut body = Map::new();

    let mut readme = match readme_path {
        Some(p) => Some(read_input(p)?),
        None => None,
    };
    if let (Some(text), Some(base)) = (readme.as_mut(), m.get_one::<String>("base-url")) {
        let mut base_url = reqwest::Url::parse(base).map_err(|e| {
            CliError::usage(
                format!("--base-url {base:?}: {e}"),
                Some("use an absolute URL"),
            )
        })?;
        if !base_url.path().ends_with('/') {
            // Links are relative to a directory.
            let p = format!("{}/", base_url.path());
            base_url.set_path(&p);
        }
        let (rewritten, n) = rewrite_links(text, &base_url);
        tracing::info!(links = n, "rewrote relative links");
        *text = rewritten;
    }
    if let Some(text) = readme.as_mut()
        && text.len() > README_MAX_BYTES
    {
        if !truncate {
            return Err(CliError::usage(
                format!(
                    "the README is {} bytes; Hub allows at most {README_MAX_BYTES}",
                    text.len()
                ),
                Some("shorten it, or pass --truncate to cut it"),
            ));
        }
        let before = text.len();
        *text = truncate_bytes(text, README_MAX_BYTES);
        eprintln!(
            "notice: README truncated from {before} to {} bytes (Hub's limit is {README_MAX_BYTES})",
            text.len()
        );
    }
    let mut short_text = short.cloned();
    if let Some(s) = short_text.as_mut() {
        let n = s.chars().count();
        if n > SHORT_MAX_CHARS {
            if !truncate {
                return Err(CliError::usage(
                    format!(
                        "the short description is {n} characters; Hub allows at most {SHORT_MAX_CHARS}"
                    ),
                    Some("shorten it, or pass --truncate to cut it"),
                ));
            }
            *s = s.chars().take(SHORT_MAX_CHARS).collect();
            eprintln!(
                "notice: short description truncated from {n} to {SHORT_MAX_CHARS} characters"
            );
        }
    }

    let get = catalog::find(Module::Repos, "get")
        .ok_or_else(|| CliError::usage("repos.get is missing from the catalog", None))?;
    let update = catalog::find(Module::Repos, "update")
        .ok_or_else(|| CliError::usage("repos.update is missing from the catalog", None))?;
    let current = ctx
        .hub
        .call(get, &json!({"namespace": ns, "repository": repo}))
        .await?
        .data;
    let cur_full = current
        .get("full_description")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let cur_short = current
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or_default();

    let mut changes = Vec::new();
    if let Some(text) = &readme
        && text != cur_full
    {
        body.insert("full_description".into(), text.clone().into());
        changes.push("full_description");
    }
    if let Some(s) = &short_text
        && s != cur_short
    {
        body.insert("description".into(), s.clone().into());
        changes.push("description");
    }
    let full = format!("{ns}/{repo}");
    let mut printer = Printer::new(g.format, g.quiet);
    let out_err = |e| CliError::io("stdout", e);
    if changes.is_empty() {
        if g.format == Format::Table {
            g.note(format!("{full}: unchanged; nothing written"));
        } else {
            printer
                .value(&json!({"repository": full, "changed": false, "fields": []}))
                .map_err(out_err)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    if g.dry_run {
        let mut diff = String::new();
        if let Some(s) = body.get("description").and_then(Value::as_str) {
            diff.push_str(&unified_diff(
                &format!("{cur_short}\n"),
                &format!("{s}\n"),
                "description",
            ));
        }
        if let Some(t) = body.get("full_description").and_then(Value::as_str) {
            diff.push_str(&unified_diff(cur_full, t, "README"));
        }
        if g.format == Format::Table {
            print!("{diff}");
            g.note(format!(
                "dry run: {full} not changed ({})",
                changes.join(", ")
            ));
        } else {
            printer
                .value(&json!({"repository": full, "changed": true, "dry_run": true, "fields": changes, "diff": diff}))
                .map_err(out_err)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut params = body;
    params.insert("namespace".into(), ns.clone().into());
    params.insert("repository".into(), repo.clone().into());
    ctx.hub.call(update, &Value::Object(params)).await?;
    if g.format == Format::Table {
        g.note(format!("{full}: updated {}", changes.join(", ")));
    } else {
        printer
            .value(&json!({"repository": full, "changed": true, "fields": changes}))
            .map_err(out_err)?;
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_rewritten_outside_code() {
        let base = reqwest::Url::parse("https://github.com/acme/app/blob/main/").unwrap();
        let text = "See [docs](docs/a.md) and ![logo](img/l.png \"t\").\n```\n[x](y.md)\n```\n[abs](https://x.y/z) [top](#a)\n<img src=\"i.png\">\n[r]: ./ref.md\n";
        let (out, n) = rewrite_links(text, &base);
        assert_eq!(n, 4, "{out}");
        assert!(out.contains("(https://github.com/acme/app/blob/main/docs/a.md)"));
        assert!(out.contains("(https://github.com/acme/app/blob/main/img/l.png \"t\")"));
        assert!(out.contains("[x](y.md)"));
        assert!(out.contains("src=\"https://github.com/acme/app/blob/main/i.png\""));
        assert!(out.contains("[r]: https://github.com/acme/app/blob/main/ref.md"));
    }

    #[test]
    fn truncation_keeps_utf8() {
        let s = "é".repeat(20);
        let t = truncate_bytes(&s, 5);
        assert_eq!(t, "éé");
    }
}
