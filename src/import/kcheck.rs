//! keepalived's health checkers (TCP_CHECK, HTTP_GET, SSL_GET, DNS_CHECK, MISC_CHECK) as an
//! lvsync `health:`, with the settings they inherit from their real and virtual server.
//! keepalived's own defaults are spelled out (delay_loop 60, connect_timeout 5, one pass to come
//! back, `retry` extra failures to go), because lvsync's defaults differ.

use super::Skipped;
use super::lexer::Node;
use super::out::{Dns, Exec, Health, Http, Seconds, Tls};

/// Checker settings given on a virtual or real server, inherited by its checkers.
#[derive(Debug, Clone, Default)]
pub struct Defaults {
    pub delay_loop: Option<f64>,
    pub connect_timeout: Option<f64>,
    pub retry: Option<u32>,
    pub inhibit: Option<bool>,
    pub virtualhost: Option<String>,
}

/// Take a keyword that virtual servers, real servers and checkers share; false if `n` is not one.
pub fn common(n: &Node, d: &mut Defaults, skipped: &mut Vec<Skipped>) -> bool {
    match n.keyword.as_str() {
        "delay_loop" => d.delay_loop = seconds(n, skipped).or(d.delay_loop),
        "connect_timeout" => d.connect_timeout = seconds(n, skipped).or(d.connect_timeout),
        "retry" => d.retry = number(n, skipped).or(d.retry),
        "inhibit_on_failure" => d.inhibit = boolean(n, skipped).or(d.inhibit),
        "virtualhost" => d.virtualhost = n.args.first().cloned(),
        // lvsync spreads the first probes over one interval by itself.
        "warmup" => {}
        "delay_before_retry" => skipped.push(Skipped::new(
            n.line,
            &n.text(),
            "lvsync probes again after `interval`, it has no shorter delay after a failure",
        )),
        "alpha" if boolean(n, skipped) != Some(false) => skipped.push(Skipped::new(
            n.line,
            &n.text(),
            "lvsync starts a real server up and takes it out after `fall` failures; it has no start-down mode",
        )),
        "alpha" => {}
        "log_all_failures" => {
            skipped.push(Skipped::new(n.line, &n.text(), "lvsync logs each transition, not each failure"))
        }
        _ => return false,
    }
    true
}

