//! A quick re-parse for the common edit: lines changed inside one entry of `services:`, keeping
//! its name and identity. Only that entry is parsed (a 2,000-service file takes hundreds of
//! milliseconds to parse whole; one entry, about one). The whole file is still parsed right
//! after, and wins: this only decides what reaches the kernel first.
//!
//! Its cost does not grow with the file beyond one scan of the old text's lines: the bytes the
//! two texts share at both ends are found by comparing memory, and only the entry between them
//! is looked at line by line.
//!
//! Anything this cannot prove local (an anchor, an alias, a flow-style list, an edit that
//! crosses entries or leaves the list, a renamed or re-addressed service) returns `None`, and
//! the whole file is parsed instead.

use std::ops::Range;

use crate::model::{Config, ServiceSpec};

/// The service entry that changed from `old_text` to `new_text`, re-parsed alone, and its index
/// in `old` (the config of `old_text`): the config of `new_text` is `old` with that entry
/// replaced. `None` when the edit is not provably confined to one entry.
pub fn reparse(
    old_text: &str,
    old: &Config,
    new_text: &str,
    load: &dyn Fn(&str) -> Result<Config, String>,
) -> Option<(usize, ServiceSpec)> {
    let (a, b) = (old_text.as_bytes(), new_text.as_bytes());
    // What both texts share at each end, cut back to whole lines.
    let prefix = line_start(a, common_prefix(a, b));
    // The two ends may overlap where an insertion or removal repeats what is around it: each
    // is only a statement of shared bytes, and the entry found below must hold both.
    let tail = a.len() - common_suffix(a, b, a.len().min(b.len()));
    // The first line start in the shared end: a line start in both texts.
    let changed_to = a[tail..].iter().position(|c| *c == b'\n').map_or(a.len(), |j| tail + j + 1);
    let delta = b.len() as isize - a.len() as isize;
    let (items, indent) = entries(old_text)?;
    if items.len() != old.services.len() {
        return None;
    }
    // The entries that hold the whole change: one, or two when lines were only inserted (or
    // removed) at the boundary between them.
    let first = items.partition_point(|r| r.end < changed_to);
    let (i, spec) = (first..items.len()).take_while(|&i| items[i].start <= prefix).find_map(|i| {
        let old_item = &items[i];
        let end = usize::try_from(old_item.end as isize + delta).ok().filter(|e| *e >= old_item.start)?;
        let new_item = old_item.start..end;
        Some((i, reparse_entry(&old_text[old_item.clone()], new_text.get(new_item)?, indent, load)?))
    })?;
    let before = &old.services[i];
    // Same name and identity: no other service or firewall rule can see the difference.
    if spec.name != before.name || spec.key != before.key {
        return None;
    }
    Some((i, spec))
}

/// How many bytes `a` and `b` share at their start.
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    // Compared in blocks first: slice equality is a `memcmp`.
    const BLOCK: usize = 4096;
    let n = a.len().min(b.len());
    let mut at = 0;
    while at + BLOCK <= n && a[at..at + BLOCK] == b[at..at + BLOCK] {
        at += BLOCK;
    }
    at + a[at..n].iter().zip(&b[at..n]).take_while(|(x, y)| x == y).count()
}

/// How many bytes `a` and `b` share at their end, at most `most`.
fn common_suffix(a: &[u8], b: &[u8], most: usize) -> usize {
    const BLOCK: usize = 4096;
    let (ea, eb) = (a.len(), b.len());
    let mut n = 0;
    while n + BLOCK <= most && a[ea - n - BLOCK..ea - n] == b[eb - n - BLOCK..eb - n] {
        n += BLOCK;
    }
    n + a[..ea - n].iter().rev().zip(b[..eb - n].iter().rev()).take(most - n).take_while(|(x, y)| x == y).count()
}

/// The start of the line that holds byte `at`.
fn line_start(text: &[u8], at: usize) -> usize {
    text[..at].iter().rposition(|c| *c == b'\n').map_or(0, |i| i + 1)
}

