//! A quick re-parse for the common edit: lines changed inside one entry of `services:`, keeping
//! its name and identity. Only that entry is parsed (a 2,000-service file takes hundreds of
//! milliseconds to parse whole; one entry, about one). The whole file is still parsed right
//! after, and wins: this only decides what reaches the kernel first.
//!
//! Anything this cannot prove local (an anchor, an alias, a flow-style list, an edit that
//! crosses entries or leaves the list, a renamed or re-addressed service) returns `None`, and
//! the whole file is parsed instead.

use std::ops::Range;

use crate::model::{Config, ServiceSpec};

/// The config of `new_text`, from `old` (the config of `old_text`) with one service re-parsed,
/// and that service's index; `None` when the edit is not provably confined to one entry.
pub fn reparse(
    old_text: &str,
    old: &Config,
    new_text: &str,
    load: &dyn Fn(&str) -> Result<Config, String>,
) -> Option<(Config, usize)> {
    let old_lines: Vec<&str> = old_text.split_inclusive('\n').collect();
    let new_lines: Vec<&str> = new_text.split_inclusive('\n').collect();
    let old_items = entries(&old_lines)?;
    let new_items = entries(&new_lines)?;
    if old_items.len() != new_items.len() || old_items.len() != old.services.len() {
        return None;
    }
    let prefix = old_lines.iter().zip(&new_lines).take_while(|(a, b)| a == b).count();
    // The entry whose end lies past the first changed line holds the change, if any does; a
    // line added at a boundary may belong to the entry before or after it.
    let after = |items: &[Range<usize>]| items.iter().position(|r| r.end > prefix);
    let mut candidates = [after(&new_items), after(&old_items)].into_iter().flatten().collect::<Vec<_>>();
    candidates.dedup();
    let (i, spec) = candidates.into_iter().find_map(|i| {
        let spec = reparse_entry(&old_lines, &old_items[i], &new_lines, &new_items[i], prefix, load)?;
        Some((i, spec))
    })?;
    let before = &old.services[i];
    // Same name and identity: no other service or firewall rule can see the difference.
    if spec.name != before.name || spec.key != before.key {
        return None;
    }
    let mut config = old.clone();
    config.services[i] = spec;
    Some((config, i))
}

/// Entry `old_item` of the old lines became `new_item` of the new ones and nothing else
/// changed: parse it alone.
fn reparse_entry(
    old_lines: &[&str],
    old_item: &Range<usize>,
    new_lines: &[&str],
    new_item: &Range<usize>,
    prefix: usize,
    load: &dyn Fn(&str) -> Result<Config, String>,
) -> Option<ServiceSpec> {
    if old_item.start > prefix || new_item.start > prefix {
        return None;
    }
    // Everything outside the entry is the same, byte for byte.
    if old_lines[..old_item.start] != new_lines[..new_item.start]
        || old_lines[old_item.end..] != new_lines[new_item.end..]
    {
        return None;
    }
    let old_entry = old_lines[old_item.clone()].concat();
    let new_entry = new_lines[new_item.clone()].concat();
    // An anchor here may be used elsewhere; an alias here needs an anchor elsewhere.
    if [&old_entry, &new_entry].iter().any(|t| t.contains('&') || t.contains('*')) {
        return None;
    }
    let alone = load(&format!("version: 1\nservices:\n{new_entry}")).ok()?;
    let [spec] = <[_; 1]>::try_from(alone.services).ok()?;
    Some(spec)
}

/// Line ranges of the entries of a block-style top-level `services:` list, in file order.
fn entries(lines: &[&str]) -> Option<Vec<Range<usize>>> {
    let key = lines.iter().position(|l| {
        let rest = l.strip_prefix("services:").map(str::trim);
        rest.is_some_and(|r| r.is_empty() || r.starts_with('#'))
    })?;
    let mut items: Vec<Range<usize>> = Vec::new();
    let mut indent = None;
    let mut end = lines.len();
    for (n, line) in lines.iter().enumerate().skip(key + 1) {
        let text = line.trim_start_matches(' ');
        if text.trim().is_empty() || text.starts_with('#') {
            continue;
        }
        let col = line.len() - text.len();
        let dash = text.starts_with("- ") || text.trim_end() == "-";
        let item_indent = *indent.get_or_insert(col);
        if (!dash && col == 0 && item_indent == 0) || col < item_indent {
            end = n;
            break;
        }
        if col == item_indent {
            if !dash {
                return None;
            }
            if let Some(last) = items.last_mut() {
                last.end = n;
            }
            items.push(n..lines.len());
        }
    }
    if let Some(last) = items.last_mut() {
        last.end = end;
    }
    // A document marker or anything unexpected at the top ends the list; reject those outright.
    if lines[end.min(lines.len())..].iter().any(|l| l.starts_with("---") || l.starts_with("...")) {
        return None;
    }
    Some(items)
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
        reparse(old, &load(old).unwrap(), new, &load).map(|(config, _)| config)
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
        let lines: Vec<&str> = old.split_inclusive('\n').collect();
        assert_eq!(entries(&lines), Some(vec![2..5, 5..8]));
        let new = old.replace("  port: 80\n- name: b", "  port: 80\n  scheduler: rr\n- name: b");
        assert_eq!(quick(old, &new), Some(load(&new).unwrap()));
    }
}