/// One checker block as a health check; None (and reported) when it has no lvsync counterpart.
pub fn checker(n: &Node, inherited: &Defaults, skipped: &mut Vec<Skipped>) -> Option<Health> {
    let (check, default_retry) = match n.keyword.as_str() {
        "TCP_CHECK" => ("tcp", 1),
        "HTTP_GET" => ("http", 1),
        "SSL_GET" => ("https", 1),
        "DNS_CHECK" => ("dns", 3),
        "MISC_CHECK" => ("exec", 0),
        "UDP_CHECK" => {
            let why = "keepalived's `payload` and `require_reply` are hex bytes, and with no `require_reply` a probe that gets no answer passes; lvsync's `udp: {send, expect}` sends text and needs an answer: write it by hand";
            skipped.push(Skipped::new(n.line, "UDP_CHECK", why));
            return None;
        }
        other => {
            let why = format!("lvsync has no check like {other}; its checks are tcp, http, https, udp, dns and exec");
            skipped.push(Skipped::new(n.line, other, why));
            return None;
        }
    };
    let mut d = inherited.clone();
    let mut h = Health { check, ..Health::default() };
    let mut explicit_timeout = None;
    let mut url_seen = false;
    let mut sni = false;
    let (mut dns_name, mut dns_type) = (None, None);
    let mut dynamic = false;
    for c in n.children() {
        if common(c, &mut d, skipped) {
            if c.keyword == "connect_timeout" {
                explicit_timeout = Some((c.line, "connect_timeout"));
            }
            continue;
        }
        let arg = c.args.first().cloned();
        match (check, c.keyword.as_str()) {
            // keepalived's older name of `retry`, known to HTTP_GET and SSL_GET only.
            ("http" | "https", "nb_get_retry") => d.retry = number(c, skipped).or(d.retry),
            (_, "nb_get_retry") => skipped.push(Skipped::note(
                c.line,
                &c.text(),
                format!("ignored, as keepalived ignores it in {} (it knows `nb_get_retry` in HTTP_GET and SSL_GET only; `retry` is the keyword here)", n.keyword),
            )),
            (_, "connect_port") => match number(c, skipped).map(|p: u32| u16::try_from(p).ok().filter(|p| *p > 0)) {
                Some(Some(port)) => h.port = Some(port),
                Some(None) => skipped.push(Skipped::new(c.line, &c.text(), "expected a port 1..65535")),
                None => {}
            },
            ("http" | "https", "url") if !url_seen => {
                url_seen = true;
                h.http = Some(url(c, skipped));
            }
            ("http" | "https", "url") => skipped.push(Skipped::new(
                c.line,
                "url",
                "lvsync checks one URL per real server; only the first `url` was converted",
            )),
            ("https", "enable_sni") => sni = true,
            ("dns", "name") => dns_name = arg,
            ("dns", "type") => dns_type = arg,
            ("exec", "misc_path") => match arg.as_deref().map(argv) {
                Some(Ok(command)) => h.exec = Some(Exec { command }),
                Some(Err(why)) => skipped.push(Skipped::new(c.line, &c.text(), why)),
                None => skipped.push(Skipped::new(c.line, "misc_path", "it names no program")),
            },
            ("exec", "misc_timeout") => {
                d.connect_timeout = seconds(c, skipped);
                explicit_timeout = Some((c.line, "misc_timeout"));
            }
            (_, "connect_ip" | "bindto" | "bind_port" | "bind_if" | "fwmark") => skipped.push(Skipped::new(
                c.line,
                &c.text(),
                "lvsync probes the real server's own address from the director's, unmarked",
            )),
            ("exec", "misc_dynamic") => {
                dynamic = true;
                skipped.push(Skipped::new(
                    c.line,
                    "misc_dynamic",
                    "with it keepalived reads exit statuses 2-255 as up (with weight status - 2), where lvsync's `exec` check reads any status but 0 as a failure and would take healthy real servers out: this MISC_CHECK is not converted; make the script exit 0 for up and add the check by hand",
                ))
            }
            ("exec", "user") => {
                skipped.push(Skipped::new(c.line, &c.text(), "lvsync runs checks as the user it runs as"))
            }
            _ => skipped.push(Skipped::new(
                c.line,
                &c.text(),
                format!("unknown or unsupported keyword in {}", n.keyword),
            )),
        }
    }
    match check {
        "http" | "https" if h.http.is_none() => {
            skipped.push(Skipped::new(n.line, &n.keyword, "it has no `url { path ... }` to check"));
            return None;
        }
        "exec" if h.exec.is_none() => {
            skipped.push(Skipped::new(n.line, &n.keyword, "it has no usable `misc_path`"));
            return None;
        }
        "dns" => {
            // keepalived asks for the root zone when no name is given; lvsync's check needs one.
            let name = dns_name.as_deref().map(|n| n.trim_end_matches('.')).unwrap_or("");
            if name.is_empty() {
                let why = "it asks for the root zone `.`; lvsync's dns check asks for a name (give DNS_CHECK a `name`)";
                skipped.push(Skipped::new(n.line, &n.keyword, why));
                return None;
            }
            let kind = dns_type.unwrap_or_else(|| "SOA".into()).to_ascii_uppercase();
            h.dns = Some(Dns { name: name.to_string(), kind })
        }
        _ => {}
    }
    if dynamic {
        return None;
    }
    if check == "https" {
        let host = h.http.as_ref().and_then(|http| http.host.clone()).or(d.virtualhost.clone());
        h.tls = Some(Tls { verify: false, sni: if sni { host } else { None } });
    }
    if let Some(http) = h.http.as_mut() {
        http.host = http.host.take().or(d.virtualhost.clone());
    }
    let interval = d.delay_loop.unwrap_or(60.0);
    // MISC_CHECK's timeout defaults to delay_loop; lvsync needs it below the interval.
    let default_timeout = if check == "exec" { interval } else { 5.0 };
    let mut timeout = d.connect_timeout.unwrap_or(default_timeout);
    if timeout >= interval {
        if let Some((line, keyword)) = explicit_timeout {
            let why = format!(
                "lvsync needs a probe's timeout below its interval ({interval} s); it uses {} s",
                interval / 2.0
            );
            skipped.push(Skipped::new(line, &format!("{keyword} {timeout}"), why));
        } else {
            let why = format!(
                "keepalived's default timeout here ({timeout} s) is not below delay_loop ({interval} s), as lvsync needs: `timeout: {}`",
                interval / 2.0
            );
            skipped.push(Skipped::note(n.line, &n.keyword, why));
        }
        timeout = interval / 2.0;
    }
    h.interval = Some(Seconds(interval));
    h.timeout = Some(Seconds(timeout));
    h.rise = Some(1);
    h.fall = Some(d.retry.unwrap_or(default_retry) + 1);
    h.on_failure = Some(if d.inhibit == Some(true) { "quiesce" } else { "remove" });
    Some(h)
}

