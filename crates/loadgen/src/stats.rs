//! Latencies and errors of one kind of operation.

use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Default, Debug, Clone)]
pub struct Latencies {
    us: Vec<u32>,
    pub errors: u64,
    /// The first error's description, to say what went wrong.
    pub first_error: Option<String>,
}

impl Latencies {
    pub fn record(&mut self, d: Duration) {
        self.us
            .push(u32::try_from(d.as_micros()).unwrap_or(u32::MAX));
    }

    pub fn error(&mut self, what: impl Into<String>) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(what.into());
        }
    }

    pub fn count(&self) -> usize {
        self.us.len()
    }

    /// The `p` quantile (0..=1) in milliseconds; NaN when nothing was recorded.
    pub fn pct(&mut self, p: f64) -> f64 {
        if self.us.is_empty() {
            return f64::NAN;
        }
        self.us.sort_unstable();
        let i = ((self.us.len() as f64 - 1.0) * p).round() as usize;
        f64::from(self.us[i]) / 1000.0
    }

    pub fn take(&mut self) -> Latencies {
        std::mem::take(self)
    }
}

/// Shared between the tasks of one operation.
pub type Shared = Arc<Mutex<Latencies>>;

pub fn shared() -> Shared {
    Arc::default()
}

pub fn record(s: &Shared, d: Duration) {
    s.lock().unwrap().record(d);
}

pub fn error(s: &Shared, what: impl Into<String>) {
    s.lock().unwrap().error(what);
}

impl Latencies {
    pub fn merge(&mut self, other: Latencies) {
        self.us.extend(other.us);
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }
}
