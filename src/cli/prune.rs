//! `dockerhub tags prune NAMESPACE/REPO`: tag retention.
//!
//! The plan (the default) lists every tag with the action and its reason.
//! `--apply` deletes with bounded concurrency, paced to the rate limit, and
//! writes a journal (JSON lines) so an interrupted run resumes without
//! deleting a tag twice: a tag whose delete started but never finished is
//! checked with a HEAD before anything else is sent.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Utc};
use clap::{Arg, ArgAction, ArgMatches, Command};
use futures::StreamExt;
use regex::Regex;
use serde_json::{Map, Value, json};

use super::error::{CliError, CliResult, code};
use super::output::{Format, Printer, new_table};
use super::{Ctx, confirm, list, ops};
use crate::catalog::{self, Module, Operation};
use crate::{Error, Hub};

/// The `tags prune` command.
pub fn command() -> Command {
    Command::new("prune")
        .about("Plan (default) or apply tag retention rules")
        .long_about(
            "Plan (the default) or apply tag retention rules.\n\n\
A tag is deleted when it passes every given filter (--match, --older-than, --inactive) and no keep rule holds it \
(--exclude, --keep-last, --keep-semver). Tags protected by the repository's immutable-tag rules (checked with the \
verify call) are always kept. Give at least one rule.\n\n\
--apply deletes with bounded concurrency, paced to the rate limit, journaling each delete; re-run the same command \
to resume an interrupted run. Deletes need --allow-destructive (or DOCKERHUB_ALLOW_DESTRUCTIVE=true) and --yes \
or a confirmation.",
        )
        .arg(Arg::new("target").value_name("NAMESPACE/REPO").required(true).help("Repository"))
        .arg(
            Arg::new("keep-last")
                .long("keep-last")
                .value_name("N")
                .value_parser(clap::value_parser!(usize))
                .help("Keep the N most recently pushed tags"),
        )
        .arg(
            Arg::new("older-than")
                .long("older-than")
                .value_name("AGE")
                .help("Delete only tags older than AGE (90d, 12w, 36h) by --by"),
        )
        .arg(
            Arg::new("by")
                .long("by")
                .value_name("DATE")
                .value_parser(["push", "pull"])
                .default_value("push")
                .help("Which date --older-than reads; never-pulled tags count as old"),
        )
        .arg(
            Arg::new("match")
                .long("match")
                .value_name("REGEX")
                .help("Delete only tags whose name matches"),
        )
        .arg(
            Arg::new("exclude")
                .long("exclude")
                .value_name("REGEX")
                .help("Keep tags whose name matches"),
        )
        .arg(
            Arg::new("keep-semver")
                .long("keep-semver")
                .value_name("N")
                .value_parser(clap::value_parser!(usize))
                .help("Keep the latest N semver tags per --per group"),
        )
        .arg(
            Arg::new("per")
                .long("per")
                .value_name("GROUP")
                .value_parser(["minor", "major"])
                .default_value("minor")
                .help("Group for --keep-semver"),
        )
        .arg(
            Arg::new("inactive")
                .long("inactive")
                .action(ArgAction::SetTrue)
                .help("Delete only tags Hub marks inactive (tag_status)"),
        )
        .arg(
            Arg::new("apply")
                .long("apply")
                .action(ArgAction::SetTrue)
                .help("Delete the planned tags"),
        )
        .arg(
            Arg::new("concurrency")
                .long("concurrency")
                .value_name("N")
                .value_parser(clap::value_parser!(u64).range(1..=16))
                .default_value("4")
                .help("Deletes in flight at once"),
        )
        .arg(
            Arg::new("journal")
                .long("journal")
                .value_name("FILE")
                .help("Journal file [default: ./dockerhub-prune-NAMESPACE-REPO.journal]"),
        )
        .arg(
            Arg::new("max-deletes")
                .long("max-deletes")
                .value_name("N")
                .value_parser(clap::value_parser!(usize))
                .help("Stop after N deletes (resume later with the same command)"),
        )
}

/// Which date `--older-than` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    /// Last push.
    Push,
    /// Last pull (never pulled counts as old).
    Pull,
}

/// Retention rules.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    /// `--keep-last N`.
    pub keep_last: Option<usize>,
    /// `--older-than`, with `--by`.
    pub older_than: Option<(chrono::Duration, String, By)>,
    /// `--match`.
    pub matches: Option<Regex>,
    /// `--exclude`.
    pub exclude: Option<Regex>,
    /// `--keep-semver N` and whether per major (else per minor).
    pub keep_semver: Option<(usize, bool)>,
    /// `--inactive`.
    pub inactive: bool,
}

