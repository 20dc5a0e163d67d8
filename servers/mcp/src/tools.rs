//! The seven tools, generated from the SDK catalog (not written per action).
//!
//! Each module of [`dockerhub_api::catalog`] becomes one action-routed tool
//! (`hub_repos` …). What a tool offers depends on the configuration: the
//! module toggles and `--toolsets` choose tools, read-only mode drops writes,
//! and destructive actions appear only with `DOCKERHUB_ALLOW_DESTRUCTIVE`.
//! Annotations are recomputed from the actions actually offered.

use std::sync::Arc;

use dockerhub_api::catalog::{self, Module, Operation, Safety};
use dockerhub_api::params;
use rmcp::model::{JsonObject, Tool, ToolAnnotations};
use serde_json::{Value, json};

use crate::config::Config;
use crate::error::Result;

/// One action of a tool: a catalog operation, or a local action that needs
/// no Hub call.
#[derive(Debug, Clone, Copy)]
pub enum Action {
    /// A Hub operation from the catalog.
    Op(&'static Operation),
    /// `hub_admin.rate_limit`: the last `X-RateLimit-*` snapshot, no network.
    RateLimit,
}

impl Action {
    /// The action name (`list_tags`).
    pub fn name(&self) -> &'static str {
        match self {
            Action::Op(op) => op.action,
            Action::RateLimit => "rate_limit",
        }
    }

    /// The module the action belongs to.
    pub fn module(&self) -> Module {
        match self {
            Action::Op(op) => op.module,
            Action::RateLimit => Module::Admin,
        }
    }

    /// Safety class.
    pub fn safety(&self) -> Safety {
        match self {
            Action::Op(op) => op.safety,
            Action::RateLimit => Safety::Read,
        }
    }

    /// Whether repeating the call has no further effect.
    pub fn idempotent(&self) -> bool {
        match self {
            Action::Op(op) => op.safety == Safety::Read || op.idempotent(),
            Action::RateLimit => true,
        }
    }

    /// `hub_repos.list_tags`.
    pub fn qualified_name(&self) -> String {
        format!("{}.{}", self.module().tool_name(), self.name())
    }

    /// The catalog row, for Hub actions.
    pub fn operation(&self) -> Option<&'static Operation> {
        match self {
            Action::Op(op) => Some(op),
            Action::RateLimit => None,
        }
    }
}

/// Every action of a module, enabled or not, in catalog order.
pub fn all_actions(module: Module) -> Vec<Action> {
    let mut v: Vec<Action> = catalog::actions(module).map(Action::Op).collect();
    if module == Module::Admin {
        v.push(Action::RateLimit);
    }
    v
}

/// Find an action of a module by name, enabled or not.
pub fn find_action(module: Module, name: &str) -> Option<Action> {
    all_actions(module).into_iter().find(|a| a.name() == name)
}

/// One-line purpose of each tool.
fn purpose(m: Module) -> &'static str {
    match m {
        Module::Auth => "Docker Hub auth: JWT, personal (PAT) and org (OAT) access tokens",
        Module::Repos => "Docker Hub repositories, tags, immutable tags, repo groups",
        Module::Org => "Docker Hub org settings, members, invites",
        Module::Teams => "Docker Hub org teams (groups) and their members",
        Module::Audit => "Docker Hub audit logs",
        Module::Scim => "Docker Hub SCIM 2.0 user provisioning",
        Module::Admin => "Docker Hub identity and rate-limit status",
    }
}

/// Short human title of each tool.
fn title(m: Module) -> &'static str {
    match m {
        Module::Auth => "Docker Hub auth and tokens",
        Module::Repos => "Docker Hub repositories",
        Module::Org => "Docker Hub organizations",
        Module::Teams => "Docker Hub teams",
        Module::Audit => "Docker Hub audit logs",
        Module::Scim => "Docker Hub SCIM",
        Module::Admin => "Docker Hub identity",
    }
}

fn short_kind(kind: &str) -> &'static str {
    match kind {
        "integer" => ":int",
        "number" => ":num",
        "boolean" => ":bool",
        "array" => ":list",
        "object" => ":obj",
        _ => "",
    }
}

