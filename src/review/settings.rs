//! The settings of a file that are not kernel state (health checks, `min_healthy`, fallback,
//! `drain_timeout`, ownership), compared between two files. The planner never sees them, so a
//! reviewer would not either without this.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use crate::health::spec::{Check, Kind, ServiceHealth};
use crate::model::Config;
use crate::plan::Action;
use crate::state::RealKey;

/// One changed setting. `before`/`after` are `None` when the setting is added or removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingChange {
    /// The service's name in the file.
    pub service: String,
    /// The real servers whose check changes; empty for a service-wide setting.
    pub reals: Vec<RealKey>,
    /// True when `reals` are all the probed real servers of the service (on both sides).
    pub every_real: bool,
    pub setting: Setting,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// What kind of setting changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Setting {
    /// The whole check of a real server, added or removed.
    Check,
    /// One field of a check present on both sides (`interval`, `path`, ...).
    CheckField(&'static str),
    /// A service-wide health setting (`min_healthy`, `fallback`, `drain_timeout`).
    Service(&'static str),
    /// The file's `ownership`.
    Ownership,
    /// A field of `ha` (`vrid`, `nodes`, ...); `""`: the whole of `ha`, added or removed.
    Ha(&'static str),
}

impl SettingChange {
    pub fn action(&self) -> Action {
        Action::between(&self.before, &self.after)
    }

    pub fn kind(&self) -> &'static str {
        match self.setting {
            Setting::Ownership => "ownership",
            Setting::Ha(_) => "ha",
            _ => "health",
        }
    }

    /// The setting's name in JSON.
    pub fn name(&self) -> &'static str {
        match &self.setting {
            Setting::Check => "check",
            Setting::CheckField(f) | Setting::Service(f) => f,
            Setting::Ownership => "ownership",
            Setting::Ha("") => "ha",
            Setting::Ha(f) => f,
        }
    }

    /// `health of web: interval 2s -> 5s (every real server)`, without the sign.
    pub fn line(&self) -> String {
        let mut out = match self.setting {
            Setting::Ownership => "ownership".to_string(),
            Setting::Ha(_) => "ha".to_string(),
            _ => format!("health of {}", self.service),
        };
        let what = match &self.setting {
            Setting::Check => "",
            Setting::CheckField(f) | Setting::Service(f) | Setting::Ha(f) => f,
            Setting::Ownership => "",
        };
        out.push(':');
        if !what.is_empty() {
            let _ = write!(out, " {what}");
        }
        match (&self.before, &self.after) {
            (Some(b), Some(a)) => {
                let _ = write!(out, " {b} -> {a}");
            }
            (Some(v), None) | (None, Some(v)) => {
                let _ = write!(out, " {v}");
            }
            (None, None) => {}
        }
        if !self.reals.is_empty() {
            if self.every_real && self.reals.len() > 1 {
                out.push_str(" (every real server)");
            } else {
                let list: Vec<String> = self.reals.iter().map(|r| r.to_string()).collect();
                let _ = write!(out, " (real server{} {})", if list.len() == 1 { "" } else { "s" }, list.join(", "));
            }
        }
        out
    }
}

/// Every setting that differs, services in the new file's order, then those only in the old.
pub fn diff(old: &Config, new: &Config) -> Vec<SettingChange> {
    let mut out = Vec::new();
    if old.ownership != new.ownership {
        out.push(SettingChange {
            service: String::new(),
            reals: Vec::new(),
            every_real: false,
            setting: Setting::Ownership,
            before: Some(ownership(old)),
            after: Some(ownership(new)),
        });
    }
    let none = ServiceHealth::default();
    for s in &new.services {
        service(&mut out, &s.name, find(old, &s.name).unwrap_or(&none), &s.health);
    }
    for s in old.services.iter().filter(|s| find(new, &s.name).is_none()) {
        service(&mut out, &s.name, &s.health, &none);
    }
    out
}

fn find<'a>(c: &'a Config, name: &str) -> Option<&'a ServiceHealth> {
    c.services.iter().find(|s| s.name == name).map(|s| &s.health)
}

