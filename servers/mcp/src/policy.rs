//! Tool-call policy: the seed's Eunomia role, as a small documented JSON format.
//!
//! `EUNOMIA_TYPE=embedded` loads `EUNOMIA_POLICY_FILE` (default `mcp_policies.json`):
//!
//! ```json
//! {
//!   "version": 1,
//!   "default": "deny",
//!   "rules": [
//!     {"id": "admins", "principals": ["claim:role=admin"], "effect": "allow"},
//!     {"id": "no-deletes", "tools": ["*"], "actions": ["delete*", "remove*"], "effect": "deny"},
//!     {"id": "readers-read", "principals": ["static:ci", "sub:alice"], "tools": ["hub_repos"],
//!      "actions": ["list", "get*"], "effect": "allow"}
//!   ]
//! }
//! ```
//!
//! Rules are tried in order and the first whose `principals`, `tools` and `actions` all match decides; when none
//! matches, `default` decides (`deny` unless the file says `allow`). A missing list matches everything. Patterns
//! are globs where `*` matches any run of characters. Principal patterns:
//!
//! | Pattern | Matches |
//! |---|---|
//! | `*` | every caller |
//! | `static:<id>` | a static bearer token with that id |
//! | `sub:<subject>` | a JWT with that `sub` |
//! | `claim:<name>=<value>` | a JWT claim (dotted path for nested claims; any element of an array claim) |
//! | `scope:<scope>` | a JWT carrying that scope |
//! | `anonymous` | an HTTP caller when `AUTH_TYPE=none` |
//! | `local` | the stdio user |
//!
//! `EUNOMIA_TYPE=remote` POSTs `{"principal":{…},"tool":"hub_repos","action":"list"}` to `EUNOMIA_REMOTE_URL`
//! and expects `{"allow":true|false,"rule":"<id>"}`. Any failure denies (fail closed).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::auth::Principal;

/// Policy settings (the seed's `EUNOMIA_*` variables). Flattened into [`crate::security::SecurityArgs`].
#[derive(Debug, Clone, clap::Args)]
pub struct PolicyArgs {
    /// Tool-call policy: none (allow all), embedded (EUNOMIA_POLICY_FILE) or remote (EUNOMIA_REMOTE_URL).
    #[arg(long = "eunomia-type", env = "EUNOMIA_TYPE", value_enum, default_value_t = PolicyType::None)]
    pub eunomia_type: PolicyType,
    /// Policy file for EUNOMIA_TYPE=embedded (JSON, see docs/mcp.md).
    #[arg(
        long = "eunomia-policy-file",
        env = "EUNOMIA_POLICY_FILE",
        default_value = "mcp_policies.json"
    )]
    pub eunomia_policy_file: PathBuf,
    /// Policy decision endpoint for EUNOMIA_TYPE=remote.
    #[arg(long = "eunomia-remote-url", env = "EUNOMIA_REMOTE_URL")]
    pub eunomia_remote_url: Option<String>,
}

impl Default for PolicyArgs {
    fn default() -> Self {
        Self {
            eunomia_type: PolicyType::None,
            eunomia_policy_file: PathBuf::from("mcp_policies.json"),
            eunomia_remote_url: None,
        }
    }
}

/// The `EUNOMIA_TYPE` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PolicyType {
    /// No policy: every tool call is allowed (the safety gates of the SDK still apply).
    None,
    /// Rules from a local JSON file.
    Embedded,
    /// Decisions from a remote HTTP service.
    Remote,
}

/// Errors while loading a policy.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The policy file could not be read.
    #[error(
        "EUNOMIA_TYPE=embedded but the policy file {path} cannot be read: {source}; create it (format in docs/mcp.md) \
         or set EUNOMIA_POLICY_FILE, or set EUNOMIA_TYPE=none"
    )]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The policy file is not valid.
    #[error("policy file {path} is invalid: {message}")]
    Invalid {
        /// The file (or `<inline>`).
        path: String,
        /// What is wrong.
        message: String,
    },
    /// `EUNOMIA_TYPE=remote` without a usable URL.
    #[error("EUNOMIA_TYPE=remote needs EUNOMIA_REMOTE_URL (an http:// or https:// URL): {0}")]
    Remote(String),
}

