//! The hooks under `wasmtime-wasi-http`: every outgoing request is decided
//! by the role's `[roles.R.http]`, resolved by the runtime, checked again
//! at the address it resolved to, and sent to that very address.

use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{HOST, HeaderName, HeaderValue};
use http_body::{Body, Frame};
use http_body_util::BodyExt;
use tokio::net::TcpStream;
use tokio::time::Instant;
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::{
    DEFAULT_FORBIDDEN_HEADERS, Error, ForbiddenHeaderFilter, RequestOptions, WasiBody,
    WasiHttpHooks,
};

use super::policy::{HttpPolicy, Scheme, Target};
use crate::bindings::{CapError, Denial};
use crate::ctx::Grants;
use crate::decision::{Decision, Ruling};
use crate::resolver::ResolveError;
use crate::sink::{Sink, enforce};

/// Where the hooks leave the denial of the call's last refused request,
/// for `llmagent:tools/http.last-denial` (a `wasi:http` error code cannot
/// carry the hint).
pub(crate) type DenialSlot = Arc<Mutex<Option<Denial>>>;

/// `wasmtime-wasi-http` hooks for one tool call under one role.
pub struct HttpHooks {
    grants: Arc<Grants>,
    sink: Arc<dyn Sink>,
    denial: DenialSlot,
}

impl HttpHooks {
    pub(crate) fn new(grants: Arc<Grants>, sink: Arc<dyn Sink>, denial: DenialSlot) -> Self {
        Self {
            grants,
            sink,
            denial,
        }
    }
}

type Response = (
    http::Response<WasiBody>,
    Box<dyn Future<Output = Result<(), Error>> + Send>,
);

impl WasiHttpHooks for HttpHooks {
    /// The defaults (`host`, hop-by-hop and proxy headers) plus every
    /// header the runtime adds itself for some destination: a tool cannot
    /// set `Host` nor a credential's header.
    fn forbidden_header_filter(&mut self) -> ForbiddenHeaderFilter {
        let injected: Vec<HeaderName> = self
            .grants
            .http
            .allow
            .iter()
            .flat_map(|d| d.headers.iter().map(|(n, _)| n.clone()))
            .collect();
        Arc::new(move |name| DEFAULT_FORBIDDEN_HEADERS.contains(name) || injected.contains(name))
    }

    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), Error>> + Send>,
    ) -> Box<dyn Future<Output = Result<Response, Error>> + Send> {
        let grants = self.grants.clone();
        let sink = self.sink.clone();
        let denial = self.denial.clone();
        Box::new(async move {
            let sent = send(&grants.http, &*sink, request, options).await;
            match sent {
                Err(Refused::Denied(d)) => {
                    if let Ok(mut slot) = denial.lock() {
                        *slot = Some(d);
                    }
                    Err(Error::HttpRequestDenied)
                }
                Err(Refused::Failed(e)) => Err(e),
                Ok((response, io)) => {
                    Ok((response, Box::new(io) as Box<dyn Future<Output = _> + Send>))
                }
            }
        })
    }
}

enum Refused {
    Denied(Denial),
    Failed(Error),
}

impl From<Error> for Refused {
    fn from(e: Error) -> Self {
        Self::Failed(e)
    }
}

/// Reports a ruling; a refusal becomes the tool's denial.
fn report(sink: &dyn Sink, method: &str, target: &str, ruling: &Ruling) -> Result<(), Refused> {
    match enforce(sink, &Decision::capability("http", method, target, ruling)) {
        Ok(()) => Ok(()),
        Err(CapError::Denied(d)) => Err(Refused::Denied(d)),
        Err(other) => Err(Refused::Failed(Error::InternalError(Some(format!(
            "{other:?}"
        ))))),
    }
}