/// Entry `old_entry` became `new_entry` (everything around it the same, byte for byte): parse
/// it alone, if it is still one entry of the list at `indent`.
fn reparse_entry(
    old_entry: &str,
    new_entry: &str,
    indent: usize,
    load: &dyn Fn(&str) -> Result<Config, String>,
) -> Option<ServiceSpec> {
    let mut lines = new_entry.split_inclusive('\n');
    // It starts the entry: `- ` at the list's indentation.
    let first = lines.next()?;
    let item = first.get(indent..)?;
    if first[..indent].bytes().any(|c| c != b' ') || !(item.starts_with("- ") || item.trim_end() == "-") {
        return None;
    }
    // Nothing else in it reaches the list's indentation: it neither ends the list nor starts
    // another entry, so the lines after it mean what they meant.
    for line in lines {
        let text = line.trim_start_matches(' ');
        if !(text.trim().is_empty() || text.starts_with('#') || line.len() - text.len() > indent) {
            return None;
        }
    }
    // An anchor here may be used elsewhere; an alias here needs an anchor elsewhere.
    if [old_entry, new_entry].iter().any(|t| t.contains('&') || t.contains('*')) {
        return None;
    }
    let alone = load(&format!("version: 1\nservices:\n{new_entry}")).ok()?;
    let [spec] = <[_; 1]>::try_from(alone.services).ok()?;
    Some(spec)
}

