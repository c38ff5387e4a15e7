//! Checking and resolving real servers and tunnels, with what they inherit from their service.

use std::net::IpAddr;

use super::check::{Checker, Path};
use super::raw;
use super::service::{FORWARDS, family_text};
use crate::state::{Family, Forward, RealKey, RealServer, ServiceKey, Tunnel, TunnelChecksum, TunnelType};

pub fn tunnel(c: &mut Checker, path: &str, t: &raw::Tunnel) -> Option<Tunnel> {
    let before = c.count();
    let kind = match &t.kind {
        Some(k) => c.word(&format!("{path}.type"), k, &TunnelType::NAMES, "tunnel type"),
        None => Some("ipip"),
    };
    let port = t.port.and_then(|p| c.int(&format!("{path}.port"), p, 1, 65535, "tunnel port"));
    let checksum = match &t.checksum {
        Some(k) => c.word(&format!("{path}.checksum"), k, &TunnelChecksum::names(), "tunnel checksum"),
        None => Some("none"),
    };
    match (kind, t.port) {
        (Some("gue"), None) => c.err(
            path,
            "a `gue` tunnel needs `port`: the UDP port the real servers decapsulate on, such as `port: 6080`",
        ),
        (Some(k), Some(_)) if k != "gue" => c.err_key(
            &format!("{path}.port"),
            format!("`port` only applies to `gue` tunnels, this one is `{k}`; remove it or use `type: gue`"),
        ),
        _ => {}
    }
    match (kind, checksum) {
        (Some("ipip"), Some(sum)) if sum != "none" => c.err(
            &format!("{path}.checksum"),
            format!(
                "`{sum}` needs a `gue` or `gre` tunnel; an `ipip` tunnel has no checksum option: use `checksum: none`"
            ),
        ),
        (Some("gre"), Some("remcsum")) => c.err(
            &format!("{path}.checksum"),
            "`remcsum` (remote checksum offload) only exists for `gue` tunnels; use `csum` or `none` with `gre`",
        ),
        _ => {}
    }
    if c.count() != before {
        return None;
    }
    let kind = match kind? {
        "gue" => TunnelType::Gue { port: port? as u16 },
        other => TunnelType::from_name(other, 0)?,
    };
    let checksum = TunnelChecksum::from_name(checksum?)?;
    Some(Tunnel { kind, checksum })
}

pub fn to_forward(word: &str, tunnel: Option<Tunnel>) -> Forward {
    match word {
        "nat" => Forward::Nat,
        "tun" => Forward::Tun(tunnel.unwrap_or_default()),
        _ => Forward::Dr,
    }
}

/// What a real server inherits from its service.
pub struct RealCtx<'a> {
    pub key: Option<ServiceKey>,
    pub family: Option<Family>,
    pub service_port: u16,
    pub forward: Option<Forward>,
    pub forward_word: Option<&'a str>,
    pub tunnel: Option<Tunnel>,
}

/// The real server's address and port as written (the service's port when it has none), or
/// `None` if either is not one: no problem is reported, the checks of `real_server` do that.
pub fn written_key(r: &raw::RealServer, service_port: u16) -> Option<RealKey> {
    let address = r.address.trim().parse::<IpAddr>().ok()?;
    let port = match r.port {
        Some(p) => u16::try_from(p).ok()?,
        None => service_port,
    };
    Some(RealKey { address, port })
}

pub fn real_server(
    c: &mut Checker,
    path: &(impl Path + ?Sized),
    r: &raw::RealServer,
    ctx: &RealCtx,
) -> Option<(RealKey, RealServer)> {
    let before = c.count();
    let at = |field: &'static str| move || format!("{}.{field}", path.text());
    let address = c.ip(&at("address"), &r.address, "real server address");
    if let Some(ip) = address {
        real_usable(c, &at("address"), &r.address, ip);
        if let Some(ServiceKey::Addr { vip, .. }) = ctx.key
            && vip == ip
        {
            c.err(
                &at("address"),
                format!("`{}` is the service's own vip; a real server must be another host", r.address),
            );
        }
    }
    let port = match r.port {
        Some(p) => c.int(&at("port"), p, 0, 65535, "port").map(|p| p as u16),
        None => Some(ctx.service_port),
    };
    let weight = match r.weight {
        Some(w) => c.int(&at("weight"), w, 0, i32::MAX.into(), "weight"),
        None => Some(1),
    };
    let upper = match r.upper_threshold {
        Some(t) => c.int(&at("upper_threshold"), t, 0, u32::MAX.into(), "upper_threshold"),
        None => Some(0),
    };
    let lower = match r.lower_threshold {
        Some(t) => c.int(&at("lower_threshold"), t, 0, u32::MAX.into(), "lower_threshold"),
        None => Some(0),
    };
    if let (Some(u), Some(l)) = (upper, lower)
        && l > u
    {
        let why = if u == 0 {
            "without an `upper_threshold` the lower one never applies; add `upper_threshold` above it".to_string()
        } else {
            format!("it must not exceed `upper_threshold` ({u})")
        };
        c.err(&at("lower_threshold"), format!("`{l}` is not a valid lower_threshold: {why}"));
    }

    let word = match &r.forward {
        Some(f) => c.word(&at("forward"), f, &FORWARDS, "forwarding method"),
        None => ctx.forward_word,
    };
    let own_tunnel = r.tunnel.as_ref().and_then(|t| tunnel(c, &at("tunnel")(), t));
    if r.tunnel.is_some() {
        tunnel_needs_tun(c, &at("tunnel")(), "real server", word);
    }
    let forward = match (&r.forward, &r.tunnel) {
        (None, None) => ctx.forward,
        _ => word.map(|w| to_forward(w, own_tunnel.or(ctx.tunnel))),
    };

    if let (Some(ip), Some(family), Some(fwd)) = (address, ctx.family, forward)
        && Family::of(&ip) != family
        && !matches!(fwd, Forward::Tun(_))
    {
        c.err(
            &at("address"),
            format!(
                "`{}` is {} but the service is {}; only `forward: tun` can mix address families",
                r.address,
                family_text(Family::of(&ip)),
                family_text(family)
            ),
        );
    }
    if let (Some(ServiceKey::Addr { port: sport @ 1.., .. }), Some(p), Some(fwd)) = (ctx.key, port, forward)
        && p != sport
        && !matches!(fwd, Forward::Nat)
    {
        c.err(
            &at("port"),
            format!("`{p}` differs from the service port {sport}, but with `forward: {}` IPVS keeps the destination port; remove `port`, or use `forward: nat` to map ports", fwd.name()),
        );
    }

    if c.count() != before {
        return None;
    }
    let key = RealKey { address: address?, port: port? };
    Some((key, RealServer { weight: weight?, forward: forward?, upper_threshold: upper?, lower_threshold: lower? }))
}

/// A `tunnel` given where the forwarding method (of a `service` or `real server`) is not `tun`.
pub(super) fn tunnel_needs_tun(c: &mut Checker, path: &str, who: &str, forward: Option<&str>) {
    if let Some(f) = forward
        && f != "tun"
    {
        c.err_key(
            path,
            format!("`tunnel` only applies with `forward: tun`, but this {who} forwards by `{f}`; add `forward: tun` or remove `tunnel`"),
        );
    }
}

fn real_usable(c: &mut Checker, path: &(impl Path + ?Sized), text: &str, ip: IpAddr) {
    let why = super::service::not_unicast(ip).or(ip.is_loopback().then_some("a loopback address"));
    if let Some(why) = why {
        c.err(
            path,
            format!("`{text}` is {why} and cannot be a real server; expected the unicast address of a backend host"),
        );
    }
}
