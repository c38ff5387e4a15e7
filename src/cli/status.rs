//! `lvsync status`: the health record `watch` keeps in the state dir, next to the kernel's
//! weights. Reads only; never takes the lock, so it works while `watch` runs.

use anyhow::Context;

use super::args::Format;
use super::output::{Done, Out};
use crate::director::{Director, Options};
use crate::watch::status::{self, Loaded, Record};

pub fn status(g: &Options, format: Format) -> anyhow::Result<i32> {
    let record = match status::load(&g.state_dir).context("reading the health record")? {
        Loaded::NoStateDir => {
            eprintln!(
                "error: no state dir at {}: lvsync has not run here (give --state-dir where `lvsync watch` keeps it)",
                g.state_dir.display()
            );
            return Ok(1);
        }
        Loaded::NoRecord => None,
        Loaded::Record(r) => Some(r),
    };
    let mut director = Director::open_read_only(g)?;
    let kernel = director.observe_ipvs()?;
    let weight = |service: &str, real: &str| {
        let svc = kernel.services.iter().find(|(k, _)| k.to_string() == service)?.1;
        svc.reals.iter().find(|(k, _)| k.to_string() == real).map(|(_, r)| r.weight)
    };
    let record = record.unwrap_or(Record { written: 0, services: vec![] });
    // Drains a one-shot `apply` left, which the record (watch's) does not have.
    let now = std::time::SystemTime::now();
    let drains: Vec<serde_json::Value> = director
        .inventory()?
        .drains
        .iter()
        .filter(|((svc, real), _)| {
            let (svc, real) = (svc.to_string(), real.to_string());
            !record.services.iter().any(|s| {
                s.service == svc && s.real_servers.iter().any(|r| r.real_server == real && r.drain_left_s.is_some())
            })
        })
        .map(|((svc, real), d)| {
            let unix = |t: std::time::SystemTime| t.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
            serde_json::json!({
                "service": svc.to_string(),
                "real_server": real.to_string(),
                "kernel_weight": weight(&svc.to_string(), &real.to_string()),
                "started": unix(d.started),
                "deadline": unix(d.deadline),
                "left_s": d.deadline.duration_since(now).map_or(0, |l| l.as_secs()),
            })
        })
        .collect();
    let mut out = Out::new();
    match format {
        Format::Json => {
            let mut value = serde_json::to_value(&record)?;
            for s in value["services"].as_array_mut().into_iter().flatten() {
                let service = s["service"].as_str().unwrap_or_default().to_string();
                for r in s["real_servers"].as_array_mut().into_iter().flatten() {
                    let real = r["real_server"].as_str().unwrap_or_default().to_string();
                    r["kernel_weight"] = weight(&service, &real).into();
                }
            }
            if !drains.is_empty() {
                value["drains"] = drains.into();
            }
            out.json(&value);
        }
        Format::Text => {
            if record.written == 0 {
                out.line("no health record yet: `lvsync watch` has not run with this state dir");
            }
            for s in &record.services {
                out.line(&format!("{} ({})", s.name, s.service));
                for r in &s.real_servers {
                    let file = r.file_weight.map_or("-".into(), |w| w.to_string());
                    let kernel = weight(&s.service, &r.real_server).map_or("-".into(), |w| w.to_string());
                    let mut line = format!("  {}  file {file}  kernel {kernel}  {}", r.real_server, r.health);
                    if let Some(since) = &r.since {
                        line.push_str(&format!(" since {since}"));
                    }
                    if let Some(p) = &r.last_probe {
                        line.push_str(&format!("  last probe {p}"));
                    }
                    if let Some(e) = &r.last_error {
                        line.push_str(&format!("  last error {e}"));
                    }
                    if let Some(left) = r.drain_left_s {
                        line.push_str(&format!("  draining, {left} s left"));
                    }
                    if let Some(o) = &r.overlay {
                        line.push_str(&format!("  ({o})"));
                    }
                    out.line(&line);
                }
            }
            if !drains.is_empty() {
                out.line("draining after `apply` (the next `apply` or `watch` deletes them once idle or due):");
            }
            for d in &drains {
                let kernel = d["kernel_weight"].as_u64().map_or("-".into(), |w| w.to_string());
                out.line(&format!(
                    "  {} of {}  kernel {kernel}  draining, {} s left",
                    d["real_server"].as_str().unwrap_or_default(),
                    d["service"].as_str().unwrap_or_default(),
                    d["left_s"]
                ));
            }
        }
    }
    Ok(out.finish(0, Done::ReadOnly))
}
