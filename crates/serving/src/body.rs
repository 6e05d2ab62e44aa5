//! A request body read under the per-request cap and the server-wide
//! budget of buffered body bytes.
//!
//! The budget is a semaphore of one permit per byte. A body with a
//! Content-Length reserves all of it before its first byte is read, so
//! requests that cannot fit wait (in order, under their timeout) without
//! buffering anything; a chunked body reserves as its buffer grows. The
//! buffer itself grows only as bytes arrive, never past what is reserved:
//! a client declaring 60 MB and sending 1 costs 1 byte of memory, not 60 MB.

use std::sync::Arc;

use http_body_util::BodyExt;
use hyper::Request;
use hyper::body::Incoming;
use hyper::header::CONTENT_LENGTH;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::errors::ApiError;

/// The smallest buffer allocated, so that tiny frames do not reallocate
/// at every step.
const MIN_BUFFER: usize = 8 * 1024;

/// A share of the body budget; returned to it when dropped.
#[derive(Debug)]
pub(crate) struct Reservation {
    budget: Arc<Semaphore>,
    permit: Option<OwnedSemaphorePermit>,
    bytes: usize,
}

impl Reservation {
    fn new(budget: &Arc<Semaphore>) -> Reservation {
        Reservation {
            budget: Arc::clone(budget),
            permit: None,
            bytes: 0,
        }
    }

    /// Waits until `bytes` more are free in the budget and holds them.
    async fn grow(&mut self, bytes: usize) -> Result<(), ApiError> {
        let mut left = bytes;
        while left > 0 {
            // A semaphore hands out at most u32::MAX permits at a time.
            let step = u32::try_from(left).unwrap_or(u32::MAX);
            let permit = Arc::clone(&self.budget)
                .acquire_many_owned(step)
                .await
                .map_err(|_| ApiError::internal("the server is shutting down"))?;
            match &mut self.permit {
                Some(held) => held.merge(permit),
                None => self.permit = Some(permit),
            }
            left -= step as usize;
            self.bytes += step as usize;
        }
        Ok(())
    }
}

/// Reads `request`'s body, at most `limit` bytes (413 past it: before any
/// byte is read when the Content-Length says so, else as soon as the body
/// passes it), holding its bytes in `budget` for as long as the returned
/// [`Reservation`] lives.
pub(crate) async fn read(
    request: Request<Incoming>,
    limit: usize,
    budget: &Arc<Semaphore>,
) -> Result<(Vec<u8>, Reservation), ApiError> {
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let mut reservation = Reservation::new(budget);
    // hyper ends the body at the declared length, so it bounds the buffer.
    let most = match declared {
        Some(length) if length > limit as u64 => return Err(ApiError::too_large(limit)),
        Some(length) => {
            let length = length as usize;
            reservation.grow(length).await?;
            length
        }
        None => limit,
    };
    let mut body = request.into_body();
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame =
            frame.map_err(|e| ApiError::bad_request(format!("cannot read the body: {e}")))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        let needed = out.len() + data.len();
        if needed > most {
            return Err(ApiError::too_large(limit));
        }
        if needed > out.capacity() {
            // Doubling keeps growth amortized; the cap keeps it inside
            // what the body may be (and, declared, what is reserved).
            let capacity = needed.max(out.capacity() * 2).max(MIN_BUFFER).min(most);
            if capacity > reservation.bytes {
                reservation.grow(capacity - reservation.bytes).await?;
            }
            out.reserve_exact(capacity - out.len());
        }
        out.extend_from_slice(&data);
    }
    Ok((out, reservation))
}
