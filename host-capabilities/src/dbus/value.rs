//! JSON ↔ D-Bus values, driven by the D-Bus signature.
//!
//! To D-Bus ([`to_body`], [`to_variant`]): numbers must fit the type
//! (`y` 0–255, `n`, `q`, `i`, `u`, `x`, `t` in range, `d` any number),
//! `b` a boolean, `s`/`o`/`g` a string (a valid object path or signature
//! for `o`/`g`), `a…` a JSON array, `a{…}` a JSON object (keys converted by
//! the key type from their text), `(…)` a JSON array of the fields, and
//! `v` either `{"signature": "…", "value": …}` or a bare string, boolean,
//! integer (`x`) or number (`d`). File descriptors (`h`) cannot be passed.
//!
//! From D-Bus ([`to_json`]): numbers and booleans as JSON's, strings,
//! paths and signatures as strings, arrays and structures as arrays,
//! dictionaries as objects (non-string keys as their text), variants as
//! their value.

use serde_json::{Map, Number, Value as Json};
use zbus::{Array, Dict, ObjectPath, Signature, Structure, Variant};

/// Why a JSON value does not convert; the message names where, by a path
/// of indexes and keys (`args[1]["x"]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConvertError(pub(crate) String);

fn fail<T>(at: &str, what: impl std::fmt::Display) -> Result<T, ConvertError> {
    Err(ConvertError(format!("{at}: {what}")))
}

/// The top-level types of a body signature (`"si"` → `[s, i]`); empty for
/// `""`.
pub(crate) fn body_types(signature: &str) -> Result<Vec<Signature>, ConvertError> {
    if signature.is_empty() {
        return Ok(Vec::new());
    }
    match Signature::try_from(format!("({signature})").as_str()) {
        Ok(Signature::Structure(fields)) => Ok(fields.iter().cloned().collect()),
        Ok(_) | Err(_) => fail(
            "signature",
            format!("\"{signature}\" is not a D-Bus signature"),
        ),
    }
}

/// The message body for `args` (a JSON array) by `signature`: `None` for
/// no arguments, else a structure whose fields are the arguments.
pub(crate) fn to_body(
    signature: &str,
    args: &Json,
) -> Result<Option<Structure<'static>>, ConvertError> {
    let types = body_types(signature)?;
    let empty = Vec::new();
    let values = match args {
        Json::Array(values) => values,
        Json::Null => &empty,
        _ => return fail("args", "must be a JSON array with one element per argument"),
    };
    if values.len() != types.len() {
        return fail(
            "args",
            format!(
                "the signature \"{signature}\" takes {} argument(s), {} given",
                types.len(),
                values.len()
            ),
        );
    }
    if types.is_empty() {
        return Ok(None);
    }
    let mut builder = Structure::builder();
    for (i, (ty, value)) in types.iter().zip(values).enumerate() {
        builder.push_value(to_variant(ty, value, &format!("args[{i}]"))?);
    }
    builder
        .build()
        .map(Some)
        .map_err(|e| ConvertError(format!("args: {e}")))
}

fn integer<T: TryFrom<i64> + TryFrom<u64>>(
    value: &Json,
    at: &str,
    ty: &str,
) -> Result<T, ConvertError> {
    let out_of_range = || ConvertError(format!("{at}: {value} does not fit the type {ty}"));
    match value {
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                T::try_from(i).map_err(|_| out_of_range())
            } else if let Some(u) = n.as_u64() {
                T::try_from(u).map_err(|_| out_of_range())
            } else {
                fail(at, format!("{value} is not an integer (type {ty})"))
            }
        }
        _ => fail(at, format!("expected an integer (type {ty}), got {value}")),
    }
}

fn string<'j>(value: &'j Json, at: &str, ty: &str) -> Result<&'j str, ConvertError> {
    value
        .as_str()
        .ok_or_else(|| ConvertError(format!("{at}: expected a string (type {ty}), got {value}")))
}

