//! Any text at all: an error or a config, never a panic.

use super::*;
use proptest::prelude::*;

const TOKENS: &[&str] = &[
    "version",
    "services",
    "name",
    "vip",
    "port",
    "real_servers",
    "address",
    "weight",
    "firewall",
    "tunnel",
    "- ",
    ": ",
    "{",
    "}",
    "[",
    "]",
    ", ",
    "\n",
    "  ",
    "&a ",
    "*a",
    "<<",
    "1",
    "0",
    "-3",
    "99999999999999999999",
    "192.168.2.110",
    "::",
    "#",
    "'",
    "\"",
    "~",
    "!!str ",
    "? ",
    "|\n",
    ">-\n",
    "\t",
    "---\n",
    "...\n",
    "%YAML 1.2\n",
];

fn examples() -> Vec<String> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    // Files only: examples/ci holds CI recipes.
    let mut files: Vec<_> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_file()).collect();
    files.sort();
    files.into_iter().map(|p| std::fs::read_to_string(p).unwrap()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn on_arbitrary_strings(text in ".{0,400}") {
        if let Err(d) = load(&text) {
            prop_assert_eq!(d.render("f.yaml").lines().count(), d.len());
        }
    }

    #[test]
    fn on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = load(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn on_yaml_shaped_noise(tokens in proptest::collection::vec(proptest::sample::select(TOKENS), 0..80)) {
        let _ = load(&tokens.concat());
    }

    #[test]
    fn on_mutated_examples(
        which in 0usize..16,
        edits in proptest::collection::vec((any::<proptest::sample::Index>(), 0u8..4, any::<char>()), 1..8),
    ) {
        let all = examples();
        let mut text: Vec<char> = all[which % all.len()].chars().collect();
        for (at, kind, ch) in edits {
            if text.is_empty() { break; }
            let i = at.index(text.len());
            match kind {
                0 => { text.remove(i); }
                1 => text.insert(i, ch),
                2 => text[i] = ch,
                _ => { let line: Vec<char> = text[i..].iter().take_while(|c| **c != '\n').copied().collect(); text.splice(i..i, line); }
            }
        }
        let text: String = text.into_iter().collect();
        if let Err(d) = load(&text) {
            // Every problem comes with something to read.
            prop_assert!(d.iter().all(|e| !e.message.is_empty()));
            prop_assert!(!d.is_empty());
            prop_assert_eq!(d.render("f.yaml").lines().count(), d.len());
        }
    }
}

#[test]
fn on_deep_nesting_and_alias_bombs() {
    let deep = format!("version: 1\nservices: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    assert!(load(&deep).is_err());
    let deep_map = format!("version: 1\nipvs: {}1{}\n", "{a: ".repeat(50_000), "}".repeat(50_000));
    assert!(load(&deep_map).is_err());
    let mut bomb = String::from("version: 1\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..20 {
        let prev = format!("*a{}", i - 1);
        bomb.push_str(&format!("a{i}: &a{i} [{}]\n", [prev.as_str(); 10].join(", ")));
    }
    assert!(load(&bomb).is_err());
    assert!(load("\u{feff}version: 1\n").is_ok());
    assert!(load("version: 1\r\nservices: []\r\n").is_ok());
}
