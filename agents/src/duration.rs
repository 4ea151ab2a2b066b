//! Human durations for the command line (`30s`, `5m`, `1h`, `1h30m`, `250ms`) and the ±10%
//! jitter the daemon applies to its interval.

use std::time::Duration;

use rand::Rng;

/// Why a duration did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("empty duration (write e.g. 30s, 5m or 1h)")]
    Empty,
    #[error("`{0}`: a number must come before each unit (write e.g. 30s, 5m or 1h)")]
    MissingNumber(String),
    #[error("`{0}`: a unit must follow each number (ms, s, m, h or d)")]
    MissingUnit(String),
    #[error("`{input}`: unknown unit `{unit}` (use ms, s, m, h or d)")]
    UnknownUnit { input: String, unit: String },
    #[error("`{0}` is too long")]
    Overflow(String),
    #[error("`{0}` is zero; an interval must be positive")]
    Zero(String),
}

/// Parses `30s`, `5m`, `1h`, `2d`, `250ms` and sums like `1h30m`. A bare number is refused:
/// `--every 5` would be ambiguous between seconds and minutes.
pub fn parse_duration(input: &str) -> Result<Duration, DurationError> {
    let text = input.trim();
    if text.is_empty() {
        return Err(DurationError::Empty);
    }
    let mut total_ms: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if digits == 0 {
            return Err(DurationError::MissingNumber(input.to_owned()));
        }
        let (number, after) = rest.split_at(digits);
        let unit_len = after.chars().take_while(char::is_ascii_alphabetic).count();
        if unit_len == 0 {
            return Err(DurationError::MissingUnit(input.to_owned()));
        }
        let (unit, after_unit) = after.split_at(unit_len);
        let per_unit_ms: u64 = match unit.to_ascii_lowercase().as_str() {
            "ms" => 1,
            "s" | "sec" | "secs" => 1_000,
            "m" | "min" | "mins" => 60_000,
            "h" | "hr" | "hrs" => 3_600_000,
            "d" => 86_400_000,
            _ => {
                return Err(DurationError::UnknownUnit {
                    input: input.to_owned(),
                    unit: unit.to_owned(),
                });
            }
        };
        let value: u64 = number
            .parse()
            .map_err(|_| DurationError::Overflow(input.to_owned()))?;
        total_ms = value
            .checked_mul(per_unit_ms)
            .and_then(|ms| total_ms.checked_add(ms))
            .ok_or_else(|| DurationError::Overflow(input.to_owned()))?;
        rest = after_unit;
    }
    if total_ms == 0 {
        return Err(DurationError::Zero(input.to_owned()));
    }
    Ok(Duration::from_millis(total_ms))
}

/// The interval scaled by a random factor in `[0.9, 1.1]`, so that a fleet of agents started
/// together does not push in lockstep.
pub fn jittered(interval: Duration, rng: &mut impl Rng) -> Duration {
    interval.mul_f64(rng.random_range(0.9..=1.1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn common_forms_parse() {
        let cases = [
            ("30s", 30_000),
            ("5m", 300_000),
            ("1h", 3_600_000),
            ("2d", 172_800_000),
            ("250ms", 250),
            ("1h30m", 5_400_000),
            (" 10S ", 10_000),
            ("1m30s", 90_000),
        ];
        for (text, ms) in cases {
            assert_eq!(
                parse_duration(text),
                Ok(Duration::from_millis(ms)),
                "{text}"
            );
        }
    }

    #[test]
    fn malformed_durations_say_why() {
        assert_eq!(parse_duration(""), Err(DurationError::Empty));
        assert_eq!(
            parse_duration("5"),
            Err(DurationError::MissingUnit("5".into()))
        );
        assert_eq!(
            parse_duration("m5"),
            Err(DurationError::MissingNumber("m5".into()))
        );
        assert!(matches!(
            parse_duration("5w"),
            Err(DurationError::UnknownUnit { .. })
        ));
        assert_eq!(parse_duration("0s"), Err(DurationError::Zero("0s".into())));
        assert!(matches!(
            parse_duration("99999999999999999999h"),
            Err(DurationError::Overflow(_))
        ));
        assert!(matches!(
            parse_duration("-5m"),
            Err(DurationError::MissingNumber(_))
        ));
    }

    #[test]
    fn jitter_stays_within_ten_percent() {
        let mut rng = StdRng::seed_from_u64(7);
        let interval = Duration::from_secs(300);
        for _ in 0..1_000 {
            let d = jittered(interval, &mut rng);
            assert!(
                d >= Duration::from_secs(270) && d <= Duration::from_secs(330),
                "{d:?}"
            );
        }
    }
}
