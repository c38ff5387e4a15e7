//! Plan output for people (text, in the style of Terraform) and programs (SPEC's JSON).

use std::fmt::Write as _;

use super::{Action, Change, Plan};
use crate::state::{
    Chain, ChainId, Forward, Netmask, RealKey, RealServer, ServiceAttrs, ServiceKey, State, Timeouts, TunnelChecksum,
    TunnelType,
};

#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions {
    /// ANSI colours (only on a terminal, never under NO_COLOR: the caller decides).
    pub color: bool,
}

struct Paint(bool);

impl Paint {
    fn sign(&self, action: Action) -> String {
        let (sign, code) = match action {
            Action::Create => ("+", "32"),
            Action::Update => ("~", "33"),
            Action::Delete => ("-", "31"),
        };
        self.wrap(sign, code)
    }

    fn wrap(&self, text: &str, code: &str) -> String {
        if self.0 { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_string() }
    }

    fn bold(&self, text: &str) -> String {
        self.wrap(text, "1")
    }
}

/// `service web (tcp/192.168.2.110:80)`, or without a name `service tcp/192.168.2.110:80`.
fn service_label(plan: &Plan, key: &ServiceKey) -> String {
    match plan.names.get(key) {
        Some(name) => format!("service {name} ({key})"),
        None => format!("service {key}"),
    }
}

fn real_label(plan: &Plan, service: &ServiceKey, key: &RealKey) -> String {
    let owner = plan.names.get(service).cloned().unwrap_or_else(|| service.to_string());
    format!("real server {key} of {owner}")
}

/// One line per change, attribute diffs as `weight 1 -> 3`, firewall rules line by line,
/// unmanaged services listed as left alone, and the summary last.
pub fn render_text(plan: &Plan, opts: RenderOptions) -> String {
    let paint = Paint(opts.color);
    let mut out = String::new();
    for note in &plan.notes {
        let _ = writeln!(out, "Note: {note}\n");
    }
    for change in &plan.changes {
        let sign = paint.sign(change.action());
        let _ = match change {
            Change::CreateService { key, attrs, .. } => {
                writeln!(out, "  {sign} {} {}", service_label(plan, key), describe_service(attrs))
            }
            Change::UpdateService { key, before, after, .. } => {
                writeln!(out, "  {sign} {}: {}", service_label(plan, key), service_diff(before, after))
            }
            Change::DeleteService { key, before, .. } => {
                let n = before.reals.len();
                let with = match n {
                    0 => String::new(),
                    1 => " with its real server".to_string(),
                    n => format!(" with its {n} real servers"),
                };
                writeln!(out, "  {sign} {}{with}", service_label(plan, key))
            }
            Change::CreateReal { service, key, real } => {
                writeln!(out, "  {sign} {} {}", real_label(plan, service, key), describe_real(real))
            }
            Change::UpdateReal { service, key, before, after } => {
                writeln!(out, "  {sign} {}: {}", real_label(plan, service, key), real_diff(before, after))
            }
            Change::DeleteReal { service, key, .. } => writeln!(out, "  {sign} {}", real_label(plan, service, key)),
            Change::SetTimeouts { before, after } => {
                writeln!(out, "  {sign} ipvs timeouts: {}", timeouts_diff(before, after))
            }
            Change::ReplaceChain { id, before, after } => {
                let _ = writeln!(out, "  {sign} firewall chain {id}{}", jump_note(id, before.as_ref(), after.as_ref()));
                for (action, rule) in rule_diff(before.as_ref(), after.as_ref()) {
                    let _ = writeln!(out, "      {} -A {} {rule}", paint.sign(action), id.chain_name());
                }
                Ok(())
            }
        };
    }
    if !plan.unmanaged.is_empty() {
        if !plan.changes.is_empty() {
            out.push('\n');
        }
        let _ = writeln!(out, "Left alone (not managed by this file):");
        for u in &plan.unmanaged {
            let reals = if u.reals == 1 { "1 real server".to_string() } else { format!("{} real servers", u.reals) };
            let _ = writeln!(out, "  = service {} ({reals})", u.key);
        }
    }
    if !out.is_empty() {
        out.push('\n');
    }
    if plan.is_empty() {
        let _ = writeln!(out, "{}", paint.bold("No changes."));
    } else {
        let s = plan.summary();
        let _ = writeln!(
            out,
            "{}",
            paint.bold(&format!("Plan: {} to create, {} to update, {} to delete.", s.create, s.update, s.delete))
        );
    }
    out
}

