//! The health keys exactly as written: `health`, `min_healthy`, `fallback`, `drain_timeout`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Health checking of real servers. On a service: the default for its real servers; on a real
/// server: replaces the keys of the service's it names (`{check: none}` turns probing off).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Health {
    /// `tcp` (default), `http`, `https`, `udp`, `dns`, `exec` or `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["tcp", "http", "https", "udp", "dns", "exec", "none"]))]
    pub check: Option<String>,
    /// Probe port, 1..65535; default the real server's port (required when that is 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<i64>,
    /// Seconds between two probes of one real server, 0.05..3600; default 5.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("minimum" = 0.05, "maximum" = 3600))]
    pub interval: Option<Seconds>,
    /// Seconds a probe may take, below `interval`; default 2 (or less than a shorter interval).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("minimum" = 0.001, "maximum" = 3600))]
    pub timeout: Option<Seconds>,
    /// Consecutive passes that put a down real server back, 1..1000; default 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000))]
    pub rise: Option<i64>,
    /// Consecutive failures that take an up real server out, 1..1000; default 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000))]
    pub fall: Option<i64>,
    /// `quiesce` (default): weight 0, established connections go on; `remove`: delete it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["quiesce", "remove"]))]
    pub on_failure: Option<String>,
    /// For `http` and `https`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpCheck>,
    /// For `https` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsCheck>,
    /// For `udp` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub udp: Option<UdpCheck>,
    /// For `dns` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns: Option<DnsCheck>,
    /// For `exec` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<ExecCheck>,
}

/// An HTTP GET: passes on a status in `status` whose body holds `body`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpCheck {
    /// Request path, starting with `/`; default `/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^/"))]
    pub path: Option<String>,
    /// `Host` header; default the real server's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Passing status codes: `200`, `"200-399"` (default) or a list such as `"200,301-302"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// A substring the response body must contain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Keep the connection open between probes and send each request on it (HTTP/1.1
    /// keep-alive); default false: a new connection per probe, as keepalived and ldirectord do.
    /// Far cheaper for both ends, but a real server that stops accepting new connections while
    /// it still answers on open ones passes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_alive: Option<bool>,
}

/// TLS settings of an `https` check.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsCheck {
    /// Verify the certificate against the system's roots; default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<bool>,
    /// Server name sent (and verified); default `http.host`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sni: Option<String>,
}

/// A UDP exchange: `send` one datagram; a reply containing `expect` passes (any reply without).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UdpCheck {
    /// The datagram sent; required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send: Option<String>,
    /// A substring the reply must hold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<String>,
}

/// A DNS query over UDP: an answer with at least one record of `type` passes.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DnsCheck {
    /// The name asked for; required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `A` (default), `AAAA`, `CNAME`, `MX`, `NS`, `PTR`, `SOA`, `SRV` or `TXT`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["A", "AAAA", "CNAME", "MX", "NS", "PTR", "SOA", "SRV", "TXT"]))]
    pub kind: Option<String>,
}

/// A program run without a shell: exit status 0 passes; killed at `timeout`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecCheck {
    /// argv: the program, then its arguments; `{address}` and `{port}` are replaced.
    #[serde(default)]
    pub command: Vec<String>,
}

/// The sorry server: added while no real server of the service is healthy.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Fallback {
    /// A unicast IPv4 or IPv6 address.
    pub address: String,
    /// Default the service's port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 65535))]
    pub port: Option<i64>,
}

/// A duration in seconds, fractions allowed (`0.5`), kept as written: a number, or text (quoted,
/// or a plain scalar YAML reads as no number, such as `2s` or `010`) that validation reads or
/// refuses at the key's position.
#[derive(Debug, Clone)]
pub enum Seconds {
    Number(f64),
    Text(String),
}

/// `min_healthy`: a count (`2`) or a share of the real servers (`"50%"`), kept as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinHealthy(pub String);

/// HTTP status codes: one code, or a text of codes and ranges, kept as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status(pub String);

impl PartialEq for Seconds {
    fn eq(&self, other: &Seconds) -> bool {
        match (self, other) {
            (Seconds::Number(a), Seconds::Number(b)) => a.to_bits() == b.to_bits(),
            (Seconds::Text(a), Seconds::Text(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Seconds {}

impl Serialize for Seconds {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Seconds::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => serializer.serialize_i64(*n as i64),
            Seconds::Number(n) => serializer.serialize_f64(*n),
            Seconds::Text(t) => serializer.serialize_str(t),
        }
    }
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Seconds;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number of seconds such as 2 or 0.5")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Seconds, E> {
                Ok(Seconds::Number(v as f64))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Seconds, E> {
                Ok(Seconds::Number(v as f64))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Seconds, E> {
                Ok(Seconds::Number(v))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Seconds, E> {
                Ok(Seconds::Text(v.to_string()))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl JsonSchema for Seconds {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Seconds".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A duration in seconds; fractions allowed, such as `0.5`. Quoted (`\"2\"`) is read the same.",
            "oneOf": [
                {"type": "number", "minimum": 0},
                {"type": "string", "pattern": r"^ *(0|[1-9][0-9]*)(\.[0-9]+)? *$"}
            ]
        })
    }
}

/// Integers and strings are both kept as their text.
fn int_or_text<'de, D: serde::Deserializer<'de>>(deserializer: D, expecting: &'static str) -> Result<String, D::Error> {
    struct Visitor(&'static str);
    impl serde::de::Visitor<'_> for Visitor {
        type Value = String;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str(self.0)
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<String, E> {
            Ok(v.to_string())
        }
    }
    deserializer.deserialize_any(Visitor(expecting))
}

fn serialize_int_or_text<S: serde::Serializer>(text: &str, serializer: S) -> Result<S::Ok, S::Error> {
    match text.parse::<u32>() {
        Ok(n) => serializer.serialize_u32(n),
        Err(_) => serializer.serialize_str(text),
    }
}

impl Serialize for MinHealthy {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_int_or_text(&self.0, serializer)
    }
}

impl<'de> Deserialize<'de> for MinHealthy {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        int_or_text(deserializer, "a count such as 2 or a percentage such as \"50%\"").map(MinHealthy)
    }
}

impl JsonSchema for MinHealthy {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "MinHealthy".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "Never take out a real server if fewer than this would stay in: a count, or a percentage of the service's real servers such as `\"50%\"` (rounded up). Default 0.",
            "oneOf": [
                {"type": "integer", "minimum": 0, "maximum": 65535},
                {"type": "string", "pattern": r"^ *(0|[1-9][0-9]{0,4}) *$|^ *(0|[1-9][0-9]{0,2}) *%$"}
            ]
        })
    }
}

impl Serialize for Status {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_int_or_text(&self.0, serializer)
    }
}

impl<'de> Deserialize<'de> for Status {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        int_or_text(deserializer, "a status code such as 200 or ranges such as \"200-399\"").map(Status)
    }
}

impl JsonSchema for Status {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Status".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "Passing HTTP status codes: one code such as `200`, or codes and ranges such as `\"200-399\"` or `\"200,301-302\"`.",
            "oneOf": [
                {"type": "integer", "minimum": 100, "maximum": 599},
                {"type": "string", "pattern": r"^ *[1-5][0-9]{2} *(- *[1-5][0-9]{2} *)?(, *[1-5][0-9]{2} *(- *[1-5][0-9]{2} *)?)*$"}
            ]
        })
    }
}