/// The compact signature of one action: `list_tags(namespace*, repository*,
/// page:int, page_size:int)`. `*` marks required parameters; the type is
/// string unless noted; short enums are listed (`role:owner|editor|member`).
pub fn signature(action: &Action) -> String {
    let Some(op) = action.operation() else {
        return format!("{}()", action.name());
    };
    let parts: Vec<String> = params::describe(op)
        .iter()
        .map(|p| {
            let mut s = p.name.clone();
            if p.required {
                s.push('*');
            }
            let joined = p.choices.join("|");
            if !p.choices.is_empty() && p.choices.len() <= 4 && joined.len() <= 40 {
                s.push(':');
                s.push_str(&joined);
            } else {
                s.push_str(short_kind(&p.kind));
            }
            s
        })
        .collect();
    format!("{}({})", action.name(), parts.join(", "))
}

/// What the current configuration offers.
#[derive(Debug, Clone)]
pub struct Toolset {
    /// Modules offered as tools.
    pub modules: Vec<Module>,
    /// Writes hidden and refused.
    pub read_only: bool,
    /// Destructive actions offered.
    pub allow_destructive: bool,
}

impl Toolset {
    /// From the server flags.
    pub fn from_config(cfg: &Config) -> Result<Toolset> {
        Ok(Toolset {
            modules: cfg.modules()?,
            read_only: cfg.read_only,
            allow_destructive: cfg.allow_destructive,
        })
    }

    /// Every module, writes on, destructive actions on.
    pub fn everything() -> Toolset {
        Toolset {
            modules: Module::ALL.to_vec(),
            read_only: false,
            allow_destructive: true,
        }
    }

    /// Whether the configuration offers this action.
    pub fn offers(&self, a: &Action) -> bool {
        self.modules.contains(&a.module()) && self.hidden_reason(a).is_none()
    }

    /// Why an action of an offered module is hidden, with how to enable it.
    pub fn hidden_reason(&self, a: &Action) -> Option<String> {
        match a.safety() {
            Safety::Read => None,
            Safety::Destructive if self.read_only => Some(format!(
                "{} is destructive and the server is in read-only mode; unset DOCKERHUB_READ_ONLY and set DOCKERHUB_ALLOW_DESTRUCTIVE=true to enable it",
                a.qualified_name()
            )),
            Safety::Write if self.read_only => Some(format!(
                "{} is a write and the server is in read-only mode; unset DOCKERHUB_READ_ONLY (or drop --read-only) to enable it",
                a.qualified_name()
            )),
            Safety::Destructive if !self.allow_destructive => Some(format!(
                "{} is destructive and hidden; set DOCKERHUB_ALLOW_DESTRUCTIVE=true (or pass --allow-destructive) to enable it",
                a.qualified_name()
            )),
            _ => None,
        }
    }

    /// The actions a module's tool offers.
    pub fn offered(&self, m: Module) -> Vec<Action> {
        if !self.modules.contains(&m) {
            return Vec::new();
        }
        all_actions(m)
            .into_iter()
            .filter(|a| self.hidden_reason(a).is_none())
            .collect()
    }

    /// Annotations recomputed from the offered actions: all four hints set.
    pub fn annotations(&self, m: Module) -> ToolAnnotations {
        let offered = self.offered(m);
        let read_only = offered.iter().all(|a| a.safety() == Safety::Read);
        let destructive = offered.iter().any(|a| a.safety() == Safety::Destructive);
        let idempotent = offered.iter().all(Action::idempotent);
        ToolAnnotations::with_title(title(m))
            .read_only(read_only)
            .destructive(destructive)
            .idempotent(idempotent)
            .open_world(true)
    }

