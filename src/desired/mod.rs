//! The desired state, as a pure function of the file and the overlays; and `--diff`, which
//! shows live and desired state in the file's own canonical form. This layer sits above the
//! pure core (it reads `model`) and below the director, which receives a [`State`].

pub mod host;

use std::fmt::Write as _;

use crate::model::{self, Config};
use crate::plan::{self, Plan};
use crate::state::{Overlays, RealServerFacts, State, Timeouts};

/// The state the file asks for, with the overlays laid over it: its services and timeouts, its
/// firewall rendered to chains. With empty overlays, the file's state alone.
pub fn desired(config: &Config, overlays: &Overlays) -> State {
    let mut state = config.state();
    state.chains = crate::firewall::render(&config.firewall);
    state.keepalived = config.keepalived_text().map(|text| crate::state::KeepalivedConf { text: Some(text) });
    state.host = host::director(config);
    overlays.apply(&mut state);
    state
}

/// What this host should be, and what the operator should know about it: with `real_server`
/// facts (`--role real-server`), the real server's side of the file (its host set-up only, with
/// warnings for NAT routes and what lvsync cannot set up); otherwise the director's state.
pub fn for_role(config: &Config, overlays: &Overlays, real_server: Option<&RealServerFacts>) -> (State, Vec<String>) {
    let Some(facts) = real_server else { return (desired(config, overlays), Vec::new()) };
    let side = host::real_server(config, &facts.own);
    let mut notes = host::nat_warnings(&side.nat, &facts.routes);
    notes.extend(side.unsupported);
    if !side.fwmark_services.is_empty() {
        notes.push(format!(
            "this host serves firewall-mark service(s) {}, whose addresses the file does not name; set those up by hand",
            side.fwmark_services.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
        ));
    }
    let serves =
        config.services.iter().any(|s| s.service.reals.keys().any(|r| facts.own.iter().any(|o| o.addr == r.address)));
    if !serves {
        let own: Vec<String> = facts.own.iter().map(|o| o.addr.to_string()).collect();
        notes.push(format!(
            "no real server of the file has one of this host's addresses ({}); give it with `--address ADDR`",
            if own.is_empty() { "none found".to_string() } else { own.join(", ") }
        ));
    }
    (State { host: side.desired, ..State::default() }, notes)
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
    // Sync daemons: only when the file manages them, and a setting left to the kernel shows as
    // the file has it when the kernel's choice satisfies it.
    live.sync = match (&desired.sync, &live.sync) {
        (Some(want), Some(have)) => Some(
            have.iter()
                .map(|(role, h)| match want.get(role) {
                    Some(w) if w.satisfied_by(h) => (*role, w.clone()),
                    _ => (*role, h.clone()),
                })
                .collect(),
        ),
        _ => None,
    };
    let mut out = unified(&model::export(&live), &model::export(desired), "live", "desired");
    let chains = plan::firewall::chains_text;
    let _ = write!(
        out,
        "{}",
        unified(&chains(&live.chains), &chains(&desired.chains), "live firewall", "desired firewall")
    );
    out
}

fn unified(a: &str, b: &str, from: &str, to: &str) -> String {
    if a == b {
        return String::new();
    }
    similar::TextDiff::from_lines(a, b).unified_diff().context_radius(3).header(from, to).to_string()
}
