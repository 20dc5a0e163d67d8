//! Full agent loops against the scripted fake model, streaming and not.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use dockerhub_agent::tools::{InProcessBackend, ToolBackend, ToolOutcome, ToolSpec};
use futures::future::BoxFuture;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

fn list_then_report() -> Script {
    Arc::new(|m: &[Value]| {
        if after_tool(m) {
            let data: Value = serde_json::from_str(&last_tool_content(m)).unwrap();
            let n = data["data"]["count"].as_u64().unwrap();
            Turn::Text(format!("acme has {n} repositories."))
        } else {
            Turn::Tools(vec![(
                "hub_repos".into(),
                json!({"action": "list", "params": {"namespace": "acme"}}),
            )])
        }
    })
}

async fn success_loop(stream: bool) {
    let llm = fake_llm(list_then_report()).await;
    let a = start(Opts {
        llm: Some((llm.url.clone(), stream)),
        ..Opts::default()
    })
    .await;
    let r = rpc(
        &a.url,
        "SendMessage",
        text_msg("How many repositories does acme have?"),
    )
    .await;
    let task = &r["result"]["task"];
    assert_eq!(task["status"]["state"], "TASK_STATE_COMPLETED", "{r}");
    assert_eq!(
        task["status"]["message"]["parts"][0]["text"],
        "acme has 5 repositories."
    );
    let arts = task["artifacts"].as_array().unwrap();
    assert!(
        arts.iter()
            .any(|x| x["name"] == "hub_repos.list" && x["parts"][0]["data"]["status_code"] == 200)
    );
    assert!(
        arts.iter()
            .any(|x| x["name"] == "answer" && x["parts"][0]["text"] == "acme has 5 repositories.")
    );
    let reqs = llm.requests.lock().unwrap().clone();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0]["messages"][0]["role"], "system");
    assert_eq!(reqs[0]["tools"].as_array().unwrap().len(), 7);
    assert_eq!(reqs[0]["tools"][1]["function"]["name"], "hub_repos");
    assert_eq!(reqs[0]["stream"].as_bool().unwrap_or(false), stream);
    for r in &reqs {
        // Streamed turns ask for the usage chunk; `stream_options` is invalid otherwise.
        let want = if stream {
            json!({"include_usage": true})
        } else {
            Value::Null
        };
        assert_eq!(r["stream_options"], want);
    }
    let second = reqs[1]["messages"].as_array().unwrap();
    assert_eq!(second[2]["role"], "assistant");
    assert_eq!(second[2]["tool_calls"][0]["function"]["name"], "hub_repos");
    assert_eq!(second[3]["role"], "tool");
    assert_eq!(second[3]["tool_call_id"], second[2]["tool_calls"][0]["id"]);
    a.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn successful_tool_loop_streaming() {
    success_loop(true).await;
}

#[tokio::test]
async fn successful_tool_loop_non_streaming() {
    success_loop(false).await;
}

/// One streamed "count acme repos" task against a fake model answering
/// `stream_options` as `mode`; it must complete. Returns the model requests.
async fn count_repos_streamed(mode: StreamOptions) -> Vec<Value> {
    let llm = fake_llm_with(list_then_report(), mode).await;
    let a = start(Opts {
        llm: Some((llm.url.clone(), true)),
        ..Opts::default()
    })
    .await;
    let r = rpc(&a.url, "SendMessage", text_msg("count acme repos")).await;
    let task = &r["result"]["task"];
    assert_eq!(task["status"]["state"], "TASK_STATE_COMPLETED", "{r}");
    assert_eq!(status_text(task), "acme has 5 repositories.");
    a.running.shutdown().await.unwrap();
    llm.requests.lock().unwrap().clone()
}