/// The effect of a rule or of the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    /// Let the call through.
    Allow,
    /// Refuse the call.
    Deny,
}

/// One rule of a policy file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Unique name, shown in denials.
    pub id: String,
    /// Free text for humans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Principal patterns; absent means every caller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principals: Option<Vec<String>>,
    /// Tool-name globs; absent means every tool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<String>>,
    /// Action-name globs; absent means every action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actions: Option<Vec<String>>,
    /// What happens when the rule matches.
    pub effect: Effect,
}

/// A policy file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    /// Format version: 1.
    pub version: u32,
    /// Effect when no rule matches (default `deny`).
    #[serde(default = "default_deny")]
    pub default: Effect,
    /// Rules, first match wins.
    #[serde(default)]
    pub rules: Vec<Rule>,
}

fn default_deny() -> Effect {
    Effect::Deny
}

/// The outcome of a policy check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// Whether the call may proceed.
    pub allowed: bool,
    /// The id of the rule that decided, or `None` for the default, no policy, or a failed remote check.
    pub rule: Option<String>,
    /// A sentence for the model and the logs: why the call was allowed or denied.
    pub reason: String,
}

impl Decision {
    fn allow(rule: Option<String>, reason: String) -> Self {
        Self {
            allowed: true,
            rule,
            reason,
        }
    }

    fn deny(rule: Option<String>, reason: String) -> Self {
        Self {
            allowed: false,
            rule,
            reason,
        }
    }
}

/// The policy engine in force.
#[derive(Debug)]
pub enum Policy {
    /// `EUNOMIA_TYPE=none`: allow everything.
    Disabled,
    /// Local rules.
    Embedded {
        /// Where the rules came from (for messages).
        source: String,
        /// The rules.
        file: PolicyFile,
    },
    /// A remote decision service.
    Remote {
        /// Decision endpoint.
        url: String,
        /// HTTP client with a short timeout.
        client: reqwest::Client,
    },
}

/// Glob match where `*` matches any run of characters (including none).
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p = pattern.as_bytes();
    let t = text.as_bytes();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<usize> = None;
    let mut mark = 0usize;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            pi += 1;
            mark = ti;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

fn claim_at<'a>(claims: &'a serde_json::Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(v) = claims.get(path) {
        return Some(v);
    }
    let mut parts = path.split('.');
    let mut current = claims.get(parts.next()?)?;
    for part in parts {
        current = current.as_object()?.get(part)?;
    }
    Some(current)
}

fn value_matches(pattern: &str, value: &Value) -> bool {
    match value {
        Value::String(s) => glob_match(pattern, s),
        Value::Number(n) => glob_match(pattern, &n.to_string()),
        Value::Bool(b) => glob_match(pattern, if *b { "true" } else { "false" }),
        Value::Array(items) => items
            .iter()
            .any(|v| !v.is_array() && value_matches(pattern, v)),
        _ => false,
    }
}

/// Whether a principal pattern (see the module docs) matches `principal`.
pub fn principal_matches(pattern: &str, principal: &Principal) -> bool {
    use crate::auth::PrincipalKind as K;
    if pattern == "*" {
        return true;
    }
    if let Some(id) = pattern.strip_prefix("static:") {
        return principal.kind == K::Static && glob_match(id, &principal.subject);
    }
    if let Some(sub) = pattern.strip_prefix("sub:") {
        return principal.kind == K::Jwt && glob_match(sub, &principal.subject);
    }
    if let Some(rest) = pattern.strip_prefix("claim:") {
        let Some((name, want)) = rest.split_once('=') else {
            return false;
        };
        return principal.kind == K::Jwt
            && claim_at(&principal.claims, name).is_some_and(|v| value_matches(want, v));
    }
    if let Some(scope) = pattern.strip_prefix("scope:") {
        return principal.kind == K::Jwt && principal.scopes.iter().any(|s| glob_match(scope, s));
    }
    match pattern {
        "anonymous" => principal.kind == K::Anonymous,
        "local" => principal.kind == K::Local,
        _ => false,
    }
}

