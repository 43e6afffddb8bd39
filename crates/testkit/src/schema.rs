//! A JSON Schema checker for the keywords our schema files use: `type`, `const`, `enum`,
//! `required`, `properties`, `additionalProperties: false`, `items`, `minimum`, and local
//! `$ref`s into `$defs` or `definitions`.

use serde_json::Value;

/// Every way `value` breaks `schema`, as `$.path: problem`.
pub fn violations(schema: &Value, value: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    check(schema, schema, value, "$", &mut errors);
    errors
}

fn check(root: &Value, schema: &Value, v: &Value, at: &str, errors: &mut Vec<String>) {
    if let Some(Value::String(r)) = schema.get("$ref") {
        let target = r
            .strip_prefix("#/$defs/")
            .map(|n| &root["$defs"][n])
            .or_else(|| {
                r.strip_prefix("#/definitions/")
                    .map(|n| &root["definitions"][n])
            });
        match target {
            Some(t) if !t.is_null() => return check(root, t, v, at, errors),
            _ => {
                errors.push(format!("{at}: unresolvable $ref {r}"));
                return;
            }
        }
    }
    if let Some(c) = schema.get("const")
        && c != v
    {
        errors.push(format!("{at}: expected {c}, got {v}"));
    }
    if let Some(Value::Array(options)) = schema.get("enum")
        && !options.contains(v)
    {
        errors.push(format!("{at}: {v} is not one of {options:?}"));
    }
    if let Some(t) = schema.get("type") {
        let types: Vec<&str> = match t {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        let actual = match v {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_u64() || n.is_i64() => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        if !types
            .iter()
            .any(|t| *t == actual || (*t == "number" && actual == "integer"))
        {
            errors.push(format!("{at}: expected {types:?}, got {actual}"));
            return;
        }
    }
    if let (Some(min), Some(n)) = (schema.get("minimum").and_then(Value::as_f64), v.as_f64())
        && n < min
    {
        errors.push(format!("{at}: {n} is below the minimum {min}"));
    }
    if let (Some(Value::Array(req)), Value::Object(o)) = (schema.get("required"), v) {
        for r in req.iter().filter_map(Value::as_str) {
            if !o.contains_key(r) {
                errors.push(format!("{at}: missing `{r}`"));
            }
        }
    }
    if let Value::Object(o) = v {
        let props = schema.get("properties").and_then(Value::as_object);
        if let Some(props) = props {
            for (k, sub) in props {
                if let Some(child) = o.get(k) {
                    check(root, sub, child, &format!("{at}.{k}"), errors);
                }
            }
        }
        if schema.get("additionalProperties") == Some(&Value::Bool(false)) {
            for k in o
                .keys()
                .filter(|k| props.is_none_or(|p| !p.contains_key(*k)))
            {
                errors.push(format!("{at}: `{k}` is not allowed here"));
            }
        }
    }
    if let (Some(items), Value::Array(a)) = (schema.get("items"), v) {
        for (i, x) in a.iter().enumerate() {
            check(root, items, x, &format!("{at}[{i}]"), errors);
        }
    }
}
