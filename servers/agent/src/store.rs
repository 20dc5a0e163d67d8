//! The bounded in-memory task store, with a TTL. Each task keeps its
//! cancellation token, its event channel (for streams and subscribers) and
//! the conversation needed to resume it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use a2a::{
    Artifact, Message, PartContent, StreamResponse, Task, TaskArtifactUpdateEvent, TaskState,
    TaskStatusUpdateEvent,
};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::engine::Conversation;

/// Events buffered per task for slow subscribers (a lagging one gets the task snapshot).
const CHANNEL: usize = 128;

struct Record {
    task: Task,
    cancel: CancellationToken,
    /// Dropped once the task is terminal, which frees its buffered events.
    events: Option<broadcast::Sender<StreamResponse>>,
    conversation: Option<Conversation>,
    running: bool,
    updated: Instant,
    seq: u64,
}

/// Bounded task store; the oldest finished tasks go first when full.
pub struct TaskStore {
    inner: Mutex<Inner>,
    max: usize,
    ttl: Duration,
}

struct Inner {
    tasks: HashMap<String, Record>,
    seq: u64,
}

/// Whether a state ends a stream: terminal, or waiting for the user.
pub fn is_final(state: &TaskState) -> bool {
    state.is_terminal() || matches!(state, TaskState::InputRequired | TaskState::AuthRequired)
}

