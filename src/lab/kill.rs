//! `lab FILE --kill ADDR[:PORT]`: which real servers the kill stops (checked on the host, before
//! any boot), and what it found: when the responder stopped, when the director took the real
//! server out, and the requests before, in between and after.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Error;
use crate::model::Config;
use crate::state::{RealKey, ServiceKey, SocketText};

/// Slack over `fall × interval + timeout` before the lab gives up waiting for the verdict.
const DETECTION_SLACK: Duration = Duration::from_secs(5);

/// The real server(s) `--kill` names: an address, and a port or every port of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kill {
    pub address: IpAddr,
    pub port: Option<u16>,
}

/// One real server of one service that the kill takes down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub service: String,
    pub key: ServiceKey,
    pub real: RealKey,
    /// How long its check may take to decide: `fall × interval + timeout`.
    pub decides_within: Duration,
}

impl Kill {
    /// `192.168.2.106`, `192.168.2.106:80`, `2001:db8::6` or `[2001:db8::6]:80`.
    pub fn parse(text: &str) -> Result<Kill, Error> {
        if let Ok(a) = text.parse::<SocketAddr>() {
            return Ok(Kill { address: a.ip(), port: Some(a.port()) });
        }
        let bare = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')).unwrap_or(text);
        match bare.parse::<IpAddr>() {
            Ok(address) => Ok(Kill { address, port: None }),
            Err(_) => Err(Error::KillValue(text.to_string())),
        }
    }

    fn matches(&self, real: &RealKey) -> bool {
        real.address == self.address && self.port.is_none_or(|p| p == real.port)
    }

    /// Every real server of `config` the kill stops, each with its check. A kill that matches
    /// nothing, or a real server without a health check (nothing would ever take it out), is
    /// refused.
    pub fn hits(&self, config: &Config) -> Result<Vec<Hit>, Error> {
        let mut hits = Vec::new();
        for s in &config.services {
            for real in s.service.reals.keys().filter(|r| self.matches(r)) {
                let check = s
                    .health
                    .checks
                    .get(real)
                    .ok_or_else(|| Error::KillUnchecked { real: real.to_string(), service: s.name.clone() })?;
                let t = &check.target;
                hits.push(Hit {
                    service: s.name.clone(),
                    key: s.key,
                    real: *real,
                    decides_within: t.interval * t.fall + t.timeout,
                });
            }
        }
        if hits.is_empty() {
            let known: Vec<String> =
                config.services.iter().flat_map(|s| s.service.reals.keys().map(|r| r.to_string())).collect();
            return Err(Error::KillNoMatch { kill: self.to_string(), known: known.join(", ") });
        }
        Ok(hits)
    }
}

impl std::fmt::Display for Kill {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.port {
            Some(p) => SocketText(self.address, p).fmt(f),
            None => self.address.fmt(f),
        }
    }
}

/// How long the lab waits for the director to take the hits out before it gives up.
pub fn detection_limit(hits: &[Hit]) -> Duration {
    hits.iter().map(|h| h.decides_within).max().unwrap_or_default() + DETECTION_SLACK
}

/// Requests of one phase of the killed service.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Phase {
    pub requests: u32,
    pub failed: u32,
    pub by_real: BTreeMap<String, u32>,
    pub failures: BTreeMap<String, u32>,
}

/// What `--kill` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KillReport {
    /// As given: `192.168.2.106:80` or `192.168.2.106`.
    pub real_server: String,
    /// The service whose requests were under way when the responder stopped.
    pub service: String,
    /// Every `real server of service` the kill took down.
    pub taken_out: Vec<String>,
    /// From the service's first request to the stop.
    pub stopped_after_ms: u64,
    /// From the stop until the director had taken every hit out (weight 0 or deleted).
    pub detected_after_ms: u64,
    /// The first half of the requests.
    pub before: Phase,
    /// Sent from the stop until the detection, while the director still sent new connections to
    /// the stopped server; failures here are expected.
    pub between: Phase,
    /// The second half of the requests, once the real server was out.
    pub after: Phase,
}

#[derive(Serialize)]
pub(super) struct JsonKill<'a> {
    real_server: &'a str,
    service: &'a str,
    taken_out: &'a [String],
    stopped_after_seconds: f64,
    detection_seconds: f64,
    before: &'a Phase,
    between: &'a Phase,
    after: &'a Phase,
}

