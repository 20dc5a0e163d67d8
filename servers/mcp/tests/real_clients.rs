//! The `dockerhub-mcp` binary over real sockets: HTTP security (auth, Host/Origin, body limit, policy, startup
//! rules, secret canaries), the legacy SSE transport, and real third-party clients (the MCP conformance suite for
//! both spec eras, `@modelcontextprotocol/inspector --cli --strict`, and the Python `mcp` SDK).
//!
//! The real clients are installed by `servers/mcp/tests/clients/install.sh` (sourced by `.ci/run`), which exports
//! `DOCKERHUB_TEST_NODE`, `DOCKERHUB_TEST_CONFORMANCE`, `DOCKERHUB_TEST_INSPECTOR` and `DOCKERHUB_TEST_PYTHON`.
//! Without them those tests print a SKIP line and pass, unless `DOCKERHUB_REQUIRE_REAL_CLIENTS=1` (set by CI), when
//! they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_dockerhub-mcp");
/// The static bearer token of the HTTP tests; also a canary that must never be printed.
const MCP_TOKEN: &str = "canary-mcp-token-5f1d9a7c3e2b4d6f";
const OTHER_TOKEN: &str = "other-mcp-token-0a9b8c7d6e5f4a3b";

fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "dh-mcp-{name}-{}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A spawned `dockerhub-mcp` with captured stdout and stderr.
struct Proc {
    child: Child,
    port: u16,
    args: Vec<String>,
    envs: Vec<(String, String)>,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
}

fn capture(mut pipe: impl Read + Send + 'static) -> Arc<Mutex<String>> {
    let out = Arc::new(Mutex::new(String::new()));
    let sink = out.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    out
}

/// The server command with a clean environment (only what the test passes, plus PATH and HOME).
fn command(args: &[&str], envs: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear();
    for keep in ["PATH", "HOME", "TMPDIR"] {
        if let Some(v) = std::env::var_os(keep) {
            cmd.env(keep, v);
        }
    }
    cmd.env("NO_COLOR", "1");
    cmd.args(args).envs(envs.iter().copied());
    cmd
}

impl Proc {
    /// Starts an HTTP server (`--transport` from `args`, default streamable-http) on a free loopback port.
    fn http(args: &[&str], envs: &[(&str, &str)]) -> Proc {
        let port = free_port();
        let port_s = port.to_string();
        let mut all = vec!["--host", "127.0.0.1", "--port", &port_s];
        if !args.contains(&"--transport") {
            all.extend(["--transport", "streamable-http"]);
        }
        all.extend_from_slice(args);
        let mut child = command(&all, envs)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = capture(child.stdout.take().unwrap());
        let stderr = capture(child.stderr.take().unwrap());
        Proc {
            child,
            port,
            args: args.iter().map(|a| a.to_string()).collect(),
            envs: envs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            stdout,
            stderr,
        }
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn logs(&self) -> String {
        format!(
            "{}{}",
            self.stdout.lock().unwrap(),
            self.stderr.lock().unwrap()
        )
    }

    /// Waits until `/health` answers 200.
    async fn ready(self) -> Proc {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut me = self;
        let mut attempts = 0;
        loop {
            if let Ok(r) = http.get(format!("{}/health", me.base())).send().await
                && r.status() == 200
                && r.text()
                    .await
                    .is_ok_and(|t| t.contains("\"status\":\"ok\""))
            {
                return me;
            }
            if let Ok(Some(status)) = me.child.try_wait() {
                // The free port was taken between probing and binding: try another one.
                if me.logs().contains("cannot bind") && attempts < 3 {
                    attempts += 1;
                    let args: Vec<&str> = me.args.iter().map(String::as_str).collect();
                    let envs: Vec<(&str, &str)> = me
                        .envs
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                        .collect();
                    let next = Proc::http(&args, &envs);
                    me = next;
                    continue;
                }
                panic!("server exited early ({status}):\n{}", me.logs());
            }
            assert!(
                Instant::now() < deadline,
                "server not ready:\n{}",
                me.logs()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a command to completion with a deadline; returns (exit code, stdout, stderr).
fn run(mut cmd: Command, timeout: Duration) -> (Option<i32>, String, String) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let out = capture(child.stdout.take().unwrap());
    let err = capture(child.stderr.take().unwrap());
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "command timed out after {timeout:?}: {cmd:?}\nstdout:\n{}\nstderr:\n{}",
                out.lock().unwrap(),
                err.lock().unwrap()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // Let the reader threads drain the pipes.
    std::thread::sleep(Duration::from_millis(50));
    let (o, e) = (out.lock().unwrap().clone(), err.lock().unwrap().clone());
    (status.code(), o, e)
}

fn initialize_body() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "security-test", "version": "1"}}})
}

