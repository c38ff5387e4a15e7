//! Between lvsync's normalized state and IPVS attributes, both ways. The kernel's quirks live
//! here: the HASHED flag, the IPv6 netmask being a prefix length that must always be 1..=128,
//! a tunnel type that only means something with tunnel forwarding.

use std::net::{IpAddr, Ipv4Addr};

use super::attrs::{
    AddressFamily, DestAttr, ForwardMethod, IpProtocol, IpvsAddr, ServiceAttr, ServiceFlags, TunnelFlags, TunnelKind,
};
use crate::state::{
    Family, Forward, Netmask, Persistence, Protocol, RealKey, RealServer, SchedFlags, Scheduler, ServiceAttrs,
    ServiceKey, Tunnel, TunnelChecksum, TunnelType,
};

/// The flag bits lvsync sets; HASHED is the kernel's own.
const MANAGED_FLAGS: u32 = ServiceFlags::PERSISTENT
    | ServiceFlags::ONEPACKET
    | ServiceFlags::SCHED1
    | ServiceFlags::SCHED2
    | ServiceFlags::SCHED3;
const SCHED_FLAGS_SHIFT: u32 = 3;

fn af(family: Family) -> AddressFamily {
    match family {
        Family::Ipv4 => AddressFamily::Inet,
        Family::Ipv6 => AddressFamily::Inet6,
    }
}

fn addr(ip: IpAddr) -> IpvsAddr {
    match ip {
        IpAddr::V4(a) => IpvsAddr::v4(a),
        IpAddr::V6(a) => IpvsAddr::v6(a),
    }
}

fn ip_of(family: Family, a: &IpvsAddr) -> IpAddr {
    match family {
        Family::Ipv4 => IpAddr::V4(a.as_v4()),
        Family::Ipv6 => IpAddr::V6(a.as_v6()),
    }
}

fn family_of(af: AddressFamily) -> Option<Family> {
    match af {
        AddressFamily::Inet => Some(Family::Ipv4),
        AddressFamily::Inet6 => Some(Family::Ipv6),
        AddressFamily::Other(_) => None,
    }
}

fn protocol(p: Protocol) -> IpProtocol {
    match p {
        Protocol::Tcp => IpProtocol::Tcp,
        Protocol::Udp => IpProtocol::Udp,
        Protocol::Sctp => IpProtocol::Sctp,
    }
}

/// The attributes that name a service: enough for DEL_SERVICE, GET_SERVICE, GET_DEST and the
/// service part of every destination command.
pub fn service_identity(key: &ServiceKey) -> Vec<ServiceAttr> {
    let mut out = Vec::with_capacity(4);
    push_service_identity(&mut out, key);
    out
}

fn push_service_identity(out: &mut Vec<ServiceAttr>, key: &ServiceKey) {
    match *key {
        ServiceKey::Addr { protocol: p, vip, port } => out.extend([
            ServiceAttr::Af(af(Family::of(&vip))),
            ServiceAttr::Protocol(protocol(p)),
            ServiceAttr::Addr(addr(vip)),
            ServiceAttr::Port(port),
        ]),
        ServiceKey::Fwmark { family, mark } => out.extend([ServiceAttr::Af(af(family)), ServiceAttr::Fwmark(mark)]),
    }
}

/// Identity plus everything NEW_SERVICE and SET_SERVICE require: scheduler, flags (with a mask
/// that leaves HASHED alone), timeout and netmask, and the persistence engine when there is one
/// (omitting it on SET removes it, as wanted).
pub fn service_full(key: &ServiceKey, attrs: &ServiceAttrs) -> Vec<ServiceAttr> {
    // Sized for all of them at once: a plan of thousands builds thousands of these.
    let mut out = Vec::with_capacity(9);
    push_service_identity(&mut out, key);
    let mut flags = u32::from(attrs.sched_flags.0 & 0x7) << SCHED_FLAGS_SHIFT;
    if attrs.one_packet {
        flags |= ServiceFlags::ONEPACKET;
    }
    let (timeout, netmask) = match &attrs.persistence {
        Some(p) => {
            flags |= ServiceFlags::PERSISTENT;
            (p.timeout, p.netmask)
        }
        None => (0, Netmask::host(key.family())),
    };
    out.push(ServiceAttr::SchedName(attrs.scheduler.name().to_string()));
    out.push(ServiceAttr::Flags(ServiceFlags { flags, mask: MANAGED_FLAGS }));
    out.push(ServiceAttr::Timeout(timeout));
    out.push(ServiceAttr::Netmask(netmask_raw(netmask)));
    if let Some(engine) = attrs.persistence.as_ref().and_then(|p| p.engine.as_ref()) {
        out.push(ServiceAttr::PeName(engine.clone()));
    }
    out
}

fn netmask_raw(m: Netmask) -> u32 {
    match m {
        Netmask::V4(mask) => u32::from_ne_bytes(mask.octets()),
        Netmask::V6(len) => u32::from(len),
    }
}