/// One value of type `ty`.
pub(crate) fn to_variant(
    ty: &Signature,
    value: &Json,
    at: &str,
) -> Result<Variant<'static>, ConvertError> {
    Ok(match ty {
        Signature::U8 => Variant::U8(integer(value, at, "y")?),
        Signature::I16 => Variant::I16(integer(value, at, "n")?),
        Signature::U16 => Variant::U16(integer(value, at, "q")?),
        Signature::I32 => Variant::I32(integer(value, at, "i")?),
        Signature::U32 => Variant::U32(integer(value, at, "u")?),
        Signature::I64 => Variant::I64(integer(value, at, "x")?),
        Signature::U64 => Variant::U64(integer(value, at, "t")?),
        Signature::F64 => match value.as_f64() {
            Some(f) => Variant::F64(f),
            None => return fail(at, format!("expected a number (type d), got {value}")),
        },
        Signature::Bool => match value {
            Json::Bool(b) => Variant::Bool(*b),
            _ => return fail(at, format!("expected true or false (type b), got {value}")),
        },
        Signature::Str => Variant::from(string(value, at, "s")?.to_owned()),
        Signature::ObjectPath => {
            let text = string(value, at, "o")?.to_owned();
            match ObjectPath::try_from(text) {
                Ok(path) => Variant::ObjectPath(path),
                Err(e) => return fail(at, format!("{value} is not an object path: {e}")),
            }
        }
        Signature::Signature => {
            let text = string(value, at, "g")?;
            match Signature::try_from(text) {
                Ok(sig) => Variant::Signature(sig),
                Err(e) => return fail(at, format!("{value} is not a signature: {e}")),
            }
        }
        Signature::Variant => Variant::Variant(Box::new(inferred(value, at)?)),
        Signature::Array(child) => {
            let Json::Array(items) = value else {
                return fail(
                    at,
                    format!("expected a JSON array (type {ty}), got {value}"),
                );
            };
            let mut array = Array::new(child.signature());
            for (i, item) in items.iter().enumerate() {
                let element = to_variant(child.signature(), item, &format!("{at}[{i}]"))?;
                array
                    .append(element)
                    .map_err(|e| ConvertError(format!("{at}[{i}]: {e}")))?;
            }
            Variant::Array(array)
        }
        Signature::Dict {
            key,
            value: value_ty,
        } => {
            let Json::Object(entries) = value else {
                return fail(
                    at,
                    format!("expected a JSON object (type {ty}), got {value}"),
                );
            };
            let mut dict = Dict::new(key.signature(), value_ty.signature());
            for (k, v) in entries {
                let where_ = format!("{at}[{k:?}]");
                let key_json = match key.signature() {
                    Signature::Str | Signature::ObjectPath | Signature::Signature => {
                        Json::String(k.clone())
                    }
                    _ => serde_json::from_str(k).map_err(|_| {
                        ConvertError(format!(
                            "{where_}: the key \"{k}\" is not a value of the key type {}",
                            key.signature()
                        ))
                    })?,
                };
                let key_value = to_variant(key.signature(), &key_json, &where_)?;
                let entry = to_variant(value_ty.signature(), v, &where_)?;
                dict.append(key_value, entry)
                    .map_err(|e| ConvertError(format!("{where_}: {e}")))?;
            }
            Variant::Dict(dict)
        }
        Signature::Structure(fields) => {
            let Json::Array(items) = value else {
                return fail(
                    at,
                    format!("expected a JSON array of the fields of {ty}, got {value}"),
                );
            };
            if items.len() != fields.len() {
                return fail(
                    at,
                    format!("{ty} has {} fields, {} given", fields.len(), items.len()),
                );
            }
            let mut builder = Structure::builder();
            for (i, (field, item)) in fields.iter().zip(items).enumerate() {
                builder.push_value(to_variant(field, item, &format!("{at}[{i}]"))?);
            }
            Variant::Structure(
                builder
                    .build()
                    .map_err(|e| ConvertError(format!("{at}: {e}")))?,
            )
        }
        _ => return fail(at, format!("values of type {ty} cannot be passed")),
    })
}

/// The value inside a variant: `{"signature": "…", "value": …}` says its
/// type; otherwise a string is `s`, a boolean `b`, an integer `x` (`t`
/// above `i64`), another number `d`.
fn inferred(value: &Json, at: &str) -> Result<Variant<'static>, ConvertError> {
    match value {
        Json::Object(map) if map.len() == 2 && map.contains_key("signature") => {
            let (Some(sig), Some(inner)) = (
                map.get("signature").and_then(Json::as_str),
                map.get("value"),
            ) else {
                return fail(at, "a variant is {\"signature\": \"…\", \"value\": …}");
            };
            let mut types = body_types(sig)?;
            if types.len() != 1 {
                return fail(at, format!("\"{sig}\" is not one complete type"));
            }
            let ty = types.remove(0);
            to_variant(&ty, inner, &format!("{at}.value"))
        }
        Json::String(s) => Ok(Variant::from(s.clone())),
        Json::Bool(b) => Ok(Variant::Bool(*b)),
        Json::Number(n) => Ok(match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => Variant::I64(i),
            (None, Some(u), _) => Variant::U64(u),
            (_, _, Some(f)) => Variant::F64(f),
            _ => return fail(at, format!("{n} is not a number D-Bus can carry")),
        }),
        _ => fail(
            at,
            "a variant holding an array or object needs {\"signature\": \"…\", \"value\": …}",
        ),
    }
}

