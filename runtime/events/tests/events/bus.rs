//! The live bus: exact, prefix, lagged, unsubscribe.

use std::sync::Arc;

use llmagent_events::{Delivery, Filter};

use crate::{invocation, message, open};

#[tokio::test]
async fn exact_and_prefix_subscriptions_get_what_they_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut exact = store.subscribe(Filter::Topic("tool.inotify".into()));
    let mut prefix = store.subscribe(Filter::Prefix("tool.".into()));
    let mut all = store.subscribe(Filter::All);
    let evs = store
        .append_batch(vec![
            message("a", "user", "hi"),
            invocation("a", "inotify", "watch"),
            invocation("a", "inotify.event", "x"),
            invocation("a", "fs", "read"),
        ])
        .unwrap();
    let drain = |s: &mut llmagent_events::Subscription| {
        std::iter::from_fn(|| s.try_recv()).collect::<Vec<_>>()
    };
    let ev = |i: usize| Delivery::Event(Arc::new(evs[i].clone()));
    assert_eq!(drain(&mut exact), vec![ev(1)]);
    assert_eq!(drain(&mut prefix), vec![ev(1), ev(2), ev(3)]);
    assert_eq!(all.recv().await, Some(ev(0)));
    assert_eq!(drain(&mut all), vec![ev(1), ev(2), ev(3)]);
}

#[tokio::test]
async fn a_lagging_subscriber_is_told_how_many_it_missed_and_the_store_misses_none() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut slow = store.subscribe_with_capacity(Filter::All, 2);
    let first = store
        .append_batch(
            (0..5)
                .map(|i| message("a", "user", &i.to_string()))
                .collect(),
        )
        .unwrap();
    // Queue holds 2; 3 dropped. The next event that fits is preceded by Lagged(3).
    assert_eq!(
        slow.recv().await,
        Some(Delivery::Event(Arc::new(first[0].clone())))
    );
    assert_eq!(
        slow.recv().await,
        Some(Delivery::Event(Arc::new(first[1].clone())))
    );
    assert_eq!(slow.try_recv(), None);
    let next = store.append(message("a", "user", "5")).unwrap();
    assert_eq!(slow.recv().await, Some(Delivery::Lagged(3)));
    assert_eq!(slow.recv().await, Some(Delivery::Event(Arc::new(next))));
    assert_eq!(store.all(100).unwrap().len(), 6);
}

#[tokio::test]
async fn dropping_the_handle_unsubscribes() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let sub = store.subscribe(Filter::All);
    let mut kept = store.subscribe(Filter::Topic("agent.message".into()));
    drop(sub);
    store.append(message("a", "user", "x")).unwrap();
    assert!(matches!(kept.try_recv(), Some(Delivery::Event(_))));
    assert_eq!(store.subscriber_count(), 1);
    drop(store.subscribe(Filter::All));
    assert_eq!(store.subscriber_count(), 2);
    store.append(message("a", "user", "y")).unwrap();
    assert_eq!(store.subscriber_count(), 1);
    assert!(matches!(kept.try_recv(), Some(Delivery::Event(_))));
    assert_eq!(kept.try_recv(), None);
}

#[tokio::test]
async fn closing_the_store_ends_subscriptions() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut sub = store.subscribe(Filter::All);
    drop(store);
    assert_eq!(sub.recv().await, None);
}
