//! Approval questions answered from elsewhere (an API, a web page): a call
//! the role lists in `approve` waits here until someone answers it, or its
//! deadline passes — then it is refused, as a non-interactive session
//! refuses it.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use llmagent_events::{Events, names};
use serde_json::json;
use tokio::sync::oneshot;

use crate::agent::{ApprovalRequest, Approver};

/// How long a question waits for an answer unless the service says
/// otherwise: long enough for an operator to notice and read it, short
/// enough that a forgotten question does not hold an agent for hours.
pub const DEFAULT_APPROVAL_TIMEOUT: Duration = Duration::from_secs(300);

/// A question waiting for its answer.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingApproval {
    /// Its id (unique for the service's lifetime).
    pub id: u64,
    /// The call.
    pub request: ApprovalRequest,
    /// When it was asked (milliseconds since the Unix epoch).
    pub asked_ms: u64,
    /// When it is refused unless answered (milliseconds since the epoch).
    pub deadline_ms: u64,
}

struct Waiting {
    pending: PendingApproval,
    answer: oneshot::Sender<bool>,
}

/// The questions waiting; an [`Approver`] whose answers come from
/// [`Approvals::answer`].
#[derive(Clone)]
pub struct Approvals {
    inner: Arc<Inner>,
}

struct Inner {
    waiting: Mutex<BTreeMap<u64, Waiting>>,
    next: Mutex<u64>,
    timeout: Mutex<Duration>,
    events: Option<Events>,
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

impl Approvals {
    /// No questions yet; each waits at most `timeout`; asking and answering
    /// are recorded in `events` (`agent.approval`).
    pub fn new(timeout: Duration, events: Option<Events>) -> Self {
        Self {
            inner: Arc::new(Inner {
                waiting: Mutex::new(BTreeMap::new()),
                next: Mutex::new(1),
                timeout: Mutex::new(timeout),
                events: events.map(|e| e.with_source("supervisor")),
            }),
        }
    }

    /// Changes how long the next questions wait.
    pub fn set_timeout(&self, timeout: Duration) {
        if let Ok(mut t) = self.inner.timeout.lock() {
            *t = timeout;
        }
    }

    /// The questions waiting, oldest first.
    pub fn pending(&self) -> Vec<PendingApproval> {
        self.inner
            .waiting
            .lock()
            .map(|w| w.values().map(|w| w.pending.clone()).collect())
            .unwrap_or_default()
    }

    /// Whether `agent` has a question waiting.
    pub fn is_waiting(&self, agent: &str) -> bool {
        self.inner
            .waiting
            .lock()
            .is_ok_and(|w| w.values().any(|w| w.pending.request.agent == agent))
    }

    /// Answers question `id`; `false` when there is no such question (it
    /// was answered, or its deadline passed).
    pub fn answer(&self, id: u64, approve: bool) -> bool {
        let waiting = self
            .inner
            .waiting
            .lock()
            .ok()
            .and_then(|mut w| w.remove(&id));
        match waiting {
            Some(w) => {
                self.record_answer(&w.pending, approve, "api");
                // The turn may have been cancelled meanwhile: nobody to tell.
                let _ = w.answer.send(approve);
                true
            }
            None => false,
        }
    }

    fn record_answer(&self, pending: &PendingApproval, approved: bool, by: &str) {
        if let Some(ev) = &self.inner.events {
            ev.emit_for(
                &pending.request.agent,
                names::kind::APPROVAL_ANSWERED,
                names::topic::AGENT_APPROVAL,
                json!({"id": pending.id, "tool": pending.request.tool,
                       "action": pending.request.action, "approved": approved, "by": by}),
            );
        }
    }
}

#[async_trait]
impl Approver for Approvals {
    async fn approve(&self, request: &ApprovalRequest) -> bool {
        let timeout = self
            .inner
            .timeout
            .lock()
            .map(|t| *t)
            .unwrap_or(DEFAULT_APPROVAL_TIMEOUT);
        let id = match self.inner.next.lock() {
            Ok(mut n) => {
                let id = *n;
                *n += 1;
                id
            }
            Err(_) => return false,
        };
        let asked_ms = now_ms();
        let pending = PendingApproval {
            id,
            request: request.clone(),
            asked_ms,
            deadline_ms: asked_ms.saturating_add(u64::try_from(timeout.as_millis()).unwrap_or(0)),
        };
        let (tx, rx) = oneshot::channel();
        if let Some(ev) = &self.inner.events {
            ev.emit_for(
                &request.agent,
                names::kind::APPROVAL_REQUESTED,
                names::topic::AGENT_APPROVAL,
                json!({"id": id, "tool": request.tool, "action": request.action,
                       "args": request.args, "deadline_ms": pending.deadline_ms}),
            );
        }
        match self.inner.waiting.lock() {
            Ok(mut w) => {
                w.insert(
                    id,
                    Waiting {
                        pending,
                        answer: tx,
                    },
                );
            }
            Err(_) => return false,
        }
        // Removed from the list however this ends: answered, timed out, or
        // the turn dropped (cancelled) while waiting.
        let guard = Forget {
            approvals: self,
            id,
        };
        let answer = tokio::time::timeout(timeout, rx).await;
        drop(guard);
        match answer {
            Ok(Ok(yes)) => yes,
            Ok(Err(_)) => false,
            Err(_) => {
                let pending = PendingApproval {
                    id,
                    request: request.clone(),
                    asked_ms,
                    deadline_ms: now_ms(),
                };
                self.record_answer(&pending, false, "deadline");
                false
            }
        }
    }
}

/// Takes a question off the list when its asker stops waiting.
struct Forget<'a> {
    approvals: &'a Approvals,
    id: u64,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        if let Ok(mut w) = self.approvals.inner.waiting.lock() {
            w.remove(&self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(agent: &str) -> ApprovalRequest {
        ApprovalRequest {
            agent: agent.into(),
            role: "ops".into(),
            tool: "systemd".into(),
            action: "restart".into(),
            args: json!({"unit": "nginx.service"}),
        }
    }

    #[tokio::test]
    async fn an_answer_reaches_the_waiting_call_and_clears_the_question() {
        let approvals = Approvals::new(Duration::from_secs(30), None);
        let asker = approvals.clone();
        let waiting = tokio::spawn(async move { asker.approve(&request("a")).await });
        while approvals.pending().is_empty() {
            tokio::task::yield_now().await;
        }
        let listed: Vec<(u64, ApprovalRequest)> = approvals
            .pending()
            .into_iter()
            .map(|p| (p.id, p.request))
            .collect();
        assert_eq!(listed, vec![(1, request("a"))]);
        assert!(approvals.is_waiting("a"));
        assert!(!approvals.answer(2, true));
        assert!(approvals.answer(1, true));
        assert_eq!(waiting.await.ok(), Some(true));
        assert_eq!(approvals.pending(), vec![]);
        assert!(!approvals.answer(1, false));
    }

    #[tokio::test]
    async fn a_question_past_its_deadline_is_refused_and_forgotten() {
        let approvals = Approvals::new(Duration::from_millis(20), None);
        assert!(!approvals.approve(&request("a")).await);
        assert_eq!(approvals.pending(), vec![]);
    }
}
