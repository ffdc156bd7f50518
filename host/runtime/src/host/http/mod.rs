//! Outbound HTTP for plugins, through `wasi:http`. wasmtime's implementation builds
//! the request; Baton sends it, and only after these checks, in this order:
//!
//! 1. the plugin has an `http` grant and has not used up its requests for the call;
//! 2. the URL, canonicalised (host, IPv4 spellings, dot segments), matches a rule of
//!    the grant: scheme, host, port, path prefix and method;
//! 3. the host name is resolved by Baton, and every address that is loopback,
//!    private or link-local is dropped unless the rule names the address literally or
//!    says `private = true`;
//! 4. the connection goes to an address that passed step 3 (never a second lookup),
//!    with the guest's timeouts clamped to the grant's, and header and body sizes
//!    capped both ways.
//!
//! A refused request reaches the guest as a `wasi:http` error code
//! (`HTTP-request-denied`, `destination-IP-prohibited`, `HTTP-response-body-size`)
//! and is recorded, so that when the call then fails, the error names the refusal.

mod body;
pub(crate) mod own;

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::Request;
use http_body_util::BodyExt;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use url::{Host, Url};
use wasmtime_wasi_http::io::TokioIo;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

use baton_core::http::{HostPattern, canonical, restricted};
pub use baton_core::{HttpGrant, HttpRule};
use body::Guarded;

/// Largest response head (status line and headers) read from a server.
const MAX_RESPONSE_HEAD: usize = 64 * 1024;
/// Largest set of request headers a guest may build.
pub(crate) const MAX_REQUEST_FIELDS: usize = 64 * 1024;

/// Resolves once the connection's I/O is done (it outlives the response head).
type Io = Box<dyn Future<Output = Result<(), Error>> + Send>;
/// A response head with its body, and the connection's I/O still to drive.
type Sent = (http::Response<WasiBody>, Io);
type ResponseFuture = Box<dyn Future<Output = Result<Sent, Error>> + Send>;

/// Refusals of one call, shared with the tasks that send its requests.
pub(crate) type Refusals = Arc<Mutex<Vec<String>>>;

/// The `wasi:http` hooks of one call: its grant, its request count, and what it was
/// refused.
#[derive(Debug, Default)]
pub(crate) struct HttpSandbox {
    grant: Option<Arc<HttpGrant>>,
    sent: usize,
    pub(crate) refusals: Refusals,
}

impl HttpSandbox {
    pub(crate) fn new(grant: Option<Arc<HttpGrant>>) -> Self {
        HttpSandbox {
            grant,
            ..HttpSandbox::default()
        }
    }

    /// Steps 1 and 2: whether the request may be attempted at all.
    fn admit(&mut self, request: &Request<WasiBody>) -> Result<Admitted, (Error, String)> {
        let method = request.method().as_str().to_string();
        let Some(grant) = self.grant.clone() else {
            return Err((
                Error::HttpRequestDenied,
                format!(
                    "{method} {} refused: the workflow grants this plugin no http access",
                    request.uri()
                ),
            ));
        };
        if self.sent >= grant.max_requests {
            return Err((
                Error::ConnectionLimitReached,
                format!(
                    "{method} {} refused: the call already made its {} requests (grant `max_requests`)",
                    request.uri(),
                    grant.max_requests
                ),
            ));
        }
        let url = canonical(&request.uri().to_string())
            .map_err(|reason| (Error::HttpRequestUriInvalid, reason))?;
        let rule = grant
            .allow(&method, &url)
            .map_err(|reason| (Error::HttpRequestDenied, reason))?
            .clone();
        self.sent += 1;
        Ok(Admitted { url, rule, grant })
    }

    fn refuse(refusals: &Refusals, reason: String) {
        tracing::warn!("http: {reason}");
        if let Ok(mut list) = refusals.lock() {
            list.push(reason);
        }
    }
}

/// A request that passed the allowlist.
struct Admitted {
    url: Url,
    rule: HttpRule,
    grant: Arc<HttpGrant>,
}

