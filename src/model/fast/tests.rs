//! The fast path agrees with serde-saphyr whenever it answers, and answers for the files lvsync
//! users write: the examples, the bench's generated files, and `lvsync export`'s output.

use std::fmt::Write;
use std::path::Path;

use proptest::prelude::*;

use super::{raw, try_parse};

fn saphyr(text: &str) -> Result<raw::File, String> {
    super::super::parse_saphyr(text).map_err(|d| d.render("test.yaml"))
}

/// The fast result, after checking that it is serde-saphyr's whenever there is one.
fn agreed(text: &str) -> Option<raw::File> {
    let fast = try_parse(text).ok()?;
    assert_eq!(saphyr(text).as_ref(), Ok(&fast), "the fast path differs from serde-saphyr on:\n{text}");
    Some(fast)
}

fn accepted(text: &str) -> raw::File {
    if let Err(e) = try_parse(text) {
        panic!("the fast path refused ({e}):\n{text}");
    }
    agreed(text).unwrap()
}

const WEB: &str = "version: 1\nservices:\n  - name: web\n    vip: 10.0.0.1\n    port: 80\n    real_servers:\n      - {address: 10.0.1.1, weight: 2}\n";

fn yaml_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}

#[test]
fn every_example_is_read_by_the_fast_path_as_serde_saphyr_reads_it() {
    // Not examples/ci/: those are CI workflows.
    let files: Vec<_> = std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    assert!(files.len() >= 5, "{files:?}");
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        if let Err(e) = try_parse(&text) {
            panic!("{}: refused: {e}", path.display());
        }
        accepted(&text);
    }
}

/// Fixtures that are lvsync files are read alike; those that are not (or not in the subset) are
/// left to serde-saphyr.
#[test]
fn fixtures_are_read_alike_or_left_to_serde_saphyr() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut files = Vec::new();
    yaml_files(&root.join("fixtures"), &mut files);
    let mut fast = 0;
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        fast += usize::from(agreed(&text).is_some());
    }
    assert!(fast >= 1, "no fixture was read by the fast path: {files:?}");
}

/// The bench's files: flow real servers, as `bench/` and issue 12 generate them.
fn bench_flow(services: usize) -> String {
    let mut out = String::from("version: 1\nownership: exclusive\nservices:\n");
    for i in 0..services {
        let _ = write!(
            out,
            "  - name: s{i}\n    vip: 10.3.{}.{}\n    port: 80\n    scheduler: wlc\n    forward: dr\n    real_servers:\n",
            i / 250,
            i % 250 + 1
        );
        for j in 0..8 {
            let n = i * 8 + j;
            let _ = writeln!(
                out,
                "      - {{address: 10.{}.{}.{}, weight: {}}}",
                64 + n / 62_500,
                n / 250 % 250,
                n % 250 + 1,
                n % 5 + 1
            );
        }
    }
    out
}

#[test]
fn the_bench_files_are_read_by_the_fast_path() {
    accepted(&bench_flow(300));
    let big = bench_flow(2000);
    assert_eq!(try_parse(&big).unwrap().services.len(), 2000);
}

/// `lvsync export` writes block style (`- address: ...` / `  weight: ...`); reading its output
/// back must be fast too.
#[test]
fn export_output_is_read_by_the_fast_path() {
    let full = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/full.yaml")).unwrap();
    for text in [full, bench_flow(300)] {
        let state = crate::model::load(&text).unwrap().state();
        let exported = crate::model::export(&state);
        assert!(exported.contains("\n  - name: "), "{exported}");
        let file = accepted(&exported);
        assert_eq!(file.services.len(), state.services.len());
    }
}

