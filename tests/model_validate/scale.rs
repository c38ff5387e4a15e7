//! Scale: thousands of services.

use super::*;

/// Thousands of services: every one resolved, and every problem among them found.
#[test]
fn thousands_of_services_load_and_report_every_problem() {
    let n = 3000;
    let mut text = String::from("version: 1\nservices:\n");
    for i in 0..n {
        text.push_str(&format!(
            "  - name: svc-{i}\n    vip: 10.{}.{}.1\n    port: 80\n    real_servers:\n      - address: 192.168.{}.{}\n",
            i / 256,
            i % 256,
            i / 200,
            i % 200 + 2
        ));
    }
    text.push_str("firewall:\n");
    for i in 0..n {
        text.push_str(&format!("  - {{name: r{i}, action: accept, service: svc-{i}}}\n"));
    }
    let started = std::time::Instant::now();
    let c = load(&text).unwrap();
    assert_eq!((c.services.len(), c.firewall.len()), (n, n));
    // Generous: a debug build on a busy machine; release loads 5000 services in ~0.1 s.
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "{:?}", started.elapsed());

    let broken = text.replace("port: 80\n", "port: 80000\n");
    let d = load(&broken).unwrap_err();
    assert_eq!(d.len(), n);
    assert_eq!(d.0[n - 1].path, format!("services[{}].port", n - 1));
    assert_eq!(d.0[n - 1].line, Some(2 + 5 * (n - 1) + 3));
}
