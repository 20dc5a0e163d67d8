//! Shared helpers of the CLI tests: an in-process emulator, a temporary
//! HOME/DOCKER_CONFIG/working directory, and the real `dockerhub` binary.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Output;

pub use dockerhub_emulator::demo;
use dockerhub_emulator::{Emulator, EmulatorConfig, EmulatorHandle, RequestRecord};

/// The seed's reference time, for reproducible age rules.
pub const NOW: &str = "2026-11-01T00:00:00Z";

/// An emulator on its own runtime, and a scratch home for the binary.
pub struct Env {
    pub emu: EmulatorHandle,
    pub home: tempfile::TempDir,
    rt: tokio::runtime::Runtime,
}

impl Env {
    pub fn new() -> Env {
        Env::with(EmulatorConfig::default())
    }

    pub fn with(cfg: EmulatorConfig) -> Env {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let emu = rt.block_on(Emulator::start(cfg)).unwrap();
        let home = tempfile::tempdir().unwrap();
        Env { emu, home, rt }
    }

    pub fn url(&self) -> String {
        self.emu.base_url()
    }

    pub fn dir(&self) -> &Path {
        self.home.path()
    }

    /// The binary with a clean environment: no credentials, HOME and
    /// DOCKER_CONFIG in the scratch directory, the emulator's URL.
    pub fn bare(&self) -> assert_cmd::Command {
        let mut c = assert_cmd::Command::cargo_bin("dockerhub").unwrap();
        c.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.dir())
            .env("DOCKER_CONFIG", self.dir().join(".docker"))
            .env("DOCKERHUB_URL", self.url())
            .env("NO_COLOR", "1")
            .current_dir(self.dir());
        c
    }

    /// [`Env::bare`] with the demo user's PAT.
    pub fn cmd(&self) -> assert_cmd::Command {
        let mut c = self.bare();
        c.env("DOCKER_HUB_USER", demo::USERNAME)
            .env("DOCKER_HUB_TOKEN", demo::PAT);
        c
    }

    /// Run with `args` and return the output.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().unwrap()
    }

    /// Run, expect success, and parse stdout as JSON.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {}", stdout(&out)))
    }

    pub fn requests(&self) -> Vec<RequestRecord> {
        self.emu.requests()
    }

    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir().join(name)
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let emu = self.emu.clone();
        self.rt.block_on(async move { emu.shutdown().await });
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

/// Filters for golden outputs: ports, and times that move.
pub fn filters() -> Vec<(&'static str, &'static str)> {
    vec![
        (r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]"),
        (r"\b1[7-9]\d{8}\b", "[EPOCH]"),
    ]
}
