//! The retry schedule of the pusher: exponential backoff with full jitter, and the server's
//! `Retry-After` answer. Pure functions, so the schedule is testable without a network.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;

/// Exponential backoff with "full jitter": the wait before retry `n` is uniform in
/// `[0, min(cap, base × 2^(n-1))]`. Full jitter spreads a fleet's retries after an outage
/// instead of having every agent come back at the same instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
    /// Attempts in all, the first one included; at least 1.
    pub max_attempts: u32,
    /// Stop retrying once this much time has passed since the first attempt, whatever
    /// `max_attempts` says (`simulate --retry-for`).
    pub budget: Option<Duration>,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(60),
            max_attempts: 5,
            budget: None,
        }
    }
}

impl Backoff {
    /// The longest wait before retry `retry` (1 for the retry after the first failure).
    pub fn ceiling(&self, retry: u32) -> Duration {
        let exponent = retry.saturating_sub(1).min(31);
        self.base
            .checked_mul(1u32 << exponent)
            .map_or(self.cap, |d| d.min(self.cap))
    }

    /// A wait drawn uniformly in `[0, ceiling(retry)]`.
    pub fn delay(&self, retry: u32, rng: &mut impl Rng) -> Duration {
        let ceiling = self.ceiling(retry);
        if ceiling.is_zero() {
            return ceiling;
        }
        ceiling.mul_f64(rng.random_range(0.0..=1.0))
    }

    /// Whether another attempt may follow attempt number `attempt` (1-based).
    pub fn allows_retry_after(&self, attempt: u32) -> bool {
        attempt < self.max_attempts.max(1)
    }

    /// Whether another attempt may follow attempt number `attempt`, `elapsed` after the first
    /// one began: the attempt count allows it and the time budget, if any, is not spent.
    pub fn allows_retry(&self, attempt: u32, elapsed: Duration) -> bool {
        self.allows_retry_after(attempt) && self.budget.is_none_or(|budget| elapsed < budget)
    }

    /// `delay`, shortened so that the next attempt starts before the time budget runs out.
    pub fn within_budget(&self, delay: Duration, elapsed: Duration) -> Duration {
        match self.budget {
            Some(budget) => delay.min(budget.saturating_sub(elapsed)),
            None => delay,
        }
    }
}

/// The wait asked by a `Retry-After` header: delta-seconds or an HTTP date (RFC 9110 §10.2.3).
/// A date in the past means "now"; anything else unreadable is ignored.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = DateTime::parse_from_rfc2822(value).ok()?;
    let wait = when.with_timezone(&Utc) - now;
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn ceiling_doubles_from_one_second_and_caps_at_sixty() {
        let b = Backoff::default();
        let secs: Vec<u64> = (1..=9).map(|n| b.ceiling(n).as_secs()).collect();
        assert_eq!(secs, vec![1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(b.ceiling(1_000), Duration::from_secs(60), "no overflow");
    }

    #[test]
    fn full_jitter_stays_between_zero_and_the_ceiling_and_varies() {
        let b = Backoff::default();
        let mut rng = StdRng::seed_from_u64(42);
        for retry in 1..=10 {
            let delays: Vec<Duration> = (0..200).map(|_| b.delay(retry, &mut rng)).collect();
            assert!(delays.iter().all(|d| *d <= b.ceiling(retry)));
            let distinct: std::collections::HashSet<_> = delays.iter().collect();
            assert!(distinct.len() > 150, "jitter spreads the retries");
            let mean = delays.iter().sum::<Duration>() / 200;
            let half = b.ceiling(retry) / 2;
            assert!(
                mean > half.mul_f64(0.8) && mean < half.mul_f64(1.2),
                "uniform: {mean:?}"
            );
        }
    }

    #[test]
    fn max_attempts_counts_the_first_attempt() {
        let b = Backoff {
            max_attempts: 3,
            ..Backoff::default()
        };
        assert!(b.allows_retry_after(1));
        assert!(b.allows_retry_after(2));
        assert!(!b.allows_retry_after(3));
        let once = Backoff {
            max_attempts: 0,
            ..Backoff::default()
        };
        assert!(!once.allows_retry_after(1), "zero behaves as one attempt");
    }

    #[test]
    fn a_time_budget_ends_retries_whatever_the_attempt_count_and_shortens_the_last_wait() {
        let b = Backoff {
            max_attempts: u32::MAX,
            budget: Some(Duration::from_secs(60)),
            ..Backoff::default()
        };
        assert!(b.allows_retry(1_000, Duration::from_secs(59)));
        assert!(!b.allows_retry(2, Duration::from_secs(60)));
        assert_eq!(
            b.within_budget(Duration::from_secs(30), Duration::from_secs(50)),
            Duration::from_secs(10)
        );
        let counted = Backoff::default();
        assert!(
            !counted.allows_retry(5, Duration::ZERO),
            "no budget: the count rules"
        );
        assert_eq!(
            counted.within_budget(Duration::from_secs(30), Duration::from_secs(3_600)),
            Duration::from_secs(30)
        );
    }

    #[test]
    fn retry_after_accepts_seconds_and_http_dates() {
        let now = Utc.with_ymd_and_hms(2015, 10, 21, 7, 28, 0).unwrap();
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
