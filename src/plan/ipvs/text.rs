//! The plan text of IPVS changes.

use std::fmt::Write as _;

use super::IpvsChange;
use crate::plan::Plan;
use crate::state::{
    Forward, Netmask, RealKey, RealServer, ServiceAttrs, ServiceKey, Timeouts, TunnelChecksum, TunnelType,
};

/// The line of one change, after its sign.
pub(super) fn line(change: &IpvsChange, plan: &Plan, out: &mut String) {
    let _ = match change {
        IpvsChange::CreateService { key, attrs, .. } => {
            writeln!(out, "{} {}", service_label(plan, key), describe_service(attrs))
        }
        IpvsChange::UpdateService { key, before, after, .. } => {
            writeln!(out, "{}: {}", service_label(plan, key), service_diff(before, after))
        }
        IpvsChange::DeleteService { key, before, .. } => {
            let n = before.reals.len();
            let with = match n {
                0 => String::new(),
                1 => " with its real server".to_string(),
                n => format!(" with its {n} real servers"),
            };
            writeln!(out, "{}{with}", service_label(plan, key))
        }
        IpvsChange::CreateReal { service, key, real } => {
            let why = reason(plan, service, key);
            writeln!(out, "{} {}{why}", real_label(plan, service, key), describe_real(real))
        }
        IpvsChange::UpdateReal { service, key, before, after } => {
            let why = reason(plan, service, key);
            writeln!(out, "{}: {}{why}", real_label(plan, service, key), real_diff(before, after))
        }
        IpvsChange::DeleteReal { service, key, .. } => {
            writeln!(out, "{}{}", real_label(plan, service, key), reason(plan, service, key))
        }
        IpvsChange::SetTimeouts { before, after } => writeln!(out, "ipvs timeouts: {}", timeouts_diff(before, after)),
    };
}

/// `service web (tcp/192.168.2.110:80)`, or without a name `service tcp/192.168.2.110:80`.
fn service_label(plan: &Plan, key: &ServiceKey) -> String {
    match plan.names.get(key) {
        Some(name) => format!("service {name} ({key})"),
        None => format!("service {key}"),
    }
}

/// ` (health: down since ...)`: why the change differs from the file alone, or nothing.
fn reason(plan: &Plan, service: &ServiceKey, key: &RealKey) -> String {
    plan.reasons.get(&(*service, *key)).map_or(String::new(), |r| format!(" ({r})"))
}

fn real_label(plan: &Plan, service: &ServiceKey, key: &RealKey) -> String {
    let owner = plan.names.get(service).cloned().unwrap_or_else(|| service.to_string());
    format!("real server {key} of {owner}")
}

fn persistence_text(attrs: &ServiceAttrs) -> String {
    match &attrs.persistence {
        None => "none".to_string(),
        Some(p) => {
            let mut s = format!("{}s", p.timeout);
            match p.netmask {
                Netmask::V4(m) if m.is_broadcast() => {}
                Netmask::V6(128) => {}
                m => {
                    let _ = write!(s, " netmask {m}");
                }
            }
            if let Some(e) = &p.engine {
                let _ = write!(s, " engine {e}");
            }
            s
        }
    }
}

fn flags_text(attrs: &ServiceAttrs) -> String {
    format!("[{}]", attrs.sched_flags.names(&attrs.scheduler).join(", "))
}

fn describe_service(a: &ServiceAttrs) -> String {
    let mut parts = vec![format!("scheduler {}", a.scheduler)];
    if a.sched_flags.0 != 0 {
        parts.push(format!("flags {}", flags_text(a)));
    }
    if a.persistence.is_some() {
        parts.push(format!("persistence {}", persistence_text(a)));
    }
    if a.one_packet {
        parts.push("one-packet".to_string());
    }
    parts.join(", ")
}

