//! The agent's Kubernetes manifests (`docker/k8s/agent-*.yaml`) and the agent service of
//! `docker/agent.compose.yml`, checked statically: every manifest in `docker/k8s/` parses and is listed in the
//! kustomization; every variable passed to dockerhub-agent is one it reads (a flag's env name, an SDK variable
//! or a telemetry variable); the ConfigMap's and Secret's values are accepted by the agent's own parsers; the
//! Deployment probes /health, runs non-root and takes its keys from a Secret; the agent reaches dockerhub-mcp
//! through its Service with a token that server accepts. (The MCP manifests: `servers/mcp/tests/deploy_config.rs`.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};

use clap::CommandFactory;
use dockerhub_testkit::deploy::{
    compose_env, env_from_refs, flag_args, keys_with_comments, known_vars, kustomization_resources,
    read, repo_root, string_map, yaml,
};

/// Every variable dockerhub-agent reads: flag env names, the SDK's (in-process backend) and telemetry's lookups.
fn known() -> BTreeSet<String> {
    known_vars("dockerhub-agent", &dockerhub_agent::Settings::command())
}

const CONFIGMAP: &str = "docker/k8s/agent-configmap.yaml";
const SECRET: &str = "docker/k8s/agent-secret.example.yaml";
const DEPLOYMENT: &str = "docker/k8s/agent-deployment.yaml";
const SERVICE: &str = "docker/k8s/agent-service.yaml";

#[test]
fn every_manifest_parses_and_the_kustomization_lists_the_agent() {
    let dir = repo_root().join("docker/k8s");
    let listed = kustomization_resources();
    let mut files = BTreeSet::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        if !name.ends_with(".yaml") {
            continue;
        }
        let doc = yaml(&format!("docker/k8s/{name}"));
        assert!(doc["kind"].is_string(), "{name}: no kind");
        // Secret templates are applied by hand once filled in; everything else goes through the kustomization.
        if !name.ends_with(".example.yaml") && name != "kustomization.yaml" {
            assert!(
                listed.contains(&name),
                "kustomization.yaml does not list {name}"
            );
        }
        files.insert(name);
    }
    for r in &listed {
        assert!(files.contains(r), "kustomization lists a missing file {r}");
    }
    let kinds: BTreeMap<&str, String> = [CONFIGMAP, SECRET, DEPLOYMENT, SERVICE]
        .iter()
        .map(|m| (*m, yaml(m)["kind"].as_str().unwrap_or("").to_string()))
        .collect();
    assert_eq!(kinds[CONFIGMAP], "ConfigMap");
    assert_eq!(kinds[SECRET], "Secret");
    assert_eq!(kinds[DEPLOYMENT], "Deployment");
    assert_eq!(kinds[SERVICE], "Service");
}

