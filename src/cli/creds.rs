//! Where the CLI's credentials come from: the seed's environment variables,
//! `--password-stdin`, or the credentials `docker login` stored.
//!
//! Docker's `config.json` is read from `$DOCKER_CONFIG/config.json`, else
//! `$HOME/.docker/config.json`. An entry is used only for the registry the
//! API URL belongs to: `https://index.docker.io/v1/` (and its aliases) for
//! Docker Hub, the URL's `host[:port]` otherwise, so `docker login`
//! credentials are never sent to another server.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use base64::Engine;
use secrecy::SecretString;
use serde_json::Value;

use super::error::{CliError, CliResult};
use crate::config::Credentials;

/// The keys `docker login` uses for Docker Hub.
const HUB_KEYS: &[&str] = &[
    "https://index.docker.io/v1/",
    "index.docker.io",
    "docker.io",
    "https://index.docker.io/v1",
    "registry-1.docker.io",
    "https://registry-1.docker.io",
];

/// Where a credential came from (shown by `login` and `-v`, never the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// None found.
    None,
    /// The seed's environment variables.
    Env,
    /// `--password-stdin`.
    Stdin,
    /// `auths` of the docker config file.
    DockerConfig(String),
    /// A docker credential helper.
    Helper(String),
    /// The in-process demo emulator.
    Demo,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::None => f.write_str("no credentials"),
            Source::Env => f.write_str("environment"),
            Source::Stdin => f.write_str("--password-stdin"),
            Source::DockerConfig(p) => write!(f, "docker config {p}"),
            Source::Helper(h) => write!(f, "credential helper docker-credential-{h}"),
            Source::Demo => f.write_str("demo emulator"),
        }
    }
}

/// Read a secret from stdin (one line; surrounding whitespace dropped).
pub fn secret_from_stdin() -> CliResult<SecretString> {
    let mut buf = String::new();
    std::io::stdin()
        .read_to_string(&mut buf)
        .map_err(|e| CliError::io("stdin", e))?;
    let s = buf.trim();
    if s.is_empty() {
        return Err(CliError::usage(
            "--password-stdin: stdin is empty",
            Some(
                "pipe the password or token, e.g. `echo \"$TOKEN\" | dockerhub login -u me --password-stdin`",
            ),
        ));
    }
    Ok(SecretString::from(s.to_string()))
}

/// The docker config file, honouring `DOCKER_CONFIG`.
pub fn docker_config_path(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    if let Some(dir) = env("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    env("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".docker").join("config.json"))
}

/// The registry keys to look up for an API base URL.
pub fn registry_keys(base_url: &str) -> Vec<String> {
    let Ok(url) = reqwest::Url::parse(base_url) else {
        return Vec::new();
    };
    let host = url.host_str().unwrap_or_default();
    if host == "hub.docker.com" || host.ends_with(".docker.com") || host.ends_with(".docker.io") {
        return HUB_KEYS.iter().map(|k| (*k).to_string()).collect();
    }
    let hostport = match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    };
    vec![
        hostport.clone(),
        format!("{}://{hostport}", url.scheme()),
        format!("{}://{hostport}/", url.scheme()),
    ]
}

/// Credentials stored by `docker login` for `base_url`, if any.
pub fn from_docker_config(
    base_url: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> CliResult<Option<(Credentials, Source)>> {
    let Some(path) = docker_config_path(env) else {
        return Ok(None);
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(CliError::io(path.display(), e)),
    };
    let cfg: Value = serde_json::from_str(&text).map_err(|e| {
        CliError::usage(
            format!("{} is not valid JSON: {e}", path.display()),
            Some("fix the file or point DOCKER_CONFIG elsewhere"),
        )
    })?;
    let keys = registry_keys(base_url);
    // A per-registry helper wins over the store and over inline auths.
    if let Some(helpers) = cfg.get("credHelpers").and_then(Value::as_object) {
        for k in &keys {
            if let Some(h) = helpers.get(k).and_then(Value::as_str) {
                return helper_get(h, k);
            }
        }
    }
    if let Some(store) = cfg.get("credsStore").and_then(Value::as_str)
        && !store.is_empty()
    {
        for k in &keys {
            if let Some(found) = helper_get(store, k)? {
                return Ok(Some(found));
            }
        }
    }
    let Some(auths) = cfg.get("auths").and_then(Value::as_object) else {
        return Ok(None);
    };
    for k in &keys {
        let Some(entry) = auths.get(k) else { continue };
        if let Some(creds) = decode_entry(entry) {
            return Ok(Some((
                creds,
                Source::DockerConfig(path.display().to_string()),
            )));
        }
    }
    Ok(None)
}

fn decode_entry(entry: &Value) -> Option<Credentials> {
    if let Some(auth) = entry
        .get("auth")
        .and_then(Value::as_str)
        .filter(|a| !a.is_empty())
    {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .ok()?;
        let text = String::from_utf8(raw).ok()?;
        let (user, secret) = text.split_once(':')?;
        return Some(Credentials::from_identifier_secret(
            user.to_string(),
            SecretString::from(secret.to_string()),
        ));
    }
    let user = entry.get("username").and_then(Value::as_str)?;
    let secret = entry.get("password").and_then(Value::as_str)?;
    Some(Credentials::from_identifier_secret(
        user.to_string(),
        SecretString::from(secret.to_string()),
    ))
}

/// Ask `docker-credential-<helper> get` for `server`.
fn helper_get(helper: &str, server: &str) -> CliResult<Option<(Credentials, Source)>> {
    if helper.is_empty() || helper.contains(['/', '\\']) {
        return Ok(None);
    }
    let program = format!("docker-credential-{helper}");
    let child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(helper = %program, error = %e, "credential helper not runnable");
            return Ok(None);
        }
    };
    if let Some(mut stdin) = child.stdin.take() {
        // The helper may exit without reading; a broken pipe is not fatal.
        let _ = stdin.write_all(server.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| CliError::io(&program, e))?;
    if !out.status.success() {
        // "credentials not found in native keychain" and friends.
        return Ok(None);
    }
    let v: Value = match serde_json::from_slice(&out.stdout) {
        Ok(v) => v,
        Err(_) => {
            tracing::warn!(helper = %program, "credential helper answered something that is not JSON");
            return Ok(None);
        }
    };
    let user = v
        .get("Username")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let secret = v.get("Secret").and_then(Value::as_str).unwrap_or_default();
    if secret.is_empty() {
        return Ok(None);
    }
    // `<token>` as the username marks an identity token, which Hub's API does not take.
    if user.is_empty() || user == "<token>" {
        return Ok(None);
    }
    Ok(Some((
        Credentials::from_identifier_secret(
            user.to_string(),
            SecretString::from(secret.to_string()),
        ),
        Source::Helper(helper.to_string()),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_and_other_keys() {
        assert!(registry_keys("https://hub.docker.com").contains(&HUB_KEYS[0].to_string()));
        assert_eq!(registry_keys("http://127.0.0.1:9")[0], "127.0.0.1:9");
        let e = serde_json::json!({"auth": base64::engine::general_purpose::STANDARD.encode("u:dckr_pat_x")});
        assert_eq!(decode_entry(&e).map(|c| c.kind()), Some("pat"));
    }
}