fn service_diff(b: &ServiceAttrs, a: &ServiceAttrs) -> String {
    let mut parts = Vec::new();
    if b.scheduler != a.scheduler {
        parts.push(format!("scheduler {} -> {}", b.scheduler, a.scheduler));
    }
    if b.sched_flags != a.sched_flags || (b.scheduler != a.scheduler && a.sched_flags.0 != 0) {
        parts.push(format!("scheduler_flags {} -> {}", flags_text(b), flags_text(a)));
    }
    if b.persistence != a.persistence {
        parts.push(format!("persistence {} -> {}", persistence_text(b), persistence_text(a)));
    }
    if b.one_packet != a.one_packet {
        parts.push(format!("one_packet {} -> {}", b.one_packet, a.one_packet));
    }
    parts.join(", ")
}

fn forward_text(f: &Forward) -> String {
    match f {
        Forward::Tun(t) => {
            let kind = match t.kind {
                TunnelType::Gue { port } => format!("gue port {port}"),
                other => other.name().to_string(),
            };
            match t.checksum {
                TunnelChecksum::None => format!("tun ({kind})"),
                c => format!("tun ({kind}, {})", c.name()),
            }
        }
        other => other.name().to_string(),
    }
}

fn describe_real(r: &RealServer) -> String {
    let mut s = format!("weight {}, forward {}", r.weight, forward_text(&r.forward));
    if r.upper_threshold != 0 || r.lower_threshold != 0 {
        let _ = write!(s, ", thresholds {}..{}", r.lower_threshold, r.upper_threshold);
    }
    s
}

fn real_diff(b: &RealServer, a: &RealServer) -> String {
    let mut parts = Vec::new();
    if b.weight != a.weight {
        parts.push(format!("weight {} -> {}", b.weight, a.weight));
    }
    if b.forward != a.forward {
        parts.push(format!("forward {} -> {}", forward_text(&b.forward), forward_text(&a.forward)));
    }
    if b.upper_threshold != a.upper_threshold {
        parts.push(format!("upper_threshold {} -> {}", b.upper_threshold, a.upper_threshold));
    }
    if b.lower_threshold != a.lower_threshold {
        parts.push(format!("lower_threshold {} -> {}", b.lower_threshold, a.lower_threshold));
    }
    parts.join(", ")
}

fn timeouts_diff(b: &Timeouts, a: &Timeouts) -> String {
    let show = |v: Option<u32>| v.map_or("?".to_string(), |v| v.to_string());
    let mut parts = Vec::new();
    for (name, before, after) in [("tcp", b.tcp, a.tcp), ("tcp_fin", b.tcp_fin, a.tcp_fin), ("udp", b.udp, a.udp)] {
        if after.is_some() {
            parts.push(format!("{name} {} -> {}", show(before), show(after)));
        }
    }
    parts.join(", ")
}

/// What an update changes, for a log line: `weight 1 -> 5`; empty for creations and deletions.
pub(super) fn detail(change: &IpvsChange) -> String {
    let mut parts = Vec::new();
    let mut diff = |name: &str, before: String, after: String| {
        if before != after {
            parts.push(format!("{name} {before} -> {after}"));
        }
    };
    match change {
        IpvsChange::UpdateReal { before, after, .. } => {
            diff("weight", before.weight.to_string(), after.weight.to_string());
            diff("forward", before.forward.name().into(), after.forward.name().into());
            diff("upper_threshold", before.upper_threshold.to_string(), after.upper_threshold.to_string());
            diff("lower_threshold", before.lower_threshold.to_string(), after.lower_threshold.to_string());
            if parts.is_empty() {
                parts.push("tunnel".into());
            }
        }
        IpvsChange::UpdateService { before, after, .. } => {
            let flags = |a: &ServiceAttrs| a.sched_flags.names(&a.scheduler).join(",");
            let persistence = |a: &ServiceAttrs| match &a.persistence {
                Some(p) => format!("{}s/{}", p.timeout, p.netmask),
                None => "off".into(),
            };
            diff("scheduler", before.scheduler.to_string(), after.scheduler.to_string());
            diff("scheduler_flags", flags(before), flags(after));
            diff("persistence", persistence(before), persistence(after));
            diff("one_packet", before.one_packet.to_string(), after.one_packet.to_string());
            if parts.is_empty() {
                parts.push("persistence engine".into());
            }
        }
        _ => {}
    }
    parts.join(", ")
}
