//! AG-UI: event order, tool calls, confirmations, errors, and the web page.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

mod common;

use std::collections::HashSet;
use std::sync::Arc;

use common::*;
use serde_json::{Value, json};

/// Check the AG-UI ordering rules the real client enforces.
fn check_order(evs: &[Value]) {
    let types: Vec<&str> = evs.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types[0], "RUN_STARTED", "{types:?}");
    assert_eq!(evs[0]["protocolVersion"], "1.0");
    let last = *types.last().unwrap();
    assert!(matches!(last, "RUN_FINISHED" | "RUN_ERROR"), "{types:?}");
    assert_eq!(
        types
            .iter()
            .filter(|t| matches!(**t, "RUN_FINISHED" | "RUN_ERROR"))
            .count(),
        1
    );
    let mut open_text: HashSet<String> = HashSet::new();
    let mut open_tool: HashSet<String> = HashSet::new();
    let mut ended_tool: HashSet<String> = HashSet::new();
    for e in evs {
        match e["type"].as_str().unwrap() {
            "TEXT_MESSAGE_START" => {
                assert!(open_text.insert(e["messageId"].as_str().unwrap().into()))
            }
            "TEXT_MESSAGE_CONTENT" => {
                assert!(
                    open_text.contains(e["messageId"].as_str().unwrap()),
                    "content outside a message"
                );
                assert!(!e["delta"].as_str().unwrap().is_empty());
            }
            "TEXT_MESSAGE_END" => assert!(open_text.remove(e["messageId"].as_str().unwrap())),
            "TOOL_CALL_START" => {
                assert!(open_tool.insert(e["toolCallId"].as_str().unwrap().into()))
            }
            "TOOL_CALL_ARGS" => assert!(open_tool.contains(e["toolCallId"].as_str().unwrap())),
            "TOOL_CALL_END" => {
                let id = e["toolCallId"].as_str().unwrap();
                assert!(open_tool.remove(id));
                ended_tool.insert(id.into());
            }
            "TOOL_CALL_RESULT" => {
                assert!(
                    ended_tool.contains(e["toolCallId"].as_str().unwrap()),
                    "result before end"
                );
                assert!(e["messageId"].is_string() && e["content"].is_string());
            }
            _ => {}
        }
    }
    assert!(
        open_text.is_empty() && open_tool.is_empty(),
        "unclosed: {open_text:?} {open_tool:?}"
    );
}

