//! The `dockerhub` command-line interface.
//!
//! Every catalog operation is a command, `dockerhub <module> <action>`, built
//! at run time from [`crate::catalog::OPERATIONS`] ([`ops`]); hand-written
//! commands add what the API lacks: `login`, `whoami`, `rate-limit`,
//! `tags prune` ([`prune`]), `repos describe` ([`readme`]) and `completions`.
//! See `docs/cli.md`.

pub mod creds;
pub mod error;
pub mod list;
pub mod ops;
pub mod output;
pub mod prune;
pub mod readme;

use std::ffi::OsString;
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use clap::{Arg, ArgAction, ArgMatches, Command};
use secrecy::SecretString;
use serde_json::{Map, Value, json};

use self::creds::Source;
use self::error::{CliError, CliResult, code};
use self::output::{Format, Printer};
use crate::catalog::{self, Module, Operation, Pagination, Safety};
use crate::config::{Config, Credentials, normalize_base_url};
use crate::{Hub, pagination, params};

/// Options shared by every command.
#[derive(Debug, Clone)]
pub struct Globals {
    /// Output format.
    pub format: Format,
    /// Walk every page.
    pub all: bool,
    /// Stop after this many items.
    pub limit: Option<usize>,
    /// Page number.
    pub page: Option<u64>,
    /// Page size.
    pub page_size: Option<u64>,
    /// Identifiers only, no notes.
    pub quiet: bool,
    /// Show writes instead of sending them.
    pub dry_run: bool,
    /// Skip confirmations.
    pub yes: bool,
    /// Base URL override.
    pub url: Option<String>,
    /// Log verbosity (`-v` count).
    pub verbose: u8,
    /// Colour on stderr.
    pub color: bool,
    /// Run against the in-process demo emulator.
    pub demo: bool,
    /// Allow destructive operations.
    pub allow_destructive: bool,
    /// Read the secret from stdin.
    pub password_stdin: bool,
    /// Username for `--password-stdin` / `login`.
    pub username: Option<String>,
    /// Reference time for age rules (tests, reproducible plans).
    pub now: DateTime<Utc>,
    /// Progress bars on stderr.
    pub progress: bool,
}

impl Globals {
    fn from_matches(m: &ArgMatches) -> CliResult<Globals> {
        let format = match m.get_one::<String>("format") {
            Some(f) => Format::parse(f).unwrap_or(Format::Json),
            None => Format::default_for_stdout(),
        };
        let no_color =
            m.get_flag("no-color") || std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let now = match m.get_one::<String>("now") {
            Some(s) => DateTime::parse_from_rfc3339(s)
                .map_err(|e| {
                    CliError::usage(
                        format!("--now {s:?}: {e}"),
                        Some("use RFC 3339, e.g. 2026-11-01T00:00:00Z"),
                    )
                })?
                .with_timezone(&Utc),
            None => Utc::now(),
        };
        let quiet = m.get_flag("quiet");
        Ok(Globals {
            format,
            all: m.get_flag("all"),
            limit: m.get_one::<usize>("limit").copied(),
            page: m.get_one::<u64>("page").copied(),
            page_size: m.get_one::<u64>("page-size").copied(),
            quiet,
            dry_run: m.get_flag("dry-run"),
            yes: m.get_flag("yes"),
            url: m.get_one::<String>("url").cloned(),
            verbose: m.get_count("verbose"),
            color: !no_color && std::io::stderr().is_terminal(),
            demo: m.get_flag("demo"),
            allow_destructive: m.get_flag("allow-destructive"),
            password_stdin: m.get_flag("password-stdin"),
            username: m.get_one::<String>("username").cloned(),
            now,
            progress: !quiet && std::io::stderr().is_terminal(),
        })
    }

    /// Print a note on stderr unless `--quiet`.
    pub fn note(&self, msg: impl std::fmt::Display) {
        if !self.quiet {
            eprintln!("{msg}");
        }
    }
}

fn global(arg: Arg) -> Arg {
    arg.global(true).help_heading("Global options")
}

