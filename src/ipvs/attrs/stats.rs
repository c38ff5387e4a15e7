//! Statistics (IPVS_SVC_ATTR_STATS[64], IPVS_DEST_ATTR_STATS[64]).

use super::*;

/// The kernel sends some counters as u32 in the old nest and all as u64 in the `64` one; the
/// width read is the width written back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    U32(u32),
    U64(u64),
}

impl Counter {
    pub fn get(self) -> u64 {
        match self {
            Counter::U32(v) => u64::from(v),
            Counter::U64(v) => v,
        }
    }

    fn parse(v: &[u8]) -> Result<Counter, DecodeError> {
        match v.len() {
            4 => Ok(Counter::U32(u32_of(v)?)),
            _ => Ok(Counter::U64(u64::from_ne_bytes(ne(v)?))),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatsAttr {
    Conns(Counter),
    InPkts(Counter),
    OutPkts(Counter),
    InBytes(Counter),
    OutBytes(Counter),
    Cps(Counter),
    InPps(Counter),
    OutPps(Counter),
    InBps(Counter),
    OutBps(Counter),
    Other(DefaultNla),
}

impl StatsAttr {
    fn counter(&self) -> Option<Counter> {
        use StatsAttr::*;
        match self {
            Conns(c) | InPkts(c) | OutPkts(c) | InBytes(c) | OutBytes(c) | Cps(c) | InPps(c) | OutPps(c) | InBps(c)
            | OutBps(c) => Some(*c),
            Other(_) => None,
        }
    }
}

impl Nla for StatsAttr {
    fn value_len(&self) -> usize {
        match (self, self.counter()) {
            (StatsAttr::Other(nla), _) => nla.value_len(),
            (_, Some(Counter::U32(_))) => 4,
            _ => 8,
        }
    }

    fn kind(&self) -> u16 {
        use StatsAttr::*;
        match self {
            Conns(_) => IPVS_STATS_ATTR_CONNS,
            InPkts(_) => IPVS_STATS_ATTR_INPKTS,
            OutPkts(_) => IPVS_STATS_ATTR_OUTPKTS,
            InBytes(_) => IPVS_STATS_ATTR_INBYTES,
            OutBytes(_) => IPVS_STATS_ATTR_OUTBYTES,
            Cps(_) => IPVS_STATS_ATTR_CPS,
            InPps(_) => IPVS_STATS_ATTR_INPPS,
            OutPps(_) => IPVS_STATS_ATTR_OUTPPS,
            InBps(_) => IPVS_STATS_ATTR_INBPS,
            OutBps(_) => IPVS_STATS_ATTR_OUTBPS,
            Other(nla) => nla.kind(),
        }
    }

    fn emit_value(&self, buf: &mut [u8]) {
        match (self, self.counter()) {
            (StatsAttr::Other(nla), _) => nla.emit_value(buf),
            (_, Some(Counter::U32(v))) => buf.copy_from_slice(&v.to_ne_bytes()),
            (_, Some(Counter::U64(v))) => buf.copy_from_slice(&v.to_ne_bytes()),
            (_, None) => {}
        }
    }
}

impl StatsAttr {
    fn parse(nla: &NlaBuffer<&[u8]>) -> Result<StatsAttr, DecodeError> {
        use StatsAttr::*;
        let v = nla.value();
        let wrap: fn(Counter) -> StatsAttr = match nla.kind() {
            IPVS_STATS_ATTR_CONNS => Conns,
            IPVS_STATS_ATTR_INPKTS => InPkts,
            IPVS_STATS_ATTR_OUTPKTS => OutPkts,
            IPVS_STATS_ATTR_INBYTES => InBytes,
            IPVS_STATS_ATTR_OUTBYTES => OutBytes,
            IPVS_STATS_ATTR_CPS => Cps,
            IPVS_STATS_ATTR_INPPS => InPps,
            IPVS_STATS_ATTR_OUTPPS => OutPps,
            IPVS_STATS_ATTR_INBPS => InBps,
            IPVS_STATS_ATTR_OUTBPS => OutBps,
            _ => return Ok(Other(other(nla)?)),
        };
        Ok(wrap(Counter::parse(v)?))
    }
}

/// The counters of a service or a real server.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stats(pub Vec<StatsAttr>);

impl Stats {
    /// Connections scheduled so far.
    pub fn conns(&self) -> Option<u64> {
        self.0.iter().find_map(|a| match a {
            StatsAttr::Conns(c) => Some(c.get()),
            _ => None,
        })
    }

    pub fn in_packets(&self) -> Option<u64> {
        self.0.iter().find_map(|a| match a {
            StatsAttr::InPkts(c) => Some(c.get()),
            _ => None,
        })
    }

    pub(super) fn parse(v: &[u8]) -> Result<Stats, DecodeError> {
        Ok(Stats(parse_nest(v, StatsAttr::parse)?))
    }
}