impl WasiHttpHooks for HttpSandbox {
    fn send_request(
        &mut self,
        request: Request<WasiBody>,
        options: Option<RequestOptions>,
        _fut: Io,
    ) -> ResponseFuture {
        let refusals = self.refusals.clone();
        match self.admit(&request) {
            Ok(admitted) => Box::new(send(request, admitted, options, refusals)),
            Err((error, reason)) => {
                Self::refuse(&refusals, reason);
                Box::new(async move { Err(error) })
            }
        }
    }
}

/// Each timeout is the guest's, if it asked for one, never more than the grant's.
fn clamp(asked: Option<Duration>, most: Duration) -> Duration {
    asked.map_or(most, |asked| asked.min(most))
}

/// Steps 3 and 4: resolve, check the addresses, connect to a checked one, send.
async fn send(
    mut request: Request<WasiBody>,
    admitted: Admitted,
    options: Option<RequestOptions>,
    refusals: Refusals,
) -> Result<Sent, Error> {
    let Admitted { url, rule, grant } = admitted;
    let options = options.unwrap_or_default();
    let connect_timeout = clamp(options.connect_timeout, grant.timeout);
    let first_byte_timeout = clamp(options.first_byte_timeout, grant.timeout);
    let idle_timeout = clamp(options.between_bytes_timeout, grant.timeout);
    let method = request.method().clone();

    let candidates = resolve(&url, connect_timeout).await?;
    let named = matches!(rule.host, HostPattern::Ip(_));
    let (allowed, refused): (Vec<SocketAddr>, Vec<SocketAddr>) = candidates
        .into_iter()
        .partition(|addr| rule.private || named || restricted(addr.ip()).is_none());
    if allowed.is_empty() {
        let why = refused
            .iter()
            .map(|a| format!("{} ({})", a.ip(), restricted(a.ip()).unwrap_or("refused")))
            .collect::<Vec<_>>()
            .join(", ");
        HttpSandbox::refuse(
            &refusals,
            format!(
                "{method} {url} refused: {} resolves only to {why}, which the grant does not allow; \
                 add `private = true` to the grant if this is intended",
                url.host_str().unwrap_or_default()
            ),
        );
        return Err(Error::DestinationIpProhibited);
    }

    let (mut sender, connection) = handshake(&url, &allowed, connect_timeout).await?;

    // On the wire: the canonical path and query that were checked, and a Host header
    // that names the host that was checked.
    address(&mut request, &url)?;
    let request = request.map(|body| {
        Guarded::new(body, grant.max_request, None, None, |limit| {
            Error::HttpRequestBodySize(Some(limit))
        })
        .boxed_unsync()
    });

    let exchange = async {
        tokio::time::timeout(first_byte_timeout, sender.send_request(request))
            .await
            .map_err(|_| Error::ConnectionReadTimeout)?
            .map_err(Error::from)
    };
    let mut exchange = std::pin::pin!(exchange);
    let mut connection = Box::pin(connection);
    let mut finished = false;
    // Drive the connection while waiting for the response head. A server that closes
    // the connection right after its response (HTTP/1.0) finishes the connection
    // first; the response is then ready.
    let response = tokio::select! {
        biased;
        response = &mut exchange => response?,
        done = &mut connection => {
            finished = true;
            done?;
            exchange.await?
        }
    };
    let response_refusals = refusals.clone();
    let over = format!("{method} {url}");
    let response = response.map(move |incoming| {
        let body = incoming.map_err(|e| {
            if e.is_timeout() {
                Error::HttpResponseTimeout
            } else {
                Error::from(e)
            }
        });
        Guarded::new(
            body,
            grant.max_response,
            Some(idle_timeout),
            Some((response_refusals, over)),
            |limit| Error::HttpResponseBodySize(Some(limit)),
        )
        .boxed_unsync()
    });
    let io = async move {
        if finished {
            return Ok(());
        }
        connection.await.map_err(Error::from)
    };
    Ok((response, Box::new(io)))
}

