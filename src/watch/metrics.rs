//! Prometheus metrics of the watch loop, and the small HTTP server that serves them at
//! `GET /metrics` (Prometheus text format 0.0.4, encoded by prometheus-client).

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prometheus_client::encoding::prometheus_text;
pub use prometheus_client::encoding::prometheus_text::CONTENT_TYPE;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::{Outcome, Trigger};
use crate::health::{self, pool::Verdicts, schedule::Shared};
use crate::model::Config;
use crate::plan::Plan;

type Labels2 = [(&'static str, &'static str); 2];
type Labels1 = [(&'static str, &'static str); 1];

pub struct Metrics {
    registry: Registry,
    reconciles: Family<Labels2, Counter>,
    changes: Family<Labels2, Counter>,
    drift: Family<Labels1, Counter>,
    last_success: Gauge<f64, AtomicU64>,
    file_valid: Gauge,
    services: Gauge,
    reals: Gauge,
    inventory_recoveries: Counter,
    real_up: Family<Vec<(&'static str, String)>, Gauge>,
    probes: Family<Labels2, Counter>,
    transitions: Family<Labels1, Counter>,
    kept: Gauge,
    probe_source: OnceLock<Arc<Shared>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("lvsync");
        let m = Metrics {
            registry: Registry::default(),
            reconciles: Family::default(),
            changes: Family::default(),
            drift: Family::default(),
            last_success: Gauge::default(),
            file_valid: Gauge::default(),
            services: Gauge::default(),
            reals: Gauge::default(),
            inventory_recoveries: Counter::default(),
            real_up: Family::default(),
            probes: Family::default(),
            transitions: Family::default(),
            kept: Gauge::default(),
            probe_source: OnceLock::new(),
        };
        registry.register(
            "reconciles",
            "Reconciles by what triggered them (start, file_change, sighup, resync, retry) and their outcome (success, error, invalid_file)",
            m.reconciles.clone(),
        );
        registry.register("changes_applied", "Changes made to the kernel, by kind and action", m.changes.clone());
        registry.register(
            "drift_corrections",
            "Changes made by a periodic resync: live state had drifted from the file",
            m.drift.clone(),
        );
        registry.register(
            "last_success_timestamp_seconds",
            "Unix time of the last reconcile that left the kernel as the file says",
            m.last_success.clone(),
        );
        registry.register(
            "file_valid",
            "1 if the last read of the file parsed and validated, else 0",
            m.file_valid.clone(),
        );
        registry.register("services_managed", "Services in the file being enforced", m.services.clone());
        registry.register("real_servers_managed", "Real servers in the file being enforced", m.reals.clone());
        registry.register(
            "inventory_recoveries",
            "Times the inventory was found damaged and lvsync went on from its last good copy, or afresh (see the log for what to do)",
            m.inventory_recoveries.clone(),
        );
        registry.register(
            "real_server_up",
            "1 if the health checks find the real server up, else 0, by service and real server",
            m.real_up.clone(),
        );
        registry.register("health_probes", "Health probes run, by check and result (pass, fail)", m.probes.clone());
        registry.register(
            "health_transitions",
            "Health verdicts that changed, by the state changed to (up, down)",
            m.transitions.clone(),
        );
        registry.register(
            "health_kept_connections",
            "Connections of keep_alive HTTP(S) checks kept open between probes, each holding a file descriptor",
            m.kept.clone(),
        );
        Metrics { registry, ..m }
    }

    /// Where the probe counts are read at every scrape (the running prober).
    pub fn probes_from(&self, shared: Arc<Shared>) {
        let _ = self.probe_source.set(shared);
    }

    pub fn transition(&self, to: &'static str) {
        self.transitions.get_or_create(&[("to", to)]).inc();
    }

    /// Every probed real server of `config`, up (1) or down (0) by `verdicts`; real servers no
    /// longer probed disappear.
    pub fn real_servers_up(&self, config: &Config, verdicts: &Verdicts) {
        self.real_up.clear();
        for s in &config.services {
            for (key, check) in &s.health.checks {
                let up = verdicts.get(&check.target).is_none_or(|v| v.state == health::verdict::State::Up);
                let labels = vec![("service", s.name.clone()), ("real_server", key.to_string())];
                self.real_up.get_or_create(&labels).set(i64::from(up));
            }
        }
    }

    pub fn reconciled(&self, trigger: Trigger, outcome: Outcome) {
        self.reconciles.get_or_create(&[("trigger", trigger.as_str()), ("outcome", outcome.as_str())]).inc();
    }

    /// Count what a successful reconcile changed; a resync's changes are drift corrected.
    pub fn applied(&self, trigger: Trigger, plan: &Plan) {
        for change in &plan.changes {
            self.changes.get_or_create(&[("kind", change.kind()), ("action", change.action().as_str())]).inc();
            if trigger == Trigger::Resync {
                self.drift.get_or_create(&[("kind", change.kind())]).inc();
            }
        }
    }