/// A D-Bus value as JSON.
pub(crate) fn to_json(value: &Variant<'_>) -> Json {
    match value {
        Variant::U8(n) => Json::from(*n),
        Variant::Bool(b) => Json::Bool(*b),
        Variant::I16(n) => Json::from(*n),
        Variant::U16(n) => Json::from(*n),
        Variant::I32(n) => Json::from(*n),
        Variant::U32(n) => Json::from(*n),
        Variant::I64(n) => Json::from(*n),
        Variant::U64(n) => Json::from(*n),
        Variant::F64(f) => Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Variant::Str(s) => Json::String(s.as_str().to_owned()),
        Variant::Signature(s) => Json::String(s.to_string_no_parens()),
        Variant::ObjectPath(p) => Json::String(p.as_str().to_owned()),
        Variant::Variant(inner) => to_json(inner),
        Variant::Array(a) => Json::Array(a.inner().iter().map(to_json).collect()),
        Variant::Dict(d) => {
            let map: Map<String, Json> = d
                .iter()
                .map(|(k, v)| {
                    let key = match to_json(k) {
                        Json::String(s) => s,
                        other => other.to_string(),
                    };
                    (key, to_json(v))
                })
                .collect();
            Json::Object(map)
        }
        Variant::Structure(s) => Json::Array(s.fields().iter().map(to_json).collect()),
        #[allow(unreachable_patterns)]
        _ => Json::Null,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn round_trip(signature: &str, value: Json) -> Json {
        let ty = Signature::try_from(signature).unwrap();
        to_json(&to_variant(&ty, &value, "v").unwrap())
    }

    #[test]
    fn values_survive_the_round_trip_by_their_signature() {
        for (sig, value) in [
            ("y", json!(255)),
            ("n", json!(-3)),
            ("q", json!(65535)),
            ("i", json!(-7)),
            ("u", json!(7)),
            ("x", json!(-9_000_000_000_i64)),
            ("t", json!(u64::MAX)),
            ("d", json!(1.5)),
            ("b", json!(true)),
            ("s", json!("héllo")),
            ("o", json!("/org/example/Obj")),
            ("g", json!("a{sv}")),
            ("as", json!(["a", "b"])),
            ("a{si}", json!({"one": 1, "two": 2})),
            ("a{is}", json!({"1": "one"})),
            ("(sib)", json!(["x", 1, false])),
            ("aai", json!([[1], [2, 3]])),
        ] {
            assert_eq!(round_trip(sig, value.clone()), value, "{sig}");
        }
        assert_eq!(round_trip("v", json!("text")), json!("text"));
        assert_eq!(
            round_trip(
                "a{sv}",
                json!({"n": 3, "list": {"signature": "au", "value": [1, 2]}})
            ),
            json!({"n": 3, "list": [1, 2]})
        );
    }

    #[test]
    fn a_value_that_does_not_fit_its_type_says_where() {
        let ty = Signature::try_from("a(sy)").unwrap();
        assert_eq!(
            to_variant(&ty, &json!([["a", 1], ["b", 256]]), "args[0]").unwrap_err(),
            ConvertError("args[0][1][1]: 256 does not fit the type y".into())
        );
        let ty = Signature::try_from("u").unwrap();
        assert_eq!(
            to_variant(&ty, &json!("7"), "args[2]").unwrap_err(),
            ConvertError("args[2]: expected an integer (type u), got \"7\"".into())
        );
        let ty = Signature::try_from("o").unwrap();
        assert!(to_variant(&ty, &json!("not/a/path"), "a").is_err());
        let ty = Signature::try_from("h").unwrap();
        assert_eq!(
            to_variant(&ty, &json!(0), "a").unwrap_err(),
            ConvertError("a: values of type h cannot be passed".into())
        );
    }

    #[test]
    fn a_body_has_one_argument_per_top_level_type() {
        assert_eq!(body_types("").unwrap(), Vec::<Signature>::new());
        assert_eq!(body_types("si(ii)").unwrap().len(), 3);
        assert_eq!(body_types("(si)").unwrap().len(), 1);
        assert!(body_types("a{").is_err());
        assert!(to_body("", &json!([])).unwrap().is_none());
        assert_eq!(
            to_body("si", &json!(["a"])).unwrap_err(),
            ConvertError("args: the signature \"si\" takes 2 argument(s), 1 given".into())
        );
        let body = to_body("si", &json!(["a", 2])).unwrap().unwrap();
        assert_eq!(body.fields().len(), 2);
    }
}
