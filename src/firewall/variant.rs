//! `--iptables auto`: which iptables variant this system uses, decided the way Kubernetes'
//! iptables-wrapper decides it. The variant that holds lvsync's chains wins; otherwise the one
//! that holds more rules; legacy when nf_tables is unusable (User-Mode Linux, minimal kernels);
//! plain `iptables` when the variants are not installed under their own names.

use std::path::Path;

use super::exec;

/// The `--iptables` value that asks for detection (the default).
pub const AUTO: &str = "auto";

/// What one variant holds, as far as detection cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Holdings {
    /// `-A` lines over all tables of both families.
    pub rules: usize,
    /// Whether one of lvsync's chains is declared.
    pub lvsync: bool,
}

impl Holdings {
    fn of(dump: &str) -> Holdings {
        Holdings {
            rules: dump.lines().filter(|l| l.trim_start().starts_with("-A ")).count(),
            lvsync: dump.lines().any(|l| l.starts_with(":LVSYNC-")),
        }
    }

    fn add(&mut self, other: Holdings) {
        self.rules += other.rules;
        self.lvsync |= other.lvsync;
    }
}

/// What detection found of the nf_tables variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Nft {
    Usable(Holdings),
    /// `iptables-nft-save` failed: why.
    Unusable(String),
}

/// The choice, from what each variant holds. Pure.
pub fn choose(legacy: Holdings, nft: &Nft) -> (&'static str, String) {
    match nft {
        Nft::Unusable(why) => ("iptables-legacy", format!("nf_tables is unusable ({why})")),
        Nft::Usable(nft) if legacy.lvsync && !nft.lvsync => {
            ("iptables-legacy", "lvsync's chains are in the legacy tables".into())
        }
        Nft::Usable(nft) if nft.lvsync && !legacy.lvsync => ("iptables-nft", "lvsync's chains are in nf_tables".into()),
        Nft::Usable(nft) if legacy.rules > nft.rules => (
            "iptables-legacy",
            format!("the legacy tables hold more rules ({} against {} in nf_tables)", legacy.rules, nft.rules),
        ),
        Nft::Usable(nft) => (
            "iptables-nft",
            format!("nf_tables holds as many rules or more ({} against {} legacy)", nft.rules, legacy.rules),
        ),
    }
}

/// Detects the variant in `dir` (empty: on PATH). Runs at most four `-save` commands, and no
/// legacy one when the kernel holds no legacy table (reading would create one).
pub fn detect(dir: &str) -> (String, String) {
    let tool = |name: &str| format!("{dir}{name}");
    let (has_legacy, has_nft) =
        (exec::installed(&tool("iptables-legacy-save")), exec::installed(&tool("iptables-nft-save")));
    match (has_legacy, has_nft) {
        (false, false) => return (tool("iptables"), "no iptables-legacy or iptables-nft is installed".into()),
        (true, false) => return (tool("iptables-legacy"), "only iptables-legacy is installed".into()),
        (false, true) => return (tool("iptables-nft"), "only iptables-nft is installed".into()),
        (true, true) => {}
    }
    let mut legacy = Holdings::default();
    for (family, save) in [("ip_tables_names", "iptables-legacy-save"), ("ip6_tables_names", "ip6tables-legacy-save")] {
        if legacy_tables_absent(Path::new("/proc/net"), family) {
            continue;
        }
        if let Ok(out) = exec::run(&tool(save), &[], None) {
            legacy.add(Holdings::of(&out.stdout));
        }
    }
    let nft = match exec::run(&tool("iptables-nft-save"), &[], None) {
        Err(err) => Nft::Unusable(crate::error_chain::error_chain(&err)),
        Ok(out) => {
            let mut held = Holdings::of(&out.stdout);
            if let Ok(out) = exec::run(&tool("ip6tables-nft-save"), &[], None) {
                held.add(Holdings::of(&out.stdout));
            }
            Nft::Usable(held)
        }
    };
    let (variant, why) = choose(legacy, &nft);
    (tool(variant), why)
}

/// Whether the kernel lists no legacy table at all for one family (`names`:
/// `ip_tables_names`); unknown counts as present.
fn legacy_tables_absent(proc_net: &Path, names: &str) -> bool {
    match std::fs::read_to_string(proc_net.join(names)) {
        Ok(tables) => tables.trim().is_empty(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => proc_net.join("dev").exists(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEGACY_DUMP: &str = "*filter\n:INPUT ACCEPT [0:0]\n:LVSYNC-INPUT - [0:0]\n-A INPUT -j LVSYNC-INPUT\nCOMMIT\n";

    #[test]
    fn counts_rules_and_sees_lvsync_chains() {
        assert_eq!(Holdings::of(LEGACY_DUMP), Holdings { rules: 1, lvsync: true });
        assert_eq!(Holdings::of("*nat\n-A POSTROUTING -j MASQUERADE\nCOMMIT\n"), Holdings { rules: 1, lvsync: false });
    }

    #[test]
    fn legacy_tables_are_read_only_when_the_kernel_lists_some() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("dev")).unwrap();
        assert!(legacy_tables_absent(dir.path(), "ip_tables_names"), "module not loaded");
        std::fs::write(dir.path().join("ip_tables_names"), "").unwrap();
        assert!(legacy_tables_absent(dir.path(), "ip_tables_names"));
        std::fs::write(dir.path().join("ip_tables_names"), "nat\n").unwrap();
        assert!(!legacy_tables_absent(dir.path(), "ip_tables_names"));
        assert!(!legacy_tables_absent(&dir.path().join("no-proc"), "ip_tables_names"), "unknown: read");
    }

    #[test]
    fn legacy_when_nf_tables_is_unusable() {
        let (v, why) = choose(Holdings::default(), &Nft::Unusable("Protocol not supported".into()));
        assert_eq!(v, "iptables-legacy");
        assert!(why.contains("Protocol not supported"), "{why}");
    }

    #[test]
    fn the_variant_holding_lvsync_chains_wins_over_rule_counts() {
        let legacy = Holdings { rules: 1, lvsync: true };
        let nft = Nft::Usable(Holdings { rules: 500, lvsync: false });
        assert_eq!(choose(legacy, &nft).0, "iptables-legacy");
        let nft = Nft::Usable(Holdings { rules: 1, lvsync: true });
        assert_eq!(choose(Holdings { rules: 500, lvsync: false }, &nft).0, "iptables-nft");
    }

    #[test]
    fn otherwise_the_one_with_more_rules_and_nft_on_a_tie() {
        let nft = |rules| Nft::Usable(Holdings { rules, lvsync: false });
        assert_eq!(choose(Holdings { rules: 30, lvsync: false }, &nft(2)).0, "iptables-legacy");
        assert_eq!(choose(Holdings { rules: 2, lvsync: false }, &nft(30)).0, "iptables-nft");
        assert_eq!(choose(Holdings::default(), &nft(0)).0, "iptables-nft");
    }
}
