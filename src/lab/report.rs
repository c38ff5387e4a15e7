//! What a lab run found, and how it is shown: a table per service, or SPEC's JSON.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use super::kill::{JsonKill, KillReport};

/// The result of one lab run.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct LabReport {
    pub services: Vec<ServiceResult>,
    /// What the lab did not build or send, and why.
    pub notes: Vec<String>,
    /// With `--failover`: how the pair of directors took it.
    #[serde(default)]
    pub failover: Option<super::failover::Failover>,
    /// With `--kill`: the stop, its detection, and the requests around it.
    #[serde(default)]
    pub kill: Option<KillReport>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceResult {
    pub name: String,
    /// `tcp/192.168.2.110:80`.
    pub target: String,
    pub requests: u32,
    pub failed: u32,
    /// Answers per real server `address:port`: every real server of the service (0 when it never
    /// answered), and any other address that answered.
    pub by_real: BTreeMap<String, u32>,
    /// Failed requests per reason (`timed out`, `refused`, ...).
    pub failures: BTreeMap<String, u32>,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    services: Vec<JsonService<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    failover: Option<&'a super::failover::Failover>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kill: Option<JsonKill<'a>>,
}

#[derive(Serialize)]
struct JsonService<'a> {
    name: &'a str,
    requests: u32,
    failed: u32,
    by_real: &'a BTreeMap<String, u32>,
}

impl LabReport {
    /// Every request of every service was answered (with `--kill`, those sent between the stop
    /// and its detection are not counted: they are in `kill.between`).
    pub fn all_answered(&self) -> bool {
        self.services.iter().all(|s| s.failed == 0)
    }

    /// The command's exit status: 0 when every request was answered (with `--failover`: when
    /// the VIP moved and the connection opened before survived), 1 otherwise.
    pub fn exit_code(&self) -> i32 {
        let ok = match &self.failover {
            Some(f) => f.passed(),
            None => self.all_answered(),
        };
        if ok { 0 } else { 1 }
    }

    /// `{"services": [{"name": "web", "requests": 32, "failed": 0, "by_real": {...}}]}`, as SPEC.
    pub fn to_json(&self) -> String {
        let report = JsonReport {
            services: self
                .services
                .iter()
                .map(|s| JsonService { name: &s.name, requests: s.requests, failed: s.failed, by_real: &s.by_real })
                .collect(),
            failover: self.failover.as_ref(),
            kill: self.kill.as_ref().map(KillReport::json),
        };
        let mut text = serde_json::to_string_pretty(&report).expect("a report serializes");
        text.push('\n');
        text
    }

    /// One table per service: real server, answers, share; then failures and notes.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        for (n, s) in self.services.iter().enumerate() {
            if n > 0 {
                out.push('\n');
            }
            let _ = writeln!(out, "service {} ({}): {} requests, {} failed", s.name, s.target, s.requests, s.failed);
            let width = s.by_real.keys().map(String::len).max().unwrap_or(0).max("real server".len());
            let _ = writeln!(out, "  {:<width$}  {:>7}  {:>6}", "real server", "answers", "share");
            for (real, count) in &s.by_real {
                let _ = writeln!(out, "  {real:<width$}  {count:>7}  {:>6}", share(*count, s.requests));
            }
            if s.failed > 0 {
                let reasons: Vec<String> = s.failures.iter().map(|(why, n)| format!("{n} {why}")).collect();
                let _ = writeln!(
                    out,
                    "  {:<width$}  {:>7}  {:>6}  ({})",
                    "failed",
                    s.failed,
                    share(s.failed, s.requests),
                    reasons.join(", ")
                );
            }
        }
        if self.services.is_empty() {
            out.push_str("no service to send requests to\n");
        }
        if let Some(f) = &self.failover {
            let moved = f.seconds.map_or("the VIP did not move".to_string(), |s| format!("the VIP moved in {s:.1} s"));
            let _ = writeln!(
                out,
                "failover: {moved}; {} failed requests; {} of {} connections kept",
                f.failed_requests, f.connections_kept, f.connections_opened
            );
        }
        if let Some(k) = &self.kill {
            out.push('\n');
            k.render(&mut out);
        }
        for note in &self.notes {
            let _ = writeln!(out, "note: {note}");
        }
        out
    }
}

