//! Settings, with the seed's names (`--host`/`HOST`, `--mcp-url`/`MCP_URL`, …).

use std::net::IpAddr;
use std::time::Duration;

use clap::{ArgAction, Parser, builder::BoolishValueParser};
use secrecy::{ExposeSecret, SecretString};

use crate::error::{AgentError, Result};

/// Command-line flags and environment variables of `dockerhub-agent`.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "dockerhub-agent",
    version,
    about = "Docker Hub agent: A2A v1.0 and AG-UI server (with an optional web chat) driving the seven Docker Hub tools"
)]
pub struct Settings {
    /// Address to bind.
    #[arg(long, env = "HOST", default_value = "127.0.0.1")]
    pub host: String,
    /// Port to bind (0 picks a free one).
    #[arg(long, env = "PORT", default_value_t = 9000)]
    pub port: u16,
    /// MCP server (streamable HTTP) to drive, e.g. http://127.0.0.1:8000/mcp.
    /// Without it the seven tools run in-process through the SDK.
    #[arg(long, env = "MCP_URL")]
    pub mcp_url: Option<String>,
    /// Bearer token sent to the MCP server.
    #[arg(long, env = "MCP_TOKEN", hide_env_values = true)]
    pub mcp_token: Option<SecretString>,
    /// LLM provider: `openai` means any OpenAI-compatible endpoint (OpenAI, Ollama, vLLM, …).
    #[arg(long, env = "PROVIDER", default_value = "openai")]
    pub provider: String,
    /// Model id; without it the agent runs in no-LLM mode.
    #[arg(long = "model-id", env = "MODEL_ID")]
    pub model_id: Option<String>,
    /// OpenAI-compatible base URL (`OPENAI_BASE_URL`, or `LLM_BASE_URL`), e.g. http://127.0.0.1:11434/v1.
    #[arg(long = "base-url", env = "OPENAI_BASE_URL")]
    pub base_url: Option<String>,
    /// API key of the LLM endpoint (`OPENAI_API_KEY`, or `LLM_API_KEY`).
    #[arg(long = "api-key", env = "OPENAI_API_KEY", hide_env_values = true)]
    pub api_key: Option<SecretString>,
    /// Stream model answers (`LLM_STREAM`); off uses one request per turn.
    #[arg(long = "llm-stream", env = "LLM_STREAM", default_value = "true", value_parser = BoolishValueParser::new(), action = ArgAction::Set)]
    pub llm_stream: bool,
    /// Most model turns per task (`MAX_TURNS`).
    #[arg(long = "max-turns", env = "MAX_TURNS", default_value_t = 8)]
    pub max_turns: usize,
    /// Serve the web chat at `/` (`ENABLE_WEB_UI`).
    #[arg(long, env = "ENABLE_WEB_UI", default_value = "false", num_args = 0..=1, default_missing_value = "true", value_parser = BoolishValueParser::new(), action = ArgAction::Set)]
    pub web: bool,
    /// Key clients must send in `X-API-Key` (`AGENT_API_KEY`).
    #[arg(long = "agent-api-key", env = "AGENT_API_KEY", hide_env_values = true)]
    pub agent_api_key: Option<SecretString>,
    /// Serve without `AGENT_API_KEY` on a non-loopback address (`ALLOW_UNAUTHENTICATED`).
    #[arg(long = "allow-unauthenticated", env = "ALLOW_UNAUTHENTICATED", default_value = "false", num_args = 0..=1, default_missing_value = "true", value_parser = BoolishValueParser::new(), action = ArgAction::Set)]
    pub allow_unauthenticated: bool,
    /// Extra accepted `Host`/`Origin` host names, comma-separated (`ALLOWED_HOSTS`); loopback names are always accepted.
    #[arg(long = "allowed-hosts", env = "ALLOWED_HOSTS", value_delimiter = ',')]
    pub allowed_hosts: Vec<String>,
    /// Public base URL advertised in the agent card (`AGENT_PUBLIC_URL`); default: from the request's Host.
    #[arg(long = "public-url", env = "AGENT_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Agent name (`DEFAULT_AGENT_NAME`).
    #[arg(
        long = "agent-name",
        env = "DEFAULT_AGENT_NAME",
        default_value = "dockerhub-agent"
    )]
    pub agent_name: String,
    /// System prompt of the LLM mode (`AGENT_SYSTEM_PROMPT`).
    #[arg(long = "system-prompt", env = "AGENT_SYSTEM_PROMPT")]
    pub system_prompt: Option<String>,
    /// Use the in-process Hub emulator with the demo seed (no account, no network).
    #[arg(long, env = "DOCKERHUB_DEMO", default_value = "false", num_args = 0..=1, default_missing_value = "true", value_parser = BoolishValueParser::new(), action = ArgAction::Set)]
    pub demo: bool,
    /// Largest accepted request body in bytes (`MAX_BODY_BYTES`).
    #[arg(long = "max-body-bytes", env = "MAX_BODY_BYTES", default_value_t = 1 << 20)]
    pub max_body_bytes: usize,
    /// Most tasks kept in memory (`MAX_TASKS`).
    #[arg(long = "max-tasks", env = "MAX_TASKS", default_value_t = 1000)]
    pub max_tasks: usize,
    /// Seconds a task is kept after its last update (`TASK_TTL_SECS`).
    #[arg(long = "task-ttl-secs", env = "TASK_TTL_SECS", default_value_t = 3600)]
    pub task_ttl_secs: u64,
}