/// What a plan needs of a tag.
#[derive(Debug, Clone)]
pub struct TagInfo {
    /// Tag name.
    pub name: String,
    /// Last push.
    pub pushed: Option<DateTime<Utc>>,
    /// Last pull.
    pub pulled: Option<DateTime<Utc>>,
    /// Hub's `tag_status`.
    pub status: Option<String>,
}

impl TagInfo {
    /// Read a tag object from the list answer.
    pub fn from_json(v: &Value) -> Option<TagInfo> {
        let date = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                .map(|d| d.with_timezone(&Utc))
        };
        Some(TagInfo {
            name: v.get("name")?.as_str()?.to_string(),
            pushed: date("tag_last_pushed").or_else(|| date("last_updated")),
            pulled: date("tag_last_pulled"),
            status: v
                .get("tag_status")
                .and_then(Value::as_str)
                .map(str::to_string),
        })
    }
}

/// One line of the plan.
#[derive(Debug, Clone)]
pub struct Decision {
    /// The tag.
    pub tag: TagInfo,
    /// Delete (true) or keep.
    pub delete: bool,
    /// Why.
    pub reason: String,
}

/// Parse `90d`, `12w`, `36h`, `30m` (minutes) or a bare number of days.
pub fn parse_age(s: &str) -> Option<chrono::Duration> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "d"),
    };
    let n: i64 = num.parse().ok()?;
    match unit {
        "d" => chrono::Duration::try_days(n),
        "w" => chrono::Duration::try_weeks(n),
        "h" => chrono::Duration::try_hours(n),
        "m" => chrono::Duration::try_minutes(n),
        "y" => chrono::Duration::try_days(n.checked_mul(365)?),
        _ => None,
    }
}

/// A parsed semantic version: `[v]MAJOR.MINOR.PATCH[-PRE]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Semver {
    major: u64,
    minor: u64,
    patch: u64,
    pre: Option<String>,
}

impl Semver {
    /// Parse a tag name.
    pub fn parse(tag: &str) -> Option<Semver> {
        let t = tag.strip_prefix('v').unwrap_or(tag);
        let (core, pre) = match t.split_once('-') {
            Some((c, p)) if !p.is_empty() => (c, Some(p.to_string())),
            Some(_) => return None,
            None => (t, None),
        };
        let core = core.split_once('+').map_or(core, |(c, _)| c);
        let mut it = core.split('.');
        let num = |p: Option<&str>| {
            p.filter(|x| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit()))?
                .parse()
                .ok()
        };
        let v = Semver {
            major: num(it.next())?,
            minor: num(it.next())?,
            patch: num(it.next())?,
            pre,
        };
        it.next().is_none().then_some(v)
    }

    fn key(&self) -> (u64, u64, u64, bool, String) {
        (
            self.major,
            self.minor,
            self.patch,
            self.pre.is_none(),
            self.pre.clone().unwrap_or_default(),
        )
    }
}

/// A `--keep-semver` group: major, and minor unless `--per major`.
type SemverGroup = (u64, Option<u64>);

fn days(d: chrono::Duration) -> i64 {
    d.num_days()
}