#[test]
fn null_spellings_for_options_agree() {
    for null in ["", " ~", " null", " Null", " NULL", " # a comment"] {
        let text = format!("version: 1\nownership:{null}\nservices:\n  - name: a\n    vip:{null}\n    port:{null}\n");
        let file = accepted(&text);
        assert_eq!((file.ownership, file.services[0].vip.clone(), file.services[0].port), (None, None, None));
    }
    // Quoted, they are text.
    let file = accepted("version: 1\nownership: 'null'\nservices:\n  - name: a\n    vip: \"~\"\n    protocol: ''\n");
    assert_eq!(file.ownership.as_deref(), Some("null"));
    assert_eq!(file.services[0].vip.as_deref(), Some("~"));
    assert_eq!(file.services[0].protocol.as_deref(), Some(""));
}

#[test]
fn quoted_strings_agree() {
    let file = accepted(concat!(
        "version: 1\nservices:\n",
        "  - name: 'it''s'\n    vip: \"a \\\"b\\\" \\\\ c\\td\\n\"\n",
        "    health: {check: udp, udp: {send: 'x: #y', expect: \"[1, 2]\"}}\n",
    ));
    assert_eq!(file.services[0].name, "it's");
    assert_eq!(file.services[0].vip.as_deref(), Some("a \"b\" \\ c\td\n"));
}

#[test]
fn layouts_agree() {
    for text in [
        // A sequence at its key's indent, and one deeper.
        "version: 1\nservices:\n- name: a\n  real_servers:\n  - address: 10.0.0.1\n  - {address: 10.0.0.2}\n  vip: 10.0.0.3\n",
        "---\nversion: 1\nservices:\n    -   name: a\n        real_servers:\n            -    address: 10.0.0.1\n                 weight: 0\n",
        "--- # the file\n# comment\n\nversion: 1 # trailing\nservices: []\nfirewall: [ ]\n",
        "version: 1\nservices:\n  - name: a\n    scheduler_flags: [ sh-port ,flag-1 ]\n    persistence: {}\n    health: {check: exec, exec: {command: [/bin/x, '{address}', \"{port}\"]}}\n",
        "version: 1\nservices:\n  - name: a\n    vip: 2001:db8::1\n    persistence: {netmask: 64}\n    real_servers: [{address: 2001:db8::2, port: 0}, {address: 10.0.0.1:80}]\n",
        "version: 1\nservices:\n  - name: a\n    persistence: {netmask: 255.255.255.0}\n    min_healthy: 2\n    drain_timeout: 30\n    health:\n      http:\n        status: 200\n",
        "version: 1\nipvs:\n  sysctls: {conntrack: true, sloppy_tcp: false}\n  timeouts:\n    tcp: 900\n    udp: -1\nservices: []\n",
        "version: 1\nservices: []\nha:\n  engine: keepalived\n  interface: eth0\n  vrid: 51\n  nodes:\n  - {name: lb1, address: 10.0.0.1, priority: 100}\n",
        "version: 1\nservices:\n  - name: a\n    real_servers:\n    # between\n\n    - address: 10.0.0.1   # after\n      # inside\n      weight: 3\n",
    ] {
        accepted(text);
    }
}