/// A streaming endpoint that rejects `stream_options` (OpenAI-shaped and
/// vLLM-shaped 400s): the turn is retried without it, later turns do not ask.
#[tokio::test]
async fn streaming_survives_an_endpoint_rejecting_stream_options() {
    for wrapped in [true, false] {
        let reqs = count_repos_streamed(StreamOptions::Reject { wrapped }).await;
        let opts: Vec<&Value> = reqs.iter().map(|r| &r["stream_options"]).collect();
        assert_eq!(reqs.len(), 3, "rejected, retried, next turn: {opts:?}");
        assert_eq!(reqs[0]["stream_options"]["include_usage"], true);
        assert!(reqs[1].get("stream_options").is_none(), "{opts:?}");
        assert_eq!(reqs[1]["messages"], reqs[0]["messages"], "the same turn");
        assert_eq!(reqs[1]["stream"], true);
        assert!(reqs[2].get("stream_options").is_none(), "not asked again");
    }
}

/// A streaming endpoint that ignores `stream_options` (no usage chunk).
#[tokio::test]
async fn streaming_without_a_usage_chunk() {
    let reqs = count_repos_streamed(StreamOptions::Ignore).await;
    assert_eq!(reqs.len(), 2);
    assert!(
        reqs.iter()
            .all(|r| r["stream_options"]["include_usage"] == true)
    );
}

