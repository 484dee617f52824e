//! The little URL handling the tool needs: split a URL into scheme,
//! authority and path, add query parameters, resolve a redirect's
//! `Location`. The host parses and decides again on what is sent.

/// A URL split into the parts `wasi:http` takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// `http` or `https`.
    pub scheme: String,
    /// `host[:port]`.
    pub authority: String,
    /// `/path?query` (at least `/`), without a fragment.
    pub path_with_query: String,
}

impl Url {
    /// Parses an absolute URL; no scheme means https.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (scheme, rest) = match s.split_once("://") {
            Some((scheme, rest)) => (scheme.to_ascii_lowercase(), rest),
            None => ("https".to_owned(), s),
        };
        if scheme != "http" && scheme != "https" {
            return Err(format!("\"{scheme}\" is not http or https"));
        }
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        if authority.is_empty() {
            return Err(format!("\"{s}\" has no host"));
        }
        if authority.contains('@') {
            return Err("user information in a URL (user@host) is not accepted".into());
        }
        if authority
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        {
            return Err(format!("\"{authority}\" is not a host"));
        }
        let tail = tail.split('#').next().unwrap_or("");
        let path_with_query = if tail.starts_with('/') {
            tail.to_owned()
        } else {
            format!("/{tail}")
        };
        Ok(Self {
            scheme,
            authority: authority.to_owned(),
            path_with_query,
        })
    }

    /// The URL as text.
    pub fn text(&self) -> String {
        format!(
            "{}://{}{}",
            self.scheme, self.authority, self.path_with_query
        )
    }

    /// `scheme://authority`, to compare origins.
    pub fn origin(&self) -> String {
        format!("{}://{}", self.scheme, self.authority.to_ascii_lowercase())
    }

    /// Adds `name=value` pairs to the query, form-encoded.
    pub fn add_params(&mut self, params: &[(String, String)]) {
        if params.is_empty() {
            return;
        }
        let encoded: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        let sep = if self.path_with_query.contains('?') {
            if self.path_with_query.ends_with(['?', '&']) {
                ""
            } else {
                "&"
            }
        } else {
            "?"
        };
        self.path_with_query = format!("{}{sep}{}", self.path_with_query, encoded.join("&"));
    }

    /// The URL a `Location` header leads to from this one.
    pub fn join(&self, location: &str) -> Result<Self, String> {
        let location = location.trim();
        if location.contains("://") {
            return Self::parse(location);
        }
        if let Some(rest) = location.strip_prefix("//") {
            return Self::parse(&format!("{}://{rest}", self.scheme));
        }
        let path = if location.starts_with('/') {
            location.to_owned()
        } else if location.starts_with('?') {
            let base = self.path_with_query.split('?').next().unwrap_or("/");
            format!("{base}{location}")
        } else {
            let base = self.path_with_query.split('?').next().unwrap_or("/");
            let dir = &base[..base.rfind('/').map_or(0, |i| i + 1)];
            format!("{dir}{location}")
        };
        Ok(Self {
            scheme: self.scheme.clone(),
            authority: self.authority.clone(),
            path_with_query: path.split('#').next().unwrap_or("/").to_owned(),
        })
    }
}

/// `application/x-www-form-urlencoded` encoding of one key or value.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_and_join() {
        let u = Url::parse("http://127.0.0.1:8080/a/b?x=1#frag").unwrap();
        assert_eq!(
            u,
            Url {
                scheme: "http".into(),
                authority: "127.0.0.1:8080".into(),
                path_with_query: "/a/b?x=1".into()
            }
        );
        assert_eq!(u.join("/c").unwrap().text(), "http://127.0.0.1:8080/c");
        assert_eq!(u.join("c").unwrap().text(), "http://127.0.0.1:8080/a/c");
        assert_eq!(
            u.join("?y=2").unwrap().text(),
            "http://127.0.0.1:8080/a/b?y=2"
        );
        assert_eq!(
            u.join("//example.com/x").unwrap().text(),
            "http://example.com/x"
        );
        assert_eq!(
            u.join("https://example.com").unwrap().text(),
            "https://example.com/"
        );
        assert_eq!(
            Url::parse("example.com").unwrap().text(),
            "https://example.com/"
        );
        assert!(Url::parse("ftp://x").is_err());
        assert!(Url::parse("http://u:p@x/").is_err());
    }

    #[test]
    fn params_are_form_encoded() {
        let mut u = Url::parse("http://h/p?a=1").unwrap();
        u.add_params(&[("q".into(), "a b&c".into()), ("é".into(), "1".into())]);
        assert_eq!(u.path_with_query, "/p?a=1&q=a+b%26c&%C3%A9=1");
    }
}
