//! The JSON Schema of the file, generated from the raw types.

use schemars::Schema;
use schemars::generate::SchemaSettings;
use schemars::transform::{Transform, transform_subschemas};

use super::raw;

/// The JSON Schema (draft 2020-12) of a desired-state file: pretty JSON and a trailing newline,
/// byte for byte what `schema/lvsync.schema.json` holds.
pub fn schema_json() -> String {
    let generator = SchemaSettings::draft2020_12().with_transform(NoNull).into_generator();
    let schema = generator.into_root_schema_for::<raw::File>();
    // Serializing a `serde_json::Value` cannot fail.
    let mut out = serde_json::to_string_pretty(&schema).unwrap_or_default();
    out.push('\n');
    out
}

/// An optional key is left out, never written as `null`: the schema says so, so that editors
/// flag `port: ~` instead of offering it.
#[derive(Debug, Clone)]
struct NoNull;

impl Transform for NoNull {
    fn transform(&mut self, schema: &mut Schema) {
        transform_subschemas(self, schema);
        let Some(obj) = schema.as_object_mut() else { return };
        if let Some(serde_json::Value::Array(types)) = obj.get_mut("type") {
            types.retain(|t| t != "null");
            if types.len() == 1 {
                let only = types.remove(0);
                obj.insert("type".into(), only);
            }
        }
        if let Some(serde_json::Value::Array(any)) = obj.get("anyOf")
            && any.len() == 2
            && any.iter().any(|s| s.get("type").is_some_and(|t| t == "null"))
            && let Some(serde_json::Value::Object(other)) =
                any.iter().find(|s| s.get("type").is_none_or(|t| t != "null")).cloned()
        {
            obj.remove("anyOf");
            for (k, v) in other {
                obj.entry(k).or_insert(v);
            }
        }
    }
}