async fn send(
    policy: &HttpPolicy,
    sink: &dyn Sink,
    request: http::Request<WasiBody>,
    options: Option<RequestOptions>,
) -> Result<
    (
        http::Response<WasiBody>,
        impl Future<Output = Result<(), Error>> + Send + use<>,
    ),
    Refused,
> {
    let deadline = Instant::now() + Duration::from_millis(policy.timeout_ms);
    let method = request.method().as_str().to_owned();
    let url = request.uri().to_string();
    let target =
        Target::parse(&url).map_err(|m| Error::InternalError(Some(format!("{url}: {m}"))))?;

    let (ruling, dest) = policy.decide(&method, &target);
    let Some(dest) = dest else {
        report(sink, &method, &url, &ruling)?;
        return Err(Error::HttpRequestDenied.into());
    };

    let left = deadline.saturating_duration_since(Instant::now());
    let ips = policy
        .resolver
        .addresses(&target.host, left)
        .await
        .map_err(|e| match e {
            ResolveError::Timeout => Error::DnsTimeout,
            ResolveError::NotFound(m) => Error::DnsError {
                rcode: Some(m),
                info_code: None,
            },
            ResolveError::Failed(m) => Error::DnsError {
                rcode: Some(m),
                info_code: None,
            },
        })?;
    // The addresses the policy accepts, in the resolver's order; when there
    // is none, the first refusal is reported.
    let rulings: Vec<(SocketAddr, Ruling)> = ips
        .iter()
        .map(|ip| {
            let ruling = policy.decide_address(&target, dest, *ip);
            (SocketAddr::new(*ip, target.port), ruling)
        })
        .collect();
    let allowed: Vec<(SocketAddr, Ruling)> = rulings
        .iter()
        .filter(|(_, r)| matches!(r, Ruling::Allow { .. }))
        .cloned()
        .collect();
    if allowed.is_empty() {
        let (addr, ruling) = rulings.first().ok_or(Error::DestinationNotFound)?;
        report(sink, &method, &format!("{url} at {addr}"), ruling)?;
        return Err(Error::DestinationNotFound.into());
    }

    // Headers the runtime adds for this destination.
    let mut injected = Vec::new();
    for (name, var) in &dest.headers {
        let value = std::env::var(var).map_err(|_| {
            Error::InternalError(Some(format!(
                "the runtime adds the {name} header for {} from ${var}, which is not set",
                dest.pattern
            )))
        })?;
        let mut value = HeaderValue::from_str(&value).map_err(|_| {
            Error::InternalError(Some(format!("${var} is not a valid header value")))
        })?;
        value.set_sensitive(true);
        injected.push((name.clone(), value));
    }

    let connect_by = options
        .and_then(|o| o.connect_timeout)
        .map_or(deadline, |t| deadline.min(Instant::now() + t));
    let stream = connect(sink, &method, &url, &allowed, connect_by).await?;
    let stream: Box<dyn Stream> = match target.scheme {
        Scheme::Http => Box::new(stream),
        Scheme::Https => Box::new(tls_stream(stream, &target.host, connect_by).await?),
    };
    let (mut sender, conn) = handshake(TokioIo::new(stream), connect_by).await?;

    let (mut parts, body) = request.into_parts();
    parts.uri = http::Uri::builder()
        .path_and_query(parts.uri.path_and_query().map_or("/", |p| p.as_str()))
        .build()
        .map_err(|_| Error::HttpRequestUriInvalid)?;
    // Host always names the granted destination, whatever the tool set.
    let host = target
        .origin()
        .split_once("://")
        .map(|(_, h)| h.to_owned())
        .unwrap_or_default();
    parts.headers.remove(HOST);
    parts.headers.insert(
        HOST,
        HeaderValue::from_str(&host).map_err(|_| Error::HttpRequestUriInvalid)?,
    );
    for (name, value) in injected {
        parts.headers.insert(name, value);
    }
    let request = http::Request::from_parts(parts, body);

    let first_byte_by = options
        .and_then(|o| o.first_byte_timeout)
        .map_or(deadline, |t| deadline.min(Instant::now() + t));
    let mut conn = Box::pin(conn);
    let response = {
        let send = sender.send_request(request);
        tokio::pin!(send);
        // Drive the connection while waiting for the response head.
        let wait = async {
            loop {
                tokio::select! {
                    r = &mut send => return r.map_err(Error::from),
                    c = &mut conn => {
                        if let Err(e) = c {
                            return Err(Error::from(e));
                        }
                    }
                }
            }
        };
        match tokio::time::timeout_at(first_byte_by, wait).await {
            Err(_) => return Err(Error::ConnectionReadTimeout.into()),
            Ok(r) => r?,
        }
    };
    let cap = policy.max_response_bytes;
    let response = response.map(|incoming| {
        Capped {
            inner: incoming,
            left: cap,
            cap,
            deadline: Box::pin(tokio::time::sleep_until(deadline)),
            cut: false,
            done: false,
        }
        .boxed_unsync()
    });
    let io = async move {
        match conn.await {
            Ok(()) => Ok(()),
            Err(e) => Err(Error::from(e)),
        }
    };
    Ok((response, io))
}