/// Compute the plan. `immutable` maps protected tags to the rule that protects them.
pub fn plan(
    tags: Vec<TagInfo>,
    rules: &Rules,
    immutable: &HashMap<String, String>,
    now: DateTime<Utc>,
) -> Vec<Decision> {
    let mut tags = tags;
    // Newest push first; unknown dates last; then by name for stability.
    tags.sort_by(|a, b| b.pushed.cmp(&a.pushed).then_with(|| a.name.cmp(&b.name)));
    let mut kept: Vec<Option<String>> = tags
        .iter()
        .map(|t| {
            if let Some(rule) = immutable.get(&t.name) {
                return Some(format!("immutable (rule {rule})"));
            }
            if rules.exclude.as_ref().is_some_and(|r| r.is_match(&t.name)) {
                return Some("excluded by --exclude".into());
            }
            if rules.matches.as_ref().is_some_and(|r| !r.is_match(&t.name)) {
                return Some("not matched by --match".into());
            }
            None
        })
        .collect();
    let mut why_delete: Vec<Vec<String>> = vec![Vec::new(); tags.len()];
    if let Some(re) = &rules.matches {
        for (i, w) in why_delete.iter_mut().enumerate() {
            if kept[i].is_none() {
                w.push(format!("matches {}", re.as_str()));
            }
        }
    }
    // Keep rules rank the candidates (tags no filter above kept).
    if let Some(n) = rules.keep_last {
        let mut rank = 0usize;
        for i in 0..tags.len() {
            if kept[i].is_some() {
                continue;
            }
            rank += 1;
            if rank <= n {
                kept[i] = Some(format!("among the {n} most recently pushed (#{rank})"));
            } else {
                why_delete[i].push(format!("not among the {n} most recently pushed"));
            }
        }
    }
    if let Some((n, per_major)) = rules.keep_semver {
        // Alone, --keep-semver prunes semver tags only; with another rule,
        // that rule decides the other tags.
        let alone = rules.keep_last.is_none()
            && rules.older_than.is_none()
            && rules.matches.is_none()
            && !rules.inactive;
        let mut groups: HashMap<SemverGroup, Vec<(usize, Semver)>> = HashMap::new();
        for (i, t) in tags.iter().enumerate() {
            if kept[i].is_some() {
                continue;
            }
            match Semver::parse(&t.name) {
                Some(v) => {
                    let g = (v.major, (!per_major).then_some(v.minor));
                    groups.entry(g).or_default().push((i, v));
                }
                None if alone => kept[i] = Some("not a semver tag".into()),
                None => {}
            }
        }
        for ((major, minor), mut members) in groups {
            members.sort_by_key(|m| std::cmp::Reverse(m.1.key()));
            let label = match minor {
                Some(mi) => format!("{major}.{mi}.x"),
                None => format!("{major}.x"),
            };
            for (rank, (i, _)) in members.into_iter().enumerate() {
                if rank < n {
                    kept[i] = Some(format!("among the {n} latest of {label}"));
                } else {
                    why_delete[i].push(format!("not among the {n} latest of {label}"));
                }
            }
        }
    }
    if let Some((age, text, by)) = &rules.older_than {
        let cutoff = now - *age;
        for (i, t) in tags.iter().enumerate() {
            if kept[i].is_some() {
                continue;
            }
            let (date, verb) = match by {
                By::Push => (t.pushed, "pushed"),
                By::Pull => (t.pulled, "pulled"),
            };
            match date {
                Some(d) if d >= cutoff => {
                    kept[i] = Some(format!("{verb} {}d ago, newer than {text}", days(now - d)));
                }
                Some(d) => {
                    why_delete[i].push(format!("{verb} {}d ago, older than {text}", days(now - d)))
                }
                None if *by == By::Pull => why_delete[i].push("never pulled".into()),
                None => why_delete[i].push("no push date".into()),
            }
        }
    }
    if rules.inactive {
        for (i, t) in tags.iter().enumerate() {
            if kept[i].is_some() {
                continue;
            }
            if t.status.as_deref() == Some("inactive") {
                why_delete[i].push("inactive".into());
            } else {
                kept[i] = Some(format!(
                    "{} (pushed or pulled in the last month)",
                    t.status.as_deref().unwrap_or("status unknown")
                ));
            }
        }
    }
    tags.into_iter()
        .zip(kept)
        .zip(why_delete)
        .map(|((tag, kept), why)| match kept {
            Some(reason) => Decision {
                tag,
                delete: false,
                reason,
            },
            None => Decision {
                tag,
                delete: true,
                reason: why.join("; "),
            },
        })
        .collect()
}

fn rules_from(m: &ArgMatches) -> CliResult<Rules> {
    let regex = |flag: &str| -> CliResult<Option<Regex>> {
        match m.get_one::<String>(flag) {
            Some(s) => Regex::new(s).map(Some).map_err(|e| {
                CliError::usage(format!("--{flag} {s:?} is not a valid regex: {e}"), None)
            }),
            None => Ok(None),
        }
    };
    let older_than = match m.get_one::<String>("older-than") {
        Some(s) => {
            let age = parse_age(s).ok_or_else(|| {
                CliError::usage(
                    format!("--older-than {s:?} is not an age"),
                    Some("use a number with d, w, h or y, e.g. 90d"),
                )
            })?;
            let by = if m.get_one::<String>("by").map(String::as_str) == Some("pull") {
                By::Pull
            } else {
                By::Push
            };
            Some((age, s.clone(), by))
        }
        None => None,
    };
    let rules = Rules {
        keep_last: m.get_one::<usize>("keep-last").copied(),
        older_than,
        matches: regex("match")?,
        exclude: regex("exclude")?,
        keep_semver: m.get_one::<usize>("keep-semver").map(|n| {
            (
                *n,
                m.get_one::<String>("per").map(String::as_str) == Some("major"),
            )
        }),
        inactive: m.get_flag("inactive"),
    };
    if rules.keep_last.is_none()
        && rules.older_than.is_none()
        && rules.matches.is_none()
        && rules.keep_semver.is_none()
        && !rules.inactive
    {
        return Err(CliError::usage(
            "give at least one rule: --keep-last, --older-than, --match, --keep-semver or --inactive",
            Some("without a rule every tag would be deleted"),
        ));
    }
    Ok(rules)
}

