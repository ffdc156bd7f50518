//! A body that stops at a byte cap, and optionally when no data arrives for too long.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::time::{Instant, Sleep};
use wasmtime_wasi_http::Error;

use super::{HttpSandbox, Refusals};

/// Wraps a body: more than `limit` bytes ends it with the error `over(limit)` (and
/// records a refusal when `record` is given); with `idle`, a gap between frames
/// longer than that ends it with a read timeout.
pub(super) struct Guarded<B> {
    inner: B,
    limit: u64,
    seen: u64,
    idle: Option<(Duration, Pin<Box<Sleep>>)>,
    record: Option<(Refusals, String)>,
    over: fn(u64) -> Error,
    done: bool,
}

impl<B> Guarded<B> {
    pub(super) fn new(
        inner: B,
        limit: u64,
        idle: Option<Duration>,
        record: Option<(Refusals, String)>,
        over: fn(u64) -> Error,
    ) -> Self {
        Guarded {
            inner,
            limit,
            seen: 0,
            idle: idle.map(|d| (d, Box::pin(tokio::time::sleep(d)))),
            record,
            over,
            done: false,
        }
    }
}

impl<B> Body for Guarded<B>
where
    B: Body<Data = Bytes, Error = Error> + Unpin,
{
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.seen = this.seen.saturating_add(data.len() as u64);
                    if this.seen > this.limit {
                        this.done = true;
                        if let Some((refusals, what)) = this.record.take() {
                            HttpSandbox::refuse(
                                &refusals,
                                format!(
                                    "{what}: the response body passed its cap of {} (grant `max_response`) and was cut off",
                                    baton_core::units::bytes(this.limit)
                                ),
                            );
                        }
                        return Poll::Ready(Some(Err((this.over)(this.limit))));
                    }
                }
                if let Some((idle, sleep)) = &mut this.idle {
                    sleep.as_mut().reset(Instant::now() + *idle);
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Pending => {
                if let Some((_, sleep)) = &mut this.idle
                    && sleep.as_mut().poll(cx).is_ready()
                {
                    this.done = true;
                    return Poll::Ready(Some(Err(Error::ConnectionReadTimeout)));
                }
                Poll::Pending
            }
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
