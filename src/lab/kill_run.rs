//! `--kill` inside the kernel: `lvsync watch` runs on the director (its probes decide), the
//! killed service gets half its requests, the responder stops, requests go on at a steady pace
//! until the director has taken the real server out, then the second half is sent.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::Error;
use super::client::Tally;
use super::inner::{IPTABLES, Lab, STATE_DIR};
use super::kill::{Hit, Kill, KillReport, Phase, detection_limit};
use super::report::ServiceResult;
use super::topology::Target;
use crate::ipvs::IpvsBackend;
use crate::state::State;

/// Between two requests while the director still has the stopped server in.
const PACE: Duration = Duration::from_millis(50);
/// How often the kernel's table is read while waiting for the verdict.
const POLL: Duration = Duration::from_millis(10);
const WATCH_START: Duration = Duration::from_secs(30);

/// `lvsync watch FILE` on the director, ended (SIGTERM) when dropped.
pub struct Watch {
    child: Child,
    log: PathBuf,
}

impl Watch {
    /// Start it and wait for its first reconcile.
    pub fn start(exe: &Path, file: &Path) -> Result<Watch, Error> {
        let log = PathBuf::from(STATE_DIR).join("watch.log");
        let (dir, name) = super::inner::split(file);
        let child = File::create(&log)
            .and_then(|err| {
                Command::new(exe)
                    .args(["--state-dir", STATE_DIR, "--iptables", IPTABLES, "--log-format", "json", "watch"])
                    .arg(name)
                    .current_dir(dir)
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(err)
                    .spawn()
            })
            .map_err(|source| Error::Exe { path: exe.to_path_buf(), source })?;
        let watch = Watch { child, log };
        let start = Instant::now();
        while !watch.log().contains("\"reconciled\"") {
            if start.elapsed() > WATCH_START {
                return Err(Error::Watch {
                    what: format!("`lvsync watch` did not reconcile within {WATCH_START:?}"),
                    log: watch.log(),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(watch)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        // SAFETY: kill(2) on the pid of the child this value owns; not yet reaped.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

/// Send `requests` to `target` with the kill in the middle.
pub fn send(
    lab: &mut Lab,
    target: &Target,
    requests: u32,
    kill: Kill,
    hits: &[Hit],
    watch: &Watch,
) -> Result<(ServiceResult, KillReport), Error> {
    let first = requests / 2;
    let start = Instant::now();
    let before = lab.send(target, first);
    let stopped_after = start.elapsed();
    if lab.stop_responder(kill.address, kill.port) == 0 {
        return Err(Error::Watch { what: format!("the lab runs no responder for {kill}"), log: String::new() });
    }
    let stopped = Instant::now();
    let detector = Detector::start(hits);
    let limit = detection_limit(hits);
    let mut between = Tally::default();
    let mut n = 0;
    let detected = loop {
        if let Some(at) = detector.detected()? {
            break at;
        }
        if stopped.elapsed() > limit {
            let out: Vec<String> = hits.iter().map(|h| format!("{} of {}", h.real, h.service)).collect();
            let what = format!("the director did not take {} out within {limit:?} of the stop", out.join(", "));
            return Err(Error::Watch { what, log: watch.log() });
        }
        let sent = Instant::now();
        between.count(lab.request(target));
        n += 1;
        std::thread::sleep(PACE.saturating_sub(sent.elapsed()));
    };
    let after = lab.send(target, requests - first);
    let phase = |t: &ServiceResult| Phase {
        requests: t.requests,
        failed: t.failed,
        by_real: t.by_real.clone(),
        failures: t.failures.clone(),
    };
    let mut result = before.clone();
    result.requests += after.requests;
    result.failed += after.failed;
    for (real, c) in &after.by_real {
        *result.by_real.entry(real.clone()).or_default() += c;
    }
    for (why, c) in &after.failures {
        *result.failures.entry(why.clone()).or_default() += c;
    }
    let mut between_by_real: std::collections::BTreeMap<String, u32> =
        target.reals.iter().map(|r| (r.clone(), 0)).collect();
    between_by_real.extend(between.by_real.clone());
    let report = KillReport {
        real_server: kill.to_string(),
        service: target.name.clone(),
        taken_out: hits.iter().map(|h| format!("{} of {}", h.real, h.service)).collect(),
        stopped_after_ms: stopped_after.as_millis() as u64,
        detected_after_ms: detected.duration_since(stopped).as_millis() as u64,
        before: phase(&before),
        between: Phase { requests: n, failed: between.failed(), by_real: between_by_real, failures: between.failures },
        after: phase(&after),
    };
    Ok((result, report))
}

/// Reads the kernel's table every [`POLL`] until every hit is out (weight 0 or deleted).
struct Detector {
    found: Arc<Mutex<Option<Result<Instant, String>>>>,
    stop: Arc<AtomicBool>,
}

impl Detector {
    fn start(hits: &[Hit]) -> Detector {
        let found = Arc::new(Mutex::new(None));
        let stop = Arc::new(AtomicBool::new(false));
        let (f, s, hits) = (found.clone(), stop.clone(), hits.to_vec());
        std::thread::spawn(move || {
            let outcome = watch_table(&hits, &s);
            *f.lock().unwrap_or_else(|e| e.into_inner()) = outcome;
        });
        Detector { found, stop }
    }

    fn detected(&self) -> Result<Option<Instant>, Error> {
        match self.found.lock().unwrap_or_else(|e| e.into_inner()).clone() {
            None => Ok(None),
            Some(Ok(at)) => Ok(Some(at)),
            Some(Err(e)) => Err(Error::Watch { what: format!("reading the IPVS table: {e}"), log: String::new() }),
        }
    }
}

impl Drop for Detector {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn watch_table(hits: &[Hit], stop: &AtomicBool) -> Option<Result<Instant, String>> {
    let mut ipvs = match IpvsBackend::connect() {
        Ok(b) => b,
        Err(e) => return Some(Err(crate::error_chain::error_chain(&e))),
    };
    let mut keys: Vec<_> = hits.iter().map(|h| h.key).collect();
    keys.dedup();
    while !stop.load(Ordering::SeqCst) {
        let mut state = State::default();
        if let Err(e) = ipvs.observe_services(&keys, &mut state) {
            return Some(Err(crate::error_chain::error_chain(&e)));
        }
        let now = Instant::now();
        let out = hits
            .iter()
            .all(|h| state.services.get(&h.key).and_then(|s| s.reals.get(&h.real)).is_none_or(|r| r.weight == 0));
        if out {
            return Some(Ok(now));
        }
        std::thread::sleep(POLL);
    }
    None
}