#[test]
fn deployment_probes_health_runs_non_root_and_reads_secrets() {
    let d = yaml(DEPLOYMENT);
    let pod = &d["spec"]["template"]["spec"];
    assert_eq!(pod["automountServiceAccountToken"], false);
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert!(pod["securityContext"]["runAsUser"].as_u64().unwrap() > 0);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    let c = &pod["containers"][0];
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/health");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/health");
    assert_eq!(c["livenessProbe"]["httpGet"]["port"], c["ports"][0]["name"]);
    assert_eq!(
        c["readinessProbe"]["httpGet"]["port"],
        c["ports"][0]["name"]
    );
    assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(c["securityContext"]["runAsNonRoot"], true);
    assert_eq!(c["securityContext"]["capabilities"]["drop"][0], "ALL");
    assert!(c["resources"]["limits"]["memory"].is_string());
    assert!(c["resources"]["requests"]["memory"].is_string());
    // The MCP image, with the agent's binary as the entrypoint.
    let mcp = yaml("docker/k8s/deployment.yaml");
    assert_eq!(
        c["image"],
        mcp["spec"]["template"]["spec"]["containers"][0]["image"]
    );
    let bin = c["command"][0].as_str().unwrap();
    assert!(bin.ends_with("/dockerhub-agent"), "command {bin}");
    assert!(
        read("docker/Dockerfile").contains(bin),
        "the image has no {bin}"
    );

    let secret = yaml(SECRET);
    let cm = yaml(CONFIGMAP);
    let refs = env_from_refs(c);
    assert!(refs.contains(&("ConfigMap", cm["metadata"]["name"].as_str().unwrap())));
    assert!(refs.contains(&("Secret", secret["metadata"]["name"].as_str().unwrap())));
    let secret_keys = string_map(&secret["stringData"]);
    for k in ["AGENT_API_KEY", "MCP_TOKEN", "OPENAI_API_KEY"] {
        assert!(secret_keys.contains_key(k), "{k} belongs in the Secret");
    }
    let cm_text = read(CONFIGMAP);
    let cm_keys = keys_with_comments(&cm_text, "data:");
    for k in secret_keys
        .keys()
        .cloned()
        .chain(keys_with_comments(&read(SECRET), "stringData:"))
    {
        assert!(!cm_keys.contains(&k), "{k} belongs in the Secret only");
    }
    let cm_data = string_map(&cm["data"]);
    let port = c["ports"][0]["containerPort"].as_u64().unwrap();
    assert_eq!(cm_data["PORT"], port.to_string());
    let svc = yaml(SERVICE);
    assert_eq!(
        svc["spec"]["selector"],
        d["spec"]["template"]["metadata"]["labels"]
    );
    assert_eq!(svc["spec"]["ports"][0]["targetPort"], c["ports"][0]["name"]);
}