/// What the fast path leaves to serde-saphyr: each text is refused, and the same text without
/// its construct (WEB) is accepted, so the construct is what was refused.
#[test]
fn constructs_outside_the_subset_are_left_to_serde_saphyr() {
    accepted(WEB);
    let cases = [
        ("anchor", WEB.replace("- {address", "- &a {address")),
        ("alias", format!("{WEB}      - *a\n")),
        ("tag", WEB.replace("vip: 10", "vip: !!str 10")),
        ("tag on a key", WEB.replace("port: 80", "!!str port: 80")),
        ("block scalar", WEB.replace("vip: 10.0.0.1", "vip: |\n      10.0.0.1")),
        ("folded scalar", WEB.replace("vip: 10.0.0.1", "vip: >-\n      10.0.0.1")),
        ("multi-line plain", WEB.replace("vip: 10.0.0.1", "vip: 10.0.0.1\n      more")),
        ("multi-line plain under a key", WEB.replace("vip: 10.0.0.1", "vip:\n      10.0.0.1")),
        ("multi-line quoted", WEB.replace("vip: 10.0.0.1", "vip: '10.0.0.1\n      x'")),
        ("multi-line flow", WEB.replace("{address: 10.0.1.1, weight: 2}", "{address: 10.0.1.1,\n        weight: 2}")),
        ("tab", WEB.replace("port: 80", "port:\t80")),
        ("tab indent", WEB.replace("    port: 80", "\tport: 80")),
        ("complex key", WEB.replace("port: 80", "? port\n    : 80")),
        ("directive", format!("%YAML 1.2\n---\n{WEB}")),
        ("document end", format!("{WEB}...\n")),
        ("second document", format!("{WEB}---\nversion: 1\n")),
        ("duplicate key", WEB.replace("port: 80", "port: 80\n    port: 80")),
        ("duplicate flow key", WEB.replace("weight: 2}", "weight: 2, weight: 2}")),
        ("BOM", format!("\u{feff}{WEB}")),
        ("non-ASCII", WEB.replace("name: web", "name: wéb")),
        ("CRLF", WEB.replace('\n', "\r\n")),
        ("plus sign", WEB.replace("port: 80", "port: +80")),
        ("leading zero", WEB.replace("port: 80", "port: 080")),
        ("hex", WEB.replace("port: 80", "port: 0x50")),
        ("underscore", WEB.replace("port: 80", "port: 8_0")),
        ("minus zero", WEB.replace("port: 80", "port: -0")),
        ("overflow", WEB.replace("port: 80", "port: 9223372036854775808")),
        ("float", WEB.replace("port: 80", "port: 80.0")),
        ("quoted integer", WEB.replace("port: 80", "port: '80'")),
        ("number as text", WEB.replace("name: web", "name: 80")),
        ("float as text", WEB.replace("name: web", "name: 1.5")),
        ("bool as text", WEB.replace("name: web", "name: true")),
        ("YAML 1.1 bool as text", WEB.replace("name: web", "name: yes")),
        ("infinity as text", WEB.replace("name: web", "name: .inf")),
        ("null as text", WEB.replace("name: web", "name: ~")),
        ("empty as text", WEB.replace("name: web", "name:")),
        ("capital bool", format!("{WEB}director: {{forwarding: True}}\n")),
        ("quoted bool", format!("{WEB}director: {{forwarding: 'true'}}\n")),
        ("escape", WEB.replace("name: web", "name: \"w\\x65b\"")),
        ("unicode escape", WEB.replace("name: web", "name: \"w\\u0065b\"")),
        ("float seconds", WEB.replace("port: 80", "port: 80\n    drain_timeout: 0.5")),
        ("empty item", format!("{WEB}      -\n")),
        ("nested item", format!("{WEB}      - - 1\n")),
        ("empty flow value", WEB.replace("weight: 2}", "weight: }")),
        ("trailing flow comma", WEB.replace("weight: 2}", "weight: 2,}")),
        ("flow key without space", WEB.replace("weight: 2}", "weight:2}")),
        ("quoted key", WEB.replace("port: 80", "\"port\": 80")),
        ("key with space before colon", WEB.replace("port: 80", "port : 80")),
        ("mapping in a scalar", WEB.replace("vip: 10.0.0.1", "vip: a: b")),
        ("comment without space", WEB.replace("vip: 10.0.0.1", "vip: '10.0.0.1'# x")),
        ("null list", format!("{WEB}firewall:\n")),
        ("unknown key", format!("{WEB}extra: 1\n")),
        ("missing key", WEB.replace("version: 1\n", "")),
        ("bad indent", WEB.replace("    port: 80", "     port: 80")),
        ("merge key", WEB.replace("port: 80", "<<: {port: 80}")),
        ("flow root", "{version: 1, services: []}\n".to_string()),
    ];
    for (what, text) in cases {
        assert!(try_parse(&text).is_err(), "{what}: taken by the fast path:\n{text}");
    }
}

