//! The committed schema is the generated one, and it describes the format the loader reads.

use lvsync::model::schema_json;
use serde_json::Value;

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

/// A small JSON Schema checker, enough for the keywords this schema uses (`$ref`, `type`,
/// `properties`, `additionalProperties`, `required`, `items`, `enum`, `minimum`, `maximum`,
/// `oneOf`, `pattern`): the editor's view of a file must agree with the loader's.
fn schema_problems(root: &Value, schema: &Value, value: &Value, path: &str, out: &mut Vec<String>) {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let target = root.pointer(r.trim_start_matches('#')).unwrap_or_else(|| panic!("dangling {r}"));
        schema_problems(root, target, value, path, out);
    }
    if let Some(one_of) = schema.get("oneOf").and_then(Value::as_array) {
        let matching = one_of
            .iter()
            .filter(|s| {
                let mut p = Vec::new();
                schema_problems(root, s, value, path, &mut p);
                p.is_empty()
            })
            .count();
        if matching != 1 {
            out.push(format!("{path}: {matching} of oneOf match {value}"));
        }
    }
    if let Some(t) = schema.get("type").and_then(Value::as_str) {
        let ok = match t {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            other => panic!("type {other} not handled"),
        };
        if !ok {
            out.push(format!("{path}: {value} is not of type {t}"));
            return;
        }
    }
    if let (Some(pattern), Some(text)) = (schema.get("pattern").and_then(Value::as_str), value.as_str())
        && !regex::Regex::new(pattern).unwrap_or_else(|e| panic!("pattern {pattern}: {e}")).is_match(text)
    {
        out.push(format!("{path}: {value} does not match {pattern}"));
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array)
        && !values.contains(value)
    {
        out.push(format!("{path}: {value} not in {values:?}"));
    }
    if let (Some(min), Some(v)) = (schema.get("minimum").and_then(Value::as_i64), value.as_i64())
        && v < min
    {
        out.push(format!("{path}: {v} < {min}"));
    }
    if let (Some(max), Some(v)) = (schema.get("maximum").and_then(Value::as_i64), value.as_i64())
        && v > max
    {
        out.push(format!("{path}: {v} > {max}"));
    }
    if let Some(obj) = value.as_object() {
        let props = schema.get("properties").and_then(Value::as_object);
        for (k, v) in obj {
            match props.and_then(|p| p.get(k)) {
                Some(s) => schema_problems(root, s, v, &format!("{path}.{k}"), out),
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    out.push(format!("{path}: unknown key {k}"))
                }
                None => {}
            }
        }
        for r in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
            if !obj.contains_key(r.as_str().unwrap()) {
                out.push(format!("{path}: missing {r}"));
            }
        }
    }
    if let (Some(items), Some(arr)) = (schema.get("items"), value.as_array()) {
        for (i, v) in arr.iter().enumerate() {
            schema_problems(root, items, v, &format!("{path}[{i}]"), out);
        }
    }
}

fn check_against_schema(yaml: &str) -> Vec<String> {
    let root: Value = serde_json::from_str(&schema_json()).unwrap();
    let value: Value = serde_saphyr::from_str(yaml).unwrap();
    let mut out = Vec::new();
    schema_problems(&root, &root, &value, "", &mut out);
    out
}

#[test]
fn every_example_satisfies_the_schema() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let problems = check_against_schema(&std::fs::read_to_string(&path).unwrap());
        assert!(problems.is_empty(), "{}: {problems:#?}", path.display());
    }
}

#[test]
fn the_schema_refuses_what_the_loader_refuses() {
    let base = "version: 1\nservices:\n  - name: web\n    vip: 192.168.2.110\n    port: 80\n";
    assert!(check_against_schema(base).is_empty());
    for broken in [
        format!("{base}    colour: blue\n"),
        format!("{base}    scheduler: roundrobin\n"),
        format!("{base}    port: 70000\n").replace("    port: 80\n", ""),
        format!("{base}    persistence: {{netmask: 129}}\n"),
        format!("{base}    real_servers: [{{address: 10.0.0.1, weight: -1}}]\n"),
        "version: 2\n".to_string(),
        "services: []\n".to_string(),
        "version: 1\nfirewall: [{name: r, action: allow}]\n".to_string(),
    ] {
        assert!(!check_against_schema(&broken).is_empty(), "schema accepts:\n{broken}");
        assert!(lvsync::model::load(&broken).is_err(), "loader accepts:\n{broken}");
    }
    // The one difference, on purpose: editors flag `~`, the loader takes it as left out.
    let null = format!("{base}    one_packet: ~\n");
    assert!(!check_against_schema(&null).is_empty());
    assert!(lvsync::model::load(&null).is_ok());
}

/// Spellings the loader reads the same as the plain ones (quoted numbers, spaces in a list of
/// status codes): an editor must not flag them; and near misses both refuse.
#[test]
fn the_schema_accepts_what_the_loader_accepts() {
    let file = |health: &str, extra: &str| {
        format!(
            "version: 1\nservices:\n  - name: web\n    vip: 192.168.2.110\n    port: 80\n    health: {health}\n{extra}    real_servers: [{{address: 10.0.0.1}}]\n"
        )
    };
    let accepted = [
        file("{check: tcp, interval: \"2\", timeout: \"0.5\"}", "    drain_timeout: \"30\"\n"),
        file("{check: tcp, interval: 0.5, timeout: 0.25}", "    drain_timeout: 0\n"),
        file("{check: tcp}", "    min_healthy: \"2\"\n"),
        file("{check: tcp}", "    min_healthy: \"50%\"\n"),
        file("{check: tcp}", "    min_healthy: 0\n"),
        file("{check: http, http: {status: \"200, 301-302\"}}", ""),
        file("{check: http, http: {status: \"200 - 399\"}}", ""),
        file("{check: http, http: {status: 204}}", ""),
    ];
    for text in &accepted {
        lvsync::model::load(text).unwrap_or_else(|e| panic!("loader refuses:\n{text}\n{e}"));
        let problems = check_against_schema(text);
        assert!(problems.is_empty(), "schema refuses:\n{text}\n{problems:#?}");
    }
    let refused = [
        file("{check: tcp, interval: \"2s\"}", ""),
        file("{check: tcp, interval: \"010\"}", ""),
        file("{check: tcp, timeout: \".5\"}", ""),
        file("{check: tcp}", "    min_healthy: \"050%\"\n"),
        file("{check: tcp}", "    min_healthy: \"half\"\n"),
        file("{check: http, http: {status: \"200,,301\"}}", ""),
        file("{check: http, http: {status: \"2xx\"}}", ""),
        file("{check: http, http: {status: \"099\"}}", ""),
    ];
    for text in &refused {
        assert!(lvsync::model::load(text).is_err(), "loader accepts:\n{text}");
        assert!(!check_against_schema(text).is_empty(), "schema accepts:\n{text}");
    }
}