/// How long a connection attempt goes unanswered before the next address
/// is tried beside it (RFC 8305's connection attempt delay).
const ATTEMPT_DELAY: Duration = Duration::from_millis(250);

/// Connects to one of `addresses` (allowed, in the resolver's order) by
/// `by`, as RFC 8305 does: the next address is tried as soon as the
/// attempt before fails, or beside it when it has not answered in
/// [`ATTEMPT_DELAY`]; the first connection made wins and the others are
/// dropped. Each address is decided on record before it is tried. When
/// every attempt fails, the last failure is the answer.
async fn connect(
    sink: &dyn Sink,
    method: &str,
    url: &str,
    addresses: &[(SocketAddr, Ruling)],
    by: Instant,
) -> Result<TcpStream, Refused> {
    let mut untried = addresses.iter();
    let mut attempts = tokio::task::JoinSet::new();
    let mut last = Error::ConnectionTimeout;
    let mut next = true;
    let deadline = tokio::time::sleep_until(by);
    tokio::pin!(deadline);
    loop {
        if next || attempts.is_empty() {
            match untried.next() {
                Some((addr, ruling)) => {
                    report(sink, method, &format!("{url} at {addr}"), ruling)?;
                    attempts.spawn(TcpStream::connect(*addr));
                }
                None if attempts.is_empty() => return Err(last.into()),
                None => {}
            }
            next = false;
        }
        let more = untried.len() > 0;
        tokio::select! {
            done = attempts.join_next() => match done {
                Some(Ok(Ok(stream))) => return Ok(stream),
                Some(Ok(Err(e))) => {
                    last = if e.kind() == std::io::ErrorKind::ConnectionRefused {
                        Error::ConnectionRefused
                    } else {
                        Error::Connect(e)
                    };
                    next = true;
                }
                Some(Err(e)) => {
                    last = Error::InternalError(Some(format!("a connection attempt failed: {e}")));
                    next = true;
                }
                None => {}
            },
            () = tokio::time::sleep(ATTEMPT_DELAY), if more => next = true,
            () = &mut deadline => return Err(Error::ConnectionTimeout.into()),
        }
    }
}

/// A connection, plain or TLS.
trait Stream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static> Stream for T {}

async fn handshake(
    io: TokioIo<Box<dyn Stream>>,
    by: Instant,
) -> Result<
    (
        hyper::client::conn::http1::SendRequest<WasiBody>,
        hyper::client::conn::http1::Connection<TokioIo<Box<dyn Stream>>, WasiBody>,
    ),
    Error,
> {
    tokio::time::timeout_at(by, hyper::client::conn::http1::handshake(io))
        .await
        .map_err(|_| Error::ConnectionTimeout)?
        .map_err(Error::from)
}

