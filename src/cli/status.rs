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
        }
    }
    Ok(out.finish(0, Done::ReadOnly))
}