/// The fast path changes nothing of what users see: `load` of a file outside the subset still
/// gives serde-saphyr's diagnostics.
#[test]
fn load_still_reports_serde_saphyrs_errors() {
    let text = WEB.replace("port: 80", "port: 80\n    port: 81");
    let d = crate::model::load(&text).unwrap_err();
    assert_eq!(d.0, super::super::parse_saphyr(&text).unwrap_err().0);
    assert!(d.render("f.yaml").contains("duplicate"), "{}", d.render("f.yaml"));
}

// A generator of lvsync-like files in the styles the subset has, each scalar written plain or
// quoted, with comments and blank lines between.

#[derive(Debug, Clone)]
enum Quote {
    Plain,
    Single,
    Double,
}

fn text(value: &str, quote: &Quote) -> String {
    // Words YAML reads as another type must be quoted to be text.
    let special = ["true", "false", "yes", "no", "on", "off", "y", "n", "null", "inf", "infinity", "nan"];
    match quote {
        Quote::Plain if !special.contains(&value) => value.to_string(),
        Quote::Double => format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\"")),
        _ => format!("'{}'", value.replace('\'', "''")),
    }
}

fn quote() -> impl Strategy<Value = Quote> {
    prop_oneof![4 => Just(Quote::Plain), 1 => Just(Quote::Single), 1 => Just(Quote::Double)]
}

fn address() -> impl Strategy<Value = String> {
    prop_oneof![
        (0..=255u8, 0..=255u8, 0..=255u8, 1..=254u8).prop_map(|(a, b, c, d)| format!("{a}.{b}.{c}.{d}")),
        (1..=0xffffu32, 0..=0xffffu32).prop_map(|(a, b)| format!("2001:db8:{a:x}::{b:x}")),
        (1..=254u8, 1..=65535u32).prop_map(|(d, p)| format!("10.0.0.{d}:{p}")),
    ]
}

#[derive(Debug, Clone)]
struct Real {
    address: (String, Quote),
    weight: Option<i64>,
    port: Option<i64>,
    health: Option<(String, Quote)>,
    flow: bool,
}

fn real() -> impl Strategy<Value = Real> {
    (
        (address(), quote()),
        proptest::option::of(-3..3000i64),
        proptest::option::of(0..70000i64),
        proptest::option::of(("[a-z]{1,6}", quote())),
        any::<bool>(),
    )
        .prop_map(|(address, weight, port, health, flow)| Real { address, weight, port, health, flow })
}

#[derive(Debug, Clone)]
struct Svc {
    name: (String, Quote),
    vip: Option<(String, Quote)>,
    port: Option<i64>,
    flags: Vec<String>,
    flags_flow: bool,
    one_packet: Option<bool>,
    reals: Vec<Real>,
    /// `real_servers:` items at the key's own indent.
    compact: bool,
    comment: Option<String>,
}

fn service() -> impl Strategy<Value = Svc> {
    (
        ("[a-z][a-z0-9.-]{0,8}", quote()),
        proptest::option::of((address(), quote())),
        proptest::option::of(0..70000i64),
        proptest::collection::vec("[a-z][a-z0-9-]{0,6}", 0..3),
        any::<bool>(),
        proptest::option::of(any::<bool>()),
        proptest::collection::vec(real(), 0..4),
        any::<bool>(),
        proptest::option::of("[ a-z:#'\"]{0,12}"),
    )
        .prop_map(|(name, vip, port, flags, flags_flow, one_packet, reals, compact, comment)| Svc {
            name,
            vip,
            port,
            flags,
            flags_flow,
            one_packet,
            reals,
            compact,
            comment,
        })
}

