//! One JSON POST to a provider, with the provider's timeout per attempt and retries
//! with backoff on 429, 5xx, timeouts and refused connections. The key travels in a
//! header built here and appears in nothing this module returns.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use url::Url;

/// Largest response body read from a provider.
const MAX_BODY: usize = 8 * 1024 * 1024;
/// First wait before a retry; doubled for each one after.
const BACKOFF: Duration = Duration::from_millis(500);
/// Longest wait before a retry, whatever `Retry-After` asks.
const MAX_WAIT: Duration = Duration::from_secs(20);

/// A POST to make: where, its headers (the key among them), its JSON body.
pub(super) struct Post {
    pub url: Url,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
    pub timeout: Duration,
    pub retries: u32,
}

/// The provider's answer with a 2xx status.
pub(super) struct Answer {
    pub body: Bytes,
    pub attempts: u32,
}

/// Why no 2xx answer came.
#[derive(Debug)]
pub(super) enum Failed {
    /// 429 on the last attempt.
    RateLimited { attempts: u32, detail: String },
    /// 5xx, timeouts or connection failures, to the last attempt.
    Unavailable { attempts: u32, detail: String },
    /// A 4xx other than 429: retrying would not help.
    Refused {
        attempts: u32,
        status: StatusCode,
        detail: String,
    },
}

/// Sends `post`, retrying as the module says.
pub(super) async fn send(post: &Post) -> Result<Answer, Failed> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let outcome = tokio::time::timeout(post.timeout, once(post)).await;
        let (failure, retry_after) = match outcome {
            Err(_) => (
                Failed::Unavailable {
                    attempts: attempt,
                    detail: format!(
                        "no answer within {}",
                        baton_core::units::duration(post.timeout)
                    ),
                },
                None,
            ),
            Ok(Err(reason)) => (
                Failed::Unavailable {
                    attempts: attempt,
                    detail: reason,
                },
                None,
            ),
            Ok(Ok((status, headers, body))) => {
                if status.is_success() {
                    return Ok(Answer {
                        body,
                        attempts: attempt,
                    });
                }
                let detail = format!("HTTP {status}: {}", excerpt(&body));
                let retry_after = headers
                    .get(http::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                if status == StatusCode::TOO_MANY_REQUESTS {
                    (
                        Failed::RateLimited {
                            attempts: attempt,
                            detail,
                        },
                        retry_after,
                    )
                } else if status.is_server_error() {
                    (
                        Failed::Unavailable {
                            attempts: attempt,
                            detail,
                        },
                        retry_after,
                    )
                } else {
                    return Err(Failed::Refused {
                        attempts: attempt,
                        status,
                        detail,
                    });
                }
            }
        };
        if attempt > post.retries {
            return Err(failure);
        }
        let backoff = BACKOFF.saturating_mul(1 << (attempt - 1).min(16));
        let wait = retry_after.unwrap_or(backoff).min(MAX_WAIT);
        tracing::debug!("llm: attempt {attempt} failed ({failure:?}); retrying in {wait:?}");
        tokio::time::sleep(wait).await;
    }
}

/// One attempt: connect, send, read the whole body (capped).
async fn once(post: &Post) -> Result<(StatusCode, HeaderMap, Bytes), String> {
    crate::host::http::own::send(crate::host::http::own::HostRequest {
        method: http::Method::POST,
        url: &post.url,
        headers: &post.headers,
        body: Bytes::from(post.body.clone()),
        timeout: post.timeout,
        max_body: MAX_BODY,
    })
    .await
}

/// The start of a body, for an error message: the provider's own explanation.
pub(super) fn excerpt(body: &[u8]) -> String {
    const MOST: usize = 300;
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(MOST) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None if text.is_empty() => "(empty body)".into(),
        None => text.to_string(),
    }
}
