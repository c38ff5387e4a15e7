//! Scalar helpers: netlink integers are host order, except ports (big-endian).

use super::*;

pub(super) fn ne<const N: usize>(v: &[u8]) -> Result<[u8; N], DecodeError> {
    v.try_into().map_err(|_| DecodeError::invalid_number(N, v.len()))
}

pub(super) fn u8_of(v: &[u8]) -> Result<u8, DecodeError> {
    Ok(ne::<1>(v)?[0])
}
pub(super) fn u16_of(v: &[u8]) -> Result<u16, DecodeError> {
    Ok(u16::from_ne_bytes(ne(v)?))
}
pub(super) fn u16_be_of(v: &[u8]) -> Result<u16, DecodeError> {
    Ok(u16::from_be_bytes(ne(v)?))
}
pub(super) fn u32_of(v: &[u8]) -> Result<u32, DecodeError> {
    Ok(u32::from_ne_bytes(ne(v)?))
}
pub(super) fn string_of(v: &[u8]) -> Result<String, DecodeError> {
    let v = v.strip_suffix(&[0]).unwrap_or(v);
    Ok(String::from_utf8(v.to_vec())?)
}
pub(super) fn emit_string(buf: &mut [u8], s: &str) {
    buf[..s.len()].copy_from_slice(s.as_bytes());
    buf[s.len()] = 0;
}

/// Parse every attribute of a nest with `one`. The attributes are counted first, so that the
/// list is allocated once: reading back thousands of real servers decodes tens of thousands of
/// nests, and growing each list step by step took half the time.
pub(crate) fn parse_nest<A>(
    buf: &[u8],
    one: impl Fn(&NlaBuffer<&[u8]>) -> Result<A, DecodeError>,
) -> Result<Vec<A>, DecodeError> {
    let mut out = Vec::with_capacity(NlasIterator::new(buf).count());
    for nla in NlasIterator::new(buf) {
        out.push(one(&nla?)?);
    }
    Ok(out)
}

pub(super) fn other(nla: &NlaBuffer<&[u8]>) -> Result<DefaultNla, DecodeError> {
    DefaultNla::parse(nla)
}