/// The whole command tree.
pub fn build() -> Command {
    let mut root = Command::new("dockerhub")
        .version(env!("CARGO_PKG_VERSION"))
        .about("The Docker Hub API from a terminal: every API operation, tag retention and README sync")
        .after_help(
            "Credentials: DOCKER_HUB_USER + DOCKER_HUB_TOKEN (password, PAT or org token), DOCKERHUB_JWT, \
--password-stdin, else `docker login`'s config.json.\nExit codes: 0 ok, 1 failure, 2 usage, 3 auth, 4 forbidden, \
5 not found, 6 blocked/declined, 7 rate-limited, 8 API error, 9 network, 130 interrupted.",
        )
        .subcommand_required(true)
        .arg_required_else_help(true)
        .arg(global(
            Arg::new("format")
                .long("format")
                .short('o')
                .value_name("FORMAT")
                .value_parser(["table", "json", "ndjson", "csv"])
                .help("Output format [default: table on a terminal, json when piped]"),
        ))
        .arg(global(Arg::new("all").long("all").action(ArgAction::SetTrue).help("Walk every page (progress bar on a terminal)")))
        .arg(global(
            Arg::new("limit")
                .long("limit")
                .value_name("N")
                .value_parser(clap::value_parser!(usize))
                .help("Stop after N items (walks pages as needed)"),
        ))
        .arg(global(
            Arg::new("page")
                .long("page")
                .value_name("N")
                .value_parser(clap::value_parser!(u64).range(1..))
                .help("Page number of a list"),
        ))
        .arg(global(
            Arg::new("page-size")
                .long("page-size")
                .value_name("N")
                .value_parser(clap::value_parser!(u64).range(1..=100))
                .help("Items per page (at most 100)"),
        ))
        .arg(global(Arg::new("quiet").long("quiet").short('q').action(ArgAction::SetTrue).help("Print identifiers only; no notes or progress")))
        .arg(global(Arg::new("dry-run").long("dry-run").action(ArgAction::SetTrue).help("Show a write's request (or a README diff) without sending it")))
        .arg(global(Arg::new("yes").long("yes").short('y').action(ArgAction::SetTrue).help("Answer yes to confirmation prompts")))
        .arg(global(Arg::new("allow-destructive").long("allow-destructive").action(ArgAction::SetTrue).help("Allow destructive operations (or DOCKERHUB_ALLOW_DESTRUCTIVE=true)")))
        .arg(global(
            Arg::new("url")
                .long("url")
                .value_name("URL")
                .help("Hub base URL [env: DOCKERHUB_URL; default https://hub.docker.com]"),
        ))
        .arg(global(
            Arg::new("username")
                .long("username")
                .short('u')
                .value_name("NAME")
                .help("Username (or org name for an org token) [env: DOCKER_HUB_USER]"),
        ))
        .arg(global(Arg::new("password-stdin").long("password-stdin").action(ArgAction::SetTrue).help("Read the password or token from stdin")))
        .arg(global(Arg::new("verbose").long("verbose").short('v').action(ArgAction::Count).help("More logs on stderr (-v, -vv, -vvv)")))
        .arg(global(Arg::new("no-color").long("no-color").action(ArgAction::SetTrue).help("No colours (also NO_COLOR)")))
        .arg(global(Arg::new("demo").long("demo").action(ArgAction::SetTrue).help("Run against an in-process emulator with demo data")))
        .arg(global(Arg::new("now").long("now").value_name("RFC3339").hide(true)));

    root = root
        .subcommand(
            Command::new("login")
                .about("Check credentials (asks for the 2FA code when needed)")
                .long_about(
                    "Check credentials against Hub, asking for the 2FA code when the account needs one.\n\n\
Credentials come from -u with --password-stdin, the environment, docker's config.json, or a prompt on a terminal. \
Nothing is stored: export DOCKER_HUB_USER/DOCKER_HUB_TOKEN or use `docker login` for later commands.",
                ),
        )
        .subcommand(Command::new("whoami").about("Show the current identity (decoded from the session JWT)"))
        .subcommand(Command::new("rate-limit").about("Show the current rate-limit quota"))
        .subcommand(
            Command::new("completions")
                .about("Print a shell completion script")
                .arg(
                    Arg::new("shell")
                        .required(true)
                        .value_parser(clap::value_parser!(clap_complete::Shell)),
                ),
        );

    let mut tags = Command::new("tags")
        .about("Tags: aliases of the repos tag actions, and prune")
        .subcommand_required(true)
        .arg_required_else_help(true);
    for (sub, alias) in [
        ("list", "ls"),
        ("get", "show"),
        ("delete", "rm"),
        ("check", "exists"),
    ] {
        if let Some(op) = ops::tags_alias(sub) {
            tags = tags.subcommand(
                ops::op_command(op, sub.to_string())
                    .visible_alias(alias)
                    .about(format!(
                        "{} (= repos {})",
                        ops::about(op),
                        ops::command_name(op.action)
                    )),
            );
        }
    }
    tags = tags.subcommand(prune::command());
    root = root.subcommand(tags);

    for module in Module::ALL {
        let mut mc = Command::new(module.name())
            .about(module_about(module))
            .subcommand_required(true)
            .arg_required_else_help(true);
        for op in catalog::actions(module) {
            let mut c = ops::op_command(op, ops::command_name(op.action));
            for a in ops::aliases(op.action) {
                c = c.visible_alias(a);
            }
            mc = mc.subcommand(c);
        }
        if module == Module::Repos {
            mc = mc.subcommand(readme::command());
        }
        root = root.subcommand(mc);
    }
    root
}

