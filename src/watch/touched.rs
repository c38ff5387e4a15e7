//! What an edit of the file touches: the services whose desired state differs between the
//! config last applied and the new one, so that only those are read back from the kernel and
//! planned. Firewall, timeouts, ownership, sync daemons, ha and the host set-up are global: a
//! change there needs a full reconcile.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{Config, ServiceSpec};
use crate::state::ServiceKey;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Touched {
    /// Services added, removed or changed (attributes, real servers, name).
    pub services: BTreeSet<ServiceKey>,
    /// Ownership, timeouts or firewall intents changed.
    pub global: bool,
}

impl Touched {
    /// Nothing the kernel would see changed (a comment, the order of services, formatting).
    pub fn is_empty(&self) -> bool {
        self.services.is_empty() && !self.global
    }
}

pub fn touched(before: &Config, after: &Config) -> Touched {
    let old: BTreeMap<ServiceKey, &ServiceSpec> = before.services.iter().map(|s| (s.key, s)).collect();
    let new: BTreeMap<ServiceKey, &ServiceSpec> = after.services.iter().map(|s| (s.key, s)).collect();
    let mut services = BTreeSet::new();
    for (key, spec) in &new {
        if old.get(key) != Some(spec) {
            services.insert(*key);
        }
    }
    services.extend(old.keys().filter(|k| !new.contains_key(k)));
    // Intents carry the expanded address of the service they name, so a VIP change shows here too.
    // So does the director's host set-up (a new VIP on `director.interface`, `ipvs.sysctls`).
    let global = before.ownership != after.ownership
        || before.timeouts != after.timeouts
        || before.firewall != after.firewall
        || before.sync != after.sync
        || before.ha != after.ha
        || crate::desired::host::director(before) != crate::desired::host::director(after);
    Touched { services, global }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::net::IpAddr;

    use super::*;
    use crate::model::{FirewallAction, Intent};
    use crate::state::{Forward, Ownership, Protocol, RealKey, RealServer, Service, ServiceAttrs, Timeouts};

    fn spec(name: &str, vip: &str, weights: &[u32]) -> ServiceSpec {
        let vip: IpAddr = vip.parse().unwrap();
        let reals = weights
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let address = format!("10.0.0.{}", i + 1).parse().unwrap();
                let real = RealServer { weight: *w, forward: Forward::Dr, upper_threshold: 0, lower_threshold: 0 };
                (RealKey { address, port: 80 }, real)
            })
            .collect::<BTreeMap<_, _>>();
        ServiceSpec {
            name: name.into(),
            key: ServiceKey::Addr { protocol: Protocol::Tcp, vip, port: 80 },
            service: Service { name: Some(name.into()), attrs: ServiceAttrs::default(), reals },
            health: Default::default(),
        }
    }

    fn config(services: Vec<ServiceSpec>) -> Config {
        Config {
            ownership: Ownership::Managed,
            timeouts: Timeouts::default(),
            services,
            firewall: vec![],
            ..Default::default()
        }
    }

    fn key(vip: &str) -> ServiceKey {
        ServiceKey::Addr { protocol: Protocol::Tcp, vip: vip.parse().unwrap(), port: 80 }
    }

    #[test]
    fn same_config_touches_nothing_even_reordered() {
        let a = config(vec![spec("a", "192.0.2.1", &[1, 1]), spec("b", "192.0.2.2", &[1])]);
        let b = config(vec![spec("b", "192.0.2.2", &[1]), spec("a", "192.0.2.1", &[1, 1])]);
        assert!(touched(&a, &b).is_empty());
    }

    #[test]
    fn a_weight_edit_touches_only_its_service() {
        let a = config(vec![spec("a", "192.0.2.1", &[1, 1]), spec("b", "192.0.2.2", &[1])]);
        let b = config(vec![spec("a", "192.0.2.1", &[1, 5]), spec("b", "192.0.2.2", &[1])]);
        assert_eq!(touched(&a, &b), Touched { services: [key("192.0.2.1")].into(), global: false });
    }

    #[test]
    fn added_removed_renamed_and_re_addressed_services_are_touched() {
        let a = config(vec![spec("a", "192.0.2.1", &[1]), spec("b", "192.0.2.2", &[1]), spec("c", "192.0.2.3", &[1])]);
        let b =
            config(vec![spec("a2", "192.0.2.1", &[1]), spec("c", "192.0.2.33", &[1]), spec("d", "192.0.2.4", &[1])]);
        let t = touched(&a, &b);
        let want: BTreeSet<_> =
            ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.33", "192.0.2.4"].into_iter().map(key).collect();
        assert_eq!(t.services, want);
        assert!(!t.global);
    }

    #[test]
    fn a_new_vip_on_the_directors_interface_is_global() {
        let mut a = config(vec![spec("a", "192.0.2.1", &[1])]);
        a.director = Some(crate::model::DirectorSpec { interface: Some("eth0".into()), forwarding: None });
        let mut b = a.clone();
        b.services.push(spec("b", "192.0.2.2", &[1]));
        assert!(touched(&a, &b).global, "192.0.2.2 goes on eth0 too");
        let mut c = a.clone();
        c.services[0] = spec("a", "192.0.2.1", &[5]);
        assert!(!touched(&a, &c).global, "a weight edit leaves the host alone");
    }

    #[test]
    fn firewall_timeouts_and_ownership_are_global() {
        let base = config(vec![spec("a", "192.0.2.1", &[1])]);
        let mut fw = base.clone();
        fw.firewall.push(Intent::new("office", FirewallAction::Accept));
        let mut to = base.clone();
        to.timeouts.tcp = Some(900);
        let mut own = base.clone();
        own.ownership = Ownership::Exclusive;
        for other in [fw, to, own] {
            let t = touched(&base, &other);
            assert!(t.global && t.services.is_empty(), "{t:?}");
        }
    }
}
