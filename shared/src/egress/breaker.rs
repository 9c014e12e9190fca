//! Failing fast on a sick queue or archive. Each execution environment keeps
//! a [`Breaker`] per destination (the events queue, the quarantine queue,
//! each fallback, the archive): after [`TRIP_AFTER`] failed sends in a row it
//! opens, and for [`COOL_OFF`] the destination is not tried at all, so a
//! request goes at once to the fallback, or is kept, instead of waiting out
//! the whole budget on a queue that is hanging or throttling. After the
//! cool-off one request probes the destination within [`PROBE_BUDGET`]; a
//! success closes the breaker, a failure opens it for another cool-off.
//!
//! Nothing about what is kept changes: only how long a request holds its
//! environment (docs/capacity.md, docs/regions.md).

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed sends in a row that open the breaker. Each is a whole call that
/// failed after the SDK's own attempts (three), or ran out of time: two in a
/// row is a queue that is down, hanging or throttling, not a blip. Kept low
/// because every environment learns it alone, and each failed request holds
/// its environment for a budget (docs/capacity.md, "the first seconds").
pub const TRIP_AFTER: u32 = 2;
/// How long an open breaker skips its destination before a probe; each
/// probe that fails doubles it, up to [`MAX_COOL_OFF`], so a long outage
/// costs few probes (each holds its environment for up to [`PROBE_BUDGET`]).
pub const COOL_OFF: Duration = Duration::from_secs(3);
/// The longest cool-off: how late, at most, an environment learns that its
/// destination is back.
pub const MAX_COOL_OFF: Duration = Duration::from_secs(12);
/// The most a probe may wait: a healthy queue answers in milliseconds, and a
/// slow one that still works (an SQS answering in a second) passes it, so a
/// breaker opened by a blip closes again.
pub const PROBE_BUDGET: Duration = Duration::from_secs(2);

/// How a send that was admitted went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The destination answered (took the messages, or refused one as faulty).
    Answered,
    /// It failed: refused the call, throttled past the SDK's attempts.
    Failed,
    /// No answer within the budget (the SDK's attempts included): it hangs.
    /// One is enough to open the breaker: each costs a whole budget.
    TimedOut,
}

/// Whether a send may go to the destination now, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Closed: send with the usual budget.
    Send,
    /// Open, cool-off over: this one send probes, within [`PROBE_BUDGET`].
    Probe,
    /// Open: do not send; the destination failed its last sends.
    Skip,
}

#[derive(Debug, Default)]
struct State {
    failures_in_a_row: u32,
    /// Set while open: no send before this instant (then one probe).
    closed_until: Option<Instant>,
    /// The cool-off in force (zero while closed).
    cool_off: Duration,
}

/// One destination's recent sends, as this environment saw them.
#[derive(Debug, Default)]
pub struct Breaker {
    state: Mutex<State>,
}

impl Breaker {
    /// A closed breaker.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether to send now. A probe pushes the next probe a cool-off away,
    /// so only one send probes at a time.
    pub fn admit(&self, now: Instant) -> Admission {
        let mut state = self.state();
        match state.closed_until {
            None => Admission::Send,
            Some(until) if now < until => Admission::Skip,
            Some(_) => {
                state.closed_until = Some(now + state.cool_off);
                Admission::Probe
            }
        }
    }

    /// Records how a send that was admitted went.
    pub fn record(&self, outcome: Outcome, now: Instant) {
        let mut state = self.state();
        state.failures_in_a_row = match outcome {
            Outcome::Answered => {
                *state = State::default();
                return;
            }
            Outcome::Failed => state.failures_in_a_row.saturating_add(1),
            Outcome::TimedOut => TRIP_AFTER,
        };
        if state.failures_in_a_row >= TRIP_AFTER {
            state.cool_off = match state.closed_until {
                // A probe failed: wait longer before the next.
                Some(_) => (state.cool_off * 2).min(MAX_COOL_OFF),
                None => COOL_OFF,
            };
            state.closed_until = Some(now + state.cool_off);
        }
    }