impl std::fmt::Debug for TaskStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskStore")
            .field("max", &self.max)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl TaskStore {
    /// A store holding at most `max` tasks, each for `ttl` after its last update.
    pub fn new(max: usize, ttl: Duration) -> TaskStore {
        TaskStore {
            inner: Mutex::new(Inner {
                tasks: HashMap::new(),
                seq: 0,
            }),
            max: max.max(1),
            ttl,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Add a new task; returns its cancellation token.
    pub fn insert(&self, task: Task) -> CancellationToken {
        let mut g = self.lock();
        let now = Instant::now();
        let ttl = self.ttl;
        g.tasks.retain(|_, r| {
            let keep = now.duration_since(r.updated) < ttl;
            if !keep {
                r.cancel.cancel();
            }
            keep
        });
        while g.tasks.len() >= self.max {
            // oldest finished task first, else the oldest task
            let victim = g
                .tasks
                .iter()
                .filter(|(_, r)| !r.running)
                .min_by_key(|(_, r)| r.seq)
                .or_else(|| g.tasks.iter().min_by_key(|(_, r)| r.seq))
                .map(|(k, _)| k.clone());
            match victim {
                Some(k) => {
                    if let Some(r) = g.tasks.remove(&k) {
                        r.cancel.cancel();
                    }
                }
                None => break,
            }
        }
        g.seq += 1;
        let seq = g.seq;
        let cancel = CancellationToken::new();
        let (events, _) = broadcast::channel(CHANNEL);
        g.tasks.insert(
            task.id.clone(),
            Record {
                task,
                cancel: cancel.clone(),
                events: Some(events),
                conversation: None,
                running: false,
                updated: now,
                seq,
            },
        );
        cancel
    }

    fn live<'a>(&self, g: &'a mut Inner, id: &str) -> Option<&'a mut Record> {
        let ttl = self.ttl;
        let expired = g.tasks.get(id).is_some_and(|r| r.updated.elapsed() >= ttl);
        if expired {
            if let Some(r) = g.tasks.remove(id) {
                r.cancel.cancel();
            }
            return None;
        }
        g.tasks.get_mut(id)
    }

    /// A copy of a task.
    pub fn get(&self, id: &str) -> Option<Task> {
        let mut g = self.lock();
        self.live(&mut g, id).map(|r| r.task.clone())
    }

    /// A copy of a task and a receiver of its next events, taken atomically.
    pub fn subscribe(&self, id: &str) -> Option<(Task, broadcast::Receiver<StreamResponse>)> {
        let mut g = self.lock();
        self.live(&mut g, id).map(|r| {
            let rx = match &r.events {
                Some(tx) => tx.subscribe(),
                // terminal: a closed channel, so readers stop after the snapshot
                None => broadcast::channel(1).1,
            };
            (r.task.clone(), rx)
        })
    }

    /// Mark a task as running a step, taking its conversation. Fails when
    /// it is already running or unknown.
    pub fn start_run(&self, id: &str) -> Option<(Option<Conversation>, CancellationToken)> {
        let mut g = self.lock();
        let r = self.live(&mut g, id)?;
        if r.running {
            return None;
        }
        r.running = true;
        if r.cancel.is_cancelled() {
            r.cancel = CancellationToken::new();
        }
        Some((r.conversation.take(), r.cancel.clone()))
    }

    /// Mark a step finished and keep the conversation for a later step.
    pub fn end_run(&self, id: &str, conversation: Option<Conversation>) {
        let mut g = self.lock();
        if let Some(r) = g.tasks.get_mut(id) {
            r.running = false;
            r.conversation = conversation;
            r.updated = Instant::now();
        }
    }

    /// Append a message to the task's history.
    pub fn add_history(&self, id: &str, message: Message) {
        let mut g = self.lock();
        if let Some(r) = g.tasks.get_mut(id) {
            r.task.history.get_or_insert_with(Vec::new).push(message);
        }
    }

    /// Apply an event to the task and send it to subscribers. Updates to a
    /// task that already reached a terminal state are dropped (returns false).
    pub fn publish(&self, id: &str, event: StreamResponse) -> bool {
        let mut g = self.lock();
        let Some(r) = g.tasks.get_mut(id) else {
            return false;
        };
        if r.task.status.state.is_terminal() {
            return false;
        }
        match &event {
            StreamResponse::StatusUpdate(TaskStatusUpdateEvent { status, .. }) => {
                r.task.status = status.clone();
                if let Some(m) = &status.message {
                    r.task.history.get_or_insert_with(Vec::new).push(m.clone());
                }
            }
            StreamResponse::ArtifactUpdate(TaskArtifactUpdateEvent {
                artifact, append, ..
            }) => merge_artifact(
                r.task.artifacts.get_or_insert_with(Vec::new),
                artifact,
                append.unwrap_or(false),
            ),
            StreamResponse::Task(t) => r.task = t.clone(),
            StreamResponse::Message(_) => {}
        }
        r.updated = Instant::now();
        if let Some(tx) = &r.events {
            let _ = tx.send(event);
        }
        if r.task.status.state.is_terminal() {
            r.events = None;
        }
        true
    }

    /// Cancel a task: trip its token (aborting in-flight tool calls).
    /// Returns the task's state before, or `None` when unknown.
    pub fn cancel(&self, id: &str) -> Option<TaskState> {
        let mut g = self.lock();
        let r = self.live(&mut g, id)?;
        let before = r.task.status.state.clone();
        if !before.is_terminal() {
            r.cancel.cancel();
        }
        Some(before)
    }

    /// Every live task, most recently updated first.
    pub fn list(&self) -> Vec<Task> {
        let mut g = self.lock();
        let ttl = self.ttl;
        g.tasks.retain(|_, r| r.updated.elapsed() < ttl);
        let mut v: Vec<(Instant, u64, Task)> = g
            .tasks
            .values()
            .map(|r| (r.updated, r.seq, r.task.clone()))
            .collect();
        v.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
        v.into_iter().map(|(_, _, t)| t).collect()
    }

    /// Number of live tasks.
    pub fn len(&self) -> usize {
        self.lock().tasks.len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn merge_artifact(list: &mut Vec<Artifact>, artifact: &Artifact, append: bool) {
    match list
        .iter_mut()
        .find(|a| a.artifact_id == artifact.artifact_id)
    {
        Some(existing) if append => {
            for p in &artifact.parts {
                match (existing.parts.last_mut(), &p.content) {
                    (
                        Some(a2a::Part {
                            content: PartContent::Text(prev),
                            ..
                        }),
                        PartContent::Text(more),
                    ) => prev.push_str(more),
                    _ => existing.parts.push(p.clone()),
                }
            }
        }
        Some(existing) => *existing = artifact.clone(),
        None => list.push(artifact.clone()),
    }
}