/// rustls on the `ring` provider against the OS trust store, HTTP/1.1
/// only, as the model client uses; built once.
fn tls_config() -> Result<Arc<rustls::ClientConfig>, Error> {
    static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            use rustls_platform_verifier::BuilderVerifierExt;
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let mut config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .and_then(|b| b.with_platform_verifier())
                .map_err(|e| e.to_string())?
                .with_no_client_auth();
            config.alpn_protocols = vec![b"http/1.1".to_vec()];
            Ok(Arc::new(config))
        })
        .clone()
        .map_err(|e| Error::InternalError(Some(format!("cannot set up TLS: {e}"))))
}

/// TLS over `stream`, with SNI and certificate checked for `host`: the
/// granted name, never another.
async fn tls_stream(
    stream: TcpStream,
    host: &str,
    by: Instant,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, Error> {
    let name = match host.parse::<IpAddr>() {
        Ok(ip) => rustls::pki_types::ServerName::from(ip),
        Err(_) => rustls::pki_types::ServerName::try_from(host.to_owned())
            .map_err(|_| Error::HttpRequestUriInvalid)?,
    };
    let connector = tokio_rustls::TlsConnector::from(tls_config()?);
    tokio::time::timeout_at(by, connector.connect(name, stream))
        .await
        .map_err(|_| Error::ConnectionTimeout)?
        .map_err(Error::Tls)
}

/// The trailer that ends a body the runtime cut, its value the cap. (An
/// `HTTP-response-body-size` error would say it better, but
/// wasmtime-wasi-http 48 hands body errors from its hooks to the guest as
/// opaque errors, without an error code.)
pub const TRUNCATED: &str = "llmagent-truncated";

fn truncated_trailer(cap: u64) -> http::HeaderMap {
    let mut map = http::HeaderMap::new();
    map.insert(TRUNCATED, HeaderValue::from(cap));
    map
}

/// A response body cut after `cap` bytes, ending then with the trailer
/// [`TRUNCATED`] so the tool knows it was cut, and with
/// `HTTP-response-timeout` at the request's deadline.
struct Capped {
    inner: hyper::body::Incoming,
    left: u64,
    cap: u64,
    deadline: Pin<Box<tokio::time::Sleep>>,
    /// The body went past the cap: the next poll says so.
    cut: bool,
    done: bool,
}

impl Body for Capped {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        if self.done {
            return Poll::Ready(None);
        }
        if self.cut {
            self.done = true;
            return Poll::Ready(Some(Ok(Frame::trailers(truncated_trailer(self.cap)))));
        }
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Ready(Some(Err(e))) => {
                self.done = true;
                Poll::Ready(Some(Err(Error::from(e))))
            }
            Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                Ok(mut data) => {
                    if self.left == 0 && !data.is_empty() {
                        self.done = true;
                        return Poll::Ready(Some(Ok(Frame::trailers(truncated_trailer(self.cap)))));
                    }
                    let len = data.len() as u64;
                    if len > self.left {
                        // Keep what fits; the next poll reports the cut.
                        data.truncate(usize::try_from(self.left).unwrap_or(usize::MAX));
                        self.left = 0;
                        self.cut = true;
                        return Poll::Ready(Some(Ok(Frame::data(data))));
                    }
                    self.left -= len;
                    Poll::Ready(Some(Ok(Frame::data(data))))
                }
                Err(mut frame) => {
                    // A server cannot claim the runtime's cut.
                    if let Some(trailers) = frame.trailers_mut() {
                        trailers.remove(TRUNCATED);
                    }
                    Poll::Ready(Some(Ok(frame)))
                }
            },
            Poll::Pending => {
                if self.deadline.as_mut().poll(cx).is_ready() {
                    self.done = true;
                    return Poll::Ready(Some(Err(Error::HttpResponseTimeout)));
                }
                Poll::Pending
            }
        }
    }
}