fn module_about(m: Module) -> &'static str {
    match m {
        Module::Auth => "Tokens and login (hub_auth)",
        Module::Repos => "Repositories, tags, immutable tags, team permissions (hub_repos)",
        Module::Org => "Organization settings, members, invites (hub_org)",
        Module::Teams => "Teams (groups) and their members (hub_teams)",
        Module::Audit => "Audit logs (hub_audit)",
        Module::Scim => "SCIM 2.0 provisioning (hub_scim)",
        Module::Admin => "Identity and diagnostics (hub_admin)",
    }
}

fn init_logging(g: &Globals) {
    let level = match (g.quiet, g.verbose) {
        (true, 0) => "error",
        (_, 0) => "warn",
        (_, 1) => "info",
        (_, 2) => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(g.color)
        .with_target(false)
        .try_init();
}

/// Run the CLI with `args` (program name first) and return the exit code.
pub fn main(args: Vec<OsString>) -> ExitCode {
    let m = match build().try_get_matches_from(args) {
        Ok(m) => m,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                code::USAGE
            } else {
                code::OK
            });
        }
    };
    let g = match Globals::from_matches(&m) {
        Ok(g) => g,
        Err(e) => return e.report(),
    };
    init_logging(&g);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return CliError::io("tokio runtime", e).report(),
    };
    let result = rt.block_on(run(&m, &g));
    match result {
        Ok(code) => code,
        Err(e) => {
            if g.color {
                let code = e.exit_code();
                eprintln!("\x1b[31merror:\x1b[0m {e}");
                if let Some(h) = e.hint() {
                    eprintln!("hint: {h}");
                }
                ExitCode::from(code)
            } else {
                e.report()
            }
        }
    }
}

/// A configured client plus the run's options.
pub struct Ctx {
    /// The client.
    pub hub: Hub,
    /// Global options.
    pub g: Globals,
    /// Where the credentials came from.
    pub source: Source,
    _demo: Option<dockerhub_emulator::EmulatorHandle>,
}

fn env_var(k: &str) -> Option<String> {
    std::env::var(k).ok().filter(|v| !v.trim().is_empty())
}