/// Byte ranges of the entries of a block-style top-level `services:` list, in file order (an
/// entry runs from its `- ` line to the next one's, or to the end of the list), and the list's
/// indentation.
fn entries(text: &str) -> Option<(Vec<Range<usize>>, usize)> {
    let mut lines = text.split_inclusive('\n');
    let mut at = 0;
    // The `services:` key, at the top level.
    loop {
        let l = lines.next()?;
        at += l.len();
        let rest = l.strip_prefix("services:").map(str::trim);
        if rest.is_some_and(|r| r.is_empty() || r.starts_with('#')) {
            break;
        }
    }
    let mut items: Vec<Range<usize>> = Vec::new();
    let mut indent = None;
    let mut end = text.len();
    for line in lines {
        let start = at;
        at += line.len();
        let text = line.trim_start_matches(' ');
        if text.trim().is_empty() || text.starts_with('#') {
            continue;
        }
        let col = line.len() - text.len();
        let dash = text.starts_with("- ") || text.trim_end() == "-";
        let item_indent = *indent.get_or_insert(col);
        if (!dash && col == 0 && item_indent == 0) || col < item_indent {
            end = start;
            break;
        }
        if col == item_indent {
            if !dash {
                return None;
            }
            if let Some(last) = items.last_mut() {
                last.end = start;
            }
            items.push(start..text.len());
        }
    }
    if let Some(last) = items.last_mut() {
        last.end = end;
    }
    // A document marker or anything unexpected at the top ends the list; reject those outright.
    if text[end..].split_inclusive('\n').any(|l| l.starts_with("---") || l.starts_with("...")) {
        return None;
    }
    Some((items, indent.unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Config, String> {
        crate::model::load(text).map_err(|d| d.render("f.yaml"))
    }

    fn file(weight: u32, db_port: u16) -> String {
        format!(
            "version: 1
ownership: managed
services:
  # the web tier
  - name: web
    vip: 192.0.2.1
    port: 80
    real_servers:
      - address: 10.0.0.1
        weight: {weight}
      - address: 10.0.0.2

  - name: db
    vip: 192.0.2.2
    port: {db_port}
    real_servers:
      - address: 10.0.0.3
firewall:
  - name: web-in
    action: accept
    service: web
"
        )
    }

    fn quick(old: &str, new: &str) -> Option<Config> {
        let mut config = load(old).unwrap();
        let (i, spec) = reparse(old, &config, new, &load)?;
        config.services[i] = spec;
        Some(config)
    }

    #[test]
    fn a_weight_edit_is_reparsed_alone_and_equals_the_whole_parse() {
        let (old, new) = (file(1, 5432), file(7, 5432));
        assert_eq!(quick(&old, &new), Some(load(&new).unwrap()));
    }

    #[test]
    fn edits_that_are_not_provably_local_fall_back() {
        let old = file(1, 5432);
        // The identity of db changes: its firewall/other services could see it.
        assert_eq!(quick(&old, &file(1, 5433)), None);
        // Outside the list.
        assert_eq!(quick(&old, &old.replace("ownership: managed", "ownership: exclusive")), None);
        assert_eq!(quick(&old, &old.replace("action: accept", "action: drop")), None);
        // A new service, a removed one.
        let added = old.replace("firewall:", "  - name: x\n    vip: 192.0.2.9\n    port: 1\nfirewall:");
        assert_eq!(quick(&old, &added), None);
        // Renamed.
        assert_eq!(quick(&old, &old.replace("name: db", "name: database")), None);
        // Anchors and aliases.
        let anchored = old.replace("      - address: 10.0.0.3", "      - &r address: 10.0.0.3");
        assert_eq!(quick(&old, &anchored), None);
        // Broken inside the entry: the whole parse reports it with its real line.
        assert_eq!(quick(&old, &old.replace("weight: 1", "weight: x")), None);
        // A change that escapes the entry's indentation.
        assert_eq!(quick(&old, &old.replace("    port: 80\n", "port: 80\n")), None);
    }

    #[test]
    fn flow_lists_and_comments_after_the_key_are_handled() {
        let flow = "version: 1\nservices: [{name: a, vip: 192.0.2.1, port: 80}]\n";
        assert_eq!(quick(flow, &flow.replace("80", "81")), None);
        let commented = file(1, 5432).replace("services:\n", "services: # all of them\n");
        let edited = commented.replace("weight: 1", "weight: 3");
        assert_eq!(quick(&commented, &edited), Some(load(&edited).unwrap()));
    }

    #[test]
    fn entries_at_column_zero_are_found() {
        let old =
            "version: 1\nservices:\n- name: a\n  vip: 192.0.2.1\n  port: 80\n- name: b\n  vip: 192.0.2.2\n  port: 80\n";
        let at = |s: &str| old.find(s).unwrap();
        assert_eq!(entries(old), Some((vec![at("- name: a")..at("- name: b"), at("- name: b")..old.len()], 0)));
        let new = old.replace("  port: 80\n- name: b", "  port: 80\n  scheduler: rr\n- name: b");
        assert_eq!(quick(old, &new), Some(load(&new).unwrap()));
    }

    /// Edits of every kind at every place: whenever the quick read answers, it equals the whole
    /// parse (and it never answers for a file the whole parse refuses).
    #[test]
    fn random_edits_never_give_a_wrong_quick_answer() {
        let cache = "  - name: cache\n    vip: 192.0.2.3\n    port: 11211\n";
        let old = file(1, 5432).replace("firewall:", &format!("{cache}director:\n  forwarding: true\nfirewall:"));
        let lines: Vec<&str> = old.split_inclusive('\n').collect();
        let pieces =
            ["\n", "  ", "- ", "weight: 3", "#", "x", "name: q", "      - address: 10.0.0.9\n", "&a ", "*a", "'"];
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |n: usize| {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) as usize % n
        };
        let (mut answered, mut checked) = (0, 0);
        for _ in 0..1500 {
            let at = (0..=old.len()).filter(|i| old.is_char_boundary(*i)).nth(next(old.len() + 1)).unwrap();
            let new = match next(3) {
                0 => format!("{}{}{}", &old[..at], pieces[next(pieces.len())], &old[at..]),
                1 => format!("{}{}", &old[..at], &old[(at + 1 + next(12)).min(old.len())..]),
                _ => {
                    let mut l = lines.clone();
                    l[next(lines.len())] = lines[next(lines.len())];
                    l.concat()
                }
            };
            let whole = load(&new).ok();
            if let Some(q) = quick(&old, &new) {
                answered += 1;
                assert_eq!(Some(q), whole, "edit:\n{new}");
            }
            checked += 1;
        }
        assert!(answered >= 20, "the quick read answered only {answered} of {checked} edits");
    }
}
