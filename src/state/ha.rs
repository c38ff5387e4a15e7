//! High availability with keepalived: the pair as the file declares it, and the VRRP-only
//! keepalived configuration one director of it runs (never a `virtual_server`: IPVS is lvsync's).
//! Pure: the same pair and node always give the same bytes.

use std::fmt::Write as _;
use std::net::IpAddr;

/// A director of the pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HaNode {
    pub name: String,
    pub address: IpAddr,
    pub priority: u8,
}

/// `ha` of the file, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ha {
    pub interface: String,
    pub vrid: u8,
    pub advert_interval: u8,
    pub preempt: bool,
    /// In file order; names, addresses and priorities are unique.
    pub nodes: Vec<HaNode>,
    /// Every service VIP and `ha.vips`, sorted, each once.
    pub vips: Vec<IpAddr>,
}

/// keepalived's configuration file as lvsync wants it (`text`) or finds it (`None` = no file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeepalivedConf {
    pub text: Option<String>,
}

impl Ha {
    pub fn node(&self, name: &str) -> Option<&HaNode> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// The configuration `node` runs: one `vrrp_instance`, unicast between the nodes' addresses,
    /// MASTER on the node of the highest priority (all BACKUP without preemption, as keepalived
    /// requires for `nopreempt`), every VIP. VIPs of the other family than the nodes' addresses
    /// go in `virtual_ipaddress_excluded` (VRRP adverts carry one family).
    pub fn render(&self, node: &HaNode) -> String {
        let top = self.nodes.iter().map(|n| n.priority).max().unwrap_or(0);
        let state = if self.preempt && node.priority == top { "MASTER" } else { "BACKUP" };
        let mut s = String::new();
        let _ = writeln!(
            s,
            "# Written by lvsync for director {}; lvsync rewrites it: edit the lvsync file instead.",
            node.name
        );
        let _ = writeln!(s, "# VRRP only: the IPVS table is lvsync's, so there are no virtual server blocks here.");
        let _ = writeln!(s, "global_defs {{\n    router_id {}\n}}\n", node.name);
        let _ = writeln!(s, "vrrp_instance lvsync_{} {{", self.vrid);
        let _ = writeln!(s, "    state {state}");
        let _ = writeln!(s, "    interface {}", self.interface);
        let _ = writeln!(s, "    virtual_router_id {}", self.vrid);
        let _ = writeln!(s, "    priority {}", node.priority);
        let _ = writeln!(s, "    advert_int {}", self.advert_interval);
        if !self.preempt {
            let _ = writeln!(s, "    nopreempt");
        }
        let _ = writeln!(s, "    unicast_src_ip {}", node.address);
        let _ = writeln!(s, "    unicast_peer {{");
        for peer in self.nodes.iter().filter(|n| n.name != node.name) {
            let _ = writeln!(s, "        {}", peer.address);
        }
        let _ = writeln!(s, "    }}");
        let v4_nodes = node.address.is_ipv4();
        let (same, other): (Vec<&IpAddr>, Vec<&IpAddr>) = self.vips.iter().partition(|v| v.is_ipv4() == v4_nodes);
        for (block, vips) in [("virtual_ipaddress", same), ("virtual_ipaddress_excluded", other)] {
            if vips.is_empty() {
                continue;
            }
            let _ = writeln!(s, "    {block} {{");
            for v in vips {
                let prefix = if v.is_ipv4() { 32 } else { 128 };
                let _ = writeln!(s, "        {v}/{prefix} dev {}", self.interface);
            }
            let _ = writeln!(s, "    }}");
        }
        let _ = writeln!(s, "}}");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(preempt: bool) -> Ha {
        let node = |name: &str, a: &str, priority| HaNode { name: name.into(), address: a.parse().unwrap(), priority };
        Ha {
            interface: "eth0".into(),
            vrid: 51,
            advert_interval: 1,
            preempt,
            nodes: vec![node("lb1", "192.168.2.101", 150), node("lb2", "192.168.2.102", 100)],
            vips: vec!["192.168.2.110".parse().unwrap(), "2001:db8::110".parse().unwrap()],
        }
    }

    #[test]
    fn the_master_is_the_highest_priority_and_peers_are_the_others() {
        let ha = pair(true);
        let text = ha.render(ha.node("lb1").unwrap());
        assert_eq!(
            text,
            "# Written by lvsync for director lb1; lvsync rewrites it: edit the lvsync file instead.\n\
             # VRRP only: the IPVS table is lvsync's, so there are no virtual server blocks here.\n\
             global_defs {\n    router_id lb1\n}\n\n\
             vrrp_instance lvsync_51 {\n    state MASTER\n    interface eth0\n    virtual_router_id 51\n    priority 150\n    advert_int 1\n\
             \x20   unicast_src_ip 192.168.2.101\n    unicast_peer {\n        192.168.2.102\n    }\n\
             \x20   virtual_ipaddress {\n        192.168.2.110/32 dev eth0\n    }\n\
             \x20   virtual_ipaddress_excluded {\n        2001:db8::110/128 dev eth0\n    }\n}\n"
        );
        let lb2 = ha.render(ha.node("lb2").unwrap());
        assert!(lb2.contains("    state BACKUP\n    interface eth0\n    virtual_router_id 51\n    priority 100\n"));
        assert!(lb2.contains("unicast_src_ip 192.168.2.102\n    unicast_peer {\n        192.168.2.101\n    }"));
        assert!(!lb2.contains("virtual_server") && !text.contains("virtual_server"));
        assert_eq!(ha.render(ha.node("lb2").unwrap()), lb2, "deterministic");
    }

    #[test]
    fn without_preemption_every_node_starts_as_backup_with_nopreempt() {
        let ha = pair(false);
        for n in &ha.nodes {
            let text = ha.render(n);
            assert!(text.contains("    state BACKUP\n") && text.contains("    nopreempt\n"), "{text}");
        }
    }
}