#[test]
fn manifests_and_agent_compose_pass_only_variables_the_agent_reads() {
    let known = known();
    let mut passed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    passed.insert(
        "agent-configmap.yaml".into(),
        keys_with_comments(&read(CONFIGMAP), "data:"),
    );
    passed.insert(
        "agent-secret.example.yaml".into(),
        keys_with_comments(&read(SECRET), "stringData:"),
    );
    let d = yaml(DEPLOYMENT);
    passed.insert(
        "agent-deployment.yaml".into(),
        d["spec"]["template"]["spec"]["containers"][0]["env"]
            .as_array()
            .map(|env| {
                env.iter()
                    .map(|e| e["name"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default(),
    );
    passed.insert(
        "agent.compose.yml (service agent)".into(),
        compose_env("docker/agent.compose.yml", "agent"),
    );
    for (file, vars) in &passed {
        if file == "agent-deployment.yaml" {
            // Everything comes through envFrom; single keys are optional.
        } else {
            assert!(!vars.is_empty(), "{file}: no variables found");
        }
        let unknown: Vec<&String> = vars.iter().filter(|v| !known.contains(*v)).collect();
        assert!(
            unknown.is_empty(),
            "{file} passes variables dockerhub-agent does not read: {unknown:?}"
        );
    }
}

/// The agent's settings from ConfigMap and Secret values, through its own flag parser (env name → long flag).
fn settings_from(data: &BTreeMap<String, String>) -> dockerhub_agent::Settings {
    let (args, used) = flag_args(
        "dockerhub-agent",
        &dockerhub_agent::Settings::command(),
        data,
    );
    assert!(used.len() >= 5, "few settings matched a flag: {used:?}");
    dockerhub_agent::Settings::try_from_iter(&args).unwrap()
}

#[test]
fn configmap_and_secret_values_are_accepted_by_the_agent() {
    let cm = string_map(&yaml(CONFIGMAP)["data"]);
    let mut data = cm.clone();
    data.extend(string_map(&yaml(SECRET)["stringData"]));
    let s = settings_from(&data);
    // A pod binds 0.0.0.0: the agent starts only with a key (and never with ALLOW_UNAUTHENTICATED here).
    assert_eq!(s.host, "0.0.0.0");
    assert!(s.agent_api_key.is_some());
    assert!(!s.allow_unauthenticated);
    s.validate().unwrap();
    assert!(s.mcp_url.is_some() && s.mcp_token.is_some());
    // Without the Secret, the same ConfigMap is refused off loopback.
    let mut bare = cm.clone();
    bare.insert("AGENT_API_KEY".into(), String::new()); // empty counts as unset, whatever the test's environment
    let bare = settings_from(&bare);
    assert!(bare.agent_api_key.is_none());
    assert!(bare.validate().is_err());
    // Telemetry: the same lookup the binary uses.
    let t = dockerhub_api::telemetry::TelemetryConfig::from_lookup("dockerhub-agent", |k| {
        data.get(k).cloned()
    })
    .unwrap();
    assert!(t.otlp.is_some(), "the ConfigMap turns export on");
    assert_eq!(t.log.format, dockerhub_api::telemetry::LogFormat::Json);
}

#[test]
fn agent_reaches_mcp_through_its_service_and_accepts_its_own_names() {
    let cm = string_map(&yaml(CONFIGMAP)["data"]);
    let s = settings_from(&cm);
    // MCP_URL: the MCP Service, on its port, at /mcp; the MCP server accepts that Host.
    let url: http::Uri = s.mcp_url.as_deref().unwrap().parse().unwrap();
    let mcp_svc = yaml("docker/k8s/service.yaml");
    let mcp_name = mcp_svc["metadata"]["name"].as_str().unwrap();
    let host = url.host().unwrap();
    assert!(
        host == mcp_name || host.starts_with(&format!("{mcp_name}.")),
        "MCP_URL {url} is not the {mcp_name} Service"
    );
    assert_eq!(url.path(), "/mcp");
    let port = url.port_u16().unwrap_or(80);
    assert_eq!(
        Some(u64::from(port)),
        mcp_svc["spec"]["ports"][0]["port"].as_u64()
    );
    let mcp_cm = string_map(&yaml("docker/k8s/configmap.yaml")["data"]);
    assert_eq!(mcp_cm["TRANSPORT"], "streamable-http");
    let mcp_hosts: Vec<&str> = mcp_cm["MCP_ALLOWED_HOSTS"].split(',').collect();
    assert!(
        mcp_hosts.contains(&url.authority().unwrap().as_str()),
        "MCP_ALLOWED_HOSTS {mcp_hosts:?} lacks {host}"
    );
    // MCP_TOKEN: one of the MCP server's static tokens.
    let agent_secret = string_map(&yaml(SECRET)["stringData"]);
    let mcp_secret = string_map(&yaml("docker/k8s/secret.example.yaml")["stringData"]);
    assert_eq!(mcp_cm["AUTH_TYPE"], "static");
    let tokens: Vec<&str> = mcp_secret["MCP_AUTH_TOKENS"]
        .split(',')
        .map(|t| t.split_once(':').map_or(t, |(_, secret)| secret))
        .collect();
    assert!(
        tokens.contains(&agent_secret["MCP_TOKEN"].as_str()),
        "the agent's MCP_TOKEN is none of the MCP server's MCP_AUTH_TOKENS"
    );
    // ALLOWED_HOSTS: the agent's Service names and the public URL's host.
    let svc = yaml(SERVICE);
    let name = svc["metadata"]["name"].as_str().unwrap();
    assert!(s.allowed_hosts.iter().any(|h| h == name), "{name}");
    let public: http::Uri = s.public_url.as_deref().unwrap().parse().unwrap();
    assert_eq!(public.scheme_str(), Some("https"));
    assert!(
        s.allowed_hosts
            .iter()
            .any(|h| Some(h.as_str()) == public.host()),
        "ALLOWED_HOSTS {:?} lacks the public host {public}",
        s.allowed_hosts
    );
}
