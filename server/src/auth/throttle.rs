//! Guessing tokens is slow (OWASP API2): failed authentications (an unknown or revoked bearer
//! token, a refused dashboard login) are counted per client address in a token bucket, in
//! memory per replica; past the allowance every request from that address that would try a
//! token is answered 429 with `Retry-After` until the bucket refills. Directory logins are
//! counted the same way per account name too (`FailureThrottle<String>`).

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

use crate::error::ApiError;

/// Addresses remembered at most; beyond it the buckets that have refilled are forgotten.
const MAX_ADDRESSES: usize = 100_000;

pub struct FailureThrottle<K = IpAddr> {
    per_minute: u32,
    buckets: Mutex<HashMap<K, Bucket>>,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

impl<K: Eq + Hash> FailureThrottle<K> {
    /// `per_minute == 0` disables the throttle.
    pub fn new(per_minute: u32) -> Self {
        FailureThrottle {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn refill(&self, b: &mut Bucket, now: Instant) {
        let capacity = f64::from(self.per_minute);
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * capacity / 60.0).min(capacity);
        b.at = now;
    }

    /// 429 when `ip` used up its failures; checked before a token is looked up.
    pub fn check(&self, ip: Option<K>) -> Result<(), ApiError> {
        self.check_at(ip, Instant::now())
    }

    fn check_at(&self, ip: Option<K>, now: Instant) -> Result<(), ApiError> {
        let (Some(ip), true) = (ip, self.per_minute > 0) else {
            return Ok(());
        };
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(b) = buckets.get_mut(&ip) else {
            return Ok(());
        };
        self.refill(b, now);
        if b.tokens >= 1.0 {
            return Ok(());
        }
        let per_s = f64::from(self.per_minute) / 60.0;
        let wait = ((1.0 - b.tokens) / per_s).ceil().max(1.0) as u64;
        let mut e = ApiError::too_many_requests(wait);
        e.code = "too_many_failures";
        e.message =
            format!("too many failed authentications from this address; retry after {wait} s");
        Err(e)
    }

    /// Records a failed authentication from `ip`.
    pub fn failed(&self, ip: Option<K>) {
        self.failed_at(ip, Instant::now());
    }

    fn failed_at(&self, ip: Option<K>, now: Instant) {
        let (Some(ip), true) = (ip, self.per_minute > 0) else {
            return;
        };
        let capacity = f64::from(self.per_minute);
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= MAX_ADDRESSES {
            let full = capacity;
            let per_s = capacity / 60.0;
            buckets.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * per_s < full
            });
        }
        let b = buckets.entry(ip).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        self.refill(b, now);
        b.tokens = (b.tokens - 1.0).max(0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn an_address_with_too_many_failures_waits_and_others_do_not() {
        let t = FailureThrottle::new(3);
        let (a, b): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(t.check_at(Some(a), t0).is_ok());
            t.failed_at(Some(a), t0);
        }
        let e = t.check_at(Some(a), t0).unwrap_err();
        assert_eq!(e.status.as_u16(), 429);
        assert_eq!(e.retry_after_s, Some(20));
        assert!(t.check_at(Some(b), t0).is_ok());
        assert!(t.check_at(Some(a), t0 + Duration::from_secs(20)).is_ok());
    }
}
