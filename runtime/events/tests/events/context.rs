//! Context propagation across awaits and spawned tasks.

use llmagent_events::{
    Context, Events, Scope, current_context, spawn_with_context, with_agent, with_context,
    with_scope,
};
use serde_json::json;

use crate::open;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn context_follows_awaits_and_spawned_tasks() {
    let dir = tempfile::tempdir().unwrap();
    let events = Events::new(open(dir.path())).with_source("agent");
    let ctx = Context::new_request();
    let scope = Scope {
        agent: Some("helper".into()),
        context: ctx.clone(),
    };
    let (here, there, nested, plain) = with_scope(scope, {
        let events = events.clone();
        async move {
            tokio::task::yield_now().await;
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            let here = events
                .emit(
                    "prompt",
                    "agent.prompt",
                    json!({"content": "hi", "role": "user"}),
                )
                .unwrap();
            let e2 = events.clone();
            let there = spawn_with_context(async move {
                tokio::task::yield_now().await;
                e2.emit(
                    "tool_dispatch",
                    "agent.tool_dispatch",
                    json!({"agent_id": "helper", "tool": "fs", "action": "read"}),
                )
                .unwrap()
            })
            .await
            .unwrap();
            let follow = current_context().follow_up();
            let e3 = events.clone();
            let nested = with_context(follow, async move {
                with_agent("child", async move {
                    e3.emit_for("other", "error", "agent.error", json!({}))
                        .unwrap()
                })
                .await
            })
            .await;
            let e4 = events.clone();
            let plain =
                tokio::spawn(async move { e4.emit("error", "agent.error", json!({})).unwrap() })
                    .await
                    .unwrap();
            (here, there, nested, plain)
        }
    })
    .await;
    assert_eq!(
        (here.agent.as_deref(), &here.context, here.source.as_str()),
        (Some("helper"), &ctx, "agent")
    );
    assert_eq!(
        (there.agent.as_deref(), &there.context),
        (Some("helper"), &ctx)
    );
    assert_eq!(nested.agent.as_deref(), Some("other"));
    assert_eq!(nested.context.trace_id, ctx.trace_id);
    assert_eq!(nested.context.correlation_id, ctx.request_id);
    assert_ne!(nested.context.request_id, ctx.request_id);
    // A plain tokio::spawn does not inherit the scope.
    assert_eq!((plain.agent, plain.context), (None, Context::default()));
    assert_eq!(current_context(), Context::default());
}

#[test]
fn new_ids_have_the_seed_shape() {
    let c = Context::new_request();
    let r = c.request_id.unwrap();
    let t = c.trace_id.unwrap();
    assert!(r.starts_with("req_") && r.len() == 20, "{r}");
    assert!(t.starts_with("trace_") && t.len() == 22, "{t}");
    assert_eq!(c.correlation_id, None);
}