fn list_matches(patterns: Option<&Vec<String>>, f: impl Fn(&str) -> bool) -> bool {
    patterns.is_none_or(|list| list.iter().any(|p| f(p)))
}

fn validate_pattern(rule: &str, pattern: &str) -> Result<(), String> {
    let known = ["static:", "sub:", "claim:", "scope:"];
    if pattern == "*" || pattern == "anonymous" || pattern == "local" {
        return Ok(());
    }
    if let Some(rest) = pattern.strip_prefix("claim:") {
        return match rest.split_once('=') {
            Some((name, _)) if !name.is_empty() => Ok(()),
            _ => Err(format!(
                "rule `{rule}`: principal `{pattern}` must look like claim:<name>=<value>"
            )),
        };
    }
    if known.iter().any(|k| pattern.starts_with(k)) {
        return Ok(());
    }
    Err(format!(
        "rule `{rule}`: unknown principal pattern `{pattern}` (use *, static:<id>, sub:<subject>, \
         claim:<name>=<value>, scope:<scope>, anonymous or local)"
    ))
}

impl PolicyFile {
    /// Parses and validates a policy document.
    pub fn parse(text: &str, source: &str) -> Result<Self, PolicyError> {
        let invalid = |message: String| PolicyError::Invalid {
            path: source.to_string(),
            message,
        };
        let file: PolicyFile = serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
        if file.version != 1 {
            return Err(invalid(format!(
                "unsupported version {} (expected 1)",
                file.version
            )));
        }
        let mut seen = std::collections::HashSet::new();
        for rule in &file.rules {
            if rule.id.trim().is_empty() {
                return Err(invalid("every rule needs a non-empty `id`".into()));
            }
            if !seen.insert(rule.id.as_str()) {
                return Err(invalid(format!("rule id `{}` is used twice", rule.id)));
            }
            for list in [&rule.principals, &rule.tools, &rule.actions]
                .into_iter()
                .flatten()
            {
                if list.is_empty() {
                    return Err(invalid(format!(
                        "rule `{}` has an empty list, which never matches; remove the key to match everything",
                        rule.id
                    )));
                }
            }
            for p in rule.principals.iter().flatten() {
                validate_pattern(&rule.id, p).map_err(invalid)?;
            }
        }
        Ok(file)
    }

    /// The first-match decision for a call.
    pub fn decide(&self, principal: &Principal, tool: &str, action: &str) -> Decision {
        for rule in &self.rules {
            let hit = list_matches(rule.principals.as_ref(), |p| {
                principal_matches(p, principal)
            }) && list_matches(rule.tools.as_ref(), |p| glob_match(p, tool))
                && list_matches(rule.actions.as_ref(), |p| glob_match(p, action));
            if hit {
                return match rule.effect {
                    Effect::Allow => Decision::allow(
                        Some(rule.id.clone()),
                        format!("allowed by policy rule `{}`", rule.id),
                    ),
                    Effect::Deny => Decision::deny(
                        Some(rule.id.clone()),
                        format!(
                            "{tool}.{action} is denied for {} by policy rule `{}`; ask the server's operator \
                             to change the policy",
                            principal.id, rule.id
                        ),
                    ),
                };
            }
        }
        match self.default {
            Effect::Allow => Decision::allow(None, "allowed by the policy default".into()),
            Effect::Deny => Decision::deny(
                None,
                format!(
                    "{tool}.{action} is denied for {}: no policy rule allows it (policy default: deny); ask the \
                     server's operator to add a rule",
                    principal.id
                ),
            ),
        }
    }
}

