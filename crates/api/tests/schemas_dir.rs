//! schemas/ holds the emitted JSON Schemas; this test fails when they are stale.
//! Regenerate with `ecsctl schema --out schemas` (or `UPDATE_SCHEMAS=1 cargo test -p ecsctl-api --test schemas_dir`).

use std::path::PathBuf;

#[test]
fn schemas_dir_is_up_to_date() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schemas");
    let update = std::env::var_os("UPDATE_SCHEMAS").is_some();
    let mut stale = Vec::new();
    for (name, schema) in ecsctl_api::schema::all_schemas() {
        let want = format!(
            "{}\n",
            serde_json::to_string_pretty(&schema).expect("serializable")
        );
        let path = dir.join(&name);
        if update {
            std::fs::create_dir_all(&dir).expect("create schemas/");
            std::fs::write(&path, &want).expect("write schema");
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(want.as_str()) {
            stale.push(name);
        }
    }
    assert!(
        stale.is_empty(),
        "schemas/ is stale for {stale:?}: run `cargo run -p ecsctl -- schema --out schemas` and commit"
    );
}