#[tokio::test]
async fn streamed_events_cover_every_step() {
    let llm = fake_llm(list_then_report()).await;
    let a = start(Opts {
        llm: Some((llm.url.clone(), true)),
        ..Opts::default()
    })
    .await;
    let evs = rpc_stream(&a.url, "SendStreamingMessage", text_msg("count acme repos")).await;
    let kinds: Vec<String> = evs
        .iter()
        .map(|e| {
            let r = &e["result"];
            if r.get("task").is_some() {
                "task".into()
            } else if let Some(s) = r.get("statusUpdate") {
                s["status"]["state"]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("TASK_STATE_")
                    .to_string()
            } else {
                format!(
                    "artifact:{}",
                    r["artifactUpdate"]["artifact"]["name"].as_str().unwrap()
                )
            }
        })
        .collect();
    assert_eq!(kinds[0], "task");
    assert_eq!(kinds[1], "WORKING");
    assert_eq!(kinds[2], "WORKING", "tool call status: {kinds:?}");
    assert_eq!(kinds[3], "artifact:hub_repos.list");
    assert!(
        kinds[4..kinds.len() - 1]
            .iter()
            .all(|k| k == "artifact:answer"),
        "{kinds:?}"
    );
    assert!(kinds.len() >= 7, "text streamed in chunks: {kinds:?}");
    assert_eq!(kinds.last().unwrap(), "COMPLETED");
    // appended chunks
    let answer: Vec<&Value> = evs
        .iter()
        .filter_map(|e| e["result"].get("artifactUpdate"))
        .filter(|a| a["artifact"]["name"] == "answer")
        .collect();
    assert_eq!(answer[0]["append"], false);
    assert_eq!(answer[1]["append"], true);
    a.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn tool_error_is_reported_by_the_model() {
    let script: Script = Arc::new(|m: &[Value]| {
        if after_tool(m) {
            let err: Value = serde_json::from_str(&last_tool_content(m)).unwrap();
            Turn::Text(format!(
                "That failed: {}",
                err["error"]["message"].as_str().unwrap()
            ))
        } else {
            Turn::Tools(vec![(
                "hub_repos".into(),
                json!({"action": "get", "params": {"namespace": "acme", "repository": "ghost"}}),
            )])
        }
    });
    for stream in [true, false] {
        let llm = fake_llm(script.clone()).await;
        let a = start(Opts {
            llm: Some((llm.url.clone(), stream)),
            ..Opts::default()
        })
        .await;
        let r = rpc(&a.url, "SendMessage", text_msg("show acme/ghost")).await;
        let task = &r["result"]["task"];
        assert_eq!(task["status"]["state"], "TASK_STATE_COMPLETED", "{r}");
        let text = status_text(task);
        assert!(text.starts_with("That failed: not found"), "{text}");
        let tool_art = task["artifacts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == "hub_repos.get")
            .unwrap()
            .clone();
        assert_eq!(tool_art["metadata"]["isError"], true);
        assert_eq!(tool_art["parts"][0]["data"]["error"]["type"], "NotFound");
        a.running.shutdown().await.unwrap();
    }
}

#[tokio::test]
async fn turn_cap_stops_the_loop() {
    let script: Script = Arc::new(|_m: &[Value]| {
        Turn::Tools(vec![("hub_admin".into(), json!({"action": "rate_limit"}))])
    });
    let llm = fake_llm(script).await;
    let a = start(Opts {
        llm: Some((llm.url.clone(), true)),
        args: vec!["--max-turns".into(), "3".into()],
        ..Opts::default()
    })
    .await;
    let r = rpc(&a.url, "SendMessage", text_msg("loop forever")).await;
    let task = &r["result"]["task"];
    assert_eq!(task["status"]["state"], "TASK_STATE_FAILED");
    let text = status_text(task);
    assert!(
        text.contains("3 turns") && text.contains("MAX_TURNS"),
        "{text}"
    );
    assert_eq!(llm.requests.lock().unwrap().len(), 3);
    assert_eq!(task["artifacts"].as_array().unwrap().len(), 3);
    a.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn model_failure_fails_the_task() {
    let llm = fake_llm(Arc::new(|_m: &[Value]| Turn::Fail)).await;
    let a = start(Opts {
        llm: Some((llm.url.clone(), false)),
        ..Opts::default()
    })
    .await;
    let r = rpc(&a.url, "SendMessage", text_msg("hi")).await;
    assert_eq!(r["result"]["task"]["status"]["state"], "TASK_STATE_FAILED");
    let text = r["result"]["task"]["status"]["message"]["parts"][0]["text"]
        .as_str()
        .unwrap();
    assert!(text.contains("language model error"), "{text}");
    a.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn destructive_call_from_the_model_waits_for_confirmation() {
    let script: Script = Arc::new(|m: &[Value]| {
        if after_tool(m) {
            Turn::Text(format!(
                "Result: {}",
                &last_tool_content(m)[..40.min(last_tool_content(m).len())]
            ))
        } else {
            Turn::Tools(vec![(
                "hub_teams".into(),
                json!({"action": "delete", "params": {"org_name": "acme", "group_name": "qa"}}),
            )])
        }
    });
    for approve in [true, false] {
        let llm = fake_llm(script.clone()).await;
        let a = start(Opts {
            llm: Some((llm.url.clone(), true)),
            allow_destructive: true,
            ..Opts::default()
        })
        .await;
        let r = rpc(&a.url, "SendMessage", text_msg("delete the qa team")).await;
        let task = &r["result"]["task"];
        assert_eq!(task["status"]["state"], "TASK_STATE_INPUT_REQUIRED", "{r}");
        assert!(status_text(task).contains("hub_teams.delete is destructive"));
        assert!(a.emu.requests().iter().all(|r| r.method != "DELETE"));
        let id = task["id"].as_str().unwrap();
        let mut msg = text_msg(if approve { "yes" } else { "no" });
        msg["message"]["taskId"] = json!(id);
        let r = rpc(&a.url, "SendMessage", msg).await;
        let task = &r["result"]["task"];
        assert_eq!(task["status"]["state"], "TASK_STATE_COMPLETED", "{r}");
        let deletes = a
            .emu
            .requests()
            .iter()
            .filter(|r| r.method == "DELETE")
            .count();
        assert_eq!(deletes, usize::from(approve));
        let reqs = llm.requests.lock().unwrap().clone();
        assert_eq!(reqs.len(), 2, "the model continues after the answer");
        let tool_msg = reqs[1]["messages"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .clone();
        if approve {
            assert!(
                tool_msg["content"]
                    .as_str()
                    .unwrap()
                    .contains("status_code")
            );
        } else {
            assert!(tool_msg["content"].as_str().unwrap().contains("declined"));
        }
        a.running.shutdown().await.unwrap();
    }
}

/// A backend whose `hub_repos` calls hang until cancelled.
struct Hanging {
    inner: InProcessBackend,
    started: Arc<AtomicBool>,
    aborted: Arc<AtomicUsize>,
}

impl ToolBackend for Hanging {
    fn tools(&self) -> BoxFuture<'_, Vec<ToolSpec>> {
        self.inner.tools()
    }
    fn call<'a>(
        &'a self,
        tool: &'a str,
        arguments: Value,
        cancel: CancellationToken,
    ) -> BoxFuture<'a, ToolOutcome> {
        Box::pin(async move {
            if tool != "hub_repos" {
                return self.inner.call(tool, arguments, cancel).await;
            }
            self.started.store(true, Ordering::SeqCst);
            tokio::select! {
                () = cancel.cancelled() => { self.aborted.fetch_add(1, Ordering::SeqCst); ToolOutcome::cancelled() }
                () = tokio::time::sleep(Duration::from_secs(60)) => ToolOutcome::error("Timeout", "hung"),
            }
        })
    }
    fn needs_confirmation(&self, tool: &str, action: &str) -> bool {
        self.inner.needs_confirmation(tool, action)
    }
    fn rate_limit(&self) -> Option<Value> {
        None
    }
    fn describe(&self) -> String {
        "hanging".into()
    }
}

#[tokio::test]
async fn cancel_mid_loop_aborts_the_tool_call() {
    let llm = fake_llm(list_then_report()).await;
    let (emu, cfg) = dockerhub_api::demo::start(dockerhub_api::Config::default())
        .await
        .unwrap();
    let started = Arc::new(AtomicBool::new(false));
    let aborted = Arc::new(AtomicUsize::new(0));
    let backend = Arc::new(Hanging {
        inner: InProcessBackend::new(dockerhub_api::Hub::new(cfg).unwrap()),
        started: started.clone(),
        aborted: aborted.clone(),
    });
    let a = start(Opts {
        llm: Some((llm.url.clone(), true)),
        backend: Some(backend),
        ..Opts::default()
    })
    .await;
    let mut msg = text_msg("count acme repos");
    msg["configuration"] = json!({"returnImmediately": true});
    let r = rpc(&a.url, "SendMessage", msg).await;
    let id = r["result"]["task"]["id"].as_str().unwrap().to_string();
    for _ in 0..200 {
        if started.load(Ordering::SeqCst) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(started.load(Ordering::SeqCst), "the tool call started");
    let c = rpc(&a.url, "CancelTask", json!({"id": id})).await;
    assert_eq!(c["result"]["status"]["state"], "TASK_STATE_CANCELED", "{c}");
    for _ in 0..200 {
        if aborted.load(Ordering::SeqCst) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        aborted.load(Ordering::SeqCst),
        1,
        "the in-flight tool call was aborted"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        llm.requests.lock().unwrap().len(),
        1,
        "no model turn after the cancel"
    );
    let t = wait_state(&a.url, &id, "TASK_STATE_CANCELED").await;
    assert_eq!(t["status"]["state"], "TASK_STATE_CANCELED");
    drop(emu);
    a.running.shutdown().await.unwrap();
}

#[tokio::test]
async fn cancel_during_a_slow_model_turn() {
    let llm = fake_llm(Arc::new(|_m: &[Value]| {
        Turn::Slow(Duration::from_secs(30), "late".into())
    }))
    .await;
    let a = start(Opts {
        llm: Some((llm.url.clone(), true)),
        ..Opts::default()
    })
    .await;
    let mut msg = text_msg("hi");
    msg["configuration"] = json!({"returnImmediately": true});
    let r = rpc(&a.url, "SendMessage", msg).await;
    let id = r["result"]["task"]["id"].as_str().unwrap().to_string();
    for _ in 0..200 {
        if !llm.requests.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let started = std::time::Instant::now();
    let c = rpc(&a.url, "CancelTask", json!({"id": id})).await;
    assert_eq!(c["result"]["status"]["state"], "TASK_STATE_CANCELED");
    assert!(started.elapsed() < Duration::from_secs(5));
    a.running.shutdown().await.unwrap();
}
