//! The Kubernetes manifests in `docker/k8s/` and the MCP service of `docker/agent.compose.yml`, checked
//! statically: every manifest parses; every variable they pass to dockerhub-mcp is one it reads (a flag's env
//! name, an SDK variable or a telemetry variable); the ConfigMap's values are accepted by the server's own
//! parsers; the Deployment probes /health, runs non-root and takes Docker Hub credentials from a Secret.
//! (`.env.example` and `docker/mcp.compose.yml` are checked the same way in `real_clients_config.rs`; the agent's
//! manifests `docker/k8s/agent-*.yaml` and its compose service in `servers/agent/tests/deploy_config.rs`.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};

use clap::CommandFactory;
use dockerhub_testkit::deploy::{
    compose_env, env_from_refs, flag_args, keys_with_comments, known_vars, kustomization_resources,
    read, repo_root, string_map, yaml,
};

/// Every variable dockerhub-mcp reads: flag env names, the SDK's and telemetry's lookups.
fn known() -> BTreeSet<String> {
    known_vars("dockerhub-mcp", &dockerhub_mcp::Config::command())
}

const MANIFESTS: &[&str] = &[
    "docker/k8s/kustomization.yaml",
    "docker/k8s/configmap.yaml",
    "docker/k8s/secret.example.yaml",
    "docker/k8s/deployment.yaml",
    "docker/k8s/service.yaml",
];

#[test]
fn manifests_parse_and_have_the_expected_kinds() {
    let kinds: BTreeMap<&str, String> = MANIFESTS
        .iter()
        .map(|m| (*m, yaml(m)["kind"].as_str().unwrap_or("").to_string()))
        .collect();
    assert_eq!(
        kinds.values().cloned().collect::<BTreeSet<_>>(),
        [
            "ConfigMap",
            "Deployment",
            "Kustomization",
            "Secret",
            "Service"
        ]
        .map(String::from)
        .into_iter()
        .collect::<BTreeSet<_>>()
    );
    let listed = kustomization_resources();
    for r in &listed {
        assert!(
            repo_root().join("docker/k8s").join(r).exists(),
            "kustomization lists a missing file {r}"
        );
    }
}

#[test]
fn deployment_probes_health_runs_non_root_and_reads_secrets() {
    let d = yaml("docker/k8s/deployment.yaml");
    let pod = &d["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert!(pod["securityContext"]["runAsUser"].as_u64().unwrap() > 0);
    let c = &pod["containers"][0];
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/health");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/health");
    assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
    assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(c["securityContext"]["capabilities"]["drop"][0], "ALL");
    let secret = yaml("docker/k8s/secret.example.yaml");
    let cm = yaml("docker/k8s/configmap.yaml");
    let refs = env_from_refs(c);
    assert!(refs.contains(&("ConfigMap", cm["metadata"]["name"].as_str().unwrap())));
    assert!(refs.contains(&("Secret", secret["metadata"]["name"].as_str().unwrap())));
    let secret_keys = secret["stringData"].as_object().unwrap();
    assert!(secret_keys.contains_key("DOCKER_HUB_TOKEN"));
    assert!(secret_keys.contains_key("MCP_AUTH_TOKENS"));
    // The example tokens pass the server's own checks, with one for the agent (its MCP_TOKEN).
    let tokens = dockerhub_mcp::auth::StaticTokens::load(
        Some(&secrecy::SecretString::from(
            secret_keys["MCP_AUTH_TOKENS"].as_str().unwrap(),
        )),
        None,
    )
    .unwrap();
    assert!(tokens.ids().contains(&"agent"), "{:?}", tokens.ids());
    let cm_data = cm["data"].as_object().unwrap();
    for k in secret_keys.keys() {
        assert!(!cm_data.contains_key(k), "{k} belongs in the Secret only");
    }
    let port = c["ports"][0]["containerPort"].as_u64().unwrap();
    assert_eq!(cm_data["PORT"].as_str().unwrap(), port.to_string());
    let svc = yaml("docker/k8s/service.yaml");
    assert_eq!(
        svc["spec"]["selector"],
        d["spec"]["template"]["metadata"]["labels"]
    );
}

#[test]
fn manifests_and_agent_compose_pass_only_variables_the_server_reads() {
    let known = known();
    let mut passed: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let cm = yaml("docker/k8s/configmap.yaml");
    passed.insert(
        "configmap.yaml".into(),
        cm["data"].as_object().unwrap().keys().cloned().collect(),
    );
    passed.insert(
        "secret.example.yaml".into(),
        keys_with_comments(&read("docker/k8s/secret.example.yaml"), "stringData:"),
    );
    let d = yaml("docker/k8s/deployment.yaml");
    passed.insert(
        "deployment.yaml".into(),
        d["spec"]["template"]["spec"]["containers"][0]["env"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap().to_string())
            .collect(),
    );
    passed.insert(
        "agent.compose.yml (service mcp)".into(),
        compose_env("docker/agent.compose.yml", "mcp"),
    );
    for (file, vars) in &passed {
        assert!(!vars.is_empty(), "{file}: no variables found");
        let unknown: Vec<&String> = vars.iter().filter(|v| !known.contains(*v)).collect();
        assert!(
            unknown.is_empty(),
            "{file} passes variables dockerhub-mcp does not read: {unknown:?}"
        );
    }
}

#[test]
fn configmap_values_are_accepted_by_the_server() {
    let cm = yaml("docker/k8s/configmap.yaml");
    let data = string_map(&cm["data"]);
    // Flags: each env name maps to its long flag; the server's own parser checks the values.
    let (args, _) = flag_args("dockerhub-mcp", &dockerhub_mcp::Config::command(), &data);
    let cfg = dockerhub_mcp::Config::from_args(&args).unwrap();
    assert_eq!(cfg.transport, dockerhub_mcp::Transport::StreamableHttp);
    assert!(cfg.read_only);
    // Telemetry: the same lookup the binary uses.
    let t = dockerhub_api::telemetry::TelemetryConfig::from_lookup("dockerhub-mcp", |k| {
        data.get(k).cloned()
    })
    .unwrap();
    assert!(t.otlp.is_some(), "the ConfigMap turns export on");
    assert_eq!(t.log.format, dockerhub_api::telemetry::LogFormat::Json);
}