fn url(n: &Node, skipped: &mut Vec<Skipped>) -> Http {
    let mut http = Http { path: "/".into(), status: Some("200-299".into()), ..Http::default() };
    for c in n.children() {
        match c.keyword.as_str() {
            "path" => http.path = c.args.first().cloned().unwrap_or_else(|| "/".into()),
            // `status_code 200 301-302`: lvsync's list is `"200,301-302"`.
            "status_code" if !c.args.is_empty() => http.status = Some(c.args.join(",")),
            "virtualhost" => http.host = c.args.first().cloned(),
            "digest" => skipped.push(Skipped::new(
                c.line,
                &c.text(),
                "lvsync checks the status and a body substring, not an MD5 digest of the page",
            )),
            "regex" => match c.args.first() {
                Some(r) if !r.contains(|ch: char| "\\^$.|?*+()[]{}".contains(ch)) => http.body = Some(r.clone()),
                _ => skipped.push(Skipped::new(
                    c.line,
                    &c.text(),
                    "lvsync matches a literal body substring; this regular expression is not one",
                )),
            },
            _ => skipped.push(Skipped::new(c.line, &c.text(), "unknown or unsupported keyword in url")),
        }
    }
    http
}

/// `misc_path`'s command line as argv: words split on blanks, quotes group, no shell.
fn argv(line: &str) -> Result<Vec<String>, String> {
    if line.contains(['|', ';', '&', '$', '`', '<', '>', '*']) {
        return Err("it uses shell syntax; lvsync runs an exec check's program directly, with no shell".into());
    }
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote = None;
    let mut in_word = false;
    for ch in line.chars() {
        match (quote, ch) {
            (Some(q), ch) if ch == q => quote = None,
            (Some(_), ch) => word.push(ch),
            (None, '\'' | '"') => {
                quote = Some(ch);
                in_word = true;
            }
            (None, ch) if ch.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, ch) => {
                word.push(ch);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err("a quote in it is not closed".into());
    }
    if in_word {
        words.push(word);
    }
    if words.is_empty() { Err("it names no program".into()) } else { Ok(words) }
}

pub fn seconds(n: &Node, skipped: &mut Vec<Skipped>) -> Option<f64> {
    match n.args.first().map(|a| a.parse::<f64>()) {
        Some(Ok(v)) if v.is_finite() && v > 0.0 => Some(v),
        _ => {
            skipped.push(Skipped::new(n.line, &n.text(), "expected a number of seconds above 0"));
            None
        }
    }
}

pub fn number<T: std::str::FromStr>(n: &Node, skipped: &mut Vec<Skipped>) -> Option<T> {
    let v = n.args.first().and_then(|a| a.parse().ok());
    if v.is_none() {
        skipped.push(Skipped::new(n.line, &n.text(), "expected a whole number"));
    }
    v
}

/// A keepalived boolean: no word means true.
pub fn boolean(n: &Node, skipped: &mut Vec<Skipped>) -> Option<bool> {
    match n.args.first().map(|a| a.to_ascii_lowercase()) {
        None => Some(true),
        Some(a) if matches!(a.as_str(), "true" | "yes" | "on" | "1") => Some(true),
        Some(a) if matches!(a.as_str(), "false" | "no" | "off" | "0") => Some(false),
        Some(_) => {
            skipped.push(Skipped::new(n.line, &n.text(), "expected true or false"));
            None
        }
    }
}
