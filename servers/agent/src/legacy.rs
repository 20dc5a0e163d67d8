//! A2A 0.3 compatibility: the method names the original used
//! (`message/send`, `message/stream`, `tasks/get`, `tasks/cancel`) and their
//! JSON shapes (`kind` discriminators, lower-case states and roles).

use serde_json::{Map, Value, json};

/// The v1.0 method a 0.3 method name maps to.
pub fn v1_method(method: &str) -> Option<&'static str> {
    Some(match method {
        "message/send" => "SendMessage",
        "message/stream" => "SendStreamingMessage",
        "tasks/get" => "GetTask",
        "tasks/list" => "ListTasks",
        "tasks/cancel" => "CancelTask",
        "tasks/resubscribe" => "SubscribeToTask",
        "tasks/pushNotificationConfig/set" => "CreateTaskPushNotificationConfig",
        "tasks/pushNotificationConfig/get" => "GetTaskPushNotificationConfig",
        "tasks/pushNotificationConfig/list" => "ListTaskPushNotificationConfigs",
        "tasks/pushNotificationConfig/delete" => "DeleteTaskPushNotificationConfig",
        "agent/getAuthenticatedExtendedCard" => "GetExtendedAgentCard",
        _ => return None,
    })
}

/// Convert 0.3 request params to the v1.0 shape.
pub fn params_from_v03(method: &str, params: Value) -> Value {
    let Value::Object(mut p) = params else {
        return params;
    };
    if matches!(method, "SendMessage" | "SendStreamingMessage") {
        if let Some(m) = p.remove("message") {
            p.insert("message".into(), message_from_v03(m));
        }
        if let Some(Value::Object(cfg)) = p.get_mut("configuration") {
            if let Some(Value::Bool(blocking)) = cfg.remove("blocking") {
                cfg.insert("returnImmediately".into(), Value::Bool(!blocking));
            }
            cfg.remove("pushNotificationConfig");
        }
    }
    Value::Object(p)
}

fn message_from_v03(m: Value) -> Value {
    let Value::Object(mut m) = m else { return m };
    m.remove("kind");
    if let Some(Value::String(role)) = m.get("role") {
        let r = match role.as_str() {
            "user" => "ROLE_USER",
            "agent" => "ROLE_AGENT",
            other => other,
        }
        .to_string();
        m.insert("role".into(), Value::String(r));
    }
    if let Some(Value::Array(parts)) = m.remove("parts") {
        let parts = parts.into_iter().map(part_from_v03).collect();
        m.insert("parts".into(), Value::Array(parts));
    }
    Value::Object(m)
}

fn part_from_v03(p: Value) -> Value {
    let Value::Object(mut p) = p else { return p };
    let kind = p.remove("kind");
    if kind.as_ref().and_then(Value::as_str) == Some("file") || p.contains_key("file") {
        let mut out = Map::new();
        if let Some(Value::Object(f)) = p.remove("file") {
            if let Some(uri) = f.get("uri") {
                out.insert("url".into(), uri.clone());
            }
            if let Some(b) = f.get("bytes") {
                out.insert("raw".into(), b.clone());
            }
            if let Some(mt) = f.get("mimeType") {
                out.insert("mediaType".into(), mt.clone());
            }
            if let Some(n) = f.get("name") {
                out.insert("filename".into(), n.clone());
            }
        }
        if let Some(md) = p.remove("metadata") {
            out.insert("metadata".into(), md);
        }
        return Value::Object(out);
    }
    Value::Object(p)
}

/// The 0.3 name of a v1.0 task state.
pub fn state_v03(state: &str) -> String {
    state
        .strip_prefix("TASK_STATE_")
        .unwrap_or(state)
        .to_ascii_lowercase()
        .replace('_', "-")
}

fn part_to_v03(p: &Value) -> Value {
    let Value::Object(p) = p else {
        return p.clone();
    };
    let mut out = Map::new();
    if let Some(t) = p.get("text") {
        out.insert("kind".into(), json!("text"));
        out.insert("text".into(), t.clone());
    } else if let Some(d) = p.get("data") {
        out.insert("kind".into(), json!("data"));
        out.insert("data".into(), d.clone());
    } else {
        let mut f = Map::new();
        if let Some(u) = p.get("url") {
            f.insert("uri".into(), u.clone());
        }
        if let Some(r) = p.get("raw") {
            f.insert("bytes".into(), r.clone());
        }
        if let Some(m) = p.get("mediaType") {
            f.insert("mimeType".into(), m.clone());
        }
        if let Some(n) = p.get("filename") {
            f.insert("name".into(), n.clone());
        }
        out.insert("kind".into(), json!("file"));
        out.insert("file".into(), Value::Object(f));
    }
    if let Some(md) = p.get("metadata") {
        out.insert("metadata".into(), md.clone());
    }
    Value::Object(out)
}

fn parts_to_v03(o: &mut Map<String, Value>) {
    if let Some(Value::Array(parts)) = o.get("parts") {
        let parts = parts.iter().map(part_to_v03).collect();
        o.insert("parts".into(), Value::Array(parts));
    }
}

