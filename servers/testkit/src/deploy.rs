//! Static checks of deployment files (Kubernetes manifests, compose files): reading them from the repository,
//! parsing YAML, and the set of environment variables a server reads.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Mutex;

use serde_json::Value;

/// The repository root (two levels above this crate, as above every server crate).
#[must_use]
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The text of a file, by path relative to the repository root; panics when it cannot be read.
#[must_use]
#[allow(clippy::panic)]
pub fn read(rel: &str) -> String {
    std::fs::read_to_string(repo_root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// A YAML file (relative to the repository root) as JSON; panics when it is not valid YAML.
#[must_use]
#[allow(clippy::panic)]
pub fn yaml(rel: &str) -> Value {
    yaml_serde::from_str(&read(rel)).unwrap_or_else(|e| panic!("{rel} is not valid YAML: {e}"))
}

/// The files `docker/k8s/kustomization.yaml` lists as resources.
#[must_use]
#[allow(clippy::panic)]
pub fn kustomization_resources() -> BTreeSet<String> {
    yaml("docker/k8s/kustomization.yaml")["resources"]
        .as_array()
        .unwrap_or_else(|| panic!("kustomization.yaml has no resources list"))
        .iter()
        .map(|r| {
            r.as_str()
                .unwrap_or_else(|| panic!("a kustomization resource is not a string: {r}"))
                .to_string()
        })
        .collect()
}

/// Every variable a server reads: the SDK's and telemetry's lookups (telemetry under `service_name`), the env
/// names of `cmd`'s flags, and `NO_COLOR`.
#[must_use]
#[allow(clippy::unwrap_used)]
pub fn known_vars(service_name: &str, cmd: &clap::Command) -> BTreeSet<String> {
    let seen = Mutex::new(BTreeSet::new());
    let _ = dockerhub_api::Config::from_lookup(|name| {
        seen.lock().unwrap().insert(name.to_string());
        None
    });
    let _ = dockerhub_api::telemetry::TelemetryConfig::from_lookup(service_name, |name| {
        seen.lock().unwrap().insert(name.to_string());
        None
    });
    let mut vars = seen.into_inner().unwrap();
    vars.extend(
        cmd.get_arguments()
            .filter_map(|a| a.get_env())
            .map(|e| e.to_string_lossy().to_string()),
    );
    vars.insert("NO_COLOR".into());
    vars
}

/// `KEY: value` entries of a YAML map, plus keys of commented-out `# KEY: …` lines right under it.
#[must_use]
pub fn keys_with_comments(text: &str, section: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut inside = false;
    for line in text.lines() {
        if line.starts_with(section) {
            inside = true;
            continue;
        }
        if inside && !line.starts_with("  ") && !line.trim().is_empty() {
            inside = false;
        }
        if !inside {
            continue;
        }
        let t = line.trim().trim_start_matches('#').trim();
        if let Some((k, _)) = t.split_once(':')
            && !k.is_empty()
            && k.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        {
            out.insert(k.to_string());
        }
    }
    out
}

/// A string map (ConfigMap `data`, Secret `stringData`) as owned pairs; panics on a non-string value.
#[must_use]
#[allow(clippy::unwrap_used)]
pub fn string_map(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect()
}

/// A container's `envFrom` sources as `("ConfigMap" | "Secret", name)` pairs.
#[must_use]
#[allow(clippy::unwrap_used)]
pub fn env_from_refs(container: &Value) -> Vec<(&str, &str)> {
    container["envFrom"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| {
            if let Some(n) = e["configMapRef"]["name"].as_str() {
                Some(("ConfigMap", n))
            } else {
                e["secretRef"]["name"].as_str().map(|n| ("Secret", n))
            }
        })
        .collect()
}

/// Command-line arguments (`bin`, then `--long=value`) for the values in `data` whose key is the env name of one
/// of `cmd`'s long flags, with the env names used.
#[must_use]
pub fn flag_args(
    bin: &str,
    cmd: &clap::Command,
    data: &BTreeMap<String, String>,
) -> (Vec<String>, BTreeSet<String>) {
    let mut args = vec![bin.to_string()];
    let mut used = BTreeSet::new();
    for a in cmd.get_arguments() {
        let (Some(env), Some(long)) = (a.get_env(), a.get_long()) else {
            continue;
        };
        let env = env.to_string_lossy().to_string();
        if let Some(v) = data.get(&env) {
            args.push(format!("--{long}={v}"));
            used.insert(env);
        }
    }
    (args, used)
}

/// The variable names a compose file passes to one service.
#[allow(clippy::panic)] // a test helper: failing is its job
pub fn compose_env(rel: &str, service: &str) -> BTreeSet<String> {
    yaml(rel)["services"][service]["environment"]
        .as_object()
        .unwrap_or_else(|| panic!("{rel}: service {service} has no environment map"))
        .keys()
        .cloned()
        .collect()
}