/// A service as the kernel describes it, normalized; `None` for what lvsync cannot express
/// (an unknown family or protocol), which `observe` leaves out.
pub fn service_from(attrs: &[ServiceAttr]) -> Option<(ServiceKey, ServiceAttrs)> {
    let (mut family, mut proto, mut vip, mut port, mut mark) = (None, None, None, None, None);
    let mut sched = None;
    let (mut flags, mut timeout, mut netmask, mut engine) = (0, 0, 0, None);
    for a in attrs {
        match a {
            ServiceAttr::Af(f) => family = family_of(*f),
            ServiceAttr::Protocol(p) => proto = Some(*p),
            ServiceAttr::Addr(a) => vip = Some(*a),
            ServiceAttr::Port(p) => port = Some(*p),
            ServiceAttr::Fwmark(m) => mark = Some(*m),
            ServiceAttr::SchedName(s) => sched = Some(Scheduler::from_name(s)),
            ServiceAttr::Flags(f) => flags = f.flags & !ServiceFlags::HASHED,
            ServiceAttr::Timeout(t) => timeout = *t,
            ServiceAttr::Netmask(n) => netmask = *n,
            ServiceAttr::PeName(p) => engine = Some(p.clone()),
            _ => {}
        }
    }
    let family = family?;
    let key = match (mark, proto, vip, port) {
        (Some(mark), ..) if mark != 0 => ServiceKey::Fwmark { family, mark },
        (_, Some(p), Some(vip), Some(port)) => {
            let protocol = match p {
                IpProtocol::Tcp => Protocol::Tcp,
                IpProtocol::Udp => Protocol::Udp,
                IpProtocol::Sctp => Protocol::Sctp,
                IpProtocol::Other(_) => return None,
            };
            ServiceKey::Addr { protocol, vip: ip_of(family, &vip), port }
        }
        _ => return None,
    };
    let persistence = (flags & ServiceFlags::PERSISTENT != 0).then(|| Persistence {
        timeout,
        netmask: match family {
            Family::Ipv4 => Netmask::V4(Ipv4Addr::from(netmask.to_ne_bytes())),
            Family::Ipv6 => Netmask::V6(u8::try_from(netmask).unwrap_or(128)),
        },
        engine,
    });
    let attrs = ServiceAttrs {
        scheduler: sched.unwrap_or(Scheduler::Wlc),
        sched_flags: SchedFlags(((flags >> SCHED_FLAGS_SHIFT) & 0x7) as u8),
        persistence,
        one_packet: flags & ServiceFlags::ONEPACKET != 0,
    };
    Some((key, attrs))
}

/// The attributes that name a real server inside its service (DEL_DEST).
pub fn dest_identity(key: &RealKey) -> Vec<DestAttr> {
    let mut out = Vec::with_capacity(3);
    push_dest_identity(&mut out, key);
    out
}

fn push_dest_identity(out: &mut Vec<DestAttr>, key: &RealKey) {
    out.extend([
        DestAttr::Addr(addr(key.address)),
        DestAttr::Port(key.port),
        DestAttr::AddrFamily(af(Family::of(&key.address))),
    ]);
}

/// Everything NEW_DEST and SET_DEST require; the tunnel only with tunnel forwarding (an
/// omitted tunnel type is IPIP to the kernel).
pub fn dest_full(key: &RealKey, real: &RealServer) -> Vec<DestAttr> {
    let tunnel = matches!(real.forward, Forward::Tun(_));
    let mut out = Vec::with_capacity(if tunnel { 10 } else { 7 });
    push_dest_identity(&mut out, key);
    let method = match real.forward {
        Forward::Dr => ForwardMethod::Route,
        Forward::Nat => ForwardMethod::Masq,
        Forward::Tun(_) => ForwardMethod::Tunnel,
    };
    out.push(DestAttr::FwdMethod(method));
    out.push(DestAttr::Weight(real.weight));
    out.push(DestAttr::UpperThreshold(real.upper_threshold));
    out.push(DestAttr::LowerThreshold(real.lower_threshold));
    if let Forward::Tun(t) = real.forward {
        let (kind, port) = match t.kind {
            TunnelType::Ipip => (TunnelKind::Ipip, 0),
            TunnelType::Gue { port } => (TunnelKind::Gue, port),
            TunnelType::Gre => (TunnelKind::Gre, 0),
        };
        let flags = match t.checksum {
            TunnelChecksum::None => 0,
            TunnelChecksum::Csum => TunnelFlags::CSUM,
            TunnelChecksum::Remcsum => TunnelFlags::REMCSUM,
        };
        out.push(DestAttr::TunType(kind));
        out.push(DestAttr::TunPort(port));
        out.push(DestAttr::TunFlags(TunnelFlags(flags)));
    }
    out
}