fn post_mcp(http: &reqwest::Client, base: &str, body: &Value) -> reqwest::RequestBuilder {
    http.post(format!("{base}/mcp"))
        .header("accept", "application/json, text/event-stream")
        .header("content-type", "application/json")
        .body(body.to_string())
}

/// An rmcp client over streamable HTTP with a bearer token.
async fn rmcp_client(
    base: &str,
    token: &str,
) -> rmcp::service::RunningService<rmcp::RoleClient, ()> {
    let config =
        StreamableHttpClientTransportConfig::with_uri(format!("{base}/mcp")).auth_header(token);
    ().serve(StreamableHttpClientTransport::from_config(config))
        .await
        .expect("client handshake")
}

async fn call(
    client: &rmcp::service::RunningService<rmcp::RoleClient, ()>,
    tool: &str,
    args: Value,
) -> CallToolResult {
    let Value::Object(map) = args else {
        panic!("object")
    };
    client
        .call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(map))
        .await
        .expect("tools/call routed")
}

fn result_text(r: &CallToolResult) -> String {
    let mut s: Vec<String> = r
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect();
    if let Some(v) = &r.structured_content {
        s.push(v.to_string());
    }
    s.join("\n")
}

fn static_env() -> Vec<(&'static str, String)> {
    vec![
        ("AUTH_TYPE", "static".into()),
        (
            "MCP_AUTH_TOKENS",
            format!("ci:{MCP_TOKEN},ops:{OTHER_TOKEN}"),
        ),
    ]
}

fn as_refs<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    v.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