fn ownership(c: &Config) -> String {
    serde_json::to_value(c.ownership).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

/// A check's field, before and after.
type FieldChange = (&'static str, Option<String>, Option<String>);

fn service(out: &mut Vec<SettingChange>, name: &str, old: &ServiceHealth, new: &ServiceHealth) {
    let change = |setting, reals: Vec<RealKey>, every_real, before, after| SettingChange {
        service: name.to_string(),
        reals,
        every_real,
        setting,
        before,
        after,
    };
    // Whole checks added or removed, grouped by what they are.
    let mut whole: BTreeMap<(bool, String), Vec<RealKey>> = BTreeMap::new();
    // Fields of checks on both sides, grouped by field and values.
    let mut fields: BTreeMap<FieldChange, Vec<RealKey>> = BTreeMap::new();
    let reals: std::collections::BTreeSet<&RealKey> = old.checks.keys().chain(new.checks.keys()).collect();
    for real in &reals {
        match (old.checks.get(real), new.checks.get(real)) {
            (Some(a), Some(b)) if a == b => {}
            (Some(a), Some(b)) => {
                let (fa, fb) = (check_fields(a), check_fields(b));
                let names: Vec<&'static str> = fa.iter().chain(fb.iter()).map(|(n, _)| *n).collect();
                let mut seen = Vec::new();
                for n in names {
                    if seen.contains(&n) {
                        continue;
                    }
                    seen.push(n);
                    let get = |f: &[(&'static str, String)]| f.iter().find(|(k, _)| *k == n).map(|(_, v)| v.clone());
                    let (va, vb) = (get(&fa), get(&fb));
                    if va != vb {
                        fields.entry((n, va, vb)).or_default().push(**real);
                    }
                }
            }
            (Some(a), None) => whole.entry((false, summary(a))).or_default().push(**real),
            (None, Some(b)) => whole.entry((true, summary(b))).or_default().push(**real),
            (None, None) => {}
        }
    }
    let all = |n: usize| n == reals.len();
    for ((added, text), rs) in whole {
        let every = all(rs.len());
        let (b, a) = if added { (None, Some(text)) } else { (Some(text), None) };
        out.push(change(Setting::Check, rs, every, b, a));
    }
    for ((field, b, a), rs) in fields {
        let every = all(rs.len());
        out.push(change(Setting::CheckField(field), rs, every, b, a));
    }
    let services: [(&'static str, Option<String>, Option<String>); 3] = [
        ("min_healthy", Some(old.min_healthy.to_string()), Some(new.min_healthy.to_string())),
        (
            "fallback",
            old.fallback.as_ref().map(|(k, _)| k.to_string()),
            new.fallback.as_ref().map(|(k, _)| k.to_string()),
        ),
        ("drain_timeout", Some(secs(old.drain_timeout)), Some(secs(new.drain_timeout))),
    ];
    for (field, b, a) in services {
        if b != a {
            out.push(change(Setting::Service(field), Vec::new(), false, b, a));
        }
    }
}

/// A check in a few words: `https :443 /healthz every 2s`.
fn summary(c: &Check) -> String {
    let fields = check_fields(c);
    let mut out = String::new();
    for (i, (name, value)) in fields.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        if *name == "check" {
            out.push_str(value);
        } else {
            let _ = write!(out, "{name} {value}");
        }
    }
    out
}

/// A check's settings by name, in the file's words.
fn check_fields(c: &Check) -> Vec<(&'static str, String)> {
    let t = &c.target;
    let mut f = vec![("check", t.kind.name().to_string()), ("port", t.port.to_string())];
    match &t.kind {
        Kind::Tcp => {}
        Kind::Http(h) | Kind::Https(h, _) => {
            f.push(("path", h.path.clone()));
            if let Some(host) = &h.host {
                f.push(("host", host.clone()));
            }
            let status: Vec<String> =
                h.status.iter().map(|(lo, hi)| if lo == hi { lo.to_string() } else { format!("{lo}-{hi}") }).collect();
            f.push(("status", status.join(",")));
            if let Some(body) = &h.body {
                f.push(("body", format!("{body:?}")));
            }
            if h.keep_alive {
                f.push(("keep_alive", "true".into()));
            }
            if let Kind::Https(_, tls) = &t.kind {
                f.push(("tls verify", tls.verify.to_string()));
                if let Some(sni) = &tls.sni {
                    f.push(("sni", sni.clone()));
                }
            }
        }
        Kind::Udp(u) => {
            f.push(("send", format!("{:?}", String::from_utf8_lossy(&u.send))));
            if let Some(e) = &u.expect {
                f.push(("expect", format!("{:?}", String::from_utf8_lossy(e))));
            }
        }
        Kind::Dns(d) => {
            f.push(("dns name", d.name.clone()));
            f.push(("dns type", d.record.name().to_string()));
        }
        Kind::Exec(e) => f.push(("command", format!("{:?}", e.command))),
    }
    f.push(("interval", secs(t.interval)));
    f.push(("timeout", secs(t.timeout)));
    f.push(("rise", t.rise.to_string()));
    f.push(("fall", t.fall.to_string()));
    f.push(("on_failure", format!("{:?}", c.on_failure).to_lowercase()));
    f
}

fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 { format!("{}s", d.as_secs()) } else { format!("{s}s") }
}