fn jump_note(id: &ChainId, before: Option<&Chain>, after: Option<&Chain>) -> String {
    let (had, has) = (before.is_some_and(|c| c.jump), after.is_some_and(|c| c.jump));
    match (had, has) {
        (false, true) => format!(" (jump from {} added)", id.builtin()),
        (true, false) => format!(" (jump from {} removed)", id.builtin()),
        _ => String::new(),
    }
}

/// The rules removed and added, in order, leaving out those that stay.
fn rule_diff(before: Option<&Chain>, after: Option<&Chain>) -> Vec<(Action, String)> {
    let empty = Vec::new();
    let old = before.map_or(&empty, |c| &c.rules);
    let new = after.map_or(&empty, |c| &c.rules);
    let old: Vec<&str> = old.iter().map(String::as_str).collect();
    let new: Vec<&str> = new.iter().map(String::as_str).collect();
    let diff = similar::TextDiff::from_slices(&old, &new);
    diff.iter_all_changes()
        .filter_map(|c| match c.tag() {
            similar::ChangeTag::Delete => Some((Action::Delete, c.value().to_string())),
            similar::ChangeTag::Insert => Some((Action::Create, c.value().to_string())),
            similar::ChangeTag::Equal => None,
        })
        .collect()
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
                TunnelType::Ipip => "ipip".to_string(),
                TunnelType::Gue { port } => format!("gue port {port}"),
                TunnelType::Gre => "gre".to_string(),
            };
            match t.checksum {
                TunnelChecksum::None => format!("tun ({kind})"),
                c => format!("tun ({kind}, {})", checksum_name(c)),
            }
        }
        other => other.name().to_string(),
    }
}

pub(super) fn checksum_name(c: TunnelChecksum) -> &'static str {
    match c {
        TunnelChecksum::None => "none",
        TunnelChecksum::Csum => "csum",
        TunnelChecksum::Remcsum => "remcsum",
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

/// `--diff`: a unified diff of the canonical YAML of the live services lvsync manages against
/// the file's, then of lvsync's firewall chains as `iptables-save` would print them.
pub fn render_diff(observed: &State, desired: &State, plan: &Plan) -> String {
    let mut live = observed.clone();
    live.services.retain(|k, _| !plan.unmanaged.iter().any(|u| u.key == *k));
    for (key, svc) in &mut live.services {
        if let Some(want) = desired.services.get(key) {
            svc.name = want.name.clone();
        }
    }
    // Only the timeouts the file enforces are compared, so only those are shown.
    let keep = |w: Option<u32>, h: Option<u32>| w.and(h);
    live.timeouts = Timeouts {
        tcp: keep(desired.timeouts.tcp, live.timeouts.tcp),
        tcp_fin: keep(desired.timeouts.tcp_fin, live.timeouts.tcp_fin),
        udp: keep(desired.timeouts.udp, live.timeouts.udp),
    };
    let mut out = unified(&crate::model::export(&live), &crate::model::export(desired), "live", "desired");
    out.push_str(&unified(
        &chains_text(&live.chains),
        &chains_text(&desired.chains),
        "live firewall",
        "desired firewall",
    ));
    out
}

fn unified(a: &str, b: &str, from: &str, to: &str) -> String {
    if a == b {
        return String::new();
    }
    similar::TextDiff::from_lines(a, b).unified_diff().context_radius(3).header(from, to).to_string()
}

fn chains_text(chains: &std::collections::BTreeMap<ChainId, Chain>) -> String {
    let mut s = String::new();
    for (id, chain) in chains {
        let _ = writeln!(s, "# {} {}", id.family, id.chain_name());
        if chain.jump {
            let _ = writeln!(s, "-A {} -j {}", id.builtin(), id.chain_name());
        }
        for rule in &chain.rules {
            let _ = writeln!(s, "-A {} {rule}", id.chain_name());
        }
    }
    s
}