    fn description(&self, m: Module, offered: &[Action]) -> String {
        let mut d = format!("{}. Actions (* required):\n", purpose(m));
        for a in offered {
            d.push_str(&signature(a));
            d.push('\n');
        }
        let hidden: Vec<&str> = all_actions(m)
            .iter()
            .filter(|a| a.safety() == Safety::Destructive && !self.offers(a))
            .map(Action::name)
            .collect();
        if !hidden.is_empty() && !self.read_only {
            d.push_str(&format!(
                "Hidden destructive: {}; enable with DOCKERHUB_ALLOW_DESTRUCTIVE=true.\n",
                hidden.join(", ")
            ));
        }
        if self.read_only && all_actions(m).iter().any(|a| a.safety() != Safety::Read) {
            d.push_str("Read-only mode: writes hidden (DOCKERHUB_READ_ONLY).\n");
        }
        if offered.iter().any(|a| a.safety() == Safety::Destructive) {
            d.push_str("Destructive actions ask to confirm, or need confirm:true.\n");
        }
        d.truncate(d.trim_end().len());
        d
    }

    fn input_schema(&self, offered: &[Action]) -> JsonObject {
        let names: Vec<&str> = offered.iter().map(Action::name).collect();
        let mut props = json!({
            "action": {"type": "string", "enum": names},
            "params": {"type": "object", "description": "the action's parameters"},
            "params_json": {"type": "string", "description": "params as JSON text (legacy)"},
        });
        let lists = offered.iter().any(|a| {
            a.operation()
                .is_some_and(|o| o.pagination != catalog::Pagination::None)
        });
        if lists {
            props["all"] = json!({"type": "boolean", "description": "list: fetch every page"});
            props["limit"] = json!({"type": "integer", "description": "list: max items"});
        }
        if offered.iter().any(|a| a.safety() == Safety::Destructive) {
            props["confirm"] =
                json!({"type": "boolean", "description": "confirm a destructive action"});
        }
        let schema = json!({"type": "object", "properties": props, "required": ["action"]});
        match schema {
            Value::Object(o) => o,
            _ => JsonObject::new(),
        }
    }

    /// The tool for a module, or `None` when the module is off or offers
    /// nothing.
    pub fn tool(&self, m: Module) -> Option<Tool> {
        let offered = self.offered(m);
        if offered.is_empty() {
            return None;
        }
        Some(
            Tool::new(
                m.tool_name(),
                self.description(m, &offered),
                Arc::new(self.input_schema(&offered)),
            )
            .with_raw_output_schema(output_schema())
            .with_annotations(self.annotations(m)),
        )
    }

    /// Every tool the configuration offers, in the seed's order.
    pub fn tools(&self) -> Vec<Tool> {
        Module::ALL
            .into_iter()
            .filter_map(|m| self.tool(m))
            .collect()
    }
}

/// The output schema shared by every tool: an object root (the envelope).
pub fn output_schema() -> Arc<JsonObject> {
    let schema = json!({
        "type": "object",
        "properties": {
            "status_code": {"type": "integer"},
            "data": {},
            "rate_limit": {"type": "object"},
        }
    });
    Arc::new(match schema {
        Value::Object(o) => o,
        _ => JsonObject::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_signatures() {
        let op = catalog::find(Module::Repos, "list_tags").unwrap();
        assert_eq!(
            signature(&Action::Op(op)),
            "list_tags(namespace*, repository*, page:int, page_size:int)"
        );
        let op = catalog::find(Module::Org, "update_member").unwrap();
        assert_eq!(
            signature(&Action::Op(op)),
            "update_member(org_name*, username*, role*:owner|editor|member)"
        );
        assert_eq!(signature(&Action::RateLimit), "rate_limit()");
    }

    #[test]
    fn hidden_reasons_name_the_setting() {
        let ts = Toolset {
            modules: Module::ALL.to_vec(),
            read_only: false,
            allow_destructive: false,
        };
        let del = find_action(Module::Repos, "delete_tag").unwrap();
        assert!(
            ts.hidden_reason(&del)
                .unwrap()
                .contains("DOCKERHUB_ALLOW_DESTRUCTIVE")
        );
        let ro = Toolset {
            read_only: true,
            ..ts
        };
        let create = find_action(Module::Repos, "create").unwrap();
        assert!(
            ro.hidden_reason(&create)
                .unwrap()
                .contains("DOCKERHUB_READ_ONLY")
        );
        assert!(
            ro.hidden_reason(&find_action(Module::Admin, "rate_limit").unwrap())
                .is_none()
        );
    }
}
