//! Server configuration: clap flags, each with the seed's environment name.

use clap::{ArgAction, Parser, ValueEnum};
use dockerhub_api::catalog::Module;

use crate::error::{Error, Result};

/// How MCP messages travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Transport {
    /// JSON-RPC over stdin/stdout (logs go to stderr).
    Stdio,
    /// Streamable HTTP at `/mcp` (spec eras 2025-11-25 and 2026-07-28).
    #[value(name = "streamable-http", alias = "http")]
    StreamableHttp,
    /// Legacy HTTP+SSE (`GET /sse`, `POST /messages`).
    Sse,
}

fn seed_bool(s: &str) -> std::result::Result<bool, String> {
    dockerhub_api::config::parse_bool("value", s).map_err(|e| e.to_string())
}

/// `dockerhub-mcp` flags. Every flag also reads the environment variable
/// named in its help; flags win over the environment.
#[derive(Parser, Debug, Clone)]
#[command(name = "dockerhub-mcp", version, about = "Docker Hub MCP server")]
pub struct Config {
    /// Transport: stdio, streamable-http or sse.
    #[arg(long, env = "TRANSPORT", value_enum, default_value = "stdio")]
    pub transport: Transport,
    /// Address to bind for HTTP transports.
    #[arg(long, env = "HOST", default_value = "127.0.0.1")]
    pub host: String,
    /// Port for HTTP transports (0 picks a free one).
    #[arg(long, env = "PORT", default_value_t = 8000)]
    pub port: u16,
    /// Comma-separated modules to offer (`repos,org` or `all`); empty means
    /// every module whose toggle is on.
    #[arg(long, env = "TOOLSETS", value_delimiter = ',')]
    pub toolsets: Vec<String>,
    /// Offer `hub_auth`.
    #[arg(long = "authtool", env = "AUTHTOOL", default_value = "true", value_parser = seed_bool, action = ArgAction::Set)]
    pub auth_tool: bool,
    /// Offer `hub_repos`.
    #[arg(long = "repostool", env = "REPOSTOOL", default_value = "true", value_parser = seed_bool, action = ArgAction::Set)]
    pub repos_tool: bool,
    /// Offer `hub_org`.
    #[arg(long = "orgtool", env = "ORGTOOL", default_value = "true", value_parser = seed_bool, action = ArgAction::Set)]
    pub org_tool: bool,
    /// Offer `hub_teams`.
    #[arg(long = "teamstool", env = "TEAMSTOOL", default_value = "true", value_parser = seed_bool, action = ArgAction::Set)]
    pub teams_tool: bool,
    /// Offer `hub_audit`.
    #[arg(long = "audittool", env = "AUDITTOOL", default_value = "true", value_parser = seed_bool, action = ArgAction::Set)]
    pub audit_tool: bool,
    /// Offer `hub_scim`.
    #[arg(long = "scimtool", env = "SCIMTOOL", default_value = "true", value_parser = seed_bool, action = ArgAction::Set)]
    pub scim_tool: bool,
    /// Offer `hub_admin`.
    #[arg(long = "admintool", env = "ADMINTOOL", default_value = "true", value_parser = seed_bool, action = ArgAction::Set)]
    pub admin_tool: bool,
    /// Refuse and hide every write.
    #[arg(long, env = "DOCKERHUB_READ_ONLY", default_value = "false", default_missing_value = "true", num_args = 0..=1, value_parser = seed_bool, action = ArgAction::Set)]
    pub read_only: bool,
    /// Offer destructive actions (deletes, org-settings writes).
    #[arg(long, env = "DOCKERHUB_ALLOW_DESTRUCTIVE", default_value = "false", default_missing_value = "true", num_args = 0..=1, value_parser = seed_bool, action = ArgAction::Set)]
    pub allow_destructive: bool,
    /// Serve against an in-process Hub emulator with demo data and credentials.
    #[arg(long, env = "DOCKERHUB_DEMO", default_value = "false", default_missing_value = "true", num_args = 0..=1, value_parser = seed_bool, action = ArgAction::Set)]
    pub demo: bool,
    /// Cap on one tool result, in estimated tokens (bytes / 4).
    #[arg(long, env = "MCP_MAX_RESULT_TOKENS", default_value_t = 20_000)]
    pub max_result_tokens: usize,
    /// Default and maximum item count for `all: true` (override per call with `limit`).
    #[arg(long, env = "MCP_ALL_LIMIT", default_value_t = 1_000)]
    pub all_limit: usize,
    /// Largest accepted tool arguments, in bytes.
    #[arg(long, env = "MCP_MAX_ARGS_BYTES", default_value_t = 65_536)]
    pub max_args_bytes: usize,
    /// Log filter (`info`, `debug`, `dockerhub_mcp=trace`); logs go to stderr.
    #[arg(long, env = "FASTMCP_LOG_LEVEL", default_value = "info")]
    pub log_level: String,
    /// HTTP security (auth, Host/Origin allow-lists, body limit, policy).
    #[command(flatten)]
    pub security: crate::security::SecurityArgs,
}

impl Config {
    /// Parse flags from an argument list, reading the environment as fallback.
    pub fn from_args<I, T>(args: I) -> Result<Config>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        Config::try_parse_from(args).map_err(|e| Error::Config(e.to_string()))
    }

    /// The modules to offer: the toggles, narrowed by `--toolsets`.
    pub fn modules(&self) -> Result<Vec<Module>> {
        let toggled = |m: Module| match m {
            Module::Auth => self.auth_tool,
            Module::Repos => self.repos_tool,
            Module::Org => self.org_tool,
            Module::Teams => self.teams_tool,
            Module::Audit => self.audit_tool,
            Module::Scim => self.scim_tool,
            Module::Admin => self.admin_tool,
        };
        let sets: Vec<&str> = self
            .toolsets
            .iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .collect();
        let mut chosen = Vec::new();
        if sets.is_empty() || sets.contains(&"all") {
            chosen.extend(Module::ALL);
        } else {
            for s in sets {
                let m = Module::parse(s).ok_or_else(|| {
                    Error::Config(format!(
                        "TOOLSETS: unknown module {s:?}; valid: all, {}",
                        Module::ALL.map(Module::name).join(", ")
                    ))
                })?;
                if !chosen.contains(&m) {
                    chosen.push(m);
                }
            }
            chosen.sort();
        }
        Ok(chosen.into_iter().filter(|m| toggled(*m)).collect())
    }

    /// The SDK configuration: the environment (`DOCKERHUB_URL`, credentials…)
    /// with this server's safety flags applied.
    pub fn hub_config(&self) -> Result<dockerhub_api::Config> {
        let mut c = dockerhub_api::Config::from_env()?;
        c.read_only = self.read_only;
        c.allow_destructive = self.allow_destructive;
        Ok(c)
    }
}
