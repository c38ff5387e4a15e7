//! Firewall intents as iptables rules in lvsync's own chains (`LVSYNC-INPUT`, `LVSYNC-FORWARD`
//! of the filter table, IPv4 through iptables, IPv6 through ip6tables), each reached by one
//! jump from its built-in chain. [`render`] turns intents into chains; [`Firewall`] reads them
//! back from `iptables-save` and replaces them with one `iptables-restore --noflush` per
//! family. Nothing outside those chains and jumps is read into state or written. Every command
//! runs through [`crate::exec::run`].

mod parse;
mod render;
mod restore;
pub mod variant;

pub use parse::{Table, normalize, parse};
pub use render::{render, save_string};
pub use restore::restore_input;

use std::cell::OnceCell;
use std::collections::BTreeSet;
use std::path::Path;

use crate::backend::{self, Backend, Executed};
pub use crate::exec;
use crate::plan::{ChainChange, Change, Domain};
use crate::state::{Chain, ChainId, Family, Inventory, Scope, State};
use exec::message;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "`--iptables {0}` is not an iptables command: give `auto`, `iptables`, `iptables-legacy` or `iptables-nft` (or a path to one)"
    )]
    BadCommand(String),
    #[error(
        "`{command}` cannot talk to the kernel's nf_tables; run lvsync with `--iptables iptables-legacy` \
         (or load nf_tables): {}",
        message(.stderr)
    )]
    NoNftables { command: String, stderr: String },
    #[error("reading the {family} filter table")]
    Read {
        family: Family,
        #[source]
        source: exec::Error,
    },
    #[error(
        "replacing {chains} failed, the previous rules are still in place: `{command}` said: {}{}",
        message(.stderr), offending(.stderr, .input)
    )]
    Restore { chains: String, command: String, stderr: String, input: String },
    #[error("replacing {chains}")]
    Run {
        chains: String,
        #[source]
        source: exec::Error,
    },
    #[error("rule {rule:?} of {chain} contains a line break or NUL; refusing to write it into a restore file")]
    UnsafeRule { chain: ChainId, rule: String },
    #[error(
        "the {family} firewall is unavailable, so its chains cannot be written ({reason}); note that an intent \
         naming no address applies to both families: give it an address to keep it to one"
    )]
    Unavailable { family: Family, reason: String },
}

/// ` (line 5: `-A LVSYNC-INPUT -j NOPE`)` when iptables names a rule of its input as the one it
/// refused (iptables-nft names `COMMIT` for errors found when committing: not worth quoting).
fn offending(stderr: &str, input: &str) -> String {
    let number = stderr.split("line").skip(1).find_map(|after| {
        let digits: String = after.trim_start_matches([':', ' ']).chars().take_while(char::is_ascii_digit).collect();
        digits.parse::<usize>().ok()
    });
    match number.and_then(|n| Some((n, input.lines().nth(n.checked_sub(1)?)?))).filter(|(_, l)| l.starts_with('-')) {
        Some((n, line)) => format!(" (line {n}: `{line}`)"),
        None => String::new(),
    }
}

/// Messages of an iptables-nft that finds no usable nf_tables in the kernel (`Failed to initialize
/// nft: Protocol not supported` in User-Mode Linux). A legacy `iptables` says `(legacy)`.
fn nftables_unreachable(stderr: &str) -> bool {
    !stderr.contains("(legacy)")
        && [
            "Could not fetch rule set generation id",
            "Protocol not supported",
            "do you need to insmod",
            "Failed to initialize nft",
        ]
        .iter()
        .any(|m| stderr.contains(m))
}

/// The commands of one family.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Tools {
    save: String,
    restore: String,
}

/// The firewall backend for the iptables family named by `--iptables`.
#[derive(Debug)]
pub struct Firewall {
    /// The `--iptables` option as given (`auto` or a variant).
    option: String,
    /// The variant in use, decided at the first command that needs one (`auto` detects it then).
    variant: OnceCell<Variant>,
    /// Why IPv6 could not be read at the last `observe`, if it could not.
    ipv6_unavailable: Option<String>,
    /// The families `observe` reads (both unless focused): a family where lvsync neither wants
    /// nor made rules is not worth two `-save` runs.
    families: BTreeSet<Family>,
    /// The file wants no chains and lvsync recorded none: iptables that cannot be read is then
    /// no reason to fail (a warning, once).
    optional: bool,
    /// Whether that warning was given.
    warned: bool,
}