/// Build the client: environment, `--url`, `--password-stdin`, docker's
/// config.json, `--demo`.
pub async fn context(g: &Globals, interactive_2fa: bool) -> CliResult<Ctx> {
    const SECRETS: &[&str] = &["DOCKER_HUB_TOKEN", "DOCKERHUB_TOKEN", "DOCKERHUB_JWT"];
    let user = g.username.clone();
    let stdin_secret = g.password_stdin;
    let lookup = |k: &str| {
        if stdin_secret && SECRETS.contains(&k) {
            return None;
        }
        if k == "DOCKER_HUB_USER"
            && let Some(u) = &user
        {
            return Some(u.clone());
        }
        env_var(k)
    };
    let mut cfg = Config::from_lookup(lookup)?;
    if let Some(u) = &g.url {
        cfg.base_url = normalize_base_url(u)?;
    }
    cfg.allow_destructive |= g.allow_destructive;
    let mut source = Source::None;
    if g.password_stdin {
        let user = g
            .username
            .clone()
            .or_else(|| env_var("DOCKER_HUB_USER"))
            .or_else(|| env_var("DOCKERHUB_USERNAME"))
            .ok_or_else(|| {
                CliError::usage(
                    "--password-stdin needs a username",
                    Some("pass -u NAME (the org name for an org token) or set DOCKER_HUB_USER"),
                )
            })?;
        cfg.credentials = Credentials::from_identifier_secret(user, creds::secret_from_stdin()?);
        source = Source::Stdin;
    } else if !matches!(cfg.credentials, Credentials::Anonymous) {
        source = Source::Env;
    } else if !g.demo
        && let Some((c, s)) = creds::from_docker_config(&cfg.base_url, &env_var)?
    {
        cfg.credentials = c;
        source = s;
    }
    if interactive_2fa && cfg.two_factor.is_none() && std::io::stdin().is_terminal() {
        cfg.two_factor = Some(Arc::new(prompt_2fa));
    }
    let mut demo = None;
    if g.demo {
        let (h, c) = crate::demo::start(cfg).await?;
        cfg = c;
        demo = Some(h);
        source = Source::Demo;
        g.note(format!(
            "demo: emulator at {} as user {}",
            cfg.base_url,
            crate::demo::credentials::USERNAME
        ));
    }
    tracing::info!(url = %cfg.base_url, credential = cfg.credentials.kind(), source = %source, "configured");
    Ok(Ctx {
        hub: Hub::new(cfg)?,
        g: g.clone(),
        source,
        _demo: demo,
    })
}

/// Print `prompt` on stderr and read one trimmed line from stdin.
fn prompt_line(prompt: &str) -> CliResult<String> {
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError::io("stdin", e))?;
    Ok(line.trim().to_string())
}

fn prompt_2fa() -> Option<SecretString> {
    let code = prompt_line("Two-factor authentication code: ").ok()?;
    (!code.is_empty()).then(|| SecretString::from(code))
}

/// Ask `question` on a terminal unless `--yes`; no terminal means no.
pub fn confirm(g: &Globals, question: &str) -> CliResult<()> {
    if g.yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(CliError::Declined(format!(
            "{question} needs confirmation, and stdin is not a terminal"
        )));
    }
    let answer = prompt_line(&format!("{question} [y/N] "))?;
    if matches!(answer.to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(CliError::Declined("cancelled".into()))
    }
}

