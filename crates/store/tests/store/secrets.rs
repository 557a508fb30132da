//! Secret values are kept apart from their objects: never in the object, the event log or a
//! watch; an unchanged value changes nothing, a new one is a new generation, and switching
//! to a file or deleting drops it. All of it survives a reopen.

use super::open;
use api::{Kind, Object, ObjectKey};
use ecsctl_store::ApplyAction;
use serde_json::json;

#[tokio::test]
async fn secret_values_are_kept_apart_from_objects_and_events() {
    let (fixture, store) = open();
    let key = ObjectKey::new(Kind::Secret, None, "db-password");
    let secret = |v: &str| Object::new(Kind::Secret, "db-password", json!({"value": v}));
    let mut watch = store.watch(0).unwrap();
    let created = store.apply(secret("hunter2-original")).unwrap();
    assert_eq!(created.action, ApplyAction::Created);
    assert_eq!(created.object.spec, json!({}));
    assert_eq!(created.object.status["valueBytes"], json!(16));
    let same = store.apply(secret("hunter2-original")).unwrap();
    assert_eq!(same.action, ApplyAction::Unchanged);
    let dry = store
        .apply_all(vec![secret("hunter2-changed")], true)
        .unwrap();
    assert_eq!(dry[0].action, ApplyAction::Configured);
    assert_eq!(
        store.secret_value(&key).unwrap().as_deref(),
        Some("hunter2-original"),
        "a dry run changes nothing"
    );
    let changed = store.apply(secret("hunter2-changed")).unwrap();
    assert_eq!(changed.action, ApplyAction::Configured);
    assert_eq!(changed.object.metadata.generation, Some(2));
    for _ in 0..2 {
        let event = watch.next().await.unwrap().unwrap();
        let text = serde_json::to_string(&event).unwrap();
        assert!(!text.contains("hunter2"), "{text}");
    }
    let stored = serde_json::to_string(&store.get(&key).unwrap().unwrap()).unwrap();
    assert!(!stored.contains("hunter2"), "{stored}");
    drop(watch);
    drop(store);

    let store = fixture.reopen(None);
    assert_eq!(
        store.secret_value(&key).unwrap().as_deref(),
        Some("hunter2-changed")
    );
    // Switching to a file drops the held value; so does a delete.
    store
        .apply(Object::new(
            Kind::Secret,
            "db-password",
            json!({"fromFile": "/run/keys/db"}),
        ))
        .unwrap();
    assert_eq!(store.secret_value(&key).unwrap(), None);
    store.apply(secret("again")).unwrap();
    store.delete(&key).unwrap();
    assert_eq!(store.secret_value(&key).unwrap(), None);
    // Another cluster's Secret of the same name is another Secret.
    let mut other = secret("other");
    other.metadata.cluster = Some("shop".to_string());
    store.apply(other).unwrap();
    let shop = ObjectKey::new(Kind::Secret, Some("shop"), "db-password");
    assert_eq!(store.secret_value(&shop).unwrap().as_deref(), Some("other"));
    assert_eq!(store.secret_value(&key).unwrap(), None);
}