fn types(evs: &[Value]) -> Vec<&str> {
    evs.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn direct_tool_call_in_no_llm_mode() {
    let a = start(Opts::default()).await;
    for cmd in [
        "hub_repos list {\"namespace\":\"acme\",\"page_size\":3}",
        "repos.list namespace=acme page_size=3",
        "{\"tool\":\"hub_repos\",\"action\":\"list\",\"params\":{\"namespace\":\"acme\",\"page_size\":3}}",
    ] {
        let evs = agui(&a.url, agui_input(cmd)).await;
        check_order(&evs);
        let t = types(&evs);
        assert_eq!(
            t,
            [
                "RUN_STARTED",
                "STATE_SNAPSHOT",
                "TOOL_CALL_START",
                "TOOL_CALL_ARGS",
                "TOOL_CALL_END",
                "TOOL_CALL_RESULT",
                "STATE_SNAPSHOT",
                "TEXT_MESSAGE_START",
                "TEXT_MESSAGE_CONTENT",
                "TEXT_MESSAGE_END",
                "RUN_FINISHED"
            ],
            "{cmd}"
        );
        assert_eq!(evs[2]["toolCallName"], "hub_repos");
        let args: Value = serde_json::from_str(evs[3]["delta"].as_str().unwrap()).unwrap();
        assert_eq!(
            args,
            json!({"action": "list", "params": {"namespace": "acme", "page_size": 3}})
        );
        let result: Value = serde_json::from_str(evs[5]["content"].as_str().unwrap()).unwrap();
        assert_eq!(result["data"]["results"].as_array().unwrap().len(), 3);
        assert!(evs[6]["snapshot"]["rateLimit"]["limit"].is_u64());
        assert!(
            evs[8]["delta"]
                .as_str()
                .unwrap()
                .starts_with("hub_repos.list: HTTP 200")
        );
    }
    a.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn text_without_llm_lists_the_tools() {
    let a = start(Opts::default()).await;
    let evs = agui(&a.url, agui_input("what can you do?")).await;
    check_order(&evs);
    assert_eq!(types(&evs).last().unwrap(), &"RUN_FINISHED");
    let text = evs
        .iter()
        .find(|e| e["type"] == "TEXT_MESSAGE_CONTENT")
        .unwrap()["delta"]
        .as_str()
        .unwrap();
    assert!(text.contains("hub_teams: "));
    a.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn tool_error_is_a_run_error() {
    let a = start(Opts::default()).await;
    let evs = agui(
        &a.url,
        agui_input("hub_repos get namespace=acme repository=ghost"),
    )
    .await;
    check_order(&evs);
    let last = evs.last().unwrap();
    assert_eq!(last["type"], "RUN_ERROR");
    assert!(last["message"].as_str().unwrap().contains("not found"));
    assert!(types(&evs).contains(&"TOOL_CALL_RESULT"));
    // no user message at all
    let evs = agui(
        &a.url,
        json!({"threadId": "t", "runId": "r", "messages": []}),
    )
    .await;
    check_order(&evs);
    assert_eq!(evs.last().unwrap()["code"], "NO_INPUT");
    // malformed body
    let resp = reqwest::Client::new()
        .post(format!("{}/ag-ui", a.url))
        .body("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    a.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn llm_conversation_streams_text_and_tool_calls() {
    let script: Script = Arc::new(|m: &[Value]| {
        if after_tool(m) {
            Turn::Text("You are demo, and acme is yours.".into())
        } else {
            Turn::Tools(vec![("hub_admin".into(), json!({"action": "whoami"}))])
        }
    });
    let llm = fake_llm(script).await;
    let a = start(Opts {
        llm: Some((llm.url.clone(), true)),
        ..Opts::default()
    })
    .await;
    let mut input = agui_input("who am I?");
    // earlier turns are passed on to the model
    input["messages"] = json!([
        {"id": "u0", "role": "user", "content": "hello"},
        {"id": "a0", "role": "assistant", "content": "Hi! How can I help?"},
        {"id": "u1", "role": "user", "content": "who am I?"}
    ]);
    let evs = agui(&a.url, input).await;
    check_order(&evs);
    let t = types(&evs);
    let start = t.iter().position(|x| *x == "TOOL_CALL_START").unwrap();
    let text = t.iter().position(|x| *x == "TEXT_MESSAGE_START").unwrap();
    assert!(start < text);
    assert!(
        t.iter().filter(|x| **x == "TEXT_MESSAGE_CONTENT").count() > 1,
        "streamed in chunks"
    );
    let full: String = evs
        .iter()
        .filter(|e| e["type"] == "TEXT_MESSAGE_CONTENT")
        .map(|e| e["delta"].as_str().unwrap())
        .collect();
    assert_eq!(full, "You are demo, and acme is yours.");
    assert_eq!(*t.last().unwrap(), "RUN_FINISHED");
    let first = llm.requests.lock().unwrap()[0].clone();
    let roles: Vec<&str> = first["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["system", "user", "assistant", "user"]);
    a.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn confirmation_step_for_destructive_actions() {
    let a = start(Opts {
        allow_destructive: true,
        ..Opts::default()
    })
    .await;
    let evs = agui(
        &a.url,
        agui_input("hub_teams delete org_name=acme group_name=qa"),
    )
    .await;
    check_order(&evs);
    let custom = evs.iter().find(|e| e["type"] == "CUSTOM").unwrap();
    assert_eq!(custom["name"], "confirmation_required");
    assert_eq!(custom["value"]["action"], "delete");
    assert!(!types(&evs).contains(&"TOOL_CALL_START"));
    assert!(a.emu.requests().iter().all(|r| r.method != "DELETE"));
    let id = custom["value"]["id"].as_str().unwrap();
    let mut confirm = agui_input("hub_teams delete org_name=acme group_name=qa");
    confirm["forwardedProps"] = json!({"confirm": {"id": id, "approved": true}});
    let evs = agui(&a.url, confirm.clone()).await;
    check_order(&evs);
    assert!(types(&evs).contains(&"TOOL_CALL_RESULT"));
    assert_eq!(evs.last().unwrap()["type"], "RUN_FINISHED");
    assert_eq!(
        a.emu
            .requests()
            .iter()
            .filter(|r| r.method == "DELETE")
            .count(),
        1
    );
    // the confirmation is single-use
    let evs = agui(&a.url, confirm).await;
    assert_eq!(evs.last().unwrap()["code"], "UNKNOWN_CONFIRMATION");
    a.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn web_ui_only_with_the_flag() {
    let a = start(Opts::default()).await;
    let r = reqwest::get(format!("{}/", a.url)).await.unwrap();
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    a.running.shutdown().await.unwrap();
    let a = start(Opts {
        args: vec!["--web".into()],
        ..Opts::default()
    })
    .await;
    let r = reqwest::get(format!("{}/", a.url)).await.unwrap();
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = r.text().await.unwrap();
    assert!(html.contains("/ag-ui"));
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no external assets"
    );
    a.running.shutdown().await.unwrap();
}