#[derive(Debug)]
struct Variant {
    iptables: String,
    /// `None` when `iptables` is not named like an iptables command.
    tools: Option<[Tools; 2]>,
}

impl Variant {
    fn new(iptables: &str) -> Variant {
        let (dir, base) = split_dir(iptables);
        let tools = base.strip_prefix("iptables").map(|variant| {
            let family = |prefix: &str| Tools {
                save: format!("{dir}{prefix}{variant}-save"),
                restore: format!("{dir}{prefix}{variant}-restore"),
            };
            [family("iptables"), family("ip6tables")]
        });
        Variant { iptables: iptables.to_string(), tools }
    }
}

fn split_dir(command: &str) -> (&str, &str) {
    match command.rfind('/') {
        Some(i) => command.split_at(i + 1),
        None => ("", command),
    }
}

impl Firewall {
    /// `iptables` is the `--iptables` option: `auto` (detect, see [`variant`]), `iptables`,
    /// `iptables-legacy`, `iptables-nft`, or a path to one; `-save`, `-restore` and the
    /// `ip6tables` twins are derived from its name.
    pub fn new(iptables: &str) -> Firewall {
        let variant = OnceCell::new();
        if split_dir(iptables).1 != variant::AUTO {
            let _ = variant.set(Variant::new(iptables));
        }
        Firewall {
            option: iptables.to_string(),
            variant,
            ipv6_unavailable: None,
            families: [Family::Ipv4, Family::Ipv6].into(),
            optional: false,
            warned: false,
        }
    }

    /// The variant in use; `auto` detects it here, once, and says which it chose.
    fn variant(&self) -> &Variant {
        self.variant.get_or_init(|| {
            let (iptables, why) = variant::detect(split_dir(&self.option).0);
            tracing::info!(iptables = %iptables, "--iptables auto: using {iptables}: {why}");
            Variant::new(&iptables)
        })
    }

    fn tools(&self, family: Family) -> Result<&Tools, Error> {
        let variant = self.variant();
        let tools = variant.tools.as_ref().ok_or_else(|| Error::BadCommand(variant.iptables.clone()))?;
        Ok(match family {
            Family::Ipv4 => &tools[0],
            Family::Ipv6 => &tools[1],
        })
    }

    fn may_be_nft(&self) -> bool {
        !self.variant().iptables.contains("legacy")
    }

    /// A failed command, with the advice to use legacy iptables when nf_tables is the problem.
    fn classify(&self, err: exec::Error, otherwise: impl FnOnce(exec::Error) -> Error) -> Error {
        match err {
            exec::Error::Failed { command, stderr, .. } if self.may_be_nft() && nftables_unreachable(&stderr) => {
                Error::NoNftables { command, stderr }
            }
            err => otherwise(err),
        }
    }

    /// lvsync's part of one family's live filter table.
    pub fn read(&self, family: Family) -> Result<Table, Error> {
        let tools = self.tools(family)?;
        if !self.may_be_nft() && legacy_filter_absent(family, Path::new("/proc/net")) && exec::installed(&tools.save) {
            tracing::debug!(%family, "the kernel holds no legacy filter table; no chains to read");
            return Ok(Table::default());
        }
        let out = exec::run(&tools.save, &["-t", "filter"], None)
            .map_err(|e| self.classify(e, |source| Error::Read { family, source }))?;
        Ok(parse(&out.stdout))
    }

    /// Replaces the chains of one family in one restore run. Returns whether it wrote.
    fn replace(&self, family: Family, changes: &[(ChainId, Option<&Chain>)]) -> Result<bool, Error> {
        for (id, after) in changes {
            if let Some(rule) = after.iter().flat_map(|c| &c.rules).find(|r| r.contains(['\n', '\r', '\0'])) {
                return Err(Error::UnsafeRule { chain: *id, rule: rule.clone() });
            }
        }
        if family == Family::Ipv6
            && let Some(reason) = &self.ipv6_unavailable
        {
            return Err(Error::Unavailable { family, reason: reason.clone() });
        }
        let live = self.read(family)?;
        let Some(input) = restore_input(changes, &live) else { return Ok(false) };
        let chains = changes.iter().map(|(id, _)| id.to_string()).collect::<Vec<_>>().join(", ");
        let tools = self.tools(family)?;
        tracing::info!(chains = %chains, lines = input.lines().count(), "replacing firewall chains");
        exec::run(&tools.restore, &["--noflush", "--wait=10"], Some(&input)).map_err(|e| {
            self.classify(e, |e| match e {
                exec::Error::Failed { command, stderr, .. } => {
                    Error::Restore { chains: chains.clone(), command, stderr, input }
                }
                source => Error::Run { chains: chains.clone(), source },
            })
        })?;
        Ok(true)
    }
}