async fn run(m: &ArgMatches, g: &Globals) -> CliResult<ExitCode> {
    let Some((name, sm)) = m.subcommand() else {
        return Err(CliError::usage(
            "no command given",
            Some("see dockerhub --help"),
        ));
    };
    match name {
        "completions" => {
            let Some(shell) = sm.get_one::<clap_complete::Shell>("shell").copied() else {
                return Err(CliError::usage("give a shell", Some("bash, zsh or fish")));
            };
            let mut cmd = build();
            clap_complete::generate(shell, &mut cmd, "dockerhub", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        "login" => login(g).await,
        "whoami" => {
            let ctx = context(g, false).await?;
            let mut v = ctx.hub.whoami_local().await?;
            if let Some(o) = v.as_object_mut() {
                o.insert("source".into(), ctx.source.to_string().into());
                o.insert("url".into(), ctx.hub.config().base_url.clone().into());
            }
            Printer::new(g.format, g.quiet)
                .value(&v)
                .map_err(|e| CliError::io("stdout", e))?;
            Ok(ExitCode::SUCCESS)
        }
        "rate-limit" => rate_limit(g).await,
        "tags" => {
            let Some((sub, tm)) = sm.subcommand() else {
                return Err(CliError::usage("no tags command given", None));
            };
            let ctx = context(g, false).await?;
            if sub == "prune" {
                return prune::run(&ctx, tm).await;
            }
            let op = ops::tags_alias(sub)
                .ok_or_else(|| CliError::usage(format!("unknown tags command {sub}"), None))?;
            run_op(&ctx, op, tm).await
        }
        module => {
            let module = Module::parse(module)
                .ok_or_else(|| CliError::usage(format!("unknown command {module}"), None))?;
            let Some((sub, om)) = sm.subcommand() else {
                return Err(CliError::usage("no action given", None));
            };
            let ctx = context(g, false).await?;
            if module == Module::Repos && sub == "describe" {
                return readme::run(&ctx, om).await;
            }
            let op = catalog::find(module, &sub.replace('-', "_")).ok_or_else(|| {
                CliError::usage(format!("unknown action {sub}"), Some("see --help"))
            })?;
            run_op(&ctx, op, om).await
        }
    }
}

async fn login(g: &Globals) -> CliResult<ExitCode> {
    let mut g2 = g.clone();
    let env_has_creds = env_var("DOCKER_HUB_TOKEN").is_some()
        || env_var("DOCKERHUB_TOKEN").is_some()
        || env_var("DOCKERHUB_JWT").is_some();
    let mut prompted: Option<(String, SecretString)> = None;
    if !g.password_stdin && !g.demo && !env_has_creds && std::io::stdin().is_terminal() {
        // On a terminal with nothing configured: ask.
        let probe = context(g, false).await?;
        if matches!(probe.source, Source::None) {
            let user = match &g.username {
                Some(u) => u.clone(),
                None => prompt_line("Username: ")?,
            };
            let pw = rpassword::prompt_password("Password or access token: ")
                .map_err(|e| CliError::io("terminal", e))?;
            prompted = Some((user, SecretString::from(pw)));
            g2.username = None;
        }
    }
    let mut ctx = context(&g2, true).await?;
    if let Some((user, secret)) = prompted {
        let mut cfg = ctx.hub.config().clone();
        cfg.credentials = Credentials::from_identifier_secret(user, secret);
        ctx.hub = Hub::new(cfg)?;
        ctx.source = Source::Stdin;
    }
    if matches!(ctx.hub.config().credentials, Credentials::Anonymous) {
        return Err(CliError::Sdk(crate::Error::Auth {
            message: "no credentials found".into(),
        }));
    }
    let who = ctx.hub.whoami_local().await?;
    let name = who
        .get("username")
        .or_else(|| who.get("sub"))
        .and_then(Value::as_str)
        .unwrap_or("?")
        .to_string();
    let kind = ctx.hub.config().credentials.kind();
    if g.format == Format::Table && !g.quiet {
        println!(
            "Logged in to {} as {name} ({kind}, from {}).",
            ctx.hub.config().base_url,
            ctx.source
        );
        g.note("Nothing was stored; later commands read the same source.");
    } else {
        let v = json!({"authenticated": true, "username": name, "credential": kind, "source": ctx.source.to_string()});
        Printer::new(g.format, g.quiet)
            .value(&v)
            .map_err(|e| CliError::io("stdout", e))?;
    }
    Ok(ExitCode::SUCCESS)
}

async fn rate_limit(g: &Globals) -> CliResult<ExitCode> {
    let ctx = context(g, false).await?;
    let probe = if matches!(ctx.hub.config().credentials, Credentials::Anonymous) {
        catalog::find(Module::Repos, "list")
            .map(|op| (op, json!({"namespace": "library", "page_size": 1})))
    } else {
        catalog::find(Module::Admin, "whoami").map(|op| (op, json!({})))
    };
    if let Some((op, p)) = probe {
        match ctx.hub.call(op, &p).await {
            Err(e @ crate::Error::Transport { .. }) => return Err(e.into()),
            Err(e) => tracing::debug!(error = %e, "rate-limit probe failed; using its headers"),
            Ok(_) => {}
        }
    }
    let Some(rl) = ctx.hub.rate_limit() else {
        g.note("Hub sent no rate-limit headers (no limit applies to this identity).");
        return Ok(ExitCode::SUCCESS);
    };
    let now = g.now.timestamp().max(0) as u64;
    let v = json!({
        "limit": rl.limit,
        "remaining": rl.remaining,
        "reset": rl.reset,
        "reset_in_secs": rl.reset.map(|r| r.saturating_sub(now)),
    });
    Printer::new(g.format, g.quiet)
        .value(&v)
        .map_err(|e| CliError::io("stdout", e))?;
    Ok(ExitCode::SUCCESS)
}

/// The request a write would send, for `--dry-run`.
pub fn dry_run_value(ctx: &Ctx, op: &Operation, params: &Value) -> CliResult<Value> {
    let prepared = params::prepare(op, params)?;
    let mut v = Map::new();
    v.insert("dry_run".into(), true.into());
    v.insert(
        "operation".into(),
        format!("{}.{}", op.module.name(), op.action).into(),
    );
    v.insert("method".into(), op.method.into());
    v.insert(
        "url".into(),
        format!("{}{}", ctx.hub.config().base_url, prepared.path_and_query).into(),
    );
    if let Some(b) = prepared.body {
        v.insert("body".into(), b);
    }
    if let Err(e) = ctx.hub.check_allowed(op) {
        v.insert("blocked".into(), e.to_string().into());
    }
    Ok(Value::Object(v))
}

/// Run one catalog operation from its command's matches.
pub async fn run_op(ctx: &Ctx, op: &'static Operation, m: &ArgMatches) -> CliResult<ExitCode> {
    let g = &ctx.g;
    let params = ops::collect_params(op, m, g.page, g.page_size)?;
    let out_err = |e| CliError::io("stdout", e);
    let mut printer = Printer::new(g.format, g.quiet);
    if op.safety != Safety::Read && g.dry_run {
        let v = dry_run_value(ctx, op, &Value::Object(params))?;
        printer.value(&v).map_err(out_err)?;
        return Ok(ExitCode::SUCCESS);
    }
    if op.safety == Safety::Destructive {
        ctx.hub.check_allowed(op)?;
        params::prepare(op, &Value::Object(params.clone()))?;
        let what = describe_target(op, &params);
        confirm(g, &format!("{} {what}?", op.action.replace('_', " ")))?;
    }
    let listing = !matches!(op.pagination, Pagination::None);
    if listing && (g.all || g.limit.is_some()) {
        let pb = list::bar(g.progress && g.all, None, op.action);
        let pb2 = pb.clone();
        let n = list::walk(
            &ctx.hub,
            op,
            params,
            g.limit,
            |total| {
                if let Some(t) = total {
                    list::set_total(&pb2, t);
                }
            },
            |item| {
                pb.inc(1);
                printer.item(&item).map_err(out_err)
            },
        )
        .await;
        pb.finish_and_clear();
        let n = n?;
        printer.finish_list().map_err(out_err)?;
        tracing::info!(items = n, "listed");
        return Ok(ExitCode::SUCCESS);
    }
    let env = ctx.hub.call(op, &Value::Object(params)).await?;
    if let Some(exists) = env.exists {
        printer.value(&json!({"exists": exists})).map_err(out_err)?;
        return Ok(ExitCode::from(if exists {
            code::OK
        } else {
            code::NOT_FOUND
        }));
    }
    if listing && let Some(page) = pagination::view(op.pagination, &env.data, g.page_size) {
        for item in &page.items {
            printer.item(item).map_err(out_err)?;
        }
        printer.finish_list().map_err(out_err)?;
        if page.has_next && g.format == Format::Table {
            let next = g.page.unwrap_or(1) + 1;
            let total = page.total.map(|t| format!(" of {t}")).unwrap_or_default();
            g.note(format!(
                "{} items{total}; more with --page {next}, or --all",
                page.items.len()
            ));
        }
        return Ok(ExitCode::SUCCESS);
    }
    if env.data.is_null() {
        g.note(format!("done (HTTP {})", env.status_code));
        return Ok(ExitCode::SUCCESS);
    }
    printer.value(&env.data).map_err(out_err)?;
    Ok(ExitCode::SUCCESS)
}

fn describe_target(op: &Operation, params: &Map<String, Value>) -> String {
    let s = |k: &str| params.get(k).map(|v| output::cell(Some(v)));
    if ops::is_repo_scoped(op) {
        let mut t = format!(
            "{}/{}",
            s("namespace").unwrap_or_default(),
            s("repository").unwrap_or_default()
        );
        if let Some(tag) = s("tag") {
            t.push(':');
            t.push_str(&tag);
        }
        return t;
    }
    op.params
        .iter()
        .filter(|p| p.location == catalog::ParamLocation::Path)
        .filter_map(|p| s(p.name))
        .collect::<Vec<_>>()
        .join(" ")
}
