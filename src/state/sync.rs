//! IPVS connection synchronisation daemons (`ipvsadm --start-daemon`): a director runs at most
//! one master (sends its connection state) and one backup (receives a peer's).

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

/// The role of a sync daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncRole {
    Master,
    Backup,
}

impl SyncRole {
    pub const ALL: [SyncRole; 2] = [SyncRole::Master, SyncRole::Backup];
    pub const NAMES: [&'static str; 2] = ["master", "backup"];

    pub fn name(self) -> &'static str {
        match self {
            SyncRole::Master => "master",
            SyncRole::Backup => "backup",
        }
    }

    pub fn from_name(name: &str) -> Option<SyncRole> {
        SyncRole::ALL.into_iter().find(|r| r.name() == name)
    }
}

impl fmt::Display for SyncRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The kernel's defaults for what a daemon is started without.
pub const DEFAULT_GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 81);
pub const DEFAULT_PORT: u16 = 8848;
pub const DEFAULT_TTL: u8 = 1;

/// One sync daemon's settings. Desired: `None` = the kernel's default, whatever it is (the
/// kernel reports the value it chose, which then matches). Observed: what the kernel reports.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncDaemon {
    pub interface: String,
    pub id: u8,
    pub group: Option<IpAddr>,
    pub port: Option<u16>,
    pub ttl: Option<u8>,
    pub maxlen: Option<u16>,
}

impl SyncDaemon {
    /// Whether a running daemon (`have`) is this desired one: every setting given here is equal
    /// there; a setting left to the kernel matches whatever it chose.
    pub fn satisfied_by(&self, have: &SyncDaemon) -> bool {
        fn same<T: PartialEq>(want: Option<T>, have: Option<T>) -> bool {
            want.is_none() || want == have
        }
        self.interface == have.interface
            && self.id == have.id
            && same(self.group, have.group)
            && same(self.port, have.port)
            && same(self.ttl, have.ttl)
            && same(self.maxlen, have.maxlen)
    }

    /// `on eth0, id 51` and any non-default setting, for plan lines.
    pub fn describe(&self) -> String {
        let mut s = format!("on {}, id {}", self.interface, self.id);
        if let Some(g) = self.group {
            s.push_str(&format!(", group {g}"));
        }
        if let Some(p) = self.port {
            s.push_str(&format!(", port {p}"));
        }
        if let Some(t) = self.ttl {
            s.push_str(&format!(", ttl {t}"));
        }
        if let Some(m) = self.maxlen {
            s.push_str(&format!(", maxlen {m}"));
        }
        s
    }
}

/// The sync daemons of a director. In the desired state, `None` = the file does not manage
/// them; in the observed state, `None` = not read (a scope of services only).
pub type SyncDaemons = Option<BTreeMap<SyncRole, SyncDaemon>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_left_to_the_kernel_match_what_it_chose() {
        let want = SyncDaemon { interface: "eth0".into(), id: 51, ..SyncDaemon::default() };
        let have = SyncDaemon {
            group: Some(IpAddr::V4(DEFAULT_GROUP)),
            port: Some(DEFAULT_PORT),
            ttl: Some(1),
            maxlen: Some(1472),
            ..want.clone()
        };
        assert!(want.satisfied_by(&have));
        assert!(!SyncDaemon { port: Some(9000), ..want.clone() }.satisfied_by(&have));
        assert!(!SyncDaemon { id: 52, ..want.clone() }.satisfied_by(&have));
        assert!(!SyncDaemon { interface: "eth1".into(), ..want }.satisfied_by(&have));
        assert_eq!(SyncRole::from_name("backup"), Some(SyncRole::Backup));
    }
}