impl backend::DomainError for Error {
    const DOMAIN: Domain = Domain::Firewall;
}

impl Backend for Firewall {
    fn domain(&self) -> Domain {
        Domain::Firewall
    }

    /// Reads the families in focus (both unless told otherwise); a scope of services reads
    /// nothing, the firewall holds no services. IPv6 that cannot be read (no ip6tables, a kernel
    /// without IPv6) shows as no IPv6 chains, with a warning, so that IPv4 keeps working. Without
    /// iptables installed at all no lvsync chain can exist. When the file wants no chains and
    /// lvsync recorded none, iptables that fails (missing, broken, no nf_tables) is warned about
    /// once and read as no chains: a director without firewall intents needs no iptables
    /// (executing a chain change still fails, saying why).
    fn observe_scope(&mut self, scope: &Scope, state: &mut State) -> Result<(), backend::Error> {
        if let Scope::Services(_) = scope {
            return Ok(());
        }
        for family in self.families.clone() {
            let table = match self.read(family) {
                Ok(table) => table,
                Err(Error::Read { source: exec::Error::NotFound { command, .. }, .. })
                    if family == Family::Ipv4 || self.optional =>
                {
                    tracing::debug!(%command, "iptables is not installed; no firewall chains to observe");
                    return Ok(());
                }
                Err(err) if self.optional => {
                    if !self.warned {
                        let reason = crate::error_chain::error_chain(&err);
                        tracing::warn!(
                            reason = %reason,
                            "iptables cannot be read; the file has no firewall intents and lvsync recorded no chains, so going on without the firewall"
                        );
                        self.warned = true;
                    }
                    return Ok(());
                }
                Err(err) if family == Family::Ipv6 => {
                    let reason = crate::error_chain::error_chain(&err);
                    tracing::warn!(reason = %reason, "IPv6 firewall unavailable; ignoring IPv6 chains");
                    self.ipv6_unavailable = Some(reason);
                    continue;
                }
                Err(err) => return Err(err.into()),
            };
            if family == Family::Ipv6 {
                self.ipv6_unavailable = None;
            }
            for (hook, chain) in table.to_state() {
                state.chains.insert(ChainId { family, hook }, chain);
            }
        }
        Ok(())
    }

    fn focus(&mut self, desired: &State, made: &Inventory) {
        self.families = families_to_read(desired, made);
        self.optional = desired.chains.is_empty() && made.firewall.as_ref().is_none_or(BTreeSet::is_empty);
    }

    /// Carries out the `ReplaceChain` changes, one restore run per family that has any. A
    /// failure names the changes of the families already written as made.
    fn execute(&mut self, changes: &[Change]) -> Result<Executed, backend::Error> {
        let mut done = Executed::default();
        let mut made = Vec::new();
        for family in [Family::Ipv4, Family::Ipv6] {
            let (indices, mine): (Vec<usize>, Vec<(ChainId, Option<&Chain>)>) = changes
                .iter()
                .enumerate()
                .filter_map(|(i, c)| match c {
                    Change::Firewall(ChainChange { id, after, .. }) if id.family == family => {
                        Some((i, (*id, after.as_ref())))
                    }
                    _ => None,
                })
                .unzip();
            if mine.is_empty() {
                continue;
            }
            match self.replace(family, &mine) {
                Ok(wrote) => done.writes += usize::from(wrote),
                Err(err) => return Err(backend::Error::from(err).with_made(made)),
            }
            done.changes += mine.len();
            made.extend(indices);
        }
        Ok(done)
    }
}

fn chain_families(state: &State) -> BTreeSet<Family> {
    state.chains.keys().map(|id| id.family).collect()
}

/// The firewall families worth reading: where the file wants rules, and where lvsync made rules
/// before (to remove them); every family when the inventory does not say. A director whose file
/// has no firewall intents then pays for no `iptables-save` at all.
fn families_to_read(desired: &State, made: &Inventory) -> BTreeSet<Family> {
    match &made.firewall {
        Some(made) => made.iter().copied().chain(chain_families(desired)).collect(),
        None => Family::ALL.into(),
    }
}