    /// Leaves an open breaker due a probe now: the next send probes (a
    /// sign, short of a send, that the destination may be back).
    pub fn probe_due(&self, now: Instant) {
        let mut state = self.state();
        if state.closed_until.is_some() {
            state.closed_until = Some(now);
        }
    }

    /// Whether the breaker is open (the destination is being skipped or probed).
    pub fn is_open(&self) -> bool {
        self.state().closed_until.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_failures_in_a_row_and_skips_for_the_cool_off() {
        let breaker = Breaker::new();
        let t0 = Instant::now();
        for _ in 0..TRIP_AFTER - 1 {
            assert_eq!(breaker.admit(t0), Admission::Send);
            breaker.record(Outcome::Failed, t0);
        }
        assert!(!breaker.is_open());
        breaker.record(Outcome::Failed, t0);
        assert!(breaker.is_open());
        assert_eq!(breaker.admit(t0), Admission::Skip);
        assert_eq!(breaker.admit(t0 + COOL_OFF - Duration::from_millis(1)), Admission::Skip);
    }

    #[test]
    fn each_failed_probe_doubles_the_cool_off_up_to_its_most() {
        let breaker = Breaker::new();
        let mut now = Instant::now();
        breaker.record(Outcome::TimedOut, now);
        let mut waits = Vec::new();
        for _ in 0..5 {
            let mut waited = Duration::ZERO;
            while breaker.admit(now + waited) == Admission::Skip {
                waited += Duration::from_millis(500);
            }
            now += waited;
            waits.push(waited.as_secs());
            breaker.record(Outcome::TimedOut, now);
        }
        assert_eq!(waits, [3, 6, 12, 12, 12]);
        // A success starts again from the shortest.
        breaker.record(Outcome::Answered, now);
        breaker.record(Outcome::TimedOut, now);
        assert_eq!(breaker.admit(now + COOL_OFF), Admission::Probe);
    }

    #[test]
    fn one_send_that_ran_out_of_time_opens_it() {
        let breaker = Breaker::new();
        let t0 = Instant::now();
        breaker.record(Outcome::TimedOut, t0);
        assert_eq!(breaker.admit(t0), Admission::Skip);
    }

    #[test]
    fn a_success_between_failures_starts_the_count_again() {
        let breaker = Breaker::new();
        let t0 = Instant::now();
        for round in 0..10 {
            let outcome = match round % TRIP_AFTER == TRIP_AFTER - 1 {
                true => Outcome::Answered,
                false => Outcome::Failed,
            };
            breaker.record(outcome, t0);
        }
        assert!(!breaker.is_open());
        assert_eq!(breaker.admit(t0), Admission::Send);
    }

    #[test]
    fn after_the_cool_off_one_send_probes_and_its_outcome_decides() {
        let breaker = Breaker::new();
        let t0 = Instant::now();
        for _ in 0..TRIP_AFTER {
            breaker.record(Outcome::Failed, t0);
        }
        let later = t0 + COOL_OFF;
        assert_eq!(breaker.admit(later), Admission::Probe);
        // While the probe is out, others still skip.
        assert_eq!(breaker.admit(later), Admission::Skip);
        // A failed probe opens it for a cool-off twice as long.
        breaker.record(Outcome::Failed, later);
        assert_eq!(breaker.admit(later + COOL_OFF), Admission::Skip);
        let later = later + COOL_OFF * 2;
        assert_eq!(breaker.admit(later), Admission::Probe);
        // A sign short of a send leaves the probe due at once.
        breaker.probe_due(later);
        assert_eq!(breaker.admit(later), Admission::Probe);
        // A successful probe closes it.
        breaker.record(Outcome::Answered, later);
        assert!(!breaker.is_open());
        assert_eq!(breaker.admit(later), Admission::Send);
    }
}
