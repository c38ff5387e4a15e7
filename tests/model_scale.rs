//! Size: a file of 20,000 services with 8 real servers each (180,000 table entries, about 9 MB)
//! validates, with no cap on honest size, and its problems still come with their lines. How
//! fast is measured in bench/ipvs-bench.sh, not here.

use std::fmt::Write;

use lvsync::model::load;

const SERVICES: usize = 20_000;
const REALS: usize = 8;

/// A NAT director with `wrr`, the shape of the generated files of the bench.
fn director(services: usize, broken: Option<usize>) -> String {
    let mut out = String::with_capacity(services * 460);
    out.push_str("version: 1\nownership: exclusive\nservices:\n");
    for i in 0..services {
        let scheduler = if Some(i) == broken { "wrrr" } else { "wrr" };
        let _ = write!(
            out,
            "  - name: s{i}\n    vip: 10.3.{}.{}\n    port: 80\n    scheduler: {scheduler}\n    forward: nat\n    real_servers:\n",
            i / 250,
            i % 250 + 1
        );
        for j in 0..REALS {
            let n = i * REALS + j;
            let _ = writeln!(
                out,
                "      - {{address: 10.{}.{}.{}, port: 8080, weight: {}}}",
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
fn twenty_thousand_services_validate() {
    let text = director(SERVICES, None);
    let config = load(&text).unwrap_or_else(|d| panic!("{}", d.render("big.yaml").lines().take(5).collect::<String>()));
    assert_eq!(config.services.len(), SERVICES);
    let reals: usize = config.services.iter().map(|s| s.service.reals.len()).sum();
    assert_eq!(reals, SERVICES * REALS);
    assert_eq!(config.services[SERVICES - 1].name, format!("s{}", SERVICES - 1));
}

/// One mistake near the end of the big file is found, at its line, with its path: the position
/// pass walks the file instead of giving up or mapping every node.
#[test]
fn a_mistake_at_the_end_of_a_big_file_gets_its_line() {
    let broken = SERVICES - 2;
    let text = director(SERVICES, Some(broken));
    let d = load(&text).unwrap_err();
    assert_eq!(d.len(), 1, "{}", d.render("big.yaml"));
    let e = &d.0[0];
    assert_eq!(e.path, format!("services[{broken}].scheduler"));
    // 3 header lines, then 6 + 8 lines per service; `scheduler` is the 4th line of one.
    assert_eq!(e.line, Some(3 + broken * (6 + REALS) + 4));
    assert!(
        e.message.contains("`wrrr`") && e.message.contains("did you mean") || e.message.contains("expected one of"),
        "{}",
        e.message
    );
}
