//! `ha` compared between two files: keepalived's configuration is not kernel state, and it is
//! rendered per director, so a review shows the pair's settings that change instead.

use std::fmt::Write as _;

use super::settings::{Setting, SettingChange};
use crate::model::Config;
use crate::state::Ha;

/// `ha` added or removed as one line; otherwise one line per field that differs.
pub fn diff(old: &Config, new: &Config, out: &mut Vec<SettingChange>) {
    let change = |field: &'static str, before: Option<String>, after: Option<String>| SettingChange {
        service: String::new(),
        reals: Vec::new(),
        every_real: false,
        setting: Setting::Ha(field),
        before,
        after,
    };
    match (&old.ha, &new.ha) {
        (None, None) => {}
        (a, b) if a == b => {}
        (Some(a), Some(b)) => {
            for (field, x, y) in fields(a).into_iter().zip(fields(b)).map(|((f, x), (_, y))| (f, x, y)) {
                if x != y {
                    out.push(change(field, Some(x), Some(y)));
                }
            }
        }
        (a, b) => out.push(change("", a.as_ref().map(summary), b.as_ref().map(summary))),
    }
}

fn fields(h: &Ha) -> [(&'static str, String); 6] {
    [
        ("interface", h.interface.clone()),
        ("vrid", h.vrid.to_string()),
        ("advert_interval", format!("{}s", h.advert_interval)),
        ("preempt", h.preempt.to_string()),
        ("nodes", nodes(h)),
        ("vips", h.vips.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(", ")),
    ]
}

/// `lb1 192.168.2.101 priority 150, lb2 192.168.2.102 priority 100`.
fn nodes(h: &Ha) -> String {
    let mut s = String::new();
    for (i, n) in h.nodes.iter().enumerate() {
        let _ = write!(s, "{}{} {} priority {}", if i == 0 { "" } else { ", " }, n.name, n.address, n.priority);
    }
    s
}

/// `keepalived on eth0, vrid 51: lb1 192.168.2.101 priority 150, ...; VIPs 192.168.2.110`.
fn summary(h: &Ha) -> String {
    let vips: Vec<String> = h.vips.iter().map(|v| v.to_string()).collect();
    format!("keepalived on {}, vrid {}: {}; VIPs {}", h.interface, h.vrid, nodes(h), vips.join(", "))
}