    pub fn succeeded(&self, at: SystemTime, services: usize, reals: usize) {
        let secs = at.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).as_secs_f64();
        self.last_success.set(secs);
        self.services.set(i64::try_from(services).unwrap_or(i64::MAX));
        self.reals.set(i64::try_from(reals).unwrap_or(i64::MAX));
    }

    pub fn file_valid(&self, valid: bool) {
        self.file_valid.set(i64::from(valid));
    }

    pub fn render(&self) -> String {
        self.inventory_recoveries.inner().store(crate::inventory::recoveries(), std::sync::atomic::Ordering::Relaxed);
        if let Some(shared) = self.probe_source.get() {
            for ((check, passed), n) in shared.probe_counts() {
                let result = if passed { "pass" } else { "fail" };
                self.probes.get_or_create(&[("check", check), ("result", result)]).inner().store(n, Ordering::Relaxed);
            }
            self.kept.set(i64::try_from(shared.kept_connections()).unwrap_or(i64::MAX));
        }
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_text::encode(&mut out, &self.registry);
        out
    }
}

/// `--metrics-listen`: `9100` and `:9100` mean loopback (127.0.0.1); anything else is
/// `HOST:PORT` as given (`0.0.0.0:9100`, `[::1]:9100`).
pub fn listen_addr(text: &str) -> Result<SocketAddr, String> {
    let bare = text.strip_prefix(':').unwrap_or(text);
    if let Ok(port) = bare.parse::<u16>() {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    let bad = || format!("`{text}` is not a listen address (expected PORT, :PORT or HOST:PORT)");
    text.to_socket_addrs().map_err(|_| bad())?.next().ok_or_else(bad)
}

/// Serve `metrics` on `listener` from a background thread; see [`super::http`] for the limits.
pub fn serve(listener: TcpListener, metrics: Arc<Metrics>) -> io::Result<()> {
    super::http::serve(listener, super::http::Limits::default(), move || metrics.render())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::IpvsChange;
    use crate::state::{Forward, Protocol, RealKey, RealServer, ServiceKey};

    fn weight_edit() -> Plan {
        let service = ServiceKey::Addr { protocol: Protocol::Tcp, vip: "192.0.2.1".parse().unwrap(), port: 80 };
        let key = RealKey { address: "10.0.0.1".parse().unwrap(), port: 80 };
        let real = RealServer { weight: 1, forward: Forward::Dr, upper_threshold: 0, lower_threshold: 0 };
        Plan {
            changes: vec![
                IpvsChange::UpdateReal { service, key, before: real, after: RealServer { weight: 5, ..real } }.into(),
            ],
            ..Plan::default()
        }
    }

    #[test]
    fn text_names_every_metric_with_its_labels() {
        let m = Metrics::new();
        m.file_valid(true);
        m.reconciled(Trigger::Start, Outcome::Success);
        m.reconciled(Trigger::FileChange, Outcome::InvalidFile);
        m.applied(Trigger::FileChange, &weight_edit());
        m.applied(Trigger::Resync, &weight_edit());
        m.succeeded(UNIX_EPOCH + Duration::from_secs(1_700_000_000), 2000, 16000);
        let text = m.render();
        for line in [
            "# TYPE lvsync_reconciles_total counter",
            "lvsync_reconciles_total{trigger=\"start\",outcome=\"success\"} 1",
            "lvsync_reconciles_total{trigger=\"file_change\",outcome=\"invalid_file\"} 1",
            "lvsync_changes_applied_total{kind=\"real_server\",action=\"update\"} 2",
            "lvsync_drift_corrections_total{kind=\"real_server\"} 1",
            "lvsync_last_success_timestamp_seconds 1700000000.0",
            "lvsync_file_valid 1",
            "lvsync_services_managed 2000",
            "lvsync_real_servers_managed 16000",
        ] {
            assert!(text.lines().any(|l| l == line), "missing `{line}` in:\n{text}");
        }
    }

    #[test]
    fn listen_address_without_host_is_loopback() {
        assert_eq!(listen_addr("9100").unwrap(), "127.0.0.1:9100".parse().unwrap());
        assert_eq!(listen_addr(":9100").unwrap(), "127.0.0.1:9100".parse().unwrap());
        assert_eq!(listen_addr("0.0.0.0:9200").unwrap(), "0.0.0.0:9200".parse().unwrap());
        assert_eq!(listen_addr("[::1]:9100").unwrap(), "[::1]:9100".parse().unwrap());
        assert!(listen_addr("nine").unwrap_err().contains("not a listen address"));
    }

    #[test]
    fn inventory_recoveries_are_counted() {
        let text = Metrics::new().render();
        assert!(text.lines().any(|l| l.starts_with("lvsync_inventory_recoveries_total ")), "{text}");
    }
}