/// A real server as the kernel describes it, normalized. Its address family is its own when the
/// kernel says so (mixed-family tunnels), else the service's.
pub fn real_from(attrs: &[DestAttr], service_family: Family) -> Option<(RealKey, RealServer)> {
    let (mut address, mut port, mut family) = (None, None, service_family);
    let mut real = RealServer { weight: 0, forward: Forward::Dr, upper_threshold: 0, lower_threshold: 0 };
    let (mut method, mut tun_kind, mut tun_port, mut tun_flags) = (ForwardMethod::Route, TunnelKind::Ipip, 0, 0);
    for a in attrs {
        match a {
            DestAttr::Addr(a) => address = Some(*a),
            DestAttr::Port(p) => port = Some(*p),
            DestAttr::AddrFamily(f) => family = family_of(*f)?,
            DestAttr::FwdMethod(m) => method = *m,
            DestAttr::Weight(w) => real.weight = *w,
            DestAttr::UpperThreshold(v) => real.upper_threshold = *v,
            DestAttr::LowerThreshold(v) => real.lower_threshold = *v,
            DestAttr::TunType(k) => tun_kind = *k,
            DestAttr::TunPort(p) => tun_port = *p,
            DestAttr::TunFlags(f) => tun_flags = f.0,
            _ => {}
        }
    }
    real.forward = match method {
        ForwardMethod::Masq => Forward::Nat,
        ForwardMethod::Tunnel => Forward::Tun(Tunnel {
            kind: match tun_kind {
                TunnelKind::Gue => TunnelType::Gue { port: tun_port },
                TunnelKind::Gre => TunnelType::Gre,
                TunnelKind::Ipip | TunnelKind::Other(_) => TunnelType::Ipip,
            },
            checksum: if tun_flags & TunnelFlags::REMCSUM != 0 {
                TunnelChecksum::Remcsum
            } else if tun_flags & TunnelFlags::CSUM != 0 {
                TunnelChecksum::Csum
            } else {
                TunnelChecksum::None
            },
        }),
        _ => Forward::Dr,
    };
    let key = RealKey { address: ip_of(family, &address?), port: port? };
    Some((key, real))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(key: ServiceKey, attrs: ServiceAttrs) {
        let encoded = service_full(&key, &attrs);
        assert_eq!(service_from(&encoded), Some((key, attrs)));
    }

    #[test]
    fn services_survive_encoding_and_normalization() {
        let v4: ServiceKey = "tcp/192.168.2.110:80".parse().unwrap();
        let v6: ServiceKey = "udp/[2001:db8::1]:53".parse().unwrap();
        let mark: ServiceKey = "fwmark/42/ipv6".parse().unwrap();
        round_trip(v4, ServiceAttrs::default());
        round_trip(
            v4,
            ServiceAttrs {
                scheduler: Scheduler::Sh,
                sched_flags: SchedFlags(3),
                persistence: Some(Persistence {
                    timeout: 300,
                    netmask: Netmask::V4("255.255.255.0".parse().unwrap()),
                    engine: Some("sip".into()),
                }),
                one_packet: true,
            },
        );
        round_trip(
            v6,
            ServiceAttrs {
                persistence: Some(Persistence { timeout: 60, netmask: Netmask::V6(64), engine: None }),
                ..ServiceAttrs::default()
            },
        );
        round_trip(mark, ServiceAttrs { scheduler: Scheduler::Other("xyz".into()), ..ServiceAttrs::default() });
    }

    #[test]
    fn ipv6_service_without_persistence_sends_prefix_128() {
        let v6: ServiceKey = "tcp/[2001:db8::1]:80".parse().unwrap();
        assert!(service_full(&v6, &ServiceAttrs::default()).contains(&ServiceAttr::Netmask(128)));
    }

    #[test]
    fn hashed_flag_is_ignored() {
        let key: ServiceKey = "tcp/10.0.0.1:80".parse().unwrap();
        let mut attrs = service_full(&key, &ServiceAttrs::default());
        for a in &mut attrs {
            if let ServiceAttr::Flags(f) = a {
                f.flags |= ServiceFlags::HASHED;
            }
        }
        assert_eq!(service_from(&attrs).unwrap().1, ServiceAttrs::default());
    }

    #[test]
    fn real_servers_survive_encoding() {
        let key = RealKey { address: "2001:db8::6".parse().unwrap(), port: 8080 };
        for forward in [
            Forward::Dr,
            Forward::Nat,
            Forward::Tun(Tunnel::default()),
            Forward::Tun(Tunnel { kind: TunnelType::Gue { port: 6080 }, checksum: TunnelChecksum::Remcsum }),
            Forward::Tun(Tunnel { kind: TunnelType::Gre, checksum: TunnelChecksum::Csum }),
        ] {
            let real = RealServer { weight: 7, forward, upper_threshold: 100, lower_threshold: 10 };
            assert_eq!(real_from(&dest_full(&key, &real), Family::Ipv4), Some((key, real)));
        }
    }
}