impl KillReport {
    pub(super) fn json(&self) -> JsonKill<'_> {
        JsonKill {
            real_server: &self.real_server,
            service: &self.service,
            taken_out: &self.taken_out,
            stopped_after_seconds: self.stopped_after_ms as f64 / 1000.0,
            detection_seconds: self.detected_after_ms as f64 / 1000.0,
            before: &self.before,
            between: &self.between,
            after: &self.after,
        }
    }

    pub(super) fn render(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "kill {} ({}): responder stopped {:.2} s into the requests, after request {}; out of the director {:.2} s later",
            self.real_server,
            self.service,
            self.stopped_after_ms as f64 / 1000.0,
            self.before.requests,
            self.detected_after_ms as f64 / 1000.0,
        );
        let _ = writeln!(out, "  taken out: {}", self.taken_out.join(", "));
        for (what, p) in
            [("before the kill", &self.before), ("kill to detection", &self.between), ("after detection", &self.after)]
        {
            let served: Vec<String> =
                p.by_real.iter().filter(|(_, n)| **n > 0).map(|(r, n)| format!("{r} {n}")).collect();
            let reasons: Vec<String> = p.failures.iter().map(|(why, n)| format!("{n} {why}")).collect();
            let why = if reasons.is_empty() { String::new() } else { format!(" ({})", reasons.join(", ")) };
            let _ = writeln!(
                out,
                "  {what:<17}  {:>4} requests, {:>3} failed{why}; answered by {}",
                p.requests,
                p.failed,
                if served.is_empty() { "none".to_string() } else { served.join(", ") }
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "version: 1
services:
  - name: web
    vip: 192.168.2.110
    port: 80
    health: {check: tcp, interval: 0.5, timeout: 0.3, fall: 2}
    real_servers:
      - address: 10.0.0.2
      - address: 10.0.0.3
        health: {check: none}
  - name: alt
    vip: 192.168.2.110
    port: 8080
    health: {check: tcp, port: 80, interval: 1, fall: 3, timeout: 0.5}
    real_servers:
      - address: 10.0.0.2
";

    #[test]
    fn a_kill_names_an_address_or_one_port_of_it() {
        let k = Kill::parse("10.0.0.2").unwrap();
        assert_eq!((k.address.to_string(), k.port), ("10.0.0.2".into(), None));
        assert_eq!(Kill::parse("10.0.0.2:80").unwrap().port, Some(80));
        assert_eq!(Kill::parse("[2001:db8::6]:80").unwrap().to_string(), "[2001:db8::6]:80");
        assert_eq!(Kill::parse("2001:db8::6").unwrap().to_string(), "2001:db8::6");
        let err = Kill::parse("10.0.0.2:http").unwrap_err().to_string();
        assert!(err.contains("`10.0.0.2:http`") && err.contains("ADDR:PORT"), "{err}");
    }

    #[test]
    fn every_service_of_the_killed_address_is_hit_and_waits_for_its_slowest_check() {
        let config = crate::model::load(FILE).unwrap();
        let hits = Kill::parse("10.0.0.2").unwrap().hits(&config).unwrap();
        let named: Vec<String> = hits.iter().map(|h| format!("{} of {}", h.real, h.service)).collect();
        assert_eq!(named, ["10.0.0.2:80 of web", "10.0.0.2:8080 of alt"]);
        assert_eq!(detection_limit(&hits), Duration::from_millis(3500) + DETECTION_SLACK);
        let only = Kill::parse("10.0.0.2:8080").unwrap().hits(&config).unwrap();
        assert_eq!(only.len(), 1);
    }

    #[test]
    fn a_kill_of_an_unknown_or_unchecked_real_server_is_refused() {
        let config = crate::model::load(FILE).unwrap();
        let err = Kill::parse("10.0.0.9").unwrap().hits(&config).unwrap_err().to_string();
        assert!(err.contains("`10.0.0.9`") && err.contains("10.0.0.2:80, 10.0.0.3:80, 10.0.0.2:8080"), "{err}");
        let err = Kill::parse("10.0.0.3").unwrap().hits(&config).unwrap_err().to_string();
        assert!(err.contains("10.0.0.3:80 of web has no health check"), "{err}");
    }
}