/// The default system prompt of the LLM mode.
pub const DEFAULT_SYSTEM_PROMPT: &str = "You are dockerhub-agent, an assistant that manages Docker Hub \
through seven tools (hub_auth, hub_repos, hub_org, hub_teams, hub_audit, hub_scim, hub_admin). Each tool \
takes {\"action\": \"...\", \"params\": {...}}. Call tools to answer; never invent data. When a tool \
returns an error, explain it and what the user can do. Be concise.";

impl Settings {
    /// Parse flags and environment, applying the seed's fallbacks
    /// (`LLM_BASE_URL`, `LLM_API_KEY`).
    pub fn from_args() -> Settings {
        let mut s = Settings::parse();
        s.apply_fallbacks(|k| std::env::var(k).ok());
        s
    }

    /// Parse from an explicit argument list (tests, benchmarks); the
    /// environment is still read for unset flags.
    pub fn try_from_iter<I, T>(args: I) -> Result<Settings>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let mut s =
            Settings::try_parse_from(args).map_err(|e| AgentError::Config(e.to_string()))?;
        s.apply_fallbacks(|k| std::env::var(k).ok());
        Ok(s)
    }

    fn apply_fallbacks(&mut self, env: impl Fn(&str) -> Option<String>) {
        let env = |k: &str| env(k).filter(|v| !v.trim().is_empty());
        // An empty value counts as unset (compose files pass `${VAR:-}`).
        let blank = |v: &Option<String>| v.as_deref().is_some_and(|s| s.trim().is_empty());
        let blank_secret = |v: &Option<SecretString>| {
            v.as_ref()
                .is_some_and(|s| s.expose_secret().trim().is_empty())
        };
        if blank(&self.base_url) {
            self.base_url = None;
        }
        if blank(&self.mcp_url) {
            self.mcp_url = None;
        }
        if blank(&self.public_url) {
            self.public_url = None;
        }
        if blank_secret(&self.api_key) {
            self.api_key = None;
        }
        if blank_secret(&self.agent_api_key) {
            self.agent_api_key = None;
        }
        if blank_secret(&self.mcp_token) {
            self.mcp_token = None;
        }
        if self.base_url.is_none() {
            self.base_url = env("LLM_BASE_URL");
        }
        if self.api_key.is_none() {
            self.api_key = env("LLM_API_KEY").map(SecretString::from);
        }
        if self
            .model_id
            .as_deref()
            .is_some_and(|m| m.trim().is_empty())
        {
            self.model_id = None;
        }
    }

    /// Whether a model is configured (LLM mode).
    pub fn llm_enabled(&self) -> bool {
        self.model_id.is_some()
    }

    /// The task time-to-live.
    pub fn task_ttl(&self) -> Duration {
        Duration::from_secs(self.task_ttl_secs.max(1))
    }

    /// Check the settings: a known provider, and no unauthenticated
    /// listener off loopback unless explicitly allowed.
    pub fn validate(&self) -> Result<()> {
        if !self.provider.eq_ignore_ascii_case("openai") {
            return Err(AgentError::Config(format!(
                "PROVIDER={:?} is not supported; use `openai` (any OpenAI-compatible endpoint: OpenAI, Ollama, vLLM, LM Studio)",
                self.provider
            )));
        }
        if self.max_turns == 0 {
            return Err(AgentError::Config("MAX_TURNS must be at least 1".into()));
        }
        if self.agent_api_key.is_none()
            && !is_loopback_host(&self.host)
            && !self.allow_unauthenticated
        {
            return Err(AgentError::Config(format!(
                "refusing to serve on {} without authentication; set AGENT_API_KEY (clients send it in X-API-Key), \
bind 127.0.0.1, or pass --allow-unauthenticated",
                self.host
            )));
        }
        Ok(())
    }
}

/// Whether a bind address or host name is loopback.
pub fn is_loopback_host(host: &str) -> bool {
    let h = host.trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost") || h.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}
