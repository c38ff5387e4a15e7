//! Checking and resolving a service's `health` (with its real servers' overrides),
//! `min_healthy`, `fallback` and `drain_timeout`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::check::Checker;
use super::health_check::{HttpPart, Partial, partial, seconds, sub_keys_match};
use super::raw;
use super::real::{RealCtx, real_server, written_key};
use crate::state::RealKey;
use crate::state::health::{
    Check, DEFAULT_DRAIN_TIMEOUT, DEFAULT_FALL, DEFAULT_INTERVAL, DEFAULT_RISE, DEFAULT_TIMEOUT, Http, Kind,
    MinHealthy, OnFailure, ServiceHealth, Target, Tls,
};

/// The longest `drain_timeout`: a week.
pub const MAX_DRAIN: f64 = 604_800.0;

/// The health of service `s` at `path`, whose real servers resolve with `ctx`.
pub fn service_health(c: &mut Checker, path: &str, s: &raw::Service, ctx: &RealCtx) -> Option<ServiceHealth> {
    let before = c.count();
    // Problems of the service's block are found once, not once per real server inheriting it.
    let mut problems = Problems::default();
    let base = s.health.as_deref().map(|h| partial(c, &format!("{path}.health"), h));
    if let Some(b) = &base {
        sub_keys_match(c, b, b.kind());
    }
    // A block with a bad value is not resolved further: its problem is already told, and a
    // value left out would only add a second, misleading one.
    let base_ok = c.count() == before;
    let mut checks = BTreeMap::new();
    let mut keys = BTreeSet::new();
    for (j, r) in s.real_servers.iter().enumerate() {
        // Parsed only when needed: most real servers of a big file have no health of their own.
        let key = || written_key(r, ctx.service_port);
        if s.fallback.is_some() {
            keys.extend(key());
        }
        let own_before = c.count();
        let own = r.health.as_deref().map(|h| partial(c, &format!("{path}.real_servers[{j}].health"), h));
        let merged = match (&base, &own) {
            (Some(b), Some(o)) => b.overlay(o),
            (None, Some(o)) => o.clone(),
            (Some(b), None) => b.clone(),
            (None, None) => continue,
        };
        if let Some(o) = &own {
            sub_keys_match(c, o, merged.kind());
        }
        if !base_ok || c.count() != own_before {
            continue;
        }
        if let Some(key) = key()
            && let Some(check) = resolve(&mut problems, &merged, key)
        {
            checks.insert(key, check);
        }
    }
    problems.report(c);

    let min_healthy = s.min_healthy.as_ref().and_then(|m| min_healthy(c, &format!("{path}.min_healthy"), &m.0));
    let drain_timeout = match &s.drain_timeout {
        Some(d) => seconds(c, &format!("{path}.drain_timeout"), d, 0.0, MAX_DRAIN, "drain_timeout"),
        None => Some(DEFAULT_DRAIN_TIMEOUT),
    };
    let fallback = s.fallback.as_ref().and_then(|f| {
        let fpath = format!("{path}.fallback");
        let as_real = raw::RealServer {
            address: f.address.clone(),
            port: f.port,
            weight: None,
            forward: None,
            upper_threshold: None,
            lower_threshold: None,
            tunnel: None,
            health: None,
        };
        let (key, real) = real_server(c, &fpath, &as_real, ctx)?;
        if keys.contains(&key) {
            c.err(
                &format!("{fpath}.address"),
                format!("`{key}` is already a real server of service `{}`; the fallback must be another server, used only while none of them is healthy", s.name),
            );
        }
        Some((key, real))
    });
    if c.count() != before {
        return None;
    }
    Some(ServiceHealth {
        checks,
        min_healthy: min_healthy.unwrap_or(MinHealthy::Count(0)),
        fallback,
        drain_timeout: drain_timeout?,
    })
}

/// Problems found after merging, keyed by path so each is reported once.
#[derive(Default)]
struct Problems(BTreeMap<String, String>);

impl Problems {
    fn err(&mut self, path: &str, message: String) {
        self.0.entry(path.to_string()).or_insert(message);
    }

    fn report(self, c: &mut Checker) {
        for (path, message) in self.0 {
            c.err(&path, message);
        }
    }
}