/// The file, with `step` spaces of indentation.
fn render(services: &[Svc], step: usize, marker: bool, firewall: bool) -> String {
    let pad = |n: usize| " ".repeat(n * step);
    let mut out = String::new();
    if marker {
        out.push_str("---\n");
    }
    out.push_str("# generated\nversion: 1\n\nservices:");
    out.push_str(if services.is_empty() { " []\n" } else { "\n" });
    for s in services {
        if let Some(c) = &s.comment {
            let _ = writeln!(out, "{}#{c}", pad(1));
        }
        let _ = writeln!(out, "{}- name: {}", pad(1), text(&s.name.0, &s.name.1));
        let i = pad(1) + "  ";
        if let Some((vip, q)) = &s.vip {
            let _ = writeln!(out, "{i}vip: {}   # the VIP", text(vip, q));
        }
        if let Some(p) = s.port {
            let _ = writeln!(out, "{i}port: {p}");
        }
        if !s.flags.is_empty() {
            if s.flags_flow {
                let flags: Vec<String> = s.flags.iter().map(|f| text(f, &Quote::Plain)).collect();
                let _ = writeln!(out, "{i}scheduler_flags: [{}]", flags.join(", "));
            } else {
                let _ = writeln!(out, "{i}scheduler_flags:");
                for f in &s.flags {
                    let _ = writeln!(out, "{i}{}- {}", pad(1), text(f, &Quote::Plain));
                }
            }
        }
        if let Some(b) = s.one_packet {
            let _ = writeln!(out, "{i}one_packet: {b}");
        }
        if s.reals.is_empty() {
            continue;
        }
        let _ = writeln!(out, "{i}real_servers:");
        let d = if s.compact { i.clone() } else { format!("{i}{}", pad(1)) };
        for r in &s.reals {
            let mut fields = vec![format!("address: {}", text(&r.address.0, &r.address.1))];
            fields.extend(r.port.map(|p| format!("port: {p}")));
            fields.extend(r.weight.map(|w| format!("weight: {w}")));
            fields.extend(r.health.as_ref().map(|(c, q)| format!("health: {{check: {}}}", text(c, q))));
            if r.flow {
                let _ = writeln!(out, "{d}- {{{}}}", fields.join(", "));
            } else {
                for (n, f) in fields.iter().enumerate() {
                    let _ = writeln!(out, "{d}{} {f}", if n == 0 { "-" } else { " " });
                }
                out.push('\n');
            }
        }
    }
    if firewall {
        out.push_str("firewall:\n- name: in\n  action: accept\n  sources: [10.0.0.0/8, '192.168.0.0/16']\n");
    }
    out
}

fn file() -> impl Strategy<Value = String> {
    (proptest::collection::vec(service(), 0..5), 2..5usize, any::<bool>(), any::<bool>())
        .prop_map(|(services, step, marker, firewall)| render(&services, step, marker, firewall))
}

/// Constructs outside the subset, and slips, to put anywhere in a file.
fn noise() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("&a ".to_string()),
        Just("*a".to_string()),
        Just("!!str ".to_string()),
        Just("|\n".to_string()),
        Just("\t".to_string()),
        Just("? ".to_string()),
        Just(": ".to_string()),
        Just("\"\\x41\"".to_string()),
        Just(" ".to_string()),
        Just("\n".to_string()),
        Just("- ".to_string()),
        Just("~".to_string()),
        Just("#".to_string()),
        Just(",".to_string()),
        Just("{".to_string()),
        Just("]".to_string()),
        Just("'".to_string()),
        Just("port: 1\n".to_string()),
        Just("0".to_string()),
        Just("---\n".to_string()),
        "[ -~]{1,4}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn generated_files_are_read_by_the_fast_path_as_serde_saphyr_reads_them(text in file()) {
        accepted(&text);
    }

    #[test]
    fn damaged_files_are_refused_or_read_alike(text in file(), cuts in proptest::collection::vec((any::<prop::sample::Index>(), noise()), 1..3)) {
        let mut text = text;
        for (at, noise) in cuts {
            let mut at = at.index(text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            text.insert_str(at, &noise);
        }
        agreed(&text);
    }
}
