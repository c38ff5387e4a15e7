//! Shared by the watch tests that need no kernel: a reconciler that records what it is asked,
//! and a small stand-in for the file format to drive the loop.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use lvsync::backend::Executed;
use lvsync::model::{Config, ServiceSpec};
use lvsync::plan::{Change, Plan};
use lvsync::state::{Forward, Ownership, Protocol, RealKey, RealServer, Service, ServiceAttrs, ServiceKey, Timeouts};
use lvsync::watch::engine::{Engine, Parse, Reconciler, Scope};
use lvsync::watch::metrics::Metrics;

#[derive(Debug, thiserror::Error)]
#[error("netlink: operation not permitted")]
pub struct KernelError;

/// Records every reconcile; fails the next `fail` ones; answers with `drift` changes when asked.
#[derive(Default)]
pub struct Recorder {
    pub calls: Vec<(Scope, Config)>,
    pub fail: usize,
    pub drift: Vec<Change>,
}

impl Reconciler for Recorder {
    type Error = KernelError;

    fn reconcile(
        &mut self,
        config: &Config,
        _overlays: &lvsync::state::Overlays,
        reach: &Scope,
    ) -> Result<(Plan, Executed), KernelError> {
        self.calls.push((reach.clone(), config.clone()));
        if self.fail > 0 {
            self.fail -= 1;
            return Err(KernelError);
        }
        let changes = std::mem::take(&mut self.drift);
        let executed = Executed { changes: changes.len(), writes: changes.len() };
        Ok((Plan { changes, ..Plan::default() }, executed))
    }
}

pub fn key(i: u8) -> ServiceKey {
    ServiceKey::Addr { protocol: Protocol::Tcp, vip: IpAddr::from([192, 0, 2, i]), port: 80 }
}

pub fn real(weight: u32) -> RealServer {
    RealServer { weight, forward: Forward::Dr, upper_threshold: 0, lower_threshold: 0 }
}

/// A stand-in for the YAML format, enough to drive the loop: one line per service,
/// `svc <n> <weight>...`, `timeout <tcp>`, `#` comments; anything else is an error at its line.
pub fn parse(text: &str) -> Result<Config, String> {
    let mut config = Config {
        ownership: Ownership::Managed,
        timeouts: Timeouts::default(),
        services: vec![],
        firewall: vec![],
        ..Default::default()
    };
    for (n, line) in text.lines().enumerate() {
        let words: Vec<&str> = line.split('#').next().unwrap_or("").split_whitespace().collect();
        match words.as_slice() {
            [] => {}
            ["timeout", tcp] => config.timeouts.tcp = Some(tcp.parse().map_err(|_| format!("line {}", n + 1))?),
            ["svc", i, weights @ ..] => {
                let i: u8 = i.parse().map_err(|_| format!("line {}: bad service", n + 1))?;
                let mut reals = BTreeMap::new();
                for (r, w) in weights.iter().enumerate() {
                    let w = w.parse().map_err(|_| format!("line {}: bad weight `{w}`", n + 1))?;
                    reals.insert(RealKey { address: IpAddr::from([10, 0, i, r as u8 + 1]), port: 80 }, real(w));
                }
                let name = format!("s{i}");
                let service = Service { name: Some(name.clone()), attrs: ServiceAttrs::default(), reals };
                config.services.push(ServiceSpec { name, key: key(i), service, health: Default::default() });
            }
            _ => return Err(format!("director.yaml:{}: cannot parse `{line}`", n + 1)),
        }
    }
    Ok(config)
}

pub fn boxed_parse() -> Parse {
    Box::new(parse)
}

pub const RESYNC: Duration = Duration::from_secs(30);

pub fn engine(file: &Path, text: &str) -> (Engine<Recorder>, Arc<Metrics>) {
    fs::write(file, text).unwrap();
    let metrics = Arc::new(Metrics::new());
    let engine = Engine::new(file, Recorder::default(), boxed_parse(), metrics.clone(), RESYNC);
    (engine, metrics)
}

pub fn reaches(e: &Engine<Recorder>) -> Vec<Scope> {
    e.reconciler().calls.iter().map(|(r, _)| r.clone()).collect()
}

pub fn has_line(metrics: &Metrics, line: &str) -> bool {
    metrics.render().lines().any(|l| l == line)
}