#[derive(Serialize)]
struct RemoteRequest<'a> {
    principal: &'a Principal,
    tool: &'a str,
    action: &'a str,
}

#[derive(Deserialize)]
struct RemoteAnswer {
    allow: bool,
    #[serde(default)]
    rule: Option<String>,
    #[serde(default)]
    reason: Option<String>,
}

impl Policy {
    /// Builds the policy from the settings, reading the file or checking the URL.
    pub fn from_args(args: &PolicyArgs) -> Result<Self, PolicyError> {
        match args.eunomia_type {
            PolicyType::None => Ok(Self::Disabled),
            PolicyType::Embedded => Self::from_file(&args.eunomia_policy_file),
            PolicyType::Remote => {
                let url = args
                    .eunomia_remote_url
                    .clone()
                    .ok_or_else(|| PolicyError::Remote("not set".into()))?;
                if !(url.starts_with("http://") || url.starts_with("https://")) {
                    return Err(PolicyError::Remote(url));
                }
                let client = reqwest::Client::builder()
                    .timeout(Duration::from_secs(5))
                    .build()
                    .map_err(|e| PolicyError::Remote(format!("cannot build HTTP client: {e}")))?;
                Ok(Self::Remote { url, client })
            }
        }
    }

    /// Loads an embedded policy from a file.
    pub fn from_file(path: &Path) -> Result<Self, PolicyError> {
        let source = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| PolicyError::Read {
            path: source.clone(),
            source: e,
        })?;
        let file = PolicyFile::parse(&text, &source)?;
        Ok(Self::Embedded { source, file })
    }

    /// Whether a policy is active (anything other than `EUNOMIA_TYPE=none`).
    pub fn is_enabled(&self) -> bool {
        !matches!(self, Self::Disabled)
    }

    /// The decision without I/O: embedded and disabled policies decide at once; a remote policy denies (use
    /// [`Policy::check`] for it).
    pub fn check_now(&self, principal: &Principal, tool: &str, action: &str) -> Decision {
        let decision = match self {
            Self::Disabled => {
                Decision::allow(None, "no policy configured (EUNOMIA_TYPE=none)".into())
            }
            Self::Embedded { file, .. } => file.decide(principal, tool, action),
            Self::Remote { .. } => Decision::deny(
                None,
                format!(
                    "{tool}.{action} is denied: the remote policy must be asked asynchronously"
                ),
            ),
        };
        if !decision.allowed {
            tracing::info!(principal = %principal.id, tool, action, rule = ?decision.rule, "policy denied a tool call");
        }
        decision
    }

    /// Decides whether `principal` may call `tool` with `action`.
    ///
    /// Call it in the tool handler before running the action; when `allowed` is false, return an `isError`
    /// result carrying [`Decision::reason`] (it names the rule).
    pub async fn check(&self, principal: &Principal, tool: &str, action: &str) -> Decision {
        let decision = match self {
            Self::Disabled => {
                Decision::allow(None, "no policy configured (EUNOMIA_TYPE=none)".into())
            }
            Self::Embedded { file, .. } => file.decide(principal, tool, action),
            Self::Remote { url, client } => {
                Self::check_remote(url, client, principal, tool, action).await
            }
        };
        if !decision.allowed {
            tracing::info!(principal = %principal.id, tool, action, rule = ?decision.rule, "policy denied a tool call");
        }
        decision
    }

    async fn check_remote(
        url: &str,
        client: &reqwest::Client,
        principal: &Principal,
        tool: &str,
        action: &str,
    ) -> Decision {
        let fail = |why: String| {
            tracing::warn!(url, error = %why, "remote policy check failed; denying");
            Decision::deny(
                None,
                format!(
                    "{tool}.{action} is denied: the policy service (EUNOMIA_REMOTE_URL) could not be asked ({why}); \
                     calls are refused until it answers"
                ),
            )
        };
        let resp = match client
            .post(url)
            .json(&RemoteRequest {
                principal,
                tool,
                action,
            })
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) => return fail(e.without_url().to_string()),
        };
        if !resp.status().is_success() {
            return fail(format!("HTTP {}", resp.status()));
        }
        let answer = match resp.json::<RemoteAnswer>().await {
            Ok(a) => a,
            Err(e) => {
                return fail(format!(
                    "unexpected answer, expected {{\"allow\":bool,\"rule\":id}}: {e}"
                ));
            }
        };
        let rule_text = answer
            .rule
            .as_deref()
            .map(|r| format!(" rule `{r}`"))
            .unwrap_or_default();
        if answer.allow {
            Decision::allow(
                answer.rule.clone(),
                format!("allowed by the policy service{rule_text}"),
            )
        } else {
            let extra = answer.reason.map(|r| format!(": {r}")).unwrap_or_default();
            Decision::deny(
                answer.rule.clone(),
                format!(
                    "{tool}.{action} is denied for {} by the policy service{rule_text}{extra}",
                    principal.id
                ),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn jwt(claims: Value) -> Principal {
        Principal::jwt(claims.as_object().cloned().unwrap())
    }

    fn policy(v: Value) -> PolicyFile {
        PolicyFile::parse(&v.to_string(), "<test>").unwrap()
    }

    #[test]
    fn glob() {
        assert!(glob_match("*", ""));
        assert!(glob_match("*", "anything"));
        assert!(glob_match("get*", "get"));
        assert!(glob_match("get*", "get_tag"));
        assert!(!glob_match("get*", "list"));
        assert!(glob_match("*_tag*", "list_tags"));
        assert!(glob_match("a*b*c", "axxbyyc"));
        assert!(!glob_match("a*b*c", "axxbyy"));
        assert!(glob_match("list", "list"));
        assert!(!glob_match("list", "list_tags"));
        assert!(!glob_match("", "x"));
        assert!(glob_match("**", "x"));
    }

    #[test]
    fn principal_patterns() {
        let ci = Principal::static_token("ci");
        let alice = jwt(
            json!({"sub":"alice","role":"admin","groups":["ops","dev"],"org":{"tier":"gold"},"n":3,
            "scope":"hub:read"}),
        );
        assert!(principal_matches("*", &ci));
        assert!(principal_matches("static:ci", &ci));
        assert!(principal_matches("static:c*", &ci));
        assert!(!principal_matches("sub:ci", &ci));
        assert!(!principal_matches("static:alice", &alice));
        assert!(principal_matches("sub:alice", &alice));
        assert!(principal_matches("claim:role=admin", &alice));
        assert!(principal_matches("claim:groups=ops", &alice));
        assert!(principal_matches("claim:org.tier=gold", &alice));
        assert!(principal_matches("claim:n=3", &alice));
        assert!(!principal_matches("claim:role=user", &alice));
        assert!(!principal_matches("claim:missing=x", &alice));
        assert!(!principal_matches("claim:role", &alice));
        assert!(principal_matches("scope:hub:*", &alice));
        assert!(!principal_matches("scope:admin", &alice));
        assert!(principal_matches("anonymous", &Principal::anonymous()));
        assert!(!principal_matches("anonymous", &ci));
        assert!(principal_matches("local", &Principal::local()));
        assert!(!principal_matches("static:*", &Principal::local()));
        assert!(!principal_matches("bogus", &ci));
    }

    #[test]
    fn first_match_wins_and_default_deny() {
        let p = policy(json!({
            "version": 1,
            "rules": [
                {"id": "no-deletes", "actions": ["delete*"], "effect": "deny"},
                {"id": "admins", "principals": ["claim:role=admin"], "effect": "allow"},
                {"id": "readers-read", "principals": ["static:ci", "sub:alice"], "tools": ["hub_repos"],
                 "actions": ["list", "get*"], "effect": "allow"}
            ]
        }));
        let ci = Principal::static_token("ci");
        let admin = jwt(json!({"sub": "bob", "role": "admin"}));
        let d = p.decide(&ci, "hub_repos", "list");
        assert_eq!((d.allowed, d.rule.as_deref()), (true, Some("readers-read")));
        assert!(p.decide(&ci, "hub_repos", "get_tag").allowed);
        let d = p.decide(&ci, "hub_repos", "create");
        assert_eq!((d.allowed, d.rule), (false, None));
        assert!(
            d.reason.contains("no policy rule allows it"),
            "{}",
            d.reason
        );
        let d = p.decide(&ci, "hub_org", "list_members");
        assert!(!d.allowed);
        let d = p.decide(&admin, "hub_teams", "delete");
        assert_eq!((d.allowed, d.rule.as_deref()), (false, Some("no-deletes")));
        assert!(
            d.reason.contains("`no-deletes`") && d.reason.contains("hub_teams.delete"),
            "{}",
            d.reason
        );
        let d = p.decide(&admin, "hub_teams", "create");
        assert_eq!((d.allowed, d.rule.as_deref()), (true, Some("admins")));
        assert!(
            !p.decide(&Principal::anonymous(), "hub_repos", "list")
                .allowed
        );
    }

    #[test]
    fn default_allow_when_stated() {
        let p = policy(json!({"version": 1, "default": "allow",
            "rules": [{"id": "ro", "principals": ["anonymous"], "actions": ["create*"], "effect": "deny"}]}));
        assert!(
            p.decide(&Principal::anonymous(), "hub_repos", "list")
                .allowed
        );
        assert!(
            !p.decide(&Principal::anonymous(), "hub_repos", "create")
                .allowed
        );
        assert!(p.decide(&Principal::local(), "hub_repos", "create").allowed);
    }

    #[test]
    fn invalid_files_are_rejected_with_reasons() {
        let cases = [
            (json!({"version": 2, "rules": []}), "version"),
            (
                json!({"version": 1, "rules": [{"id": "", "effect": "allow"}]}),
                "id",
            ),
            (
                json!({"version": 1, "rules": [{"id": "a", "effect": "allow"}, {"id": "a", "effect": "deny"}]}),
                "twice",
            ),
            (
                json!({"version": 1, "rules": [{"id": "a", "effect": "maybe"}]}),
                "unknown variant",
            ),
            (
                json!({"version": 1, "rules": [{"id": "a", "effect": "allow", "tool": ["x"]}]}),
                "unknown field",
            ),
            (
                json!({"version": 1, "rules": [{"id": "a", "effect": "allow", "tools": []}]}),
                "empty list",
            ),
            (
                json!({"version": 1, "rules": [{"id": "a", "effect": "allow", "principals": ["root"]}]}),
                "root",
            ),
            (
                json!({"version": 1, "rules": [{"id": "a", "effect": "allow", "principals": ["claim:x"]}]}),
                "claim",
            ),
        ];
        for (doc, needle) in cases {
            let err = PolicyFile::parse(&doc.to_string(), "p.json")
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(needle) && err.contains("p.json"),
                "{doc}: {err}"
            );
        }
        assert!(PolicyFile::parse("not json", "p.json").is_err());
    }

    #[test]
    fn empty_rules_deny_everything() {
        let p = policy(json!({"version": 1}));
        assert!(!p.decide(&Principal::local(), "hub_admin", "whoami").allowed);
    }

    #[test]
    fn missing_file_error_says_what_to_do() {
        let args = PolicyArgs {
            eunomia_type: PolicyType::Embedded,
            eunomia_policy_file: PathBuf::from("/nonexistent/mcp_policies.json"),
            eunomia_remote_url: None,
        };
        let err = Policy::from_args(&args).unwrap_err().to_string();
        assert!(
            err.contains("EUNOMIA_POLICY_FILE") && err.contains("/nonexistent/mcp_policies.json"),
            "{err}"
        );
        let remote = PolicyArgs {
            eunomia_type: PolicyType::Remote,
            ..PolicyArgs::default()
        };
        assert!(
            Policy::from_args(&remote)
                .unwrap_err()
                .to_string()
                .contains("EUNOMIA_REMOTE_URL")
        );
    }

    #[tokio::test]
    async fn disabled_allows_everything() {
        let d = Policy::Disabled
            .check(&Principal::anonymous(), "hub_teams", "delete")
            .await;
        assert!(d.allowed);
    }

    /// A one-shot HTTP server on loopback answering every request with `body` and `status`.
    async fn fake_pdp(
        status: u16,
        body: &'static str,
    ) -> (String, tokio::task::JoinHandle<String>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/decide", listener.local_addr().unwrap());
        let handle = tokio::spawn(async move {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 8192];
            let mut got = Vec::new();
            loop {
                let n = sock.read(&mut buf).await.unwrap();
                got.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&got).to_string();
                if let Some(idx) = text.find("\r\n\r\n") {
                    let len = text
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().to_string())
                        })
                        .and_then(|v| v.parse::<usize>().ok())
                        .unwrap_or(0);
                    if got.len() >= idx + 4 + len {
                        break;
                    }
                }
                if n == 0 {
                    break;
                }
            }
            let resp = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            sock.write_all(resp.as_bytes()).await.unwrap();
            String::from_utf8_lossy(&got).to_string()
        });
        (url, handle)
    }

    fn remote(url: String) -> Policy {
        Policy::from_args(&PolicyArgs {
            eunomia_type: PolicyType::Remote,
            eunomia_remote_url: Some(url),
            ..PolicyArgs::default()
        })
        .unwrap()
    }

    #[tokio::test]
    async fn remote_allow_and_deny_name_the_rule() {
        let (url, h) = fake_pdp(200, r#"{"allow":false,"rule":"pdp-no-writes"}"#).await;
        let d = remote(url)
            .check(&Principal::static_token("ci"), "hub_repos", "create")
            .await;
        assert_eq!(
            (d.allowed, d.rule.as_deref()),
            (false, Some("pdp-no-writes"))
        );
        assert!(d.reason.contains("pdp-no-writes"));
        let request = h.await.unwrap();
        assert!(
            request.contains(r#""tool":"hub_repos""#) && request.contains(r#""action":"create""#),
            "{request}"
        );
        assert!(request.contains(r#""id":"static:ci""#), "{request}");

        let (url, _h) = fake_pdp(200, r#"{"allow":true,"rule":"pdp-ok"}"#).await;
        let d = remote(url)
            .check(&Principal::static_token("ci"), "hub_repos", "list")
            .await;
        assert_eq!((d.allowed, d.rule.as_deref()), (true, Some("pdp-ok")));
    }

    #[tokio::test]
    async fn remote_fails_closed() {
        let (url, _h) = fake_pdp(500, r#"{"oops":true}"#).await;
        let d = remote(url)
            .check(&Principal::local(), "hub_repos", "list")
            .await;
        assert!(
            !d.allowed && d.reason.contains("EUNOMIA_REMOTE_URL"),
            "{}",
            d.reason
        );
        let (url, _h) = fake_pdp(200, r#"{"maybe":true}"#).await;
        assert!(
            !remote(url)
                .check(&Principal::local(), "hub_repos", "list")
                .await
                .allowed
        );
        // Nothing listens on this port once the listener is dropped.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let d = remote(format!("http://127.0.0.1:{port}/x"))
            .check(&Principal::local(), "hub_repos", "list")
            .await;
        assert!(!d.allowed);
    }
}
