//! The answer's shape: the body decoded, and `{status, url, final_url,
//! headers, truncated, encoding}`.

use base64::Engine;
use llmagent_guest::Output;
use llmagent_guest::http::Response;
use serde_json::{Map, Value};

/// The first value of header `name`, as text.
pub fn header(headers: &[(String, Vec<u8>)], name: &str) -> Option<String> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
}

/// Headers as an object, lower-cased names, repeated ones joined by `, `.
fn headers_object(headers: &[(String, Vec<u8>)]) -> Value {
    let mut map = Map::new();
    for (name, value) in headers {
        let value = String::from_utf8_lossy(value).into_owned();
        let name = name.to_ascii_lowercase();
        match map.get_mut(&name) {
            Some(Value::String(prev)) => {
                prev.push_str(", ");
                prev.push_str(&value);
            }
            _ => {
                map.insert(name, Value::String(value));
            }
        }
    }
    Value::Object(map)
}

/// The body decoded and how: JSON when the content type says JSON and it
/// parses, text when it is UTF-8 (and the type is textual or unknown),
/// base64 otherwise.
pub fn decode(content_type: Option<&str>, body: &[u8]) -> (Value, &'static str) {
    let ct = content_type.unwrap_or("").to_ascii_lowercase();
    let essence = ct.split(';').next().unwrap_or("").trim().to_owned();
    if (essence.ends_with("/json") || essence.ends_with("+json"))
        && let Ok(v) = serde_json::from_slice::<Value>(body)
    {
        return (v, "json");
    }
    let textual = essence.is_empty()
        || essence.starts_with("text/")
        || essence.ends_with("/json")
        || essence.ends_with("+json")
        || essence.ends_with("/xml")
        || essence.ends_with("+xml")
        || essence.ends_with("/javascript")
        || essence == "application/x-www-form-urlencoded";
    match std::str::from_utf8(body) {
        Ok(text) if textual => (Value::String(text.to_owned()), "text"),
        _ => (
            Value::String(base64::engine::general_purpose::STANDARD.encode(body)),
            "base64",
        ),
    }
}

/// The tool's answer to `response`, asked for as `url`, answered by
/// `final_url`.
pub fn answer(url: &str, final_url: &str, response: &Response) -> Output {
    let (output, encoding) = decode(
        header(&response.headers, "content-type").as_deref(),
        &response.body,
    );
    Output::new(output)
        .meta("status", response.status)
        .meta("url", url)
        .meta("final_url", final_url)
        .meta("headers", headers_object(&response.headers))
        .meta("truncated", response.truncated)
        .meta("encoding", encoding)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bodies_decode_by_their_type() {
        assert_eq!(
            decode(Some("application/json; charset=utf-8"), b"{\"a\":1}"),
            (json!({"a": 1}), "json")
        );
        assert_eq!(
            decode(Some("application/json"), b"{broken"),
            (json!("{broken"), "text")
        );
        assert_eq!(
            decode(Some("text/html"), b"<p>hi</p>"),
            (json!("<p>hi</p>"), "text")
        );
        assert_eq!(decode(None, b"plain"), (json!("plain"), "text"));
        assert_eq!(
            decode(Some("application/octet-stream"), &[0, 159, 255]),
            (json!("AJ//"), "base64")
        );
        assert_eq!(
            decode(Some("text/plain"), &[0xff]),
            (json!("/w=="), "base64")
        );
    }

    #[test]
    fn repeated_headers_are_joined() {
        let h = vec![
            ("Set-Cookie".to_owned(), b"a=1".to_vec()),
            ("set-cookie".to_owned(), b"b=2".to_vec()),
            ("Content-Type".to_owned(), b"text/plain".to_vec()),
        ];
        assert_eq!(
            headers_object(&h),
            json!({"set-cookie": "a=1, b=2", "content-type": "text/plain"})
        );
    }
}