/// Whether the kernel (in this network namespace) holds no legacy filter table for `family`,
/// so that no chain of it can exist. The kernel makes a legacy table only when a program first
/// asks for it, and lists the tables it has made in `/proc/net/ip_tables_names` (absent until
/// `ip_tables` is loaded). Then `iptables-legacy-save -t filter` is not run: on a director that
/// never used legacy iptables it would cost a process and make (or load) the table as a side
/// effect of merely reading. Unknown (no /proc) means "maybe present".
fn legacy_filter_absent(family: Family, proc_net: &Path) -> bool {
    let names = proc_net.join(match family {
        Family::Ipv4 => "ip_tables_names",
        Family::Ipv6 => "ip6_tables_names",
    });
    match std::fs::read_to_string(&names) {
        Ok(tables) => !tables.lines().any(|t| t.trim() == "filter"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => proc_net.join("dev").exists(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Hook;

    fn with_chain(family: Family) -> State {
        let mut s = State::default();
        s.chains.insert(
            ChainId { family, hook: Hook::Input },
            Chain { rules: vec!["-j DROP".into()], jump: true, ..Default::default() },
        );
        s
    }

    #[test]
    fn the_firewall_is_read_where_the_file_wants_rules_or_lvsync_made_them() {
        let both: BTreeSet<Family> = [Family::Ipv4, Family::Ipv6].into();
        // Unknown (first run, lost or old inventory): read everything.
        assert_eq!(families_to_read(&State::default(), &Inventory::default()), both);
        // Known to have made nothing, wanting nothing: read nothing.
        let none_made = Inventory { found: true, firewall: Some(BTreeSet::new()), ..Default::default() };
        assert!(families_to_read(&State::default(), &none_made).is_empty());
        // Wanted now, or made before (to be removed).
        assert_eq!(families_to_read(&with_chain(Family::Ipv6), &none_made), [Family::Ipv6].into());
        let v4_made = Inventory { found: true, firewall: Some([Family::Ipv4].into()), ..Default::default() };
        assert_eq!(families_to_read(&State::default(), &v4_made), [Family::Ipv4].into());
        assert_eq!(families_to_read(&with_chain(Family::Ipv6), &v4_made), both);
    }

    #[test]
    fn commands_are_derived_from_the_option() {
        let t = |cmd: &str| Variant::new(cmd).tools.map(|[v4, v6]| [v4.save, v4.restore, v6.save, v6.restore]);
        assert_eq!(
            t("iptables").unwrap(),
            ["iptables-save", "iptables-restore", "ip6tables-save", "ip6tables-restore"]
        );
        assert_eq!(
            t("iptables-legacy").unwrap(),
            ["iptables-legacy-save", "iptables-legacy-restore", "ip6tables-legacy-save", "ip6tables-legacy-restore"]
        );
        assert_eq!(t("/usr/sbin/iptables-nft").unwrap()[2], "/usr/sbin/ip6tables-nft-save");
        assert_eq!(t("nft"), None);
        assert!(Firewall::new("nft").read(Family::Ipv4).unwrap_err().to_string().contains("`--iptables nft`"));
    }

    #[test]
    fn a_legacy_filter_table_is_absent_only_when_proc_says_so() {
        let dir = std::env::temp_dir().join(format!("lvsync-proc-net-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("dev")).unwrap();
        // ip_tables not loaded: no names file, but /proc is there.
        assert!(legacy_filter_absent(Family::Ipv4, &dir));
        std::fs::write(dir.join("ip_tables_names"), "").unwrap();
        assert!(legacy_filter_absent(Family::Ipv4, &dir));
        std::fs::write(dir.join("ip_tables_names"), "nat\n").unwrap();
        assert!(legacy_filter_absent(Family::Ipv4, &dir));
        std::fs::write(dir.join("ip_tables_names"), "nat\nfilter\n").unwrap();
        assert!(!legacy_filter_absent(Family::Ipv4, &dir));
        std::fs::write(dir.join("ip6_tables_names"), "filter\n").unwrap();
        assert!(!legacy_filter_absent(Family::Ipv6, &dir));
        // No /proc mounted: unknown, so the table is read.
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(!legacy_filter_absent(Family::Ipv4, &dir));
    }

    #[test]
    fn restore_errors_quote_iptables_and_the_refused_line() {
        let err = Error::Restore {
            chains: "ipv4/LVSYNC-INPUT".into(),
            command: "iptables-nft-restore --noflush --wait=10".into(),
            stderr: "iptables-nft-restore v1.8.9 (nf_tables): Chain 'NOPE' does not exist\nError occurred at line: 3\n\
                     Try `iptables-nft-restore -h' or 'iptables-nft-restore --help' for more information.\n"
                .into(),
            input: "*filter\n:LVSYNC-INPUT - [0:0]\n-A LVSYNC-INPUT -j NOPE\nCOMMIT\n".into(),
        };
        assert_eq!(
            err.to_string(),
            "replacing ipv4/LVSYNC-INPUT failed, the previous rules are still in place: \
             `iptables-nft-restore --noflush --wait=10` said: iptables-nft-restore v1.8.9 (nf_tables): Chain 'NOPE' \
             does not exist; Error occurred at line: 3 (line 3: `-A LVSYNC-INPUT -j NOPE`)"
        );
        assert_eq!(offending("iptables-restore: line 2 failed", "*filter\n-X b\n"), " (line 2: `-X b`)");
        assert_eq!(offending("no number here", "-a\n"), "");
        assert_eq!(offending("Error occurred at line: 2", "-A X -j Y\nCOMMIT\n"), "");
    }

    #[test]
    fn nf_tables_trouble_advises_legacy() {
        let fw = Firewall::new("iptables");
        let failed = |stderr: &str| {
            let status = std::os::unix::process::ExitStatusExt::from_raw(1 << 8);
            exec::Error::Failed { command: "iptables-save -t filter".into(), status, stderr: stderr.into() }
        };
        let other = |e| Error::Read { family: Family::Ipv4, source: e };
        let err = fw.classify(
            failed("iptables-save v1.8.9 (nf_tables): Could not fetch rule set generation id: Invalid argument\n"),
            other,
        );
        assert!(err.to_string().contains("run lvsync with `--iptables iptables-legacy`"), "{err}");
        assert!(matches!(fw.classify(failed("Permission denied (you must be root)\n"), other), Error::Read { .. }));
        let legacy = Firewall::new("iptables-legacy");
        assert!(matches!(legacy.classify(failed("Protocol not supported\n"), other), Error::Read { .. }));
        let alternative = "iptables-save v1.8.9 (legacy): Cannot initialize: iptables who? (do you need to insmod?)\n";
        assert!(matches!(fw.classify(failed(alternative), other), Error::Read { .. }), "`iptables` may be legacy");
    }

    #[test]
    fn a_rule_that_could_inject_into_the_restore_file_is_refused_before_running_anything() {
        let id = ChainId { family: Family::Ipv4, hook: crate::state::Hook::Input };
        let rule = "-j ACCEPT\n-A INPUT -j DROP".to_string();
        let change = Change::Firewall(ChainChange {
            id,
            before: None,
            after: Some(Chain { rules: vec![rule], jump: true, ..Default::default() }),
        });
        // The command does not exist: reaching it would be a different error.
        let err = Firewall::new("/nonexistent/iptables").execute(&[change]).unwrap_err();
        assert!(matches!(err.downcast_ref::<Error>(), Some(Error::UnsafeRule { .. })), "{err:?}");
    }
}

#[cfg(test)]
mod without_iptables {
    use super::*;
    use crate::error_chain::error_chain;

    /// A director with no firewall intents needs no iptables; one with intents is told to install it.
    #[test]
    fn no_iptables_means_no_chains_and_a_clear_error_when_some_are_wanted() {
        let dir = tempfile::tempdir().unwrap();
        let mut fw = Firewall::new(dir.path().join("iptables").to_str().unwrap());
        let mut state = State::default();
        fw.observe(&mut state).unwrap();
        assert!(state.chains.is_empty());
        let id = ChainId::all()[0];
        let chain = Chain { rules: vec!["-j ACCEPT".into()], jump: true, ..Default::default() };
        let err = fw.execute(&[Change::Firewall(ChainChange { id, before: None, after: Some(chain) })]).unwrap_err();
        let text = error_chain(&err);
        assert!(text.contains("install the Debian package `iptables`"), "{text}");
    }
}
