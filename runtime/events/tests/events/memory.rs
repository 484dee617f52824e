//! The Memory trait: in memory and in the store.

use llmagent_events::{InMemory, Memory, StoreMemory};
use serde_json::json;

use crate::open;

fn exercise(m: &dyn Memory) {
    m.store("a", "history", json!([{"role": "system", "content": "x"}]))
        .unwrap();
    m.store("a", "count", json!(1)).unwrap();
    m.store("a", "count", json!(2)).unwrap();
    m.store("b", "count", json!(9)).unwrap();
    assert_eq!(m.fetch("a", "count").unwrap(), Some(json!(2)));
    assert_eq!(m.fetch("a", "missing").unwrap(), None);
    assert_eq!(
        m.list("a").unwrap(),
        vec![
            ("count".to_owned(), json!(2)),
            (
                "history".to_owned(),
                json!([{"role": "system", "content": "x"}])
            )
        ]
    );
    assert!(m.delete("a", "count").unwrap());
    assert!(!m.delete("a", "count").unwrap());
    m.teardown("a").unwrap();
    assert_eq!(m.list("a").unwrap(), vec![]);
    assert_eq!(m.list("b").unwrap(), vec![("count".to_owned(), json!(9))]);
}

#[test]
fn in_memory_backend() {
    exercise(&InMemory::new());
}

#[test]
fn store_backend_survives_reopen_and_event_clear() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path());
        exercise(&StoreMemory::new(store.clone()).unwrap());
        store.clear().unwrap();
    }
    let m = StoreMemory::new(open(dir.path())).unwrap();
    assert_eq!(m.list("b").unwrap(), vec![("count".to_owned(), json!(9))]);
}
