//! Injected time. The server's clock can run faster than the wall clock (`--time-scale`), so
//! deployments can be watched in seconds instead of minutes; unit tests use a manual clock.

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub trait Clock: Send + Sync {
    /// Service time in Unix milliseconds (runs `scale` times faster than wall time).
    fn now_millis(&self) -> i64;
    /// Wall-clock Unix milliseconds, for timestamps shown to users.
    fn wall_millis(&self) -> i64 {
        wall_now()
    }
}

pub fn wall_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Wall time, optionally sped up: service time = start + scale × elapsed.
pub struct ScaledClock {
    start_wall: i64,
    start: Instant,
    scale: f64,
}

impl ScaledClock {
    pub fn new(scale: f64) -> Self {
        ScaledClock {
            start_wall: wall_now(),
            start: Instant::now(),
            scale,
        }
    }
}

impl Clock for ScaledClock {
    fn now_millis(&self) -> i64 {
        let elapsed = self.start.elapsed().as_secs_f64() * 1000.0 * self.scale;
        self.start_wall + elapsed as i64
    }
}

/// A clock that moves only when told to.
pub struct ManualClock(Mutex<i64>);

impl ManualClock {
    pub fn new(start_millis: i64) -> Self {
        ManualClock(Mutex::new(start_millis))
    }

    pub fn advance(&self, by: Duration) {
        if let Ok(mut t) = self.0.lock() {
            *t += by.as_millis() as i64;
        }
    }
}

impl Clock for ManualClock {
    fn now_millis(&self) -> i64 {
        self.0.lock().map(|t| *t).unwrap_or(0)
    }
    fn wall_millis(&self) -> i64 {
        self.now_millis()
    }
}

/// ISO-8601 with milliseconds and `Z`, as AWS renders timestamps.
pub fn iso8601(millis: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(millis as i128 * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let fmt = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    t.format(&fmt).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_has_millis_and_z() {
        assert_eq!(iso8601(1_600_000_000_123), "2020-09-13T12:26:40.123Z");
    }

    #[test]
    fn scaled_clock_runs_faster() {
        let c = ScaledClock::new(1000.0);
        let a = c.now_millis();
        std::thread::sleep(Duration::from_millis(20));
        assert!(c.now_millis() - a >= 10_000);
    }

    #[test]
    fn manual_clock_advances() {
        let c = ManualClock::new(5);
        c.advance(Duration::from_secs(1));
        assert_eq!(c.now_millis(), 1005);
    }
}