fn share(count: u32, total: u32) -> String {
    if total == 0 { "-".into() } else { format!("{:.1}%", f64::from(count) * 100.0 / f64::from(total)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> LabReport {
        LabReport {
            services: vec![
                ServiceResult {
                    name: "web".into(),
                    target: "tcp/192.168.2.110:80".into(),
                    requests: 32,
                    failed: 0,
                    by_real: [("192.168.2.106:80".to_string(), 16), ("192.168.2.107:80".to_string(), 16)].into(),
                    failures: BTreeMap::new(),
                },
                ServiceResult {
                    name: "dns".into(),
                    target: "udp/192.168.2.110:53".into(),
                    requests: 4,
                    failed: 3,
                    by_real: [("192.168.2.106:53".to_string(), 1), ("192.168.2.107:53".to_string(), 0)].into(),
                    failures: [("timed out".to_string(), 3)].into(),
                },
            ],
            notes: vec!["service marked: a firewall-mark service has no VIP".into()],
            failover: None,
            kill: None,
        }
    }

    fn killed() -> LabReport {
        let phase = |requests, failed, by: &[(&str, u32)], why: &[(&str, u32)]| super::super::Phase {
            requests,
            failed,
            by_real: by.iter().map(|(r, n)| (r.to_string(), *n)).collect(),
            failures: why.iter().map(|(r, n)| (r.to_string(), *n)).collect(),
        };
        let mut r = report();
        r.services.truncate(1);
        r.notes.clear();
        r.services[0].by_real = [("192.168.2.106:80".to_string(), 8), ("192.168.2.107:80".to_string(), 24)].into();
        r.kill = Some(KillReport {
            real_server: "192.168.2.106:80".into(),
            service: "web".into(),
            taken_out: vec!["192.168.2.106:80 of web".into()],
            stopped_after_ms: 2410,
            detected_after_ms: 1620,
            before: phase(16, 0, &[("192.168.2.106:80", 8), ("192.168.2.107:80", 8)], &[]),
            between: phase(30, 15, &[("192.168.2.106:80", 0), ("192.168.2.107:80", 15)], &[("refused", 15)]),
            after: phase(16, 0, &[("192.168.2.106:80", 0), ("192.168.2.107:80", 16)], &[]),
        });
        r
    }

    #[test]
    fn a_kill_adds_its_timing_and_three_phases_to_json_and_text() {
        let r = killed();
        let v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(v["services"][0]["requests"], 32);
        let k = &v["kill"];
        assert_eq!((k["stopped_after_seconds"].as_f64(), k["detection_seconds"].as_f64()), (Some(2.41), Some(1.62)));
        assert_eq!((k["between"]["requests"].as_u64(), k["between"]["failed"].as_u64()), (Some(30), Some(15)));
        assert_eq!(k["after"]["by_real"], serde_json::json!({"192.168.2.106:80": 0, "192.168.2.107:80": 16}));
        assert_eq!(r.exit_code(), 0);
        insta::assert_snapshot!(r.render_text(), @r"
        service web (tcp/192.168.2.110:80): 32 requests, 0 failed
          real server       answers   share
          192.168.2.106:80        8   25.0%
          192.168.2.107:80       24   75.0%

        kill 192.168.2.106:80 (web): responder stopped 2.41 s into the requests, after request 16; out of the director 1.62 s later
          taken out: 192.168.2.106:80 of web
          before the kill      16 requests,   0 failed; answered by 192.168.2.106:80 8, 192.168.2.107:80 8
          kill to detection    30 requests,  15 failed (15 refused); answered by 192.168.2.107:80 15
          after detection      16 requests,   0 failed; answered by 192.168.2.107:80 16
        ");
        assert!(report().to_json().find("kill").is_none());
    }

    #[test]
    fn json_is_exactly_the_spec_shape() {
        let r = report();
        let v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"services": [
                {"name": "web", "requests": 32, "failed": 0,
                 "by_real": {"192.168.2.106:80": 16, "192.168.2.107:80": 16}},
                {"name": "dns", "requests": 4, "failed": 3,
                 "by_real": {"192.168.2.106:53": 1, "192.168.2.107:53": 0}},
            ]})
        );
        assert_eq!(r.exit_code(), 1);
        let mut ok = r.clone();
        ok.services.truncate(1);
        assert_eq!(ok.exit_code(), 0);
    }

    #[test]
    fn text_shows_a_table_per_service_with_shares_and_failures() {
        insta::assert_snapshot!(report().render_text(), @r"
        service web (tcp/192.168.2.110:80): 32 requests, 0 failed
          real server       answers   share
          192.168.2.106:80       16   50.0%
          192.168.2.107:80       16   50.0%

        service dns (udp/192.168.2.110:53): 4 requests, 3 failed
          real server       answers   share
          192.168.2.106:53        1   25.0%
          192.168.2.107:53        0    0.0%
          failed                  3   75.0%  (3 timed out)
        note: service marked: a firewall-mark service has no VIP
        ");
    }
}