// ---------------------------------------------------------------------------------------------------------------
// (a) HTTP security
// ---------------------------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_static_auth_host_origin_and_body_limit() {
    let env = static_env();
    let srv = Proc::http(&["--demo"], &as_refs(&env)).ready().await;
    let base = srv.base();
    let http = reqwest::Client::new();

    // No token: 401 with the RFC 9728 pointer.
    let r = post_mcp(&http, &base, &initialize_body())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let challenge = r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    let metadata_url = format!("{base}/.well-known/oauth-protected-resource");
    assert_eq!(
        challenge,
        format!("Bearer resource_metadata=\"{metadata_url}\"")
    );
    let doc: Value = http
        .get(&metadata_url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["resource"], base);
    assert_eq!(doc["bearer_methods_supported"], json!(["header"]));

    // Wrong token: 401 invalid_token. Another scheme counts as no bearer token (RFC 6750: no error code).
    for auth in [
        "Bearer not-the-token-at-all",
        &format!("Bearer {MCP_TOKEN}x"),
        "Basic Y2k6eA==",
    ] {
        let r = post_mcp(&http, &base, &initialize_body())
            .header("authorization", auth)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{auth}");
        let challenge = r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(challenge.contains("resource_metadata="), "{challenge}");
        assert_eq!(
            challenge.contains("error=\"invalid_token\""),
            auth.starts_with("Bearer"),
            "{auth}: {challenge}"
        );
    }

    // The right token: the MCP handshake answers.
    let bearer = format!("Bearer {MCP_TOKEN}");
    let r = post_mcp(&http, &base, &initialize_body())
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body = r.text().await.unwrap();
    assert!(body.contains("\"protocolVersion\""), "{body}");

    // Bad Origin and bad Host: 403 even with a valid token. An allowed browser origin passes.
    let r = post_mcp(&http, &base, &initialize_body())
        .header("authorization", &bearer)
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = post_mcp(&http, &base, &initialize_body())
        .header("authorization", &bearer)
        .header("host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let r = post_mcp(&http, &base, &initialize_body())
        .header("authorization", &bearer)
        .header("origin", "http://localhost:6274")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // Oversize body: 413 (default limit 1 MiB), with and without Content-Length.
    let big = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\",\"pad\":\"{}\"}}",
        "x".repeat(1_100_000)
    );
    let r = http
        .post(format!("{base}/mcp"))
        .header("authorization", &bearer)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(big.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = big
        .as_bytes()
        .chunks(65536)
        .map(|c| Ok(c.to_vec()))
        .collect();
    let r = http
        .post(format!("{base}/mcp"))
        .header("authorization", &bearer)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);

    // /health needs no token.
    assert_eq!(
        http.get(format!("{base}/health"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert!(!srv.logs().contains(MCP_TOKEN), "token leaked into logs");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_jwt_auth() {
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    let secret = "jwt-secret-for-tests-0123456789abcdef";
    let env = [
        ("AUTH_TYPE", "jwt"),
        ("MCP_JWT_SECRET", secret),
        ("MCP_JWT_ISSUER", "https://idp.example"),
        ("MCP_JWT_AUDIENCE", "dockerhub-mcp"),
        ("MCP_JWT_REQUIRED_SCOPES", "hub:read"),
    ];
    let srv = Proc::http(&["--demo"], &env).ready().await;
    let base = srv.base();
    let http = reqwest::Client::new();
    let now = jsonwebtoken::get_current_timestamp();
    let sign = |claims: Value| {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    };
    let good = json!({"sub": "alice", "iss": "https://idp.example", "aud": "dockerhub-mcp", "exp": now + 600,
        "scope": "hub:read"});
    let r = post_mcp(&http, &base, &initialize_body())
        .bearer_auth(sign(good.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let mut wrong_aud = good.clone();
    wrong_aud["aud"] = json!("someone-else");
    let r = post_mcp(&http, &base, &initialize_body())
        .bearer_auth(sign(wrong_aud))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    let mut no_scope = good.clone();
    no_scope["scope"] = json!("other");
    let r = post_mcp(&http, &base, &initialize_body())
        .bearer_auth(sign(no_scope))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let challenge = r.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        challenge.contains("insufficient_scope") && challenge.contains("hub:read"),
        "{challenge}"
    );

    let doc: Value = http
        .get(format!("{base}/.well-known/oauth-protected-resource/mcp"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["resource"], format!("{base}/mcp"));
    assert_eq!(doc["authorization_servers"], json!(["https://idp.example"]));
    assert_eq!(doc["scopes_supported"], json!(["hub:read"]));
}

const POLICY: &str = r#"{
  "version": 1,
  "default": "deny",
  "rules": [
    {"id": "ci-no-repo-writes", "principals": ["static:ci"], "tools": ["hub_repos"],
     "actions": ["create*", "update*", "delete*", "set_*", "assign_*"], "effect": "deny"},
    {"id": "ci-reads", "principals": ["static:ci"], "actions": ["list*", "get*", "whoami"], "effect": "allow"},
    {"id": "ops-everything", "principals": ["static:ops"], "effect": "allow"}
  ]
}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_denial_is_an_error_result_naming_the_rule() {
    let dir = temp_dir("policy");
    let file = dir.join("mcp_policies.json");
    std::fs::write(&file, POLICY).unwrap();
    let mut env = static_env();
    env.push(("EUNOMIA_TYPE", "embedded".into()));
    env.push(("EUNOMIA_POLICY_FILE", file.display().to_string()));
    let srv = Proc::http(&["--demo"], &as_refs(&env)).ready().await;
    let base = srv.base();

    let ci = rmcp_client(&base, MCP_TOKEN).await;
    let r = call(
        &ci,
        "hub_repos",
        json!({"action": "list", "params": {"namespace": "demo"}}),
    )
    .await;
    assert_ne!(r.is_error, Some(true), "{}", result_text(&r));
    let r = call(
        &ci,
        "hub_repos",
        json!({"action": "create", "params": {"namespace": "demo", "name": "denied"}}),
    )
    .await;
    assert_eq!(r.is_error, Some(true));
    let text = result_text(&r);
    assert!(
        text.contains("ci-no-repo-writes"),
        "denial must name the rule: {text}"
    );
    let r = call(&ci, "hub_admin", json!({"action": "rate_limit"})).await;
    assert_eq!(r.is_error, Some(true));
    assert!(
        result_text(&r).contains("no policy rule allows it"),
        "{}",
        result_text(&r)
    );
    ci.cancel().await.ok();

    let ops = rmcp_client(&base, OTHER_TOKEN).await;
    let r = call(&ops, "hub_admin", json!({"action": "rate_limit"})).await;
    assert_ne!(r.is_error, Some(true), "{}", result_text(&r));
    ops.cancel().await.ok();
    std::fs::remove_dir_all(dir).ok();
}

/// The principal reaches the policy in the stateless 2026-07-28 era too (no initialize, per-request `_meta`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_applies_to_stateless_2026_07_28_requests() {
    let dir = temp_dir("policy2026");
    let file = dir.join("mcp_policies.json");
    std::fs::write(&file, POLICY).unwrap();
    let mut env = static_env();
    env.push(("EUNOMIA_TYPE", "embedded".into()));
    env.push(("EUNOMIA_POLICY_FILE", file.display().to_string()));
    let srv = Proc::http(&["--demo"], &as_refs(&env)).ready().await;
    let http = reqwest::Client::new();
    let call = |id: u32, tool: &str, arguments: Value| {
        let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {
            "name": tool, "arguments": arguments, "_meta": {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientInfo": {"name": "stateless-test", "version": "1"},
                "io.modelcontextprotocol/clientCapabilities": {}}}});
        post_mcp(&http, &srv.base(), &body)
            .bearer_auth(MCP_TOKEN)
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", "tools/call")
            .header("mcp-name", tool)
            .send()
    };
    let result = |text: String| -> Value {
        let line = text
            .lines()
            .find_map(|l| l.strip_prefix("data: ").filter(|d| d.contains("\"id\"")))
            .map(str::to_string);
        serde_json::from_str(&line.unwrap_or(text.clone()))
            .unwrap_or_else(|e| panic!("{e}: {text}"))
    };
    let r = call(
        1,
        "hub_repos",
        json!({"action": "create", "params": {"namespace": "demo", "name": "x"}}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let v = result(r.text().await.unwrap());
    assert_eq!(v["result"]["isError"], true, "{v}");
    assert!(
        v["result"]["content"][0]["text"]
            .as_str()
            .unwrap_or_default()
            .contains("ci-no-repo-writes"),
        "{v}"
    );
    let r = call(
        2,
        "hub_repos",
        json!({"action": "list", "params": {"namespace": "demo"}}),
    )
    .await
    .unwrap();
    let v = result(r.text().await.unwrap());
    assert_ne!(v["result"]["isError"], true, "{v}");
    std::fs::remove_dir_all(dir).ok();
}

/// A tiny policy decision point on loopback: allows `list*` and `whoami`, denies the rest with rule `pdp-rule`.
async fn fake_pdp() -> (String, tokio::task::JoinHandle<()>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/decide", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut got = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    let Ok(n) = sock.read(&mut buf).await else {
                        return;
                    };
                    got.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&got).to_string();
                    let complete = text.find("\r\n\r\n").is_some_and(|i| {
                        let len = text
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().to_string())
                            })
                            .and_then(|v| v.parse::<usize>().ok())
                            .unwrap_or(0);
                        got.len() >= i + 4 + len
                    });
                    if complete || n == 0 {
                        break;
                    }
                }
                let text = String::from_utf8_lossy(&got);
                let allow =
                    text.contains(r#""action":"list"#) || text.contains(r#""action":"whoami""#);
                let body = if allow {
                    r#"{"allow":true,"rule":"pdp-reads"}"#
                } else {
                    r#"{"allow":false,"rule":"pdp-rule"}"#
                };
                let resp = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    (url, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_policy_is_asked_and_names_its_rule() {
    let (pdp, task) = fake_pdp().await;
    let mut env = static_env();
    env.push(("EUNOMIA_TYPE", "remote".into()));
    env.push(("EUNOMIA_REMOTE_URL", pdp));
    let srv = Proc::http(&["--demo"], &as_refs(&env)).ready().await;
    let client = rmcp_client(&srv.base(), MCP_TOKEN).await;
    let r = call(
        &client,
        "hub_repos",
        json!({"action": "list", "params": {"namespace": "demo"}}),
    )
    .await;
    assert_ne!(r.is_error, Some(true), "{}", result_text(&r));
    let r = call(
        &client,
        "hub_repos",
        json!({"action": "create", "params": {"namespace": "demo", "name": "x"}}),
    )
    .await;
    assert_eq!(r.is_error, Some(true));
    assert!(result_text(&r).contains("pdp-rule"), "{}", result_text(&r));
    client.cancel().await.ok();
    // The decision point goes away: calls fail closed.
    task.abort();
    let _ = task.await;
    let client = rmcp_client(&srv.base(), MCP_TOKEN).await;
    let r = call(
        &client,
        "hub_repos",
        json!({"action": "list", "params": {"namespace": "demo"}}),
    )
    .await;
    assert_eq!(r.is_error, Some(true));
    assert!(
        result_text(&r).contains("EUNOMIA_REMOTE_URL"),
        "{}",
        result_text(&r)
    );
    client.cancel().await.ok();
}

#[test]
fn refuses_unsafe_or_unsupported_startup() {
    // AUTH_TYPE=none on a public bind.
    let (code, out, err) = run(
        command(
            &[
                "--demo",
                "--transport",
                "streamable-http",
                "--host",
                "0.0.0.0",
                "--port",
                "0",
            ],
            &[],
        ),
        Duration::from_secs(30),
    );
    assert_ne!(code, Some(0), "must refuse to start:\n{out}{err}");
    assert!(
        err.contains("refusing to serve HTTP on 0.0.0.0 without authentication"),
        "{err}"
    );
    assert!(
        err.contains("AUTH_TYPE=static") && err.contains("--allow-unauthenticated"),
        "{err}"
    );

    // The seed's proxy modes are refused with advice.
    let (code, _, err) = run(
        command(
            &["--demo", "--transport", "streamable-http", "--port", "0"],
            &[("AUTH_TYPE", "oidc-proxy")],
        ),
        Duration::from_secs(30),
    );
    assert_ne!(code, Some(0));
    assert!(
        err.contains("AUTH_TYPE=oidc-proxy is not supported") && err.contains("AUTH_TYPE=jwt"),
        "{err}"
    );

    // static without tokens.
    let (code, _, err) = run(
        command(
            &["--demo", "--transport", "streamable-http", "--port", "0"],
            &[("AUTH_TYPE", "static")],
        ),
        Duration::from_secs(30),
    );
    assert_ne!(code, Some(0));
    assert!(err.contains("MCP_AUTH_TOKENS"), "{err}");

    // A broken policy file.
    let dir = temp_dir("badpolicy");
    let file = dir.join("p.json");
    std::fs::write(
        &file,
        r#"{"version": 1, "rules": [{"id": "x", "effect": "perhaps"}]}"#,
    )
    .unwrap();
    let file_s = file.display().to_string();
    let (code, _, err) = run(
        command(
            &["--demo"],
            &[
                ("EUNOMIA_TYPE", "embedded"),
                ("EUNOMIA_POLICY_FILE", &file_s),
            ],
        ),
        Duration::from_secs(30),
    );
    assert_ne!(code, Some(0));
    assert!(err.contains(&file_s) && err.contains("invalid"), "{err}");
    std::fs::remove_dir_all(dir).ok();
}

/// Runs tool calls against a server holding canary secrets (a Hub PAT from the environment and the MCP bearer
/// token), logging at debug level; asserts that no result, HTTP answer or log line shows either canary.
async fn canary_run(calls: Vec<(&'static str, Value)>) {
    use dockerhub_api::demo::credentials;
    let emu = dockerhub_emulator::Emulator::start(dockerhub_emulator::EmulatorConfig::default())
        .await
        .unwrap();
    let mut env = static_env();
    env.push(("DOCKERHUB_URL", emu.base_url()));
    env.push(("DOCKERHUB_USERNAME", credentials::USERNAME.into()));
    env.push(("DOCKERHUB_TOKEN", credentials::PAT.into()));
    env.push(("FASTMCP_LOG_LEVEL", "debug".into()));
    let srv = Proc::http(&[], &as_refs(&env)).ready().await;
    let base = srv.base();
    let client = rmcp_client(&base, MCP_TOKEN).await;
    let mut seen = String::new();
    for (tool, args) in calls {
        let r = call(&client, tool, args).await;
        seen.push_str(&serde_json::to_string(&r).unwrap());
    }
    client.cancel().await.ok();
    let http = reqwest::Client::new();
    let r = post_mcp(&http, &base, &initialize_body())
        .bearer_auth(format!("{MCP_TOKEN}-wrong"))
        .send()
        .await
        .unwrap();
    seen.push_str(&r.text().await.unwrap());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let logs = srv.logs();
    assert!(logs.contains("DEBUG"), "debug logs expected:\n{logs}");
    for canary in [credentials::PAT, MCP_TOKEN] {
        assert!(
            !seen.contains(canary),
            "canary {canary} leaked into a result:\n{seen}"
        );
        let lines: Vec<&str> = logs.lines().filter(|l| l.contains(canary)).collect();
        assert!(
            lines.is_empty(),
            "canary {canary} leaked into the logs:\n{}",
            lines.join("\n")
        );
    }
    drop(srv);
    emu.shutdown().await;
}

/// The configured secrets never show: reads, a list of PATs (whose `token` fields are redacted), a Hub error, an
/// unknown action, and a rejected MCP token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_secrets_never_leak() {
    canary_run(vec![
        ("hub_admin", json!({"action": "whoami"})),
        ("hub_repos", json!({"action": "list", "params": {"namespace": "demo"}})),
        ("hub_auth", json!({"action": "list_pats"})),
        ("hub_repos", json!({"action": "get", "params": {"namespace": "demo", "repository": "does-not-exist"}})),
        ("hub_admin", json!({"action": "nope"})),
    ])
    .await;
}

/// A secret handed to a tool as an argument (`hub_auth.create_token`'s `secret`) is not echoed in the result and
/// not logged, even at debug level.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn canary_secret_in_tool_arguments_is_never_logged() {
    use dockerhub_api::demo::credentials;
    canary_run(vec![
        (
            "hub_auth",
            json!({"action": "create_token", "params": {"identifier": "demo", "secret": credentials::PAT}}),
        ),
        ("hub_admin", json!({"action": "nope", "params": {"secret": credentials::PAT}})),
    ])
    .await;
}

// ---------------------------------------------------------------------------------------------------------------
// (c) Legacy SSE transport with a minimal hand-written client
// ---------------------------------------------------------------------------------------------------------------

/// An in-process `--transport sse` server with static auth, built exactly as `main.rs` builds one
/// (`build_server` + `http::start_http`, which mounts `/sse` and `/messages` behind the security layer).
struct InProcess {
    emu: dockerhub_emulator::EmulatorHandle,
    handle: dockerhub_mcp::http::HttpHandle,
}

impl InProcess {
    async fn sse() -> InProcess {
        let tokens = format!("ci:{MCP_TOKEN},ops:{OTHER_TOKEN}");
        let cfg = dockerhub_mcp::Config::from_args([
            "dockerhub-mcp",
            "--transport",
            "sse",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--auth-type",
            "static",
            "--auth-tokens",
            &tokens,
        ])
        .unwrap();
        let (emu, hub_cfg) = dockerhub_api::demo::start(cfg.hub_config().unwrap())
            .await
            .unwrap();
        let server =
            dockerhub_mcp::build_server(&cfg, dockerhub_api::Hub::new(hub_cfg).unwrap()).unwrap();
        let handle = dockerhub_mcp::http::start_http(&cfg, server, None)
            .await
            .unwrap();
        InProcess { emu, handle }
    }

    fn base(&self) -> String {
        format!("http://{}", self.handle.addr)
    }

    async fn stop(self) {
        self.handle.shutdown().await.ok();
        self.emu.shutdown().await;
    }
}

/// Parses `text/event-stream` into `(event, data)` pairs, skipping comments.
fn sse_events(resp: reqwest::Response) -> impl futures::Stream<Item = (String, String)> {
    use futures::StreamExt;
    futures::stream::unfold(
        (resp.bytes_stream(), String::new()),
        |(mut bytes, mut buf)| async move {
            loop {
                if let Some(idx) = buf.find("\n\n") {
                    let block: String = buf.drain(..idx + 2).collect();
                    let mut kind = "message".to_string();
                    let mut data = Vec::new();
                    for line in block.lines() {
                        if let Some(v) = line.strip_prefix("event:") {
                            kind = v.trim().to_string();
                        } else if let Some(v) = line.strip_prefix("data:") {
                            data.push(v.trim_start().to_string());
                        }
                    }
                    if !data.is_empty() {
                        return Some(((kind, data.join("\n")), (bytes, buf)));
                    }
                    continue;
                }
                match bytes.next().await {
                    Some(Ok(chunk)) => buf.push_str(&String::from_utf8_lossy(&chunk)),
                    _ => return None,
                }
            }
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sse_transport_minimal_client() {
    use futures::StreamExt;
    let srv = InProcess::sse().await;
    let base = srv.base();
    let http = reqwest::Client::new();

    // The same security applies.
    assert_eq!(
        http.get(format!("{base}/sse"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let r = http
        .get(format!("{base}/sse"))
        .bearer_auth(MCP_TOKEN)
        .header("origin", "https://evil.example")
        .send()
        .await;
    assert_eq!(r.unwrap().status(), 403);

    let resp = http
        .get(format!("{base}/sse"))
        .bearer_auth(MCP_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut events = Box::pin(sse_events(resp));
    let (kind, endpoint) = events.next().await.unwrap();
    assert_eq!(kind, "endpoint");
    assert!(endpoint.starts_with("/messages?session_id="), "{endpoint}");
    let url = format!("{base}{endpoint}");
    let post =
        |body: Value, token: &'static str| http.post(&url).bearer_auth(token).json(&body).send();

    let mut init = initialize_body();
    init["params"]["protocolVersion"] = json!("2024-11-05");
    assert_eq!(post(init, MCP_TOKEN).await.unwrap().status(), 202);
    let (kind, data) = events.next().await.unwrap();
    assert_eq!(kind, "message");
    let v: Value = serde_json::from_str(&data).unwrap();
    assert_eq!(v["id"], 1);
    assert_eq!(v["result"]["serverInfo"]["name"], "dockerhub-mcp");
    post(
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        MCP_TOKEN,
    )
    .await
    .unwrap();

    post(
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}),
        MCP_TOKEN,
    )
    .await
    .unwrap();
    let (_, data) = events.next().await.unwrap();
    let v: Value = serde_json::from_str(&data).unwrap();
    assert_eq!(v["id"], 2);
    assert_eq!(
        v["result"]["tools"].as_array().map(Vec::len),
        Some(7),
        "{v}"
    );

    let call = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
        "params": {"name": "hub_repos", "arguments": {"action": "list", "params": {"namespace": "demo"}}}});
    post(call, MCP_TOKEN).await.unwrap();
    let (_, data) = events.next().await.unwrap();
    let v: Value = serde_json::from_str(&data).unwrap();
    assert_eq!(v["id"], 3);
    assert_ne!(v["result"]["isError"], json!(true), "{v}");
    assert!(
        v["result"]["structuredContent"]["data"]["items"].is_array(),
        "{v}"
    );

    // Another principal cannot post into this session; unknown sessions are 404.
    let r = post(
        json!({"jsonrpc": "2.0", "id": 4, "method": "tools/list"}),
        OTHER_TOKEN,
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 403);
    let r = http
        .post(format!("{base}/messages?session_id=nope"))
        .bearer_auth(MCP_TOKEN)
        .json(&json!({}))
        .send()
        .await;
    assert_eq!(r.unwrap().status(), 404);
    drop(events);
    srv.stop().await;
}

// ---------------------------------------------------------------------------------------------------------------
// (b) Real clients
// ---------------------------------------------------------------------------------------------------------------

/// The path in env var `name`, or `None` with a SKIP line (a failure when DOCKERHUB_REQUIRE_REAL_CLIENTS=1).
fn real_client(name: &str, test: &str) -> Option<String> {
    match std::env::var(name) {
        Ok(v) if Path::new(&v).exists() => Some(v),
        _ => {
            let msg = format!(
                "{name} is not set (source servers/mcp/tests/clients/install.sh to install the real MCP clients)"
            );
            if std::env::var("DOCKERHUB_REQUIRE_REAL_CLIENTS").is_ok_and(|v| v == "1") {
                panic!("{test}: {msg}");
            }
            println!("SKIP {test}: {msg}");
            None
        }
    }
}

/// Failure messages that only a server without the suite's fixtures (test_* tools, prompts, resources,
/// logging, completion, x-mcp-header tools) produces. A baselined scenario failing for any other reason fails.
const FIXTURE_ONLY: [&str; 12] = [
    "unknown tool 'test_",
    "diagnostic tool 'test_",
    "json_schema_2020_12_tool",
    "x-mcp-header",
    "prompts/",
    "resources/",
    "logging/setLevel",
    "completion/complete",
    "InputRequiredResult",
    "Prerequisite failed",
    "-32601",
    "Not testable",
];

/// Text in a scenario's record showing that it called a fixture this server does not have.
const FIXTURE_EVIDENCE: [&str; 3] = [
    "unknown tool 'test_",
    "does not list the diagnostic tool",
    "-32601",
];

fn run_conformance(spec: &str) {
    let test = format!("conformance_{spec}");
    let (Some(node), Some(suite)) = (
        real_client("DOCKERHUB_TEST_NODE", &test),
        real_client("DOCKERHUB_TEST_CONFORMANCE", &test),
    ) else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let srv = rt.block_on(Proc::http(&["--demo"], &[]).ready());
    let out = temp_dir(&format!("conformance-{spec}"));
    let baseline = clients_dir().join(format!("conformance-baseline-{spec}.yml"));
    let mut cmd = Command::new(&node);
    cmd.arg(&suite)
        .args([
            "server",
            "--url",
            &format!("{}/mcp", srv.base()),
            "--suite",
            "all",
            "--spec-version",
            spec,
        ])
        .arg("--expected-failures")
        .arg(&baseline)
        .arg("-o")
        .arg(&out);
    let (code, stdout, stderr) = run(cmd, Duration::from_secs(300));
    let summary = stdout
        .split("=== SUMMARY ===")
        .nth(1)
        .unwrap_or(&stdout)
        .to_string();
    println!("conformance {spec}:{summary}");
    assert_eq!(
        code,
        Some(0),
        "conformance {spec} failed beyond the baseline {}:\n{summary}\n{stderr}",
        baseline.display()
    );
    // Every failing or warning check must come from a missing fixture: its message says so, or its scenario
    // called a fixture the server does not have (an unknown `test_*` tool, or an unimplemented method).
    let mut unexpected = Vec::new();
    for entry in std::fs::read_dir(&out).unwrap().flatten() {
        let Ok(text) = std::fs::read_to_string(entry.path().join("checks.json")) else {
            continue;
        };
        let scenario_lacks_fixture = FIXTURE_EVIDENCE.iter().any(|p| text.contains(p));
        let checks: Value = serde_json::from_str(&text).unwrap();
        for c in checks.as_array().into_iter().flatten() {
            if c["status"] == "FAILURE" || c["status"] == "WARNING" {
                let msg = c["errorMessage"].as_str().unwrap_or_default();
                if !scenario_lacks_fixture && !FIXTURE_ONLY.iter().any(|p| msg.contains(p)) {
                    unexpected.push(format!(
                        "{}: {} {msg}",
                        entry.file_name().to_string_lossy(),
                        c["id"]
                    ));
                }
            }
        }
    }
    assert!(
        unexpected.is_empty(),
        "non-fixture conformance failures ({spec}):\n{}",
        unexpected.join("\n")
    );
    drop(srv);
    std::fs::remove_dir_all(out).ok();
}

#[test]
fn conformance_2025_11_25() {
    run_conformance("2025-11-25");
}

#[test]
fn conformance_2026_07_28() {
    run_conformance("2026-07-28");
}

#[test]
fn inspector_cli_strict_stdio_then_http_with_token() {
    let test = "inspector_cli_strict_stdio_then_http_with_token";
    let (Some(node), Some(inspector)) = (
        real_client("DOCKERHUB_TEST_NODE", test),
        real_client("DOCKERHUB_TEST_INSPECTOR", test),
    ) else {
        return;
    };
    let mut cmd = Command::new(&node);
    cmd.arg(&inspector).args([
        "--cli",
        "--strict",
        "--method",
        "tools/list",
        "-e",
        "NO_COLOR=1",
        BIN,
        "--demo",
    ]);
    let (code, stdout, stderr) = run(cmd, Duration::from_secs(120));
    assert_eq!(code, Some(0), "inspector --strict failed:\n{stderr}");
    assert!(stderr.contains("0 errors"), "{stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let names: Vec<&str> = v["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(names.len(), 7, "{names:?}");

    // The same client over streamable HTTP through the auth layer: a tool call with a bearer token.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let env = static_env();
    let srv = rt.block_on(Proc::http(&["--demo"], &as_refs(&env)).ready());
    let url = format!("{}/mcp", srv.base());
    let auth = format!("Authorization: Bearer {MCP_TOKEN}");
    let mut cmd = Command::new(&node);
    cmd.arg(&inspector).args([
        "--cli",
        &url,
        "--transport",
        "http",
        "--header",
        &auth,
        "--method",
        "tools/call",
        "--tool-name",
        "hub_admin",
        "--tool-arg",
        "action=whoami",
    ]);
    let (code, stdout, stderr) = run(cmd, Duration::from_secs(120));
    assert_eq!(
        code,
        Some(0),
        "inspector over HTTP failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("\"username\": \"demo\"") || stdout.contains("\"username\":\"demo\""),
        "{stdout}"
    );
}

/// Runs the Python client script; returns its JSON line.
fn python_client(test: &str, args: &[&str]) -> Option<Value> {
    let python = real_client("DOCKERHUB_TEST_PYTHON", test)?;
    let mut cmd = Command::new(python);
    cmd.arg(clients_dir().join("py_client.py"))
        .args(args)
        .env("NO_COLOR", "1");
    let (code, stdout, stderr) = run(cmd, Duration::from_secs(120));
    assert_eq!(code, Some(0), "python client failed:\n{stdout}\n{stderr}");
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("no JSON: {stdout}"));
    Some(serde_json::from_str(line).unwrap())
}

fn check_python_result(v: &Value) {
    assert_eq!(v["server"], "dockerhub-mcp", "{v}");
    assert_eq!(v["tools"].as_array().map(Vec::len), Some(7), "{v}");
    assert_eq!(v["whoami"]["isError"], false, "{v}");
    assert_eq!(v["whoami"]["structured"]["data"]["username"], "demo", "{v}");
    assert_eq!(v["repos"]["isError"], false, "{v}");
    assert!(v["repos"]["structured"]["data"]["items"].is_array(), "{v}");
}

#[test]
fn python_client_over_stdio() {
    if let Some(v) = python_client("python_client_over_stdio", &["stdio", BIN, "--demo"]) {
        check_python_result(&v);
    }
}

#[test]
fn python_client_over_streamable_http_with_token() {
    if std::env::var("DOCKERHUB_TEST_PYTHON").is_err() {
        real_client(
            "DOCKERHUB_TEST_PYTHON",
            "python_client_over_streamable_http_with_token",
        );
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let env = static_env();
    let srv = rt.block_on(Proc::http(&["--demo"], &as_refs(&env)).ready());
    let url = format!("{}/mcp", srv.base());
    let v = python_client(
        "python_client_over_streamable_http_with_token",
        &["http", &url, MCP_TOKEN],
    )
    .unwrap();
    check_python_result(&v);
}

#[test]
fn python_client_over_sse_with_token() {
    if std::env::var("DOCKERHUB_TEST_PYTHON").is_err() {
        real_client("DOCKERHUB_TEST_PYTHON", "python_client_over_sse_with_token");
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let srv = rt.block_on(InProcess::sse());
    let url = format!("{}/sse", srv.base());
    let v = python_client(
        "python_client_over_sse_with_token",
        &["sse", &url, MCP_TOKEN],
    )
    .unwrap();
    check_python_result(&v);
    rt.block_on(srv.stop());
}

/// `dockerhub-mcp --transport sse` serves the SSE transport (the wiring in `main.rs`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_serves_the_sse_transport() {
    use futures::StreamExt;
    let env = static_env();
    let srv = Proc::http(&["--demo", "--transport", "sse"], &as_refs(&env))
        .ready()
        .await;
    let http = reqwest::Client::new();
    assert_eq!(
        http.get(format!("{}/sse", srv.base()))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let resp = http
        .get(format!("{}/sse", srv.base()))
        .bearer_auth(MCP_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut events = Box::pin(sse_events(resp));
    let (kind, endpoint) = events.next().await.unwrap();
    assert_eq!(kind, "endpoint");
    assert!(endpoint.starts_with("/messages?session_id="), "{endpoint}");
}
