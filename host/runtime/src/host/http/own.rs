//! The host's own HTTP requests (model providers, `[notify]` webhooks, the `host`
//! commands talking to `host serve`), never a plugin's: one request on a fresh
//! connection, TLS for `https`, each stage bounded by a timeout, the answer read whole
//! up to a cap.

use std::time::Instant;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use url::Url;

/// One request the host makes for itself.
#[derive(Debug)]
pub struct HostRequest<'a> {
    pub method: Method,
    pub url: &'a Url,
    /// Extra headers; a JSON body gets its content type from `body`'s caller.
    pub headers: &'a [(&'static str, String)],
    pub body: Bytes,
    /// For each of: resolving, connecting, the TLS handshake, the exchange.
    pub timeout: std::time::Duration,
    /// Longest answer body read.
    pub max_body: usize,
}

/// Sends `request` and reads the answer. Errors say which stage failed and name the
/// host; they never show a header's value (a key may be one).
pub async fn send(request: HostRequest<'_>) -> Result<(StatusCode, HeaderMap, Bytes), String> {
    let started = Instant::now();
    let url = request.url;
    let addresses = super::resolve(url, request.timeout)
        .await
        .map_err(|e| format!("cannot resolve {}: {e}", host_of(url)))?;
    let (mut sender, connection) =
        super::handshake::<Full<Bytes>>(url, &addresses, request.timeout)
            .await
            .map_err(|e| format!("cannot connect to {}: {e}", host_of(url)))?;
    let mut builder = Request::builder()
        .method(request.method.clone())
        .uri(url.as_str())
        .header(http::header::ACCEPT, "application/json")
        .header(
            http::header::USER_AGENT,
            concat!("baton/", env!("CARGO_PKG_VERSION")),
        );
    if !request.body.is_empty() {
        builder = builder.header(http::header::CONTENT_TYPE, "application/json");
    }
    for (name, value) in request.headers {
        builder = builder.header(*name, value);
    }
    let mut wire = builder
        .body(Full::new(request.body))
        // Never shows a header value: a key may be one.
        .map_err(|_| "cannot build the request (a header value is not valid)".to_string())?;
    super::address(&mut wire, url).map_err(|e| format!("cannot address {url}: {e}"))?;
    let exchange = async {
        let response = sender.send_request(wire).await.map_err(|e| e.to_string())?;
        let (parts, body) = response.into_parts();
        let body = Limited::new(body, request.max_body)
            .collect()
            .await
            .map_err(|e| format!("reading the answer: {e}"))?
            .to_bytes();
        Ok::<_, String>((parts.status, parts.headers, body))
    };
    let exchange = tokio::time::timeout(request.timeout, exchange);
    let mut exchange = std::pin::pin!(exchange);
    let mut connection = std::pin::pin!(connection);
    let result = tokio::select! {
        biased;
        answer = &mut exchange => answer,
        done = &mut connection => {
            done.map_err(|e| e.to_string())?;
            exchange.await
        }
    };
    tracing::debug!("{} {url} in {:?}", request.method, started.elapsed());
    result.map_err(|_| {
        format!(
            "{}: no answer within {}",
            host_of(url),
            baton_core::units::duration(request.timeout)
        )
    })?
}

/// `host:port` of `url`, for messages.
pub fn host_of(url: &Url) -> String {
    match url.port() {
        Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_string(),
    }
}
