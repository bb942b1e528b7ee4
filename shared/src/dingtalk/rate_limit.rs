//! The per-app call pacer.
//!
//! DingTalk allows a standard-edition app 20 calls per second per API and rejects excess
//! calls with throttling errors. One limiter per client (and so per app) paces every call,
//! token fetches included, so concurrent listing and detail fetches cannot add up past
//! the limit. Calls are spaced evenly (a burst of one): with a larger burst, a full
//! burst followed by steady traffic could put up to twice the rate into one second.

use std::num::NonZeroU32;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

/// Evenly spaced admission of calls, shared by clones of one client.
#[derive(Debug)]
pub(crate) struct CallPacer {
    limiter: DefaultDirectRateLimiter,
}

impl CallPacer {
    /// Creates a pacer admitting `per_second` calls per second; 0 is read as 1.
    pub(crate) fn new(per_second: u32) -> CallPacer {
        let rate = NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::per_second(rate).allow_burst(NonZeroU32::MIN);
        CallPacer {
            limiter: RateLimiter::direct(quota),
        }
    }

    /// Waits until the next call may start.
    pub(crate) async fn admit(&self) {
        self.limiter.until_ready().await;
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    #[tokio::test]
    async fn admit_spaces_calls_evenly() {
        let pacer = CallPacer::new(50);
        let started = Instant::now();
        for _ in 0..11 {
            pacer.admit().await;
        }
        let elapsed = started.elapsed();
        // The first call passes at once, the next ten wait 20 ms each.
        assert!(
            elapsed >= Duration::from_millis(190),
            "11 calls at 50/s took only {elapsed:?}"
        );
        assert!(
            elapsed < Duration::from_millis(1_000),
            "11 calls at 50/s took {elapsed:?}"
        );
    }
}
