//! `export` prints only what `validate` accepts. The live table can hold what the file format
//! cannot express (a real server on a loopback or local address, the local-node setup that
//! `ipvsadm` lists as `Local`; a real server equal to its VIP; a non-contiguous persistence
//! netmask): the exported text is checked as any file is, and each problem is named by the
//! live object it comes from, not by a position in text nobody sees.

use std::fmt;

use super::{Diagnostics, export, load};
use crate::state::{ServiceKey, State};

/// What the file format cannot express of a live table, one entry per problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inexpressible(pub Vec<String>);

impl fmt::Display for Inexpressible {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the live IPVS table holds {} thing(s) the file format cannot express, so no file was written \
             (docs/file-format.md, \"What export cannot write\"): {}",
            self.0.len(),
            self.0.join("; ")
        )
    }
}

impl std::error::Error for Inexpressible {}

/// The state as a file that `validate` accepts, or what keeps it from being one.
pub fn export_valid(state: &State) -> Result<String, Inexpressible> {
    let text = export(state);
    match load(&text) {
        Ok(_) => Ok(text),
        Err(diagnostics) => Err(Inexpressible(name_objects(state, &diagnostics))),
    }
}

fn name_objects(state: &State, diagnostics: &Diagnostics) -> Vec<String> {
    diagnostics
        .iter()
        .map(|d| match object(state, &d.path) {
            Some(object) => format!("{object}: {}", d.message),
            None => d.message.clone(),
        })
        .collect()
}

/// `service web (tcp/10.0.0.1:80), real server 127.0.0.1:80` for a path such as
/// `services[0].real_servers[1].address` of the exported text.
fn object(state: &State, path: &str) -> Option<String> {
    let (service, rest) = index(path.strip_prefix("services[")?)?;
    let (key, svc) = state.services.iter().nth(service)?;
    let mut object = format!("service {}", label(key, svc.name.as_deref()));
    if let Some(rest) = rest.strip_prefix(".real_servers[")
        && let Some((real, _)) = index(rest)
        && let Some(real) = svc.reals.keys().nth(real)
    {
        object.push_str(&format!(", real server {real}"));
    }
    Some(object)
}

/// `3].rest` -> (3, `.rest`).
fn index(s: &str) -> Option<(usize, &str)> {
    let (n, rest) = s.split_once(']')?;
    Some((n.parse().ok()?, rest))
}

fn label(key: &ServiceKey, name: Option<&str>) -> String {
    match name {
        Some(n) => format!("{n} ({key})"),
        None => key.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Forward, Netmask, Persistence, RealKey, RealServer, Service, ServiceAttrs};

    fn key(s: &str) -> ServiceKey {
        s.parse().unwrap()
    }

    fn with_real(vip: &str, real: &str) -> (ServiceKey, Service) {
        let real = RealKey { address: real.parse().unwrap(), port: 80 };
        let server = RealServer { weight: 1, forward: Forward::Dr, upper_threshold: 0, lower_threshold: 0 };
        let svc = Service { name: None, attrs: ServiceAttrs::default(), reals: [(real, server)].into() };
        (key(&format!("tcp/{vip}:80")), svc)
    }

    #[test]
    fn a_table_the_format_can_express_exports_as_before() {
        let state = State { services: [with_real("10.0.0.1", "10.0.1.1")].into(), ..Default::default() };
        assert_eq!(export_valid(&state).unwrap(), export(&state));
    }

    #[test]
    fn loopback_and_vip_real_servers_and_odd_netmasks_are_named_not_exported() {
        let (k1, s1) = with_real("10.0.0.1", "127.0.0.1");
        let (k2, mut s2) = with_real("10.0.0.2", "10.0.0.2");
        s2.name = Some("self".into());
        let (k3, mut s3) = with_real("10.0.0.3", "10.0.1.3");
        s3.attrs = ServiceAttrs {
            persistence: Some(Persistence {
                timeout: 300,
                netmask: Netmask::V4("255.0.255.0".parse().unwrap()),
                engine: None,
            }),
            ..Default::default()
        };
        let state = State { services: [(k1, s1), (k2, s2), (k3, s3)].into(), ..Default::default() };
        let err = export_valid(&state).unwrap_err();
        assert_eq!(err.0.len(), 3, "{err}");
        assert!(
            err.0[0]
                .starts_with("service tcp/10.0.0.1:80, real server 127.0.0.1:80: `127.0.0.1` is a loopback address"),
            "{err}"
        );
        assert!(err.0[1].starts_with("service self (tcp/10.0.0.2:80), real server 10.0.0.2:80: "), "{err}");
        assert!(err.0[2].starts_with("service tcp/10.0.0.3:80: `255.0.255.0` is not a valid IPv4 netmask"), "{err}");
        assert!(err.to_string().contains("no file was written"), "{err}");
    }
}
