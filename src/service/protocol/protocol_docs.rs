//! The protocol's documentation, generated from the types of `protocol.rs`: the JSON
//! Schema in `docs/protocol.schema.json` and the message reference in docs/API.md
//! (between the `protocol-reference` markers). The test fails when either differs from
//! what the types give; `UPDATE_PROTOCOL_DOCS=1 cargo test --lib protocol_docs_are_current`
//! rewrites both.

use schemars::generate::SchemaSettings;
use serde_json::Value;

use super::{ClientMessage, ServerMessage};

const SCHEMA_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/protocol.schema.json");
const API_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/API.md");
const BEGIN: &str = "<!-- protocol-reference: generated from src/service/protocol.rs by \
                     `UPDATE_PROTOCOL_DOCS=1 cargo test --lib protocol_docs_are_current`; \
                     do not edit -->\n";
const END: &str = "<!-- /protocol-reference -->";

/// Both directions: client messages as the server reads them, server messages as it
/// writes them.
fn protocol_schema() -> Value {
    let mut reading = SchemaSettings::draft2020_12()
        .for_deserialize()
        .into_generator();
    let client = reading.subschema_for::<ClientMessage>();
    let mut writing = SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator();
    let server = writing.subschema_for::<ServerMessage>();
    let mut definitions = reading.take_definitions(true);
    definitions.extend(writing.take_definitions(true));
    serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Connect 4 Arena WebSocket protocol",
        "description": "Messages on /ws/{game_id} and /ws/lobby. Generated from src/service/protocol.rs; do not edit.",
        "properties": {
            "client_to_server": client,
            "server_to_client": server,
        },
        "$defs": definitions,
    })
}

fn definition<'a, 'b>(schema: &'a Value, reference: &'b str) -> (&'b str, &'a Value) {
    let name = reference.trim_start_matches("#/$defs/");
    (name, &schema["$defs"][name])
}

/// A field's type in words: `integer or null`, `array of PlayerRef`, `"move"`.
fn type_of(schema: &Value, field: &Value) -> String {
    if let Some(reference) = field["$ref"].as_str() {
        return definition(schema, reference).0.to_string();
    }
    if let Some(constant) = field.get("const") {
        return format!("`{constant}`");
    }
    if let Some(values) = field["enum"].as_array() {
        let values: Vec<String> = values.iter().map(|v| format!("`{v}`")).collect();
        return values.join(" \\| ");
    }
    if let Some(choices) = field["anyOf"].as_array() {
        let choices: Vec<String> = choices.iter().map(|c| type_of(schema, c)).collect();
        return choices.join(" or ");
    }
    let words = |ty: &Value| match ty.as_str() {
        Some("array") => format!("array of {}", type_of(schema, &field["items"])),
        Some(ty) => ty.to_string(),
        None => "any".to_string(),
    };
    match &field["type"] {
        Value::Array(types) => types.iter().map(words).collect::<Vec<_>>().join(" or "),
        ty => words(ty),
    }
}

/// The fields of an object schema (following `$ref`), without the tag.
fn fields(schema: &Value, object: &Value, tag: &str, into: &mut Vec<String>) {
    if let Some(reference) = object["$ref"].as_str() {
        fields(schema, definition(schema, reference).1, tag, into);
    }
    let required: Vec<&str> = object["required"]
        .as_array()
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    for (name, field) in object["properties"].as_object().into_iter().flatten() {
        if name != tag {
            let optional = if required.contains(&name.as_str()) {
                ""
            } else {
                ", may be absent"
            };
            into.push(format!("`{name}` ({}{optional})", type_of(schema, field)));
        }
    }
}

/// Every `$ref` inside `value`.
fn references<'a>(value: &'a Value, into: &mut Vec<&'a str>) {
    match value {
        Value::Object(map) => {
            if let Some(reference) = map.get("$ref").and_then(Value::as_str) {
                into.push(reference);
            }
            map.values().for_each(|v| references(v, into));
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, into)),
        _ => {}
    }
}

/// The message table, then the types its fields name.
fn reference(schema: &Value) -> String {
    let mut text = String::from("| sent by | message | fields |\n|---|---|---|\n");
    let mut named = Vec::new();
    for (sender, root, tag) in [
        ("client", "ClientMessage", "action"),
        ("server", "ServerMessage", "type"),
    ] {
        for variant in schema["$defs"][root]["oneOf"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let mut list = Vec::new();
            fields(schema, variant, tag, &mut list);
            let list = if list.is_empty() {
                "–".to_string()
            } else {
                list.join(", ")
            };
            let name = &variant["properties"][tag]["const"];
            text.push_str(&format!("| {sender} | `{tag}: {name}` | {list} |\n"));
            if let Some(reference) = variant["$ref"].as_str() {
                references(definition(schema, reference).1, &mut named);
            }
        }
    }
    named.sort_unstable();
    named.dedup();
    text.push_str("\n| type | shape |\n|---|---|\n");
    for reference in named {
        let (name, object) = definition(schema, reference);
        let mut list = Vec::new();
        fields(schema, object, "", &mut list);
        let shape = if list.is_empty() {
            type_of(schema, object)
        } else {
            list.join(", ")
        };
        text.push_str(&format!("| {name} | {shape} |\n"));
    }
    text
}

/// docs/API.md with the generated reference between its markers.
fn api_page(current: &str, reference: &str) -> Option<String> {
    let start = current.find(BEGIN)? + BEGIN.len();
    let end = current[start..].find(END)? + start;
    Some(format!(
        "{}{reference}{}",
        &current[..start],
        &current[end..]
    ))
}

#[test]
fn protocol_docs_are_current() {
    let schema = protocol_schema();
    let generated = serde_json::to_string_pretty(&schema).expect("a schema") + "\n";
    let api = std::fs::read_to_string(API_FILE).expect("docs/API.md is readable");
    let page = api_page(&api, &reference(&schema))
        .expect("docs/API.md has the protocol-reference markers");
    if std::env::var_os("UPDATE_PROTOCOL_DOCS").is_some() {
        std::fs::write(SCHEMA_FILE, &generated).expect("the schema file is writable");
        std::fs::write(API_FILE, &page).expect("docs/API.md is writable");
    }
    let committed = std::fs::read_to_string(SCHEMA_FILE).unwrap_or_default();
    let api = std::fs::read_to_string(API_FILE).unwrap_or_default();
    assert!(
        committed == generated && api == page,
        "docs/protocol.schema.json or the message reference in docs/API.md differs from \
         the types in src/service/protocol.rs; regenerate both: \
         UPDATE_PROTOCOL_DOCS=1 cargo test --lib protocol_docs_are_current"
    );
}
