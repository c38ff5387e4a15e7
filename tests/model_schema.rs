//! The committed schema is the generated one, and it describes the format the loader reads.

use lvsync::model::schema_json;

const COMMITTED: &str = "schema/lvsync.schema.json";

#[test]
fn committed_schema_matches_the_generated_one() {
    let generated = schema_json();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(COMMITTED);
    if std::env::var_os("LVSYNC_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{COMMITTED} is out of date with the raw types in src/model/raw.rs; regenerate it with \
         `cargo run -- schema > {COMMITTED}` (or `LVSYNC_UPDATE_SCHEMA=1 cargo test --test model_schema`) \
         and commit the result"
    );
}

#[test]
fn schema_is_draft_2020_12_json_with_ranges_patterns_and_descriptions() {
    let schema: serde_json::Value = serde_json::from_str(&schema_json()).unwrap();
    assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
    assert_eq!(schema["additionalProperties"], false);
    assert_eq!(schema["required"], serde_json::json!(["version"]));
    let defs = &schema["$defs"];
    let service = &defs["Service"]["properties"];
    assert_eq!(service["name"]["pattern"], "^[a-z0-9][a-z0-9._-]{0,62}$");
    assert_eq!(service["port"]["maximum"], 65535);
    assert_eq!(service["port"]["type"], "integer", "optional keys are not nullable: {}", service["port"]);
    assert!(service["scheduler"]["enum"].as_array().unwrap().iter().any(|s| s == "twos"));
    let real = &defs["RealServer"]["properties"];
    assert_eq!(real["weight"]["maximum"], 2147483647);
    assert!(real["weight"]["description"].as_str().unwrap().contains("default 1"));
    let rule = &defs["Rule"]["properties"];
    assert_eq!(rule["name"]["pattern"], "^[a-z0-9][a-z0-9._-]{0,40}$");
    assert_eq!(defs["Rule"]["additionalProperties"], false);
    assert!(defs["Netmask"]["oneOf"].is_array());
}
