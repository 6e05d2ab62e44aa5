//! Retries with exponential backoff, jitter and `Retry-After`, bounded by a
//! count and a time budget.
//!
//! The schedule follows MLflow's Python client (urllib3 `Retry`): the first
//! retry is immediate, retry `n ≥ 2` waits `factor × 2^(n−1)` capped at
//! `backoff_max`, plus up to `jitter` of random delay; a `Retry-After` header
//! on 429/503 replaces the computed wait. Unlike urllib3, the time spent
//! retrying is bounded too, per call and per operation (see
//! [`crate::operation`]), so a dead server fails a run in about a minute.
//!
//! [`create_once`] is the one way a create is retried: a lost answer may
//! hide a create the server performed, so a retry after a failure that may
//! have created first looks for it (after a refusal, it creates at once).

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::error::Error;
use crate::operation;

/// How often and how long failed requests are retried.
#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (MLflow's default: 7).
    pub max_retries: u32,
    /// Base of the exponential backoff (MLflow's default: 2 s).
    pub backoff_factor: Duration,
    /// Upper bound of one computed wait (MLflow's: 120 s).
    pub backoff_max: Duration,
    /// Upper bound of the random delay added to each wait (MLflow's: 1 s).
    pub jitter: Duration,
    /// How long one call, and one client operation (a `log_batch`, a model's
    /// upload) from its first failure, may go on retrying; no retry starts
    /// whose wait would end past it (default 60 s).
    pub budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_retries: 7,
            backoff_factor: Duration::from_secs(2),
            backoff_max: Duration::from_secs(120),
            jitter: Duration::from_secs(1),
            budget: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> RetryPolicy {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    }

    /// The wait before retry number `retry` (1-based), jitter included.
    pub fn delay(&self, retry: u32) -> Duration {
        let base = if retry <= 1 {
            Duration::ZERO
        } else {
            let exp = 2f64.powi(i32::try_from(retry - 1).unwrap_or(i32::MAX));
            Duration::try_from_secs_f64(self.backoff_factor.as_secs_f64() * exp)
                .unwrap_or(self.backoff_max)
                .min(self.backoff_max)
        };
        base + self.jitter.mul_f64(fastrand::f64())
    }
}

/// HTTP statuses MLflow's client retries.
pub(crate) fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// Parses a `Retry-After` value: delta-seconds or an HTTP date.
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = when.signed_duration_since(chrono::Utc::now());
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// One failed attempt: the error and whether (and when) to try again.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) error: Error,
    pub(crate) retryable: bool,
    pub(crate) retry_after: Option<Duration>,
    /// Whether the server may have carried the request out although the
    /// client saw a failure: a lost answer, a 500 after a write. False only
    /// when it is known not to have: a refused connection, a 429 or 503.
    pub(crate) may_have_applied: bool,
}

impl Failure {
    pub(crate) fn fatal(error: Error) -> Failure {
        Failure {
            error,
            retryable: false,
            retry_after: None,
            may_have_applied: true,
        }
    }

    pub(crate) fn transient(error: Error) -> Failure {
        Failure {
            error,
            retryable: true,
            retry_after: None,
            may_have_applied: true,
        }
    }

    /// A retryable failure the server is known not to have acted on.
    pub(crate) fn refused(error: Error) -> Failure {
        Failure {
            may_have_applied: false,
            ..Failure::transient(error)
        }
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        Failure::fatal(error)
    }
}

/// Runs `attempt(n)` for n = 0, 1, … until it succeeds, fails for good, or
/// the policy's count or budget is spent.
pub(crate) async fn retry<T, F, Fut>(
    policy: &RetryPolicy,
    endpoint: &str,
    mut attempt: F,
) -> Result<T, Error>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, Failure>>,
{
    let start = Instant::now();
    let scope = operation::current();
    // Retries (and every attempt of a hard scope) end when the budget does,
    // so a server that accepts and never answers cannot outlast it.
    let mut limit = scope.as_ref().and_then(operation::Scope::hard_deadline);
    let mut n = 0;
    loop {
        let outcome = match limit {
            None => attempt(n).await,
            Some(end) => match tokio::time::timeout_at(end.into(), attempt(n)).await {
                Ok(outcome) => outcome,
                Err(_) => Err(Failure::transient(Error::Transport {
                    endpoint: endpoint.to_owned(),
                    message: "no answer before the retry budget ran out".to_owned(),
                })),
            },
        };
        let failure = match outcome {
            Ok(value) => return Ok(value),
            Err(failure) => failure,
        };
        if !failure.retryable {
            return Err(failure.error);
        }
        let wait = failure.retry_after.unwrap_or_else(|| policy.delay(n + 1));
        let (mut end, mut budget) = (start + policy.budget, policy.budget);
        if let Some(scope) = &scope {
            let deadline = scope.deadline_after_failure();
            if deadline < end {
                (end, budget) = (deadline, scope.budget());
            }
        }
        let spent = n >= policy.max_retries || Instant::now() + wait > end;
        if spent {
            if policy.max_retries == 0 {
                return Err(failure.error);
            }
            return Err(Error::RetriesExhausted {
                endpoint: endpoint.to_owned(),
                attempts: n + 1,
                elapsed: start.elapsed(),
                budget,
                last: Box::new(failure.error),
            });
        }
        limit = Some(end);
        tokio::time::sleep(wait).await;
        n += 1;
    }
}

