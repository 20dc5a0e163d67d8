//! A2A v1.0 over JSON-RPC in no-LLM mode, the 0.3 names, the card, and bad input.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

mod common;

use common::*;
use serde_json::{Value, json};

#[tokio::test]
async fn health_and_card() {
    let a = start(Opts::default()).await;
    let h: Value = reqwest::get(format!("{}/health", a.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        h,
        json!({"status": "OK", "agent": "dockerhub-agent", "version": env!("CARGO_PKG_VERSION")})
    );
    for (path, iface) in [
        ("/.well-known/agent-card.json", "/"),
        ("/a2a/.well-known/agent-card.json", "/a2a/"),
    ] {
        let r = reqwest::get(format!("{}{path}", a.url)).await.unwrap();
        assert_eq!(r.status(), 200);
        assert!(
            r.headers()["cache-control"]
                .to_str()
                .unwrap()
                .contains("max-age")
        );
        let etag = r.headers()["etag"].to_str().unwrap().to_string();
        let card: Value = r.json().await.unwrap();
        assert_eq!(
            card["supportedInterfaces"][0]["url"],
            format!("{}{iface}", a.url)
        );
        assert_eq!(card["supportedInterfaces"][0]["protocolBinding"], "JSONRPC");
        assert_eq!(card["supportedInterfaces"][0]["protocolVersion"], "1.0");
        assert_eq!(card["capabilities"]["streaming"], true);
        let skills: Vec<&str> = card["skills"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["id"].as_str().unwrap())
            .collect();
        assert_eq!(
            skills,
            [
                "hub_auth",
                "hub_repos",
                "hub_org",
                "hub_teams",
                "hub_audit",
                "hub_scim",
                "hub_admin"
            ]
        );
        let again = reqwest::Client::new()
            .get(format!("{}{path}", a.url))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304);
    }
    a.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn send_get_list_direct_call() {
    let a = start(Opts::default()).await;
    let r = rpc(
        &a.url,
        "SendMessage",
        data_msg(
            "hub_repos",
            "list",
            json!({"namespace": "acme", "page_size": 2}),
        ),
    )
    .await;
    let task = &r["result"]["task"];
    assert_eq!(task["status"]["state"], "TASK_STATE_COMPLETED", "{r}");
    let art = &task["artifacts"][0];
    assert_eq!(art["name"], "hub_repos.list");
    assert_eq!(art["parts"][0]["data"]["status_code"], 200);
    assert_eq!(
        art["parts"][0]["data"]["data"]["results"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert!(
        art["parts"][1]["text"]
            .as_str()
            .unwrap()
            .starts_with("hub_repos.list: HTTP 200, 2 items of 5")
    );
    let id = task["id"].as_str().unwrap();

    let got = rpc(&a.url, "GetTask", json!({"id": id, "historyLength": 1})).await;
    assert_eq!(got["result"]["id"], id);
    assert_eq!(got["result"]["history"].as_array().unwrap().len(), 1);

    let ctx = task["contextId"].as_str().unwrap();
    let list = rpc(&a.url, "ListTasks", json!({"contextId": ctx})).await;
    assert_eq!(list["result"]["totalSize"], 1);
    assert_eq!(list["result"]["tasks"][0]["id"], id);
    assert!(list["result"]["tasks"][0].get("artifacts").is_none());
    let list = rpc(
        &a.url,
        "ListTasks",
        json!({"includeArtifacts": true, "status": "TASK_STATE_COMPLETED"}),
    )
    .await;
    assert!(list["result"]["tasks"][0]["artifacts"].is_array());
    a.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn tool_error_fails_the_task_with_the_reason() {
    let a = start(Opts::default()).await;
    let r = rpc(
        &a.url,
        "SendMessage",
        data_msg(
            "hub_repos",
            "get",
            json!({"namespace": "acme", "repository": "nope"}),
        ),
    )
    .await;
    let task = &r["result"]["task"];
    assert_eq!(task["status"]["state"], "TASK_STATE_FAILED");
    let msg = status_text(task);
    assert!(msg.contains("not found"), "{msg}");
    assert_eq!(task["artifacts"][0]["metadata"]["isError"], true);
    // unknown action lists the valid ones
    let r = rpc(
        &a.url,
        "SendMessage",
        data_msg("hub_repos", "explode", json!({})),
    )
    .await;
    let msg = r["result"]["task"]["status"]["message"]["parts"][0]["text"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        msg.contains("Valid actions") && msg.contains("list_tags"),
        "{msg}"
    );
    a.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn text_without_llm_is_rejected_with_the_tool_list() {
    let a = start(Opts::default()).await;
    let r = rpc(&a.url, "SendMessage", text_msg("list my repositories")).await;
    let task = &r["result"]["task"];
    assert_eq!(task["status"]["state"], "TASK_STATE_REJECTED");
    let text = status_text(task);
    assert!(text.contains("No language model"));
    assert!(text.contains("hub_repos: ") && text.contains("list_tags"));
    assert!(text.contains("hub_admin: ") && text.contains("rate_limit"));
    a.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn streaming_and_subscribe() {
    let a = start(Opts::default()).await;
    let evs = rpc_stream(
        &a.url,
        "SendStreamingMessage",
        data_msg("hub_admin", "whoami", json!({})),
    )
    .await;
    assert!(evs.iter().all(|e| e["jsonrpc"] == "2.0" && e["id"] == 7));
    let results: Vec<&Value> = evs.iter().map(|e| &e["result"]).collect();
    assert!(
        results[0].get("task").is_some(),
        "first event is the task: {}",
        results[0]
    );
    assert_eq!(
        results[1]["statusUpdate"]["status"]["state"],
        "TASK_STATE_WORKING"
    );
    assert!(results.iter().any(
        |r| r["statusUpdate"]["status"]["message"]["parts"][1]["data"]["toolCall"]["name"]
            == "hub_admin"
    ));
    assert!(results.iter().any(
        |r| r["artifactUpdate"]["artifact"]["parts"][0]["data"]["data"]["username"] == "demo"
    ));
    assert_eq!(
        results.last().unwrap()["statusUpdate"]["status"]["state"],
        "TASK_STATE_COMPLETED"
    );
    // subscribing to a finished task is refused
    let id = results[0]["task"]["id"].as_str().unwrap();
    let r = rpc(&a.url, "SubscribeToTask", json!({"id": id})).await;
    assert_eq!(r["error"]["code"], -32004);
    a.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn destructive_action_waits_for_confirmation() {
    let a = start(Opts {
        allow_destructive: true,
        ..Opts::default()
    })
    .await;
    let params = json!({"org_name": "acme", "group_name": "qa"});
    let r = rpc(
        &a.url,
        "SendMessage",
        data_msg("hub_teams", "delete", params.clone()),
    )
    .await;
    let task = &r["result"]["task"];
    assert_eq!(task["status"]["state"], "TASK_STATE_INPUT_REQUIRED", "{r}");
    assert_eq!(
        task["status"]["message"]["parts"][1]["data"]["confirmation"]["action"],
        "delete"
    );
    assert!(
        a.emu.requests().iter().all(|r| r.method != "DELETE"),
        "nothing deleted before the answer"
    );
    let id = task["id"].as_str().unwrap();
    // subscribe shows the waiting task and ends
    let evs = rpc_stream(&a.url, "SubscribeToTask", json!({"id": id})).await;
    assert_eq!(evs.len(), 1);
    // confirm
    let mut msg = text_msg("yes");
    msg["message"]["taskId"] = json!(id);
    let r = rpc(&a.url, "SendMessage", msg).await;
    assert_eq!(
        r["result"]["task"]["status"]["state"], "TASK_STATE_COMPLETED",
        "{r}"
    );
    assert!(a.emu.requests().iter().any(|r| r.method == "DELETE"));
    // confirmed over a stream: the stream runs past the waiting snapshot to the end
    let r = rpc(
        &a.url,
        "SendMessage",
        data_msg(
            "hub_teams",
            "delete",
            json!({"org_name": "acme", "group_name": "developers"}),
        ),
    )
    .await;
    let sid = r["result"]["task"]["id"].as_str().unwrap().to_string();
    let mut msg = text_msg("yes");
    msg["message"]["taskId"] = json!(sid);
    let evs = rpc_stream(&a.url, "SendStreamingMessage", msg).await;
    assert_eq!(
        evs[0]["result"]["task"]["status"]["state"],
        "TASK_STATE_INPUT_REQUIRED"
    );
    assert_eq!(
        evs.last().unwrap()["result"]["statusUpdate"]["status"]["state"],
        "TASK_STATE_COMPLETED",
        "{evs:?}"
    );
    assert_eq!(
        a.emu
            .requests()
            .iter()
            .filter(|r| r.method == "DELETE")
            .count(),
        2
    );
    // a second destructive call, declined
    let r = rpc(
        &a.url,
        "SendMessage",
        data_msg(
            "hub_teams",
            "delete",
            json!({"org_name": "acme", "group_name": "ops"}),
        ),
    )
    .await;
    let id = r["result"]["task"]["id"].as_str().unwrap().to_string();
    let mut msg = json!({"message": {"messageId": "m-no", "role": "ROLE_USER", "taskId": id, "parts": [{"data": {"confirm": false}}]}});
    msg["message"]["taskId"] = json!(id);
    let r = rpc(&a.url, "SendMessage", msg).await;
    assert_eq!(
        r["result"]["task"]["status"]["state"],
        "TASK_STATE_CANCELED"
    );
    assert_eq!(
        a.emu
            .requests()
            .iter()
            .filter(|r| r.method == "DELETE")
            .count(),
        2
    );
    a.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn destructive_action_blocked_without_the_gate() {
    let a = start(Opts::default()).await;
    let r = rpc(
        &a.url,
        "SendMessage",
        data_msg(
            "hub_teams",
            "delete",
            json!({"org_name": "acme", "group_name": "qa"}),
        ),
    )
    .await;
    let task = &r["result"]["task"];
    assert_eq!(task["status"]["state"], "TASK_STATE_FAILED");
    let text = status_text(task);
    assert!(text.contains("DOCKERHUB_ALLOW_DESTRUCTIVE"), "{text}");
    a.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn cancel_waiting_task_and_errors() {
    let a = start(Opts {
        allow_destructive: true,
        ..Opts::default()
    })
    .await;
    let r = rpc(
        &a.url,
        "SendMessage",
        data_msg(
            "hub_teams",
            "delete",
            json!({"org_name": "acme", "group_name": "qa"}),
        ),
    )
    .await;
    let id = r["result"]["task"]["id"].as_str().unwrap().to_string();
    let c = rpc(&a.url, "CancelTask", json!({"id": id})).await;
    assert_eq!(c["result"]["status"]["state"], "TASK_STATE_CANCELED", "{c}");
    let again = rpc(&a.url, "CancelTask", json!({"id": id})).await;
    assert_eq!(again["error"]["code"], -32002);
    let missing = rpc(&a.url, "GetTask", json!({"id": "no-such-task"})).await;
    assert_eq!(missing["error"]["code"], -32001);
    assert_eq!(missing["error"]["data"][0]["reason"], "TASK_NOT_FOUND");
    let missing = rpc(&a.url, "CancelTask", json!({"id": "no-such-task"})).await;
    assert_eq!(missing["error"]["code"], -32001);
    a.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn legacy_03_names_and_shapes() {
    let a = start(Opts::default()).await;
    for path in ["/a2a", "/a2a/"] {
        let body = json!({"jsonrpc": "2.0", "id": "x", "method": "message/send", "params": {"message": {
            "kind": "message", "messageId": "m1", "role": "user",
            "parts": [{"kind": "data", "data": {"tool": "hub_admin", "action": "whoami"}}]}}});
        let r: Value = reqwest::Client::new()
            .post(format!("{}{path}", a.url))
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let t = &r["result"];
        assert_eq!(t["kind"], "task", "{r}");
        assert_eq!(t["status"]["state"], "completed");
        assert_eq!(t["history"][0]["role"], "user");
        assert_eq!(t["artifacts"][0]["parts"][0]["kind"], "data");
        let id = t["id"].as_str().unwrap();
        let g = rpc(&a.url, "tasks/get", json!({"id": id})).await;
        assert_eq!(g["result"]["kind"], "task");
        let c = rpc(&a.url, "tasks/cancel", json!({"id": id})).await;
        assert_eq!(c["error"]["code"], -32002);
    }
    let evs = rpc_stream(
        &a.url,
        "message/stream",
        json!({"message": {"kind": "message", "messageId": "m2", "role": "user",
        "parts": [{"kind": "data", "data": {"tool": "hub_admin", "action": "rate_limit"}}]}}),
    )
    .await;
    assert_eq!(evs[0]["result"]["kind"], "task");
    let last = &evs.last().unwrap()["result"];
    assert_eq!(last["kind"], "status-update");
    assert_eq!(last["final"], true);
    assert_eq!(last["status"]["state"], "completed");
    a.running.shutdown().await.unwrap();
}

async fn raw(url: &str, body: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .post(format!("{url}/"))
        .header("content-type", "application/json")
        .body(body.to_string());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn bad_input() {
    let a = start(Opts {
        args: vec!["--max-body-bytes".into(), "4096".into()],
        ..Opts::default()
    })
    .await;
    let (_, r) = raw(&a.url, "{not json", &[]).await;
    assert_eq!(r["error"]["code"], -32700);
    for body in [
        "[]",
        "{}",
        "{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"GetTask\"}",
        "{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"GetTask\"}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":5}",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"GetTask\",\"params\":[1]}",
    ] {
        let (status, r) = raw(&a.url, body, &[]).await;
        assert_eq!(status, 200);
        assert_eq!(r["error"]["code"], -32600, "{body}: {r}");
    }
    let r = rpc(&a.url, "NoSuchMethod", json!({})).await;
    assert_eq!(r["error"]["code"], -32601);
    for (method, params) in [
        ("GetTask", json!({})),
        ("GetTask", json!({"id": 5})),
        ("SendMessage", json!({"message": {"role": "ROLE_USER"}})),
        (
            "SendMessage",
            json!({"message": {"messageId": "m", "role": "ROLE_USER", "parts": []}}),
        ),
        (
            "SendMessage",
            json!({"message": {"messageId": "m", "role": "ROLE_USER", "parts": [{"data": {"tool": "hub_repos"}}]}}),
        ),
        (
            "SendMessage",
            json!({"message": {"messageId": "m", "role": "ROLE_WIZARD", "parts": [{"text": "x"}]}}),
        ),
        ("ListTasks", json!({"pageSize": 0})),
        ("ListTasks", json!({"pageToken": "zz"})),
    ] {
        let r = rpc(&a.url, method, params.clone()).await;
        assert_eq!(r["error"]["code"], -32602, "{method} {params}: {r}");
    }
    for m in [
        "CreateTaskPushNotificationConfig",
        "GetTaskPushNotificationConfig",
        "ListTaskPushNotificationConfigs",
        "DeleteTaskPushNotificationConfig",
        "tasks/pushNotificationConfig/set",
    ] {
        let r = rpc(&a.url, m, json!({})).await;
        assert_eq!(r["error"]["code"], -32003, "{m}");
    }
    let r = rpc_with(
        &a.url,
        "GetTask",
        json!({"id": "x"}),
        &[("A2A-Version", "9.9")],
    )
    .await;
    assert_eq!(r["error"]["code"], -32009);
    let r = rpc_with(
        &a.url,
        "GetTask",
        json!({"id": "x"}),
        &[("A2A-Version", "1.0")],
    )
    .await;
    assert_eq!(r["error"]["code"], -32001);
    // oversize
    let big = "x".repeat(10_000);
    let (status, r) = raw(
        &a.url,
        &json!({"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": text_msg(&big)})
            .to_string(),
        &[],
    )
    .await;
    assert_eq!(status, 413);
    assert_eq!(r["error"]["code"], -32600);
    // the server still works
    let r = rpc(&a.url, "GetTask", json!({"id": "x"})).await;
    assert_eq!(r["error"]["code"], -32001);
    a.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn api_key_host_and_origin() {
    let a = start(Opts {
        args: vec!["--agent-api-key".into(), "s3cret-key".into()],
        ..Opts::default()
    })
    .await;
    let body =
        json!({"jsonrpc": "2.0", "id": 1, "method": "GetTask", "params": {"id": "x"}}).to_string();
    let (status, _) = raw(&a.url, &body, &[]).await;
    assert_eq!(status, 401);
    let (status, _) = raw(&a.url, &body, &[("x-api-key", "wrong")]).await;
    assert_eq!(status, 401);
    let (status, r) = raw(&a.url, &body, &[("x-api-key", "s3cret-key")]).await;
    assert_eq!(status, 200);
    assert_eq!(r["error"]["code"], -32001);
    let resp = reqwest::Client::new()
        .post(format!("{}/ag-ui", a.url))
        .json(&agui_input("hub_admin whoami"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    // health and the card stay public; the card names the scheme
    assert_eq!(
        reqwest::get(format!("{}/health", a.url))
            .await
            .unwrap()
            .status(),
        200
    );
    let card: Value = reqwest::get(format!("{}/.well-known/agent-card.json", a.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        card["securitySchemes"]["apiKey"]["apiKeySecurityScheme"]["name"],
        "X-API-Key"
    );
    // DNS rebinding and cross-site requests
    let (status, _) = raw(
        &a.url,
        &body,
        &[("x-api-key", "s3cret-key"), ("host", "evil.example")],
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = raw(
        &a.url,
        &body,
        &[
            ("x-api-key", "s3cret-key"),
            ("origin", "https://evil.example"),
        ],
    )
    .await;
    assert_eq!(status, 403);
    let (status, _) = raw(
        &a.url,
        &body,
        &[
            ("x-api-key", "s3cret-key"),
            ("origin", "http://localhost:3000"),
        ],
    )
    .await;
    assert_eq!(status, 200);
    a.running.shutdown().await.unwrap();
}

#[test]
fn refuses_unauthenticated_off_loopback() {
    let s =
        dockerhub_agent::Settings::try_from_iter(["dockerhub-agent", "--host", "0.0.0.0"]).unwrap();
    let err = s.validate().unwrap_err().to_string();
    assert!(err.contains("AGENT_API_KEY"), "{err}");
    let s = dockerhub_agent::Settings::try_from_iter([
        "dockerhub-agent",
        "--host",
        "0.0.0.0",
        "--agent-api-key",
        "k",
    ])
    .unwrap();
    assert!(s.validate().is_ok());
    let s = dockerhub_agent::Settings::try_from_iter([
        "dockerhub-agent",
        "--host",
        "0.0.0.0",
        "--allow-unauthenticated",
    ])
    .unwrap();
    assert!(s.validate().is_ok());
    let s =
        dockerhub_agent::Settings::try_from_iter(["dockerhub-agent", "--provider", "anthropic"])
            .unwrap();
    assert!(s.validate().is_err());
}