/// A v1.0 message in the 0.3 shape.
pub fn message_to_v03(m: &Value) -> Value {
    let mut m = m.as_object().cloned().unwrap_or_default();
    m.insert("kind".into(), json!("message"));
    if let Some(Value::String(r)) = m.get("role") {
        let r = match r.as_str() {
            "ROLE_USER" => "user",
            _ => "agent",
        };
        m.insert("role".into(), json!(r));
    }
    parts_to_v03(&mut m);
    Value::Object(m)
}

fn status_to_v03(s: &Value) -> Value {
    let mut s = s.as_object().cloned().unwrap_or_default();
    if let Some(Value::String(st)) = s.get("state") {
        let st = state_v03(st);
        s.insert("state".into(), Value::String(st));
    }
    if let Some(m) = s.get("message") {
        let m = message_to_v03(m);
        s.insert("message".into(), m);
    }
    Value::Object(s)
}

fn artifact_to_v03(a: &Value) -> Value {
    let mut a = a.as_object().cloned().unwrap_or_default();
    parts_to_v03(&mut a);
    Value::Object(a)
}

/// A v1.0 task in the 0.3 shape.
pub fn task_to_v03(t: &Value) -> Value {
    let mut t = t.as_object().cloned().unwrap_or_default();
    t.insert("kind".into(), json!("task"));
    if let Some(s) = t.get("status") {
        let s = status_to_v03(s);
        t.insert("status".into(), s);
    }
    if let Some(Value::Array(h)) = t.get("history") {
        let h = h.iter().map(message_to_v03).collect();
        t.insert("history".into(), Value::Array(h));
    }
    if let Some(Value::Array(a)) = t.get("artifacts") {
        let a = a.iter().map(artifact_to_v03).collect();
        t.insert("artifacts".into(), Value::Array(a));
    }
    Value::Object(t)
}

/// A v1.0 `StreamResponse` (`{task}`, `{message}`, `{statusUpdate}`,
/// `{artifactUpdate}`) as a 0.3 event object.
pub fn stream_to_v03(ev: &Value) -> Value {
    if let Some(t) = ev.get("task") {
        return task_to_v03(t);
    }
    if let Some(m) = ev.get("message") {
        return message_to_v03(m);
    }
    if let Some(s) = ev.get("statusUpdate") {
        let mut s = s.as_object().cloned().unwrap_or_default();
        let state = s
            .get("status")
            .and_then(|st| st.get("state"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let fin = matches!(
            state.as_str(),
            "TASK_STATE_COMPLETED"
                | "TASK_STATE_FAILED"
                | "TASK_STATE_CANCELED"
                | "TASK_STATE_REJECTED"
                | "TASK_STATE_INPUT_REQUIRED"
                | "TASK_STATE_AUTH_REQUIRED"
        );
        if let Some(st) = s.get("status") {
            let st = status_to_v03(st);
            s.insert("status".into(), st);
        }
        s.insert("kind".into(), json!("status-update"));
        s.insert("final".into(), json!(fin));
        return Value::Object(s);
    }
    if let Some(a) = ev.get("artifactUpdate") {
        let mut a = a.as_object().cloned().unwrap_or_default();
        if let Some(art) = a.get("artifact") {
            let art = artifact_to_v03(art);
            a.insert("artifact".into(), art);
        }
        a.insert("kind".into(), json!("artifact-update"));
        return Value::Object(a);
    }
    ev.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_round_trip() {
        let v03 = json!({"kind": "message", "messageId": "m", "role": "user", "parts": [
            {"kind": "text", "text": "hi"},
            {"kind": "data", "data": {"a": 1}},
            {"kind": "file", "file": {"uri": "https://x/y", "mimeType": "text/plain", "name": "y"}}]});
        let p = params_from_v03(
            "SendMessage",
            json!({"message": v03, "configuration": {"blocking": false}}),
        );
        assert_eq!(p["message"]["role"], "ROLE_USER");
        assert_eq!(p["message"]["parts"][0], json!({"text": "hi"}));
        assert_eq!(
            p["message"]["parts"][2],
            json!({"url": "https://x/y", "mediaType": "text/plain", "filename": "y"})
        );
        assert_eq!(p["configuration"]["returnImmediately"], true);
        let back = message_to_v03(&p["message"]);
        assert_eq!(back["role"], "user");
        assert_eq!(back["parts"][2]["file"]["uri"], "https://x/y");
    }

    #[test]
    fn states_and_events() {
        assert_eq!(state_v03("TASK_STATE_INPUT_REQUIRED"), "input-required");
        let ev = stream_to_v03(&json!({"statusUpdate": {"taskId": "t", "contextId": "c",
            "status": {"state": "TASK_STATE_WORKING"}}}));
        assert_eq!(ev["kind"], "status-update");
        assert_eq!(ev["final"], false);
        assert_eq!(ev["status"]["state"], "working");
        assert_eq!(v1_method("tasks/cancel"), Some("CancelTask"));
        assert_eq!(v1_method("CancelTask"), None);
    }
}
