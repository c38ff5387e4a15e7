//! Warnings about health settings that are valid but do not do what an operator expects.
//! Pure: `validate` and `plan` print them.

use super::spec::OnFailure;
use crate::model::Config;

/// `on_failure: quiesce` on a persistent service without
/// `ipvs.sysctls.expire_quiescent_template: true`: IPVS keeps sending a persistent client to
/// the real server its template names, even at weight 0, until the template expires.
pub fn warnings(config: &Config) -> Vec<String> {
    if config.ipvs_sysctls.expire_quiescent_template == Some(true) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for s in &config.services {
        let Some(p) = &s.service.attrs.persistence else { continue };
        if !s.health.checks.values().any(|c| c.on_failure == OnFailure::Quiesce) {
            continue;
        }
        out.push(format!(
            "service {} has persistence ({} s) and `on_failure: quiesce`: a real server taken out gets weight 0, \
             but persistent clients keep reaching it until their templates expire; set \
             `ipvs.sysctls.expire_quiescent_template: true` (net.ipv4.vs.expire_quiescent_template=1), \
             or use `on_failure: remove`",
            s.name, p.timeout
        ));
    }
    out
}