/// Retries a create whose answer may be lost after the server acted: from
/// the second attempt on, `find` first looks for what an earlier attempt
/// created (by a client request id it was created with, or by its effect)
/// and returns that instead of creating it again.
pub(crate) async fn create_once<T, C, CF, F, FF>(
    policy: &RetryPolicy,
    endpoint: &str,
    create: C,
    find: F,
) -> Result<T, Error>
where
    C: Fn() -> CF,
    CF: Future<Output = Result<T, Failure>>,
    F: Fn() -> FF,
    FF: Future<Output = Result<Option<T>, Failure>>,
{
    // Set when a create failed in a way that may still have created: only
    // then is a search worth a request (and a chance to fail) before the
    // next try; a search that finds nothing clears it.
    let maybe_created = AtomicBool::new(false);
    retry(policy, endpoint, |_| {
        let (create, find, maybe_created) = (&create, &find, &maybe_created);
        async move {
            if maybe_created.load(Ordering::Relaxed) {
                match find().await? {
                    Some(found) => return Ok(found),
                    None => maybe_created.store(false, Ordering::Relaxed),
                }
            }
            create().await.inspect_err(|failure| {
                if failure.may_have_applied {
                    maybe_created.store(true, Ordering::Relaxed);
                }
            })
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn unavailable() -> Failure {
        Failure::transient(Error::mlflow(ErrorCode::TemporarilyUnavailable, "busy"))
    }

    fn fast(max_retries: u32, budget_ms: u64) -> RetryPolicy {
        RetryPolicy {
            max_retries,
            backoff_factor: Duration::from_millis(1),
            backoff_max: Duration::from_millis(4),
            jitter: Duration::ZERO,
            budget: Duration::from_millis(budget_ms),
        }
    }

    #[test]
    fn schedule_matches_mlflow_defaults() {
        let p = RetryPolicy {
            jitter: Duration::ZERO,
            ..RetryPolicy::default()
        };
        assert_eq!(p.max_retries, 7);
        let waits: Vec<u64> = (1..=8).map(|n| p.delay(n).as_secs()).collect();
        assert_eq!(waits, [0, 4, 8, 16, 32, 64, 120, 120]);
        let jittered = RetryPolicy::default().delay(2);
        assert!(jittered >= Duration::from_secs(4) && jittered <= Duration::from_secs(5));
    }

    #[test]
    fn retry_after_accepts_seconds_and_dates() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn retries_until_success_then_gives_up_with_a_clear_error() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let ok = rt.block_on(retry(&fast(5, 10_000), "GET /x", |n| async move {
            if n < 3 { Err(unavailable()) } else { Ok(n) }
        }));
        assert_eq!(ok.unwrap(), 3);

        let err = rt
            .block_on(retry(&fast(2, 10_000), "POST /runs/create", |_| async {
                Err::<(), _>(unavailable())
            }))
            .unwrap_err();
        assert_eq!(err.kind(), "retries_exhausted");
        assert!(
            err.to_string()
                .contains("POST /runs/create: gave up after 3 attempts")
        );
        assert_eq!(err.code(), Some(&ErrorCode::TemporarilyUnavailable));

        let fatal = rt
            .block_on(retry(&fast(5, 10_000), "GET /x", |_| async {
                Err::<(), _>(Failure::fatal(Error::mlflow(ErrorCode::BadRequest, "no")))
            }))
            .unwrap_err();
        assert_eq!(fatal.kind(), "invalid_request");

        let budget = rt
            .block_on(retry(&fast(100, 50), "GET /x", |_| async {
                Err::<(), _>(Failure {
                    retry_after: Some(Duration::from_secs(30)),
                    ..unavailable()
                })
            }))
            .unwrap_err();
        assert!(matches!(
            budget,
            Error::RetriesExhausted { attempts: 1, .. }
        ));
    }

    #[test]
    fn a_create_is_searched_for_only_after_a_failure_that_may_have_created() {
        use std::sync::atomic::AtomicU32;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        // Outcomes of the creates in order; finds report nothing.
        let run = |outcomes: Vec<fn() -> Failure>| {
            let (creates, finds) = (AtomicU32::new(0), AtomicU32::new(0));
            let outcomes = &outcomes;
            let created = rt.block_on(create_once(
                &fast(10, 10_000),
                "POST /create",
                || async {
                    let n = creates.fetch_add(1, Ordering::SeqCst) as usize;
                    match outcomes.get(n) {
                        Some(fail) => Err(fail()),
                        None => Ok("made"),
                    }
                },
                || async {
                    finds.fetch_add(1, Ordering::SeqCst);
                    Ok(None)
                },
            ));
            assert_eq!(created.unwrap(), "made");
            (creates.into_inner(), finds.into_inner())
        };
        fn busy_f() -> Failure {
            Failure::refused(Error::mlflow(ErrorCode::TemporarilyUnavailable, "busy"))
        }
        fn lost_f() -> Failure {
            Failure::transient(Error::Transport {
                endpoint: "POST /create".into(),
                message: "connection reset".into(),
            })
        }
        assert_eq!(run(vec![busy_f, busy_f]), (3, 0));
        assert_eq!(run(vec![lost_f, busy_f]), (3, 1));
        assert_eq!(run(vec![lost_f, lost_f, busy_f]), (4, 2));
    }
}
