//! Plan output for people, in the style of Terraform: one line per change (each domain writes
//! its own), unmanaged services listed as left alone, and the summary last.

use std::fmt::Write as _;

use super::{Action, Plan};

#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions {
    /// ANSI colours (only on a terminal, never under NO_COLOR: the caller decides).
    pub color: bool,
}

/// Colours, or none.
pub struct Paint(pub bool);

impl Paint {
    pub fn sign(&self, action: Action) -> String {
        let (sign, code) = match action {
            Action::Create => ("+", "32"),
            Action::Update => ("~", "33"),
            Action::Delete => ("-", "31"),
        };
        self.wrap(sign, code)
    }

    fn wrap(&self, text: &str, code: &str) -> String {
        if self.0 { format!("\x1b[{code}m{text}\x1b[0m") } else { text.to_string() }
    }

    pub fn bold(&self, text: &str) -> String {
        self.wrap(text, "1")
    }
}

/// One line per change, attribute diffs as `weight 1 -> 3`, firewall rules line by line,
/// unmanaged services listed as left alone, and the summary last.
pub fn render_text(plan: &Plan, opts: RenderOptions) -> String {
    let paint = Paint(opts.color);
    let mut out = String::new();
    for note in &plan.notes {
        let _ = writeln!(out, "Note: {note}\n");
    }
    for change in &plan.changes {
        let _ = write!(out, "  {} ", paint.sign(change.action()));
        change.info().text(plan, &paint, &mut out);
    }
    if !plan.unmanaged.is_empty() {
        if !plan.changes.is_empty() {
            out.push('\n');
        }
        let _ = writeln!(out, "Left alone (not managed by this file):");
        for u in &plan.unmanaged {
            let reals = if u.reals == 1 { "1 real server".to_string() } else { format!("{} real servers", u.reals) };
            let _ = writeln!(out, "  = service {} ({reals})", u.key);
        }
    }
    if !plan.draining.is_empty() {
        if !plan.changes.is_empty() || !plan.unmanaged.is_empty() {
            out.push('\n');
        }
        let _ = writeln!(
            out,
            "Draining (weight 0; deleted once idle or at their deadline, by the next `apply` or `watch`):"
        );
        for d in &plan.draining {
            let _ = writeln!(out, "  {} {}", paint.sign(super::Action::Update), draining_line(plan, d));
        }
    }
    if !out.is_empty() {
        out.push('\n');
    }
    if plan.is_empty() {
        let _ = writeln!(out, "{}", paint.bold("No changes."));
    } else {
        let s = plan.summary();
        let _ = writeln!(
            out,
            "{}",
            paint.bold(&format!("Plan: {} to create, {} to update, {} to delete.", s.create, s.update, s.delete))
        );
    }
    out
}

/// `real server 10.0.0.2:80 of web: draining, weight 0, 3 active connections, 41 s left`.
pub fn draining_line(plan: &Plan, d: &super::Draining) -> String {
    let owner = plan.names.get(&d.service).cloned().unwrap_or_else(|| d.service.to_string());
    let active = match d.active {
        Some(1) => "1 active connection".to_string(),
        Some(n) => format!("{n} active connections"),
        None => "active connections unknown".to_string(),
    };
    format!("real server {} of {owner}: draining, weight 0, {active}, {} s left", d.real, d.left)
}
