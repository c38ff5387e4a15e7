//! The verdict of one target: up or down from consecutive probe results (`rise`/`fall`). Pure:
//! every time comes from the caller.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::spec::Target;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum State {
    Up,
    Down,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Up => "up",
            State::Down => "down",
        }
    }
}

/// The result of one probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// When the probe ended.
    pub at: SystemTime,
    /// How long it took.
    pub took: Duration,
    /// `None`: it passed; else why it failed (`connect refused`).
    pub error: Option<String>,
}

impl Outcome {
    pub fn passed(&self) -> bool {
        self.error.is_none()
    }
}

/// A change of verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub target: Target,
    pub to: State,
    pub at: SystemTime,
    /// `http: connect refused` for a change to down; `http: 2 passes` for a change to up.
    pub reason: String,
}

/// What is known about one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub state: State,
    /// Since the last transition, or since probing began.
    pub since: SystemTime,
    /// Consecutive results against the current state (failures while up, passes while down).
    pub streak: u32,
    pub last: Option<Outcome>,
    /// The error of the latest failed probe, kept after passes for the record.
    pub last_error: Option<String>,
}

impl Verdict {
    /// A target starts up: it takes traffic before its first probe.
    pub fn new(now: SystemTime) -> Verdict {
        Verdict { state: State::Up, since: now, streak: 0, last: None, last_error: None }
    }

    /// `up`, `down`, or `unknown` before the first probe.
    pub fn health(&self) -> &'static str {
        if self.last.is_none() { "unknown" } else { self.state.as_str() }
    }

    /// Take one probe result; a transition when it decides one.
    pub fn observe(&mut self, target: &Target, outcome: Outcome) -> Option<Transition> {
        let against = match self.state {
            State::Up => !outcome.passed(),
            State::Down => outcome.passed(),
        };
        if let Some(e) = &outcome.error {
            self.last_error = Some(e.clone());
        }
        let at = outcome.at;
        let error = outcome.error.clone();
        self.last = Some(outcome);
        self.streak = if against { self.streak.saturating_add(1) } else { 0 };
        let (needed, to) = match self.state {
            State::Up => (target.fall, State::Down),
            State::Down => (target.rise, State::Up),
        };
        if self.streak < needed {
            return None;
        }
        self.state = to;
        self.since = at;
        self.streak = 0;
        let kind = target.kind.name();
        let reason = match error {
            Some(e) => format!("{kind}: {e}"),
            None => format!("{kind}: {needed} consecutive passes"),
        };
        Some(Transition { target: target.clone(), to, at, reason })
    }

    /// `down since 10:02:11, http: connect refused`.
    pub fn describe(&self, target: &Target) -> String {
        let mut s = format!("{} since {}", self.health(), clock(self.since));
        if self.state == State::Down
            && let Some(e) = &self.last_error
        {
            s.push_str(&format!(", {}: {e}", target.kind.name()));
        }
        s
    }
}

/// The UTC time of day, `HH:MM:SS`.
pub fn clock(t: SystemTime) -> Clock {
    Clock(t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()))
}

pub struct Clock(u64);

impl fmt::Display for Clock {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let s = self.0 % 86_400;
        write!(f, "{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::spec::Kind;
    use proptest::prelude::*;

    fn target(rise: u32, fall: u32) -> Target {
        Target {
            address: "192.168.2.106".parse().unwrap(),
            port: 80,
            kind: Kind::Tcp,
            interval: Duration::from_secs(2),
            timeout: Duration::from_secs(1),
            rise,
            fall,
        }
    }

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn outcome(secs: u64, pass: bool) -> Outcome {
        Outcome { at: at(secs), took: Duration::from_millis(1), error: (!pass).then(|| "connect refused".into()) }
    }

    #[test]
    fn starts_up_and_unknown_then_falls_after_fall_failures_and_rises_after_rise_passes() {
        let t = target(2, 3);
        let mut v = Verdict::new(at(0));
        assert_eq!((v.state, v.health()), (State::Up, "unknown"));
        assert_eq!(v.observe(&t, outcome(2, false)), None);
        assert_eq!(v.observe(&t, outcome(4, false)), None);
        let down = v.observe(&t, outcome(36_131, false)).unwrap();
        assert_eq!((down.to, down.at, down.reason.as_str()), (State::Down, at(36_131), "tcp: connect refused"));
        assert_eq!(v.describe(&t), "down since 10:02:11, tcp: connect refused");
        assert_eq!(v.observe(&t, outcome(36_133, true)), None);
        let up = v.observe(&t, outcome(36_135, true)).unwrap();
        assert_eq!((up.to, up.reason.as_str()), (State::Up, "tcp: 2 consecutive passes"));
        assert_eq!(v.describe(&t), "up since 10:02:15");
    }

    #[test]
    fn a_pass_between_failures_starts_the_count_again() {
        let t = target(1, 2);
        let mut v = Verdict::new(at(0));
        for (s, pass) in [(1, false), (2, true), (3, false), (4, true)] {
            assert_eq!(v.observe(&t, outcome(s, pass)), None);
        }
        assert!(v.observe(&t, outcome(5, false)).is_none());
        assert_eq!(v.observe(&t, outcome(6, false)).map(|t| t.to), Some(State::Down));
    }

    proptest! {
        /// Whatever the results: a transition happens exactly when the last `fall` (going down) or
        /// `rise` (going up) results all went against the state, and states alternate.
        #[test]
        fn transitions_follow_exactly_the_streaks(rise in 1u32..5, fall in 1u32..5, results in proptest::collection::vec(any::<bool>(), 0..60)) {
            let t = target(rise, fall);
            let mut v = Verdict::new(at(0));
            let mut model_state = State::Up;
            let mut streak = 0u32;
            for (i, pass) in results.iter().enumerate() {
                let against = (model_state == State::Up) != *pass;
                streak = if against { streak + 1 } else { 0 };
                let needed = if model_state == State::Up { fall } else { rise };
                let expect_flip = streak >= needed;
                let got = v.observe(&t, outcome(i as u64, *pass));
                prop_assert_eq!(got.is_some(), expect_flip);
                if expect_flip {
                    model_state = if model_state == State::Up { State::Down } else { State::Up };
                    streak = 0;
                    prop_assert_eq!(got.unwrap().to, model_state);
                }
                prop_assert_eq!(v.state, model_state);
            }
        }
    }
}
