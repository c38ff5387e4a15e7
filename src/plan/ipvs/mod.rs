//! The IPVS domain of the plan: services, their real servers, and the connection timeouts.

mod diff;
mod json;
mod text;

pub use diff::plan;
pub use json::IpvsObject;

use super::json::Object;
use super::render::Paint;
use super::{Action, Domain, DomainChange, Phase, Plan};
use crate::state::{RealKey, RealServer, Service, ServiceAttrs, ServiceKey, Timeouts};

/// One change to the IPVS table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IpvsChange {
    /// A service's attributes are boxed: a plan of thousands is mostly real servers, and every
    /// change is as big as the biggest kind.
    CreateService {
        key: ServiceKey,
        name: Option<String>,
        attrs: Box<ServiceAttrs>,
    },
    UpdateService {
        key: ServiceKey,
        name: Option<String>,
        before: Box<ServiceAttrs>,
        after: Box<ServiceAttrs>,
    },
    /// Deleting a service deletes its real servers with it.
    DeleteService {
        key: ServiceKey,
        name: Option<String>,
        before: Box<Service>,
    },
    CreateReal {
        service: ServiceKey,
        key: RealKey,
        real: RealServer,
    },
    UpdateReal {
        service: ServiceKey,
        key: RealKey,
        before: RealServer,
        after: RealServer,
    },
    DeleteReal {
        service: ServiceKey,
        key: RealKey,
        before: RealServer,
    },
    /// Only the fields `Some` in `after` are written.
    SetTimeouts {
        before: Timeouts,
        after: Timeouts,
    },
}

use IpvsChange::*;

impl DomainChange for IpvsChange {
    fn domain(&self) -> Domain {
        Domain::Ipvs
    }

    fn phase(&self) -> Phase {
        match self {
            CreateService { .. } | UpdateService { .. } => Phase::Services,
            CreateReal { .. } | UpdateReal { .. } => Phase::RealServers,
            SetTimeouts { .. } => Phase::Settings,
            DeleteReal { .. } => Phase::RemoveRealServers,
            DeleteService { .. } => Phase::RemoveServices,
        }
    }

    fn action(&self) -> Action {
        match self {
            CreateService { .. } | CreateReal { .. } => Action::Create,
            UpdateService { .. } | UpdateReal { .. } | SetTimeouts { .. } => Action::Update,
            DeleteService { .. } | DeleteReal { .. } => Action::Delete,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            CreateService { .. } | UpdateService { .. } | DeleteService { .. } => "service",
            CreateReal { .. } | UpdateReal { .. } | DeleteReal { .. } => "real_server",
            SetTimeouts { .. } => "ipvs_config",
        }
    }

    fn id(&self) -> String {
        match self {
            CreateService { key, .. } | UpdateService { key, .. } | DeleteService { key, .. } => key.to_string(),
            CreateReal { service, key, .. } | UpdateReal { service, key, .. } | DeleteReal { service, key, .. } => {
                format!("{service}/{key}")
            }
            SetTimeouts { .. } => "timeouts".to_string(),
        }
    }

    fn text(&self, plan: &Plan, _: &Paint, out: &mut String) {
        text::line(self, plan, out);
    }

    fn json<'a>(&'a self, plan: &'a Plan) -> (Option<Object<'a>>, Option<Object<'a>>) {
        json::before_after(self, plan)
    }

    fn detail(&self) -> String {
        text::detail(self)
    }

    fn service(&self) -> Option<ServiceKey> {
        match self {
            CreateService { key, .. } | UpdateService { key, .. } | DeleteService { key, .. } => Some(*key),
            CreateReal { service, .. } | UpdateReal { service, .. } | DeleteReal { service, .. } => Some(*service),
            SetTimeouts { .. } => None,
        }
    }
}