/// The addresses `url`'s host resolves to (or the one it names), with its port.
pub(crate) async fn resolve(url: &Url, timeout: Duration) -> Result<Vec<SocketAddr>, Error> {
    let port = url.port_or_known_default().unwrap_or(443);
    Ok(match url.host() {
        Some(Host::Ipv4(ip)) => vec![SocketAddr::new(IpAddr::V4(ip), port)],
        Some(Host::Ipv6(ip)) => vec![SocketAddr::new(IpAddr::V6(ip), port)],
        Some(Host::Domain(name)) => {
            match tokio::time::timeout(timeout, tokio::net::lookup_host((name, port))).await {
                Err(_) => return Err(Error::DnsTimeout),
                Ok(Err(e)) => {
                    return Err(Error::DnsError {
                        rcode: Some(e.to_string()),
                        info_code: None,
                    });
                }
                Ok(Ok(addresses)) => addresses.collect(),
            }
        }
        None => return Err(Error::HttpRequestUriInvalid),
    })
}

/// An HTTP/1 connection to one of `addresses` (TLS for `https`, checked against
/// Mozilla's roots for `url`'s host), each stage bounded by `timeout`.
pub(crate) async fn handshake<B>(
    url: &Url,
    addresses: &[SocketAddr],
    timeout: Duration,
) -> Result<
    (
        hyper::client::conn::http1::SendRequest<B>,
        hyper::client::conn::http1::Connection<TokioIo<Box<dyn Stream>>, B>,
    ),
    Error,
>
where
    B: http_body::Body + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let tcp = match tokio::time::timeout(timeout, TcpStream::connect(addresses)).await {
        Err(_) => return Err(Error::ConnectionTimeout),
        Ok(Err(e)) => return Err(Error::Connect(e)),
        Ok(Ok(tcp)) => tcp,
    };
    let stream: Box<dyn Stream> = if url.scheme() == "https" {
        let server_name = match url.host() {
            Some(Host::Domain(name)) => rustls::pki_types::ServerName::try_from(name.to_string())
                .map_err(|_| Error::HttpRequestUriInvalid)?,
            Some(Host::Ipv4(ip)) => rustls::pki_types::ServerName::from(IpAddr::V4(ip)),
            Some(Host::Ipv6(ip)) => rustls::pki_types::ServerName::from(IpAddr::V6(ip)),
            None => return Err(Error::HttpRequestUriInvalid),
        };
        let tls = tokio::time::timeout(timeout, tls_connector()?.connect(server_name, tcp))
            .await
            .map_err(|_| Error::ConnectionTimeout)?
            .map_err(Error::Tls)?;
        Box::new(tls)
    } else {
        Box::new(tcp)
    };
    tokio::time::timeout(
        timeout,
        hyper::client::conn::http1::Builder::new()
            .max_buf_size(MAX_RESPONSE_HEAD)
            .handshake(TokioIo::new(stream)),
    )
    .await
    .map_err(|_| Error::ConnectionTimeout)?
    .map_err(Error::from)
}

/// Points `request` at `url` on the wire: its path and query as the target, and a
/// Host header naming its host.
pub(crate) fn address<B>(request: &mut Request<B>, url: &Url) -> Result<(), Error> {
    let target = match url.query() {
        Some(query) => format!("{}?{query}", url.path()),
        None => url.path().to_string(),
    };
    *request.uri_mut() = target.parse().map_err(|_| Error::HttpRequestUriInvalid)?;
    let authority = match url.port() {
        Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_string(),
    };
    request.headers_mut().insert(
        http::header::HOST,
        authority
            .parse()
            .map_err(|_| Error::HttpRequestUriInvalid)?,
    );
    Ok(())
}

pub(crate) trait Stream: AsyncRead + AsyncWrite + Send + Sync + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Sync + Unpin + 'static> Stream for T {}

/// One TLS client configuration (Mozilla's roots, ring) for the whole process.
fn tls_connector() -> Result<tokio_rustls::TlsConnector, Error> {
    static CONFIG: std::sync::OnceLock<Result<Arc<rustls::ClientConfig>, String>> =
        std::sync::OnceLock::new();
    let config = CONFIG.get_or_init(|| {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.into(),
        };
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map(|builder| Arc::new(builder.with_root_certificates(roots).with_no_client_auth()))
        .map_err(|e| e.to_string())
    });
    match config {
        Ok(config) => Ok(tokio_rustls::TlsConnector::from(config.clone())),
        Err(reason) => Err(Error::InternalError(Some(format!(
            "TLS is unavailable: {reason}"
        )))),
    }
}
