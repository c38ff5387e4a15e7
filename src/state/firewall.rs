//! The firewall part of the state: lvsync's own chains, by family and hook, and the intents
//! they are rendered from.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{Cidr, Family, Protocol};

/// One of lvsync's own firewall chains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ChainId {
    pub family: Family,
    pub hook: Hook,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Hook {
    Input,
    Forward,
}

impl Hook {
    pub const ALL: [Hook; 2] = [Hook::Input, Hook::Forward];

    /// `input` / `forward`, as the file spells it.
    pub fn name(self) -> &'static str {
        match self {
            Hook::Input => "input",
            Hook::Forward => "forward",
        }
    }

    pub fn from_name(name: &str) -> Option<Hook> {
        Hook::ALL.into_iter().find(|h| h.name() == name)
    }

    /// `LVSYNC-INPUT` / `LVSYNC-FORWARD`: lvsync's own chain at this hook.
    pub fn chain_name(self) -> &'static str {
        match self {
            Hook::Input => "LVSYNC-INPUT",
            Hook::Forward => "LVSYNC-FORWARD",
        }
    }

    /// `INPUT` / `FORWARD`: the built-in chain that jumps to ours.
    pub fn builtin(self) -> &'static str {
        match self {
            Hook::Input => "INPUT",
            Hook::Forward => "FORWARD",
        }
    }

    /// The hook whose own chain has this name.
    pub fn from_chain_name(name: &str) -> Option<Hook> {
        Hook::ALL.into_iter().find(|h| h.chain_name() == name)
    }

    /// The hook whose built-in chain has this name.
    pub fn from_builtin(name: &str) -> Option<Hook> {
        Hook::ALL.into_iter().find(|h| h.builtin() == name)
    }
}

impl ChainId {
    /// `LVSYNC-INPUT` / `LVSYNC-FORWARD`.
    pub fn chain_name(&self) -> &'static str {
        self.hook.chain_name()
    }

    /// `INPUT` / `FORWARD`: the built-in chain that jumps to ours.
    pub fn builtin(&self) -> &'static str {
        self.hook.builtin()
    }

    pub fn all() -> [ChainId; 4] {
        [
            ChainId { family: Family::Ipv4, hook: Hook::Input },
            ChainId { family: Family::Ipv4, hook: Hook::Forward },
            ChainId { family: Family::Ipv6, hook: Hook::Input },
            ChainId { family: Family::Ipv6, hook: Hook::Forward },
        ]
    }
}

/// `ipv4/LVSYNC-INPUT`: the id in plan output.
impl fmt::Display for ChainId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.family, self.chain_name())
    }
}

/// What one of lvsync's chains holds: its rules in canonical `iptables-save` form without the
/// leading `-A CHAIN ` (the firewall module renders and parses exactly this), and whether the
/// built-in chain jumps to it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Chain {
    pub rules: Vec<String>,
    /// The one plain jump from the built-in chain, at its top (as the README promises). A live
    /// chain reached by no jump, by several, or by one below other rules has `false`.
    pub jump: bool,
    /// How the live table reaches the chain, as read; empty for a desired chain.
    pub reached: Reached,
}

/// How the live filter table reaches one of lvsync's chains. It explains the `jump` it was
/// summed up into (for the plan's words, and what a deletion must respect), so it takes no part
/// in comparing chains: any two are equal.
#[derive(Debug, Clone, Default, Eq)]
pub struct Reached {
    /// Plain jumps (`-A INPUT -j LVSYNC-INPUT`).
    pub jumps: usize,
    /// The position (from 1) of the first plain jump in its built-in chain.
    pub first_at: Option<usize>,
    /// Other rules that jump or go to the chain (`-A INPUT -i eth0 -j LVSYNC-INPUT`,
    /// `-A MINE -j LVSYNC-INPUT`), as `iptables-save` prints them: while they exist, the chain
    /// cannot be deleted.
    pub foreign: Vec<String>,
}

impl PartialEq for Reached {
    fn eq(&self, _: &Reached) -> bool {
        true
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FirewallAction {
    Accept,
    Drop,
    Reject,
}

/// One firewall intent as the file resolves it, with `service:` already expanded to what it
/// matches; `firewall` renders intents to chains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    pub name: String,
    pub action: FirewallAction,
    pub hook: Hook,
    /// `None`: the intent names no address at all and applies to both families.
    pub family: Option<Family>,
    pub destination: Option<Cidr>,
    pub protocol: Option<Protocol>,
    pub port: Option<u16>,
    /// A fwmark service's mark.
    pub fwmark: Option<u32>,
    /// Empty: any source.
    pub sources: Vec<Cidr>,
}

impl Intent {
    /// An intent matching everything in the input chain, of both families: the other fields
    /// narrow it.
    pub fn new(name: impl Into<String>, action: FirewallAction) -> Intent {
        Intent {
            name: name.into(),
            action,
            hook: Hook::Input,
            family: None,
            destination: None,
            protocol: None,
            port: None,
            fwmark: None,
            sources: Vec::new(),
        }
    }
}