/// The check of one real server from its merged block; `None` for `check: none` or a problem.
fn resolve(p: &mut Problems, m: &Partial, real: RealKey) -> Option<Check> {
    let kind_word = m.kind();
    if kind_word == "none" {
        return None;
    }
    let kind_at = m.check.as_ref().map_or(m.path.as_str(), |c| c.path.as_str());
    let interval = m.interval.as_ref().map_or(DEFAULT_INTERVAL, |i| i.value);
    let timeout = match &m.timeout {
        Some(t) => {
            if t.value >= interval {
                let at = match &m.interval {
                    Some(i) => format!("the interval ({} s, at {})", secs(i.value), i.path),
                    None => format!("the default interval ({} s)", secs(interval)),
                };
                p.err(&t.path, format!("`{}` is not a valid timeout: a probe must end before the next one starts, so it must be below {at}", secs(t.value)));
                return None;
            }
            t.value
        }
        None => DEFAULT_TIMEOUT.min(interval / 2),
    };
    let port = match (&m.port, real.port) {
        (Some(port), _) => port.value,
        (None, 0) if kind_word != "exec" || uses_port(m) => {
            p.err(
                kind_at,
                {
                    // `an http`, `an exec`; `a tcp`.
                    let article = if kind_word.starts_with(['e', 'h']) { "an" } else { "a" };
                    format!("{article} `{kind_word}` check of real server `{real}` needs `port`: the real server has port 0 (all ports), so there is no port to probe by default; add `port` to `health`")
                },
            );
            return None;
        }
        (None, port) => port,
    };
    let needs = |p: &mut Problems, what: &str, example: &str| {
        p.err(kind_at, format!("`check: {kind_word}` needs `{what}`, such as `{what}: {example}`"));
    };
    let kind = match kind_word {
        "http" => Kind::Http(http(m.http.as_ref().map(|h| &h.value))),
        "https" => {
            let h = http(m.http.as_ref().map(|h| &h.value));
            let tls = m.tls.as_ref().map_or(Tls { verify: true, sni: None }, |t| t.value.clone());
            let sni = tls.sni.or_else(|| h.host.clone());
            Kind::Https(h, Tls { verify: tls.verify, sni })
        }
        "udp" => match &m.udp {
            Some(u) => Kind::Udp(u.value.clone()),
            None => {
                needs(p, "udp", "{send: \"ping\", expect: \"pong\"}");
                return None;
            }
        },
        "dns" => match &m.dns {
            Some(d) => Kind::Dns(d.value.clone()),
            None => {
                needs(p, "dns", "{name: example.com, type: A}");
                return None;
            }
        },
        "exec" => match &m.exec {
            Some(e) => Kind::Exec(e.value.clone()),
            None => {
                needs(p, "exec", "{command: [/usr/local/lib/check, \"{address}\"]}");
                return None;
            }
        },
        _ => Kind::Tcp,
    };
    let target = Target {
        address: real.address,
        port,
        kind,
        interval,
        timeout,
        rise: m.rise.as_ref().map_or(DEFAULT_RISE, |r| r.value),
        fall: m.fall.as_ref().map_or(DEFAULT_FALL, |f| f.value),
    };
    Some(Check { target, on_failure: m.on_failure.as_ref().map_or(OnFailure::Quiesce, |o| o.value) })
}

fn uses_port(m: &Partial) -> bool {
    m.exec.as_ref().is_some_and(|e| e.value.command.iter().any(|a| a.contains("{port}")))
}

fn http(h: Option<&HttpPart>) -> Http {
    let h = h.cloned().unwrap_or_default();
    Http {
        path: h.path.unwrap_or_else(|| "/".into()),
        host: h.host,
        status: h.status.unwrap_or_else(|| vec![(200, 399)]),
        body: h.body,
        keep_alive: h.keep_alive.unwrap_or(false),
    }
}

fn min_healthy(c: &mut Checker, path: &str, text: &str) -> Option<MinHealthy> {
    if c.leading_zero(path, text, "min_healthy") {
        return None;
    }
    if let Some(pct) = text.strip_suffix('%') {
        if let Ok(p @ 0..=100) = pct.trim().parse::<u8>() {
            return Some(MinHealthy::Percent(p));
        }
    } else if let Ok(n @ 0..=65535) = text.trim().parse::<u32>() {
        return Some(MinHealthy::Count(n));
    }
    c.err(path, format!("`{text}` is not a valid min_healthy; expected a count 0..=65535 such as `2`, or a percentage 0%..100% of the real servers such as `\"50%\"`"));
    None
}

fn secs(d: Duration) -> String {
    format!("{}", d.as_secs_f64())
}