fn op(action: &str) -> CliResult<&'static Operation> {
    catalog::find(Module::Repos, action)
        .ok_or_else(|| CliError::usage(format!("repos.{action} is missing from the catalog"), None))
}

/// Tags protected by the repository's immutable-tag rules, each with its
/// rule. Each rule is checked with the verify call; when the SDK refuses the
/// call before sending it (the spec gives `regex` a repository-name pattern,
/// which real rules such as `^v?\d+\.\d+\.\d+$` fail), the rule is
/// matched locally against the listed tags instead.
async fn immutable_tags(
    hub: &Hub,
    ns: &str,
    repo: &str,
    names: &[&str],
) -> CliResult<HashMap<String, String>> {
    let info = hub
        .call(op("get")?, &json!({"namespace": ns, "repository": repo}))
        .await?
        .data;
    let settings = info.get("immutable_tags_settings");
    let enabled = settings
        .and_then(|s| s.get("enabled"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let mut out = HashMap::new();
    if !enabled {
        return Ok(out);
    }
    let rules: Vec<String> = settings
        .and_then(|s| s.get("rules"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let verify = op("verify_immutable_tags")?;
    for rule in rules {
        let params = json!({"namespace": ns, "repository": repo, "regex": rule});
        match hub.call(verify, &params).await {
            Ok(env) => {
                for t in env
                    .data
                    .get("tags")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if let Some(name) = t.as_str().or_else(|| t.get("name").and_then(Value::as_str))
                    {
                        out.entry(name.to_string()).or_insert_with(|| rule.clone());
                    }
                }
            }
            Err(Error::InvalidParams { message, .. }) => {
                tracing::info!(rule = %rule, %message, "verify refused by the spec check; matching the rule locally");
                let re = Regex::new(&rule).map_err(|e| {
                    CliError::usage(
                        format!("{ns}/{repo} has an immutable-tag rule {rule:?} this CLI cannot read: {e}"),
                        Some("nothing was deleted; check the rule on Hub"),
                    )
                })?;
                for n in names.iter().filter(|n| re.is_match(n)) {
                    out.entry((*n).to_string()).or_insert_with(|| rule.clone());
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}

fn fmt_date(d: Option<DateTime<Utc>>) -> String {
    d.map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| "-".into())
}

fn decision_json(d: &Decision) -> Value {
    json!({
        "tag": d.tag.name,
        "action": if d.delete { "delete" } else { "keep" },
        "reason": d.reason,
        "pushed": d.tag.pushed.map(|t| t.to_rfc3339()),
        "pulled": d.tag.pulled.map(|t| t.to_rfc3339()),
        "status": d.tag.status,
    })
}

fn print_plan(ctx: &Ctx, full: &str, decisions: &[Decision]) -> CliResult<()> {
    let g = &ctx.g;
    let out_err = |e| CliError::io("stdout", e);
    let n_del = decisions.iter().filter(|d| d.delete).count();
    let n_keep = decisions.len() - n_del;
    if g.quiet {
        let mut out = std::io::BufWriter::new(std::io::stdout());
        for d in decisions.iter().filter(|d| d.delete) {
            writeln!(out, "{}", d.tag.name).map_err(out_err)?;
        }
        return out.flush().map_err(out_err);
    }
    match g.format {
        Format::Table => {
            let mut t = new_table(vec![
                "TAG".into(),
                "ACTION".into(),
                "REASON".into(),
                "PUSHED".into(),
                "PULLED".into(),
            ]);
            for d in decisions {
                t.add_row(vec![
                    d.tag.name.clone(),
                    if d.delete { "delete" } else { "keep" }.to_string(),
                    d.reason.clone(),
                    fmt_date(d.tag.pushed),
                    fmt_date(d.tag.pulled),
                ]);
            }
            println!("{t}");
        }
        Format::Json => {
            let (del, keep): (Vec<&Decision>, Vec<&Decision>) =
                decisions.iter().partition(|d| d.delete);
            let v = json!({
                "repository": full,
                "delete": del.iter().map(|d| decision_json(d)).collect::<Vec<_>>(),
                "keep": keep.iter().map(|d| decision_json(d)).collect::<Vec<_>>(),
                "summary": {"delete": n_del, "keep": n_keep},
            });
            Printer::new(Format::Json, false)
                .value(&v)
                .map_err(out_err)?;
        }
        Format::Ndjson => {
            let mut p = Printer::new(g.format, false);
            for d in decisions {
                p.item(&decision_json(d)).map_err(out_err)?;
            }
            p.finish_list().map_err(out_err)?;
        }
        Format::Csv => {
            let mut out = std::io::BufWriter::new(std::io::stdout());
            writeln!(out, "tag,action,reason,pushed,pulled").map_err(out_err)?;
            for d in decisions {
                let reason = format!("\"{}\"", d.reason.replace('"', "\"\""));
                writeln!(
                    out,
                    "{},{},{reason},{},{}",
                    d.tag.name,
                    if d.delete { "delete" } else { "keep" },
                    d.tag.pushed.map(|t| t.to_rfc3339()).unwrap_or_default(),
                    d.tag.pulled.map(|t| t.to_rfc3339()).unwrap_or_default()
                )
                .map_err(out_err)?;
            }
            out.flush().map_err(out_err)?;
        }
    }
    g.note(format!(
        "plan for {full}: delete {n_del}, keep {n_keep}{}",
        if n_del > 0 {
            " (nothing deleted; --apply to delete)"
        } else {
            ""
        }
    ));
    Ok(())
}

// ------------------------------------------------------------------ journal

#[derive(Default)]
struct JournalState {
    /// Finished: deleted, already gone, or refused as immutable.
    done: HashSet<String>,
    /// Started, maybe not finished (check before deleting again).
    started: HashSet<String>,
}

struct Journal {
    path: PathBuf,
    file: std::sync::Mutex<std::fs::File>,
}

impl Journal {
    fn open(path: PathBuf, repository: &str) -> CliResult<(Journal, JournalState)> {
        let mut state = JournalState::default();
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                for line in text.lines().filter(|l| !l.trim().is_empty()) {
                    // A torn last line (killed mid-write) is ignored.
                    let Ok(v) = serde_json::from_str::<Value>(line) else {
                        continue;
                    };
                    let event = v.get("event").and_then(Value::as_str).unwrap_or_default();
                    if event == "begin" {
                        let r = v
                            .get("repository")
                            .and_then(Value::as_str)
                            .unwrap_or_default();
                        if r != repository {
                            return Err(CliError::usage(
                                format!(
                                    "journal {} belongs to {r}, not {repository}",
                                    path.display()
                                ),
                                Some("pass --journal with another file"),
                            ));
                        }
                        continue;
                    }
                    let Some(tag) = v.get("tag").and_then(Value::as_str) else {
                        continue;
                    };
                    match event {
                        "start" => {
                            state.started.insert(tag.to_string());
                        }
                        "deleted" | "gone" | "immutable" => {
                            state.done.insert(tag.to_string());
                        }
                        _ => {}
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(CliError::io(path.display(), e)),
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| CliError::io(path.display(), e))?;
        let j = Journal {
            path,
            file: std::sync::Mutex::new(file),
        };
        j.write(
            &json!({"event": "begin", "repository": repository, "at": Utc::now().to_rfc3339()}),
        )?;
        Ok((j, state))
    }

    fn write(&self, v: &Value) -> CliResult<()> {
        let mut f = self.file.lock().map_err(|_| {
            CliError::io(
                self.path.display(),
                std::io::Error::other("journal lock poisoned"),
            )
        })?;
        writeln!(f, "{v}")
            .and_then(|()| f.flush())
            .map_err(|e| CliError::io(self.path.display(), e))
    }
}

// ------------------------------------------------------------------ pacing

/// Holds deletes back so the quota never runs out: when the last snapshot's
/// `remaining`, minus the requests in flight, falls to the reserve (one
/// request per unit of concurrency), wait for the window to reset.
struct Pacer {
    hub: Hub,
    gate: tokio::sync::Mutex<()>,
    in_flight: AtomicU64,
    reserve: u64,
    waited: AtomicU64,
}

impl Pacer {
    async fn acquire(&self, stop: &AtomicBool) {
        let _g = self.gate.lock().await;
        loop {
            if stop.load(Ordering::SeqCst) {
                break;
            }
            let Some(rl) = self.hub.rate_limit() else {
                break;
            };
            let (Some(rem), Some(reset)) = (rl.remaining, rl.reset) else {
                break;
            };
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64());
            // A snapshot from a window that has ended says nothing.
            if now >= reset as f64 {
                break;
            }
            let flying = self.in_flight.load(Ordering::SeqCst);
            if rem > flying + self.reserve {
                break;
            }
            let wait = Duration::from_secs_f64((reset as f64 - now).max(0.0) + 1.0);
            tracing::info!(
                wait_ms = wait.as_millis() as u64,
                remaining = rem,
                "pacing: waiting for the rate-limit window to reset"
            );
            self.waited
                .fetch_add(wait.as_millis() as u64, Ordering::SeqCst);
            // In slices, so that Ctrl-C is not kept waiting for the window.
            let until = tokio::time::Instant::now() + wait;
            while tokio::time::Instant::now() < until && !stop.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        self.in_flight.fetch_add(1, Ordering::SeqCst);
    }

    fn release(&self) {
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Deleted,
    Gone,
    Immutable,
    Failed,
    NotRun,
}

// ------------------------------------------------------------------ run

/// Run `tags prune`.
pub async fn run(ctx: &Ctx, m: &ArgMatches) -> CliResult<ExitCode> {
    let g = &ctx.g;
    let (ns, repo) = ops::repo_target(m, "prune")?;
    let full = format!("{ns}/{repo}");
    let rules = rules_from(m)?;
    let apply = m.get_flag("apply") && !g.dry_run;
    let delete_op = op("delete_tag")?;
    if apply {
        ctx.hub.check_allowed(delete_op)?;
    }

    // 1. Every tag, one page in memory at a time.
    let list_op = op("list_tags")?;
    let pb = list::bar(g.progress, None, "reading tags");
    let mut tags = Vec::new();
    let mut params = Map::new();
    params.insert("namespace".into(), ns.clone().into());
    params.insert("repository".into(), repo.clone().into());
    list::walk(
        &ctx.hub,
        list_op,
        params,
        None,
        |t| {
            if let Some(t) = t {
                list::set_total(&pb, t);
            }
        },
        |v| {
            pb.inc(1);
            if let Some(t) = TagInfo::from_json(&v) {
                tags.push(t);
            }
            Ok(())
        },
    )
    .await?;
    pb.finish_and_clear();

    // 2. Immutable tags, from the verify call.
    let names: Vec<&str> = tags.iter().map(|t| t.name.as_str()).collect();
    let immutable = immutable_tags(&ctx.hub, &ns, &repo, &names).await?;
    drop(names);

    // 3. The plan.
    let t0 = std::time::Instant::now();
    let decisions = plan(tags, &rules, &immutable, g.now);
    tracing::info!(
        tags = decisions.len(),
        ms = t0.elapsed().as_millis() as u64,
        "plan computed"
    );
    if !apply {
        print_plan(ctx, &full, &decisions)?;
        return Ok(ExitCode::SUCCESS);
    }
    let to_delete: Vec<String> = decisions
        .iter()
        .filter(|d| d.delete)
        .map(|d| d.tag.name.clone())
        .collect();
    let kept = decisions.len() - to_delete.len();
    drop(decisions);

    // 4. Apply.
    let journal_path = m
        .get_one::<String>("journal")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(format!("dockerhub-prune-{ns}-{repo}.journal")));
    let (journal, state) = Journal::open(journal_path.clone(), &full)?;
    let already: usize = to_delete.iter().filter(|t| state.done.contains(*t)).count();
    let todo: Vec<String> = to_delete
        .into_iter()
        .filter(|t| !state.done.contains(t))
        .collect();
    if todo.is_empty() {
        g.note(format!(
            "{full}: nothing to delete ({kept} kept, {already} already deleted per the journal)"
        ));
        let _ = std::fs::remove_file(&journal_path);
        return summary(ctx, &full, [0, 0, 0, 0, 0], already, kept, false, None);
    }
    confirm(
        g,
        &format!("Delete {} tags from {full} (keeping {kept})?", todo.len()),
    )?;

    let stop = Arc::new(AtomicBool::new(false));
    let interrupted = Arc::new(AtomicBool::new(false));
    {
        let stop = stop.clone();
        let interrupted = interrupted.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!(
                    "\ninterrupted: finishing the deletes in flight (Ctrl-C again to quit now); re-run to resume"
                );
                interrupted.store(true, Ordering::SeqCst);
                stop.store(true, Ordering::SeqCst);
                if tokio::signal::ctrl_c().await.is_ok() {
                    // The journal is written line by line, and a delete that
                    // started is checked on resume.
                    std::process::exit(i32::from(code::INTERRUPTED));
                }
            }
        });
    }
    let concurrency = m.get_one::<u64>("concurrency").copied().unwrap_or(4) as usize;
    let max_deletes = m.get_one::<usize>("max-deletes").copied();
    let launched = AtomicUsize::new(0);
    let pacer = Pacer {
        hub: ctx.hub.clone(),
        gate: tokio::sync::Mutex::new(()),
        in_flight: AtomicU64::new(0),
        // Answers can be recorded out of order, so the last snapshot may be
        // up to `concurrency` requests optimistic.
        reserve: concurrency as u64,
        waited: AtomicU64::new(0),
    };
    let check_op = op("check_tag")?;
    let pb = list::bar(g.progress, Some(todo.len() as u64), "deleting");
    let started = &state.started;
    let results: Vec<(String, Outcome, Option<String>)> = futures::stream::iter(todo)
        .map(|tag| {
            let hub = &ctx.hub;
            let journal = &journal;
            let pacer = &pacer;
            let stop = &stop;
            let launched = &launched;
            let pb = &pb;
            let ns = &ns;
            let repo = &repo;
            async move {
                if stop.load(Ordering::SeqCst) {
                    return (tag, Outcome::NotRun, None);
                }
                if let Some(max) = max_deletes
                    && launched.fetch_add(1, Ordering::SeqCst) >= max
                {
                    stop.store(true, Ordering::SeqCst);
                    return (tag, Outcome::NotRun, None);
                }
                pacer.acquire(stop).await;
                let params = json!({"namespace": ns, "repository": repo, "tag": tag});
                let result = delete_one(
                    hub,
                    delete_op,
                    check_op,
                    journal,
                    &tag,
                    &params,
                    started.contains(&tag),
                )
                .await;
                pacer.release();
                pb.inc(1);
                match result {
                    Ok(o) => (tag, o, None),
                    Err(e) => (tag, Outcome::Failed, Some(e.to_string())),
                }
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    pb.finish_and_clear();

    let mut counts = [0usize; 5];
    let mut failures = Vec::new();
    for (tag, o, err) in &results {
        let i = match o {
            Outcome::Deleted => 0,
            Outcome::Gone => 1,
            Outcome::Immutable => 2,
            Outcome::Failed => 3,
            Outcome::NotRun => 4,
        };
        counts[i] += 1;
        if let Some(e) = err {
            failures.push(format!("{tag}: {e}"));
        }
    }
    for f in failures.iter().take(10) {
        eprintln!("failed: {f}");
    }
    let waited = pacer.waited.load(Ordering::SeqCst);
    if waited > 0 {
        tracing::info!(waited_ms = waited, "paced to the rate limit");
    }
    let finished = counts[3] == 0 && counts[4] == 0;
    if finished {
        let _ = std::fs::remove_file(&journal_path);
    }
    summary(
        ctx,
        &full,
        counts,
        already,
        kept,
        interrupted.load(Ordering::SeqCst),
        (!finished).then_some(journal_path),
    )
}

async fn delete_one(
    hub: &Hub,
    delete_op: &'static Operation,
    check_op: &'static Operation,
    journal: &Journal,
    tag: &str,
    params: &Value,
    maybe_done: bool,
) -> CliResult<Outcome> {
    if maybe_done {
        // A delete of this tag started before and may have gone through:
        // look before deleting again.
        let env = hub.call(check_op, params).await?;
        if env.exists == Some(false) {
            journal.write(&json!({"tag": tag, "event": "gone", "status": 404}))?;
            return Ok(Outcome::Gone);
        }
    }
    journal.write(&json!({"tag": tag, "event": "start"}))?;
    match hub.call(delete_op, params).await {
        Ok(env) => {
            journal.write(&json!({"tag": tag, "event": "deleted", "status": env.status_code}))?;
            Ok(Outcome::Deleted)
        }
        Err(Error::NotFound { .. }) => {
            // A retried delete whose first attempt went through.
            journal.write(&json!({"tag": tag, "event": "gone", "status": 404}))?;
            Ok(Outcome::Gone)
        }
        Err(Error::Api {
            status: 400,
            detail,
            ..
        }) if detail.to_ascii_lowercase().contains("immutable") => {
            journal.write(&json!({"tag": tag, "event": "immutable", "status": 400}))?;
            Ok(Outcome::Immutable)
        }
        Err(e) => {
            journal.write(&json!({"tag": tag, "event": "failed", "error": e.to_string()}))?;
            Err(e.into())
        }
    }
}

fn summary(
    ctx: &Ctx,
    full: &str,
    counts: [usize; 5],
    already: usize,
    kept: usize,
    interrupted: bool,
    journal: Option<PathBuf>,
) -> CliResult<ExitCode> {
    let g = &ctx.g;
    let [deleted, gone, immutable, failed, not_run] = counts;
    let skipped = gone + immutable + already;
    let v = json!({
        "repository": full,
        "deleted": deleted,
        "skipped": skipped,
        "failed": failed,
        "not_run": not_run,
        "kept": kept,
        "details": {"already_deleted": already + gone, "immutable": immutable},
        "journal": journal.as_ref().map(|p| p.display().to_string()),
    });
    if g.format == Format::Table {
        if !g.quiet {
            println!(
                "{full}: deleted {deleted}, skipped {skipped}, failed {failed}{}",
                if not_run > 0 {
                    format!(", not run {not_run}")
                } else {
                    String::new()
                }
            );
        }
    } else {
        Printer::new(g.format, g.quiet)
            .value(&v)
            .map_err(|e| CliError::io("stdout", e))?;
    }
    if let Some(p) = &journal {
        g.note(format!(
            "journal kept at {}; run the same command again to resume",
            p.display()
        ));
    }
    if interrupted {
        return Ok(ExitCode::from(code::INTERRUPTED));
    }
    if failed > 0 {
        return Err(CliError::Partial(format!("{failed} deletes failed")));
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(
        name: &str,
        pushed_days: i64,
        pulled_days: Option<i64>,
        status: &str,
        now: DateTime<Utc>,
    ) -> TagInfo {
        TagInfo {
            name: name.into(),
            pushed: Some(now - chrono::Duration::days(pushed_days)),
            pulled: pulled_days.map(|d| now - chrono::Duration::days(d)),
            status: Some(status.into()),
        }
    }

    #[test]
    fn semver_and_ages() {
        assert_eq!(Semver::parse("v1.2.3").map(|v| v.minor), Some(2));
        assert!(Semver::parse("1.2").is_none());
        assert!(Semver::parse("1.2.3-rc.1").is_some_and(|v| v.pre.is_some()));
        assert_eq!(parse_age("90d"), chrono::Duration::try_days(90));
        assert_eq!(parse_age("2w"), chrono::Duration::try_days(14));
        assert!(parse_age("soon").is_none());
    }

    #[test]
    fn rules_combine() {
        let now = Utc::now();
        let tags = vec![
            t("1.0.0", 400, None, "inactive", now),
            t("1.0.1", 300, Some(5), "active", now),
            t("1.1.0", 200, None, "inactive", now),
            t("main", 1, Some(1), "active", now),
        ];
        let rules = Rules {
            keep_semver: Some((1, false)),
            ..Rules::default()
        };
        let p = plan(tags.clone(), &rules, &HashMap::new(), now);
        let del: Vec<&str> = p
            .iter()
            .filter(|d| d.delete)
            .map(|d| d.tag.name.as_str())
            .collect();
        assert_eq!(del, vec!["1.0.0"]);
        let rules = Rules {
            older_than: Some((chrono::Duration::days(90), "90d".into(), By::Pull)),
            ..Rules::default()
        };
        let p = plan(
            tags,
            &rules,
            &HashMap::from([("1.1.0".to_string(), "r".to_string())]),
            now,
        );
        let del: Vec<&str> = p
            .iter()
            .filter(|d| d.delete)
            .map(|d| d.tag.name.as_str())
            .collect();
        assert_eq!(del, vec!["1.0.0"]);
    }
}
