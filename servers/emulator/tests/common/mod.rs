//! Helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use dockerhub_emulator::{Emulator, EmulatorConfig, EmulatorHandle, demo};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

/// Start an emulator with rate limiting off (tests opt in).
pub async fn start() -> EmulatorHandle {
    start_with(EmulatorConfig {
        rate_limit: 0,
        ..EmulatorConfig::default()
    })
    .await
}

pub async fn start_with(cfg: EmulatorConfig) -> EmulatorHandle {
    Emulator::start(cfg).await.expect("emulator starts")
}

pub fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

/// Send a request built on a plain client and return its status code.
pub async fn status_of(req: reqwest::RequestBuilder) -> u16 {
    req.send().await.unwrap().status().as_u16()
}

/// A tiny API client for tests.
#[derive(Clone)]
pub struct Api {
    pub client: Client,
    pub base: String,
    pub token: Option<String>,
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?} (status {})", self.text, self.status))
    }
    pub fn code(&self) -> u16 {
        self.status.as_u16()
    }
    /// Assert the status code, showing the body when it is not `want`.
    #[track_caller]
    pub fn assert_code(&self, want: u16) -> &Self {
        assert_eq!(self.code(), want, "{}", self.text);
        self
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }
}

impl Api {
    pub fn anon(hub: &EmulatorHandle) -> Self {
        Self {
            client: client(),
            base: hub.base_url(),
            token: None,
        }
    }

    pub async fn login(hub: &EmulatorHandle, identifier: &str, secret: &str) -> Self {
        let mut api = Self::anon(hub);
        let r = api
            .send(
                Method::POST,
                "/v2/auth/token",
                Some(json!({"identifier": identifier, "secret": secret})),
            )
            .await;
        assert_eq!(r.code(), 200, "login {identifier}: {}", r.text);
        api.token = Some(r.json()["access_token"].as_str().unwrap().to_string());
        api
    }

    pub async fn user(hub: &EmulatorHandle) -> Self {
        Self::login(hub, demo::USERNAME, demo::PASSWORD).await
    }
    pub async fn pat(hub: &EmulatorHandle) -> Self {
        Self::login(hub, demo::USERNAME, demo::PAT).await
    }
    pub async fn oat(hub: &EmulatorHandle) -> Self {
        Self::login(hub, demo::ORG, demo::OAT).await
    }
    pub fn scim(hub: &EmulatorHandle) -> Self {
        let mut api = Self::anon(hub);
        api.token = Some(demo::SCIM_TOKEN.to_string());
        api
    }

    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{}", self.base, path)
        };
        let mut req = self.client.request(method, url);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body read");
        Resp {
            status,
            headers,
            text,
        }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send(Method::GET, path, None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.send(Method::POST, path, Some(body)).await
    }
    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.send(Method::PUT, path, Some(body)).await
    }
    pub async fn patch(&self, path: &str, body: Value) -> Resp {
        self.send(Method::PATCH, path, Some(body)).await
    }
    pub async fn delete(&self, path: &str) -> Resp {
        self.send(Method::DELETE, path, None).await
    }
}
