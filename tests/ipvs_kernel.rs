//! The IPVS backend against a real kernel (User-Mode Linux), with ipvsadm as the independent
//! oracle both ways. One boot runs every scenario in turn, each starting from an empty table.

mod ipvs_support;
mod uml_support;

use ipvs_support::*;
use lvsync::backend::Backend;
use lvsync::inventory::Inventory;
use lvsync::ipvs::{Error, IpvsBackend};
use lvsync::plan::{Change, IpvsChange, plan};
use lvsync::state::{
    Family, Forward, Netmask, Ownership, Persistence, RealKey, RealServer, Scheduler, Service, ServiceAttrs,
    ServiceKey, State,
};

fn svc(s: &str) -> ServiceKey {
    s.parse().unwrap()
}

fn observe(b: &mut IpvsBackend) -> State {
    let mut s = State::default();
    b.observe(&mut s).unwrap();
    s
}

fn reset() {
    sh("ipvsadm -C && ipvsadm --set 900 120 300");
}

#[test]
fn ipvs_backend_against_the_kernel_with_ipvsadm_as_oracle() {
    uml_support::test_in_kernel("ipvs_backend_against_the_kernel_with_ipvsadm_as_oracle", scratch(), || {
        director_network();
        let mut b = IpvsBackend::connect().expect("IPVS in the kernel");
        lvsync_builds_what_ipvsadm_builds(&mut b);
        lvsync_reads_what_ipvsadm_built(&mut b);
        a_second_apply_makes_no_kernel_write(&mut b);
        drift_is_planned_precisely_and_repaired(&mut b);
        ownership_managed_leaves_foreign_services_exclusive_removes_them(&mut b);
        a_service_removed_from_the_file_is_deleted(&mut b);
        identity_change_is_delete_and_create(&mut b);
        in_place_updates_keep_connections_and_counters(&mut b);
        observe_services_reads_only_those(&mut b);
        many_batches_and_dumps_agree_with_ipvsadm(&mut b);
        kernel_refusals_are_sentences_naming_the_object(&mut b);
        without_cap_net_admin_lvsync_says_so();
        drop(b);
        without_the_ipvs_module_lvsync_says_how_to_load_it();
    });
}

/// Apply the rich table with lvsync, then build it again with ipvsadm: `ipvsadm-save -n`
/// prints the same both times.
fn lvsync_builds_what_ipvsadm_builds(b: &mut IpvsBackend) {
    reset();
    let desired = rich_state();
    let changes = creations(&desired);
    let done = b.execute_ipvs(&changes).unwrap();
    assert_eq!(done.writes, changes.len());
    let by_lvsync = ipvsadm_save();
    println!("{}", by_lvsync.join("\n"));
    // ipvsadm-save leaves out thresholds; the listings show them (and the timeouts).
    let listings = || [sh("ipvsadm -Ln --thresholds"), sh("ipvsadm -Ln --tun-info"), sh("ipvsadm -L --timeout")];
    let listed_by_lvsync = listings();
    assert!(listed_by_lvsync[0].contains("SCTP 10.1.0.3:5000 wrr"), "{}", listed_by_lvsync[0]);
    reset();
    ipvsadm_build(RICH_IPVSADM);
    assert_eq!(by_lvsync, ipvsadm_save());
    assert_eq!(listed_by_lvsync, listings());
}

/// Build the rich table with ipvsadm; lvsync observes exactly the state it describes.
fn lvsync_reads_what_ipvsadm_built(b: &mut IpvsBackend) {
    reset();
    ipvsadm_build(RICH_IPVSADM);
    assert_eq!(observe(b), rich_state());
}

fn exclusive(desired: &State, b: &mut IpvsBackend) -> lvsync::plan::Plan {
    plan(desired, &observe(b), Ownership::Exclusive, &Inventory::default())
}

fn ids(p: &lvsync::plan::Plan) -> Vec<String> {
    p.changes.iter().map(|c| format!("{} {} {}", c.action().as_str(), c.kind(), c.id())).collect()
}

/// Plan + execute from an empty table, then plan again: nothing to do, and executing the empty
/// plan sends no request.
fn a_second_apply_makes_no_kernel_write(b: &mut IpvsBackend) {
    reset();
    let desired = rich_state();
    let first = exclusive(&desired, b);
    let done = b.execute(&first.changes).unwrap();
    assert_eq!(done.writes, first.changes.len());
    let second = exclusive(&desired, b);
    assert!(second.is_empty(), "{:?}", ids(&second));
    assert_eq!(b.execute(&second.changes).unwrap().writes, 0);
}

/// Weights changed, real servers added and deleted by hand: the plan names exactly those, and
/// applying it restores the table ipvsadm-save printed before.
fn drift_is_planned_precisely_and_repaired(b: &mut IpvsBackend) {
    reset();
    ipvsadm_build(RICH_IPVSADM);
    let before = ipvsadm_save();
    sh("ipvsadm -e -t 10.1.0.1:80 -r 10.1.1.1:80 -g -w 9");
    sh("ipvsadm -a -t 10.1.0.1:80 -r 10.1.1.9:80 -g -w 1");
    sh("ipvsadm -d -f 42 -r 10.1.1.5");
    sh("ipvsadm -E -t [2001:db8:1::1]:443 -s rr");
    let p = exclusive(&rich_state(), b);
    let mut got = ids(&p);
    got.sort();
    let mut want = vec![
        "update service tcp/[2001:db8:1::1]:443".to_string(),
        "update real_server tcp/10.1.0.1:80/10.1.1.1:80".to_string(),
        "create real_server fwmark/42/10.1.1.5:0".to_string(),
        "delete real_server tcp/10.1.0.1:80/10.1.1.9:80".to_string(),
    ];
    want.sort();
    assert_eq!(got, want);
    assert_eq!(b.execute(&p.changes).unwrap().writes, 4);
    assert_eq!(ipvsadm_save(), before);
}

/// A service the file does not declare: `managed` lists it and leaves it alone, `exclusive`
/// deletes it.
fn ownership_managed_leaves_foreign_services_exclusive_removes_them(b: &mut IpvsBackend) {
    reset();
    let desired = rich_state();
    b.execute(&creations(&desired)).unwrap();
    sh("ipvsadm -A -t 10.1.0.99:25 -s rr && ipvsadm -a -t 10.1.0.99:25 -r 10.1.1.99:25 -g");
    let managed = plan(&desired, &observe(b), Ownership::Managed, &Inventory::default());
    assert!(managed.is_empty(), "{:?}", ids(&managed));
    assert_eq!(managed.unmanaged.len(), 1);
    assert_eq!(managed.unmanaged[0].key, svc("tcp/10.1.0.99:25"));
    assert_eq!(managed.unmanaged[0].reals, 1);
    let ex = exclusive(&desired, b);
    assert_eq!(ids(&ex), ["delete service tcp/10.1.0.99:25"]);
    assert_eq!(b.execute(&ex.changes).unwrap().writes, 1);
    assert!(!ipvsadm_save().iter().any(|l| l.contains("10.1.0.99")));
    assert_eq!(observe(b), desired);
}

/// Under `managed`, a service lvsync applied before (in the inventory) that left the file is
/// deleted.
fn a_service_removed_from_the_file_is_deleted(b: &mut IpvsBackend) {
    reset();
    let full = rich_state();
    b.execute(&creations(&full)).unwrap();
    let inventory =
        Inventory { services: full.services.keys().map(|k| (*k, None)).collect(), found: true, ..Default::default() };
    let mut smaller = full.clone();
    smaller.services.remove(&svc("tcp/10.1.0.1:80"));
    let p = plan(&smaller, &observe(b), Ownership::Managed, &inventory);
    assert_eq!(ids(&p), ["delete service tcp/10.1.0.1:80"]);
    b.execute(&p.changes).unwrap();
    assert_eq!(observe(b), smaller);
}

fn one_service(key: &str, attrs: ServiceAttrs, reals: &[(&str, u16, u32)]) -> State {
    let reals = reals
        .iter()
        .map(|(a, p, w)| {
            let real = RealServer { weight: *w, forward: Forward::Dr, upper_threshold: 0, lower_threshold: 0 };
            (RealKey { address: a.parse().unwrap(), port: *p }, real)
        })
        .collect();
    let mut s = State::default();
    s.services.insert(svc(key), Service { name: None, attrs, reals });
    s
}

/// A new port is a new service: planned as create + delete, never as an update.
fn identity_change_is_delete_and_create(b: &mut IpvsBackend) {
    reset();
    let rr = ServiceAttrs { scheduler: Scheduler::Rr, ..Default::default() };
    let old = one_service("tcp/10.1.0.1:80", rr.clone(), &[("10.1.1.1", 80, 1)]);
    b.execute(&creations(&old)).unwrap();
    let new = one_service("tcp/10.1.0.1:8080", rr, &[("10.1.1.1", 80, 1)]);
    let inventory = Inventory { services: [(svc("tcp/10.1.0.1:80"), None)].into(), found: true, ..Default::default() };
    let p = plan(&new, &observe(b), Ownership::Managed, &inventory);
    assert_eq!(
        ids(&p),
        [
            "create service tcp/10.1.0.1:8080",
            "create real_server tcp/10.1.0.1:8080/10.1.1.1:80",
            "delete service tcp/10.1.0.1:80"
        ]
    );
    b.execute(&p.changes).unwrap();
    assert_eq!(observe(b).services, new.services);
}

fn conns(b: &mut IpvsBackend, key: &str) -> u64 {
    b.service_stats(&svc(key)).unwrap().expect("service exists").conns().expect("conns counter")
}

/// Connections from the director itself to the VIP are scheduled by IPVS (its LOCAL_OUT hook):
/// they make counters and connection entries without any other machine.
fn connect_to_vip(addr: &str, times: usize) {
    for _ in 0..times {
        let _ = std::net::TcpStream::connect_timeout(&addr.parse().unwrap(), std::time::Duration::from_millis(100));
    }
}

/// Scheduler, persistence, weight and threshold changes are SET_SERVICE / SET_DEST: the
/// service's counters and its connection entries survive. Delete + create (the control) resets them.
fn in_place_updates_keep_connections_and_counters(b: &mut IpvsBackend) {
    reset();
    let key = "tcp/10.1.0.1:80";
    let v1 = one_service(key, ServiceAttrs { scheduler: Scheduler::Rr, ..Default::default() }, &[("10.1.1.1", 80, 1)]);
    b.execute(&creations(&v1)).unwrap();
    connect_to_vip("10.1.0.1:80", 3);
    // The kernel folds per-CPU counters into what it reports every 2 seconds.
    let mut before = 0;
    for _ in 0..60 {
        before = conns(b, key);
        if before == 3 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(before, 3, "connections not scheduled: {}", sh("cat /proc/net/ip_vs_conn; ipvsadm -Ln --stats"));
    let conn_entry = "0A010001 0050";
    assert!(sh("cat /proc/net/ip_vs_conn").contains(conn_entry));

    let mut v2 = one_service(
        key,
        ServiceAttrs {
            scheduler: Scheduler::Wrr,
            persistence: Some(Persistence { timeout: 300, netmask: Netmask::host(Family::Ipv4), engine: None }),
            ..Default::default()
        },
        &[("10.1.1.1", 80, 5)],
    );
    v2.services.get_mut(&svc(key)).unwrap().reals.values_mut().for_each(|r| r.upper_threshold = 50);
    let p = exclusive(&v2, b);
    assert_eq!(ids(&p), ["update service tcp/10.1.0.1:80", "update real_server tcp/10.1.0.1:80/10.1.1.1:80"]);
    assert_eq!(b.execute(&p.changes).unwrap().writes, 2);
    assert_eq!(observe(b).services, v2.services);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    assert_eq!(conns(b, key), before, "counters reset by an in-place update");
    assert!(sh("cat /proc/net/ip_vs_conn").contains(conn_entry), "connection entry lost");

    // Control: delete + create starts from zero.
    let k = svc(key);
    let attrs = v2.services[&k].attrs.clone();
    let before_svc = v2.services[&k].clone();
    b.execute(&[
        Change::Ipvs(IpvsChange::DeleteService { key: k, name: None, before: Box::new(before_svc) }),
        Change::Ipvs(IpvsChange::CreateService { key: k, name: None, attrs: Box::new(attrs) }),
    ])
    .unwrap();
    assert_eq!(conns(b, key), 0);
}

/// The watch mode's fast path: only the named services are read; a missing one is absent;
/// the rest of the state is left as it was.
fn observe_services_reads_only_those(b: &mut IpvsBackend) {
    reset();
    ipvsadm_build(RICH_IPVSADM);
    let mut state = observe(b);
    sh("ipvsadm -e -t 10.1.0.1:80 -r 10.1.1.1:80 -g -w 9");
    sh("ipvsadm -D -u 10.1.0.2:53");
    sh("ipvsadm -e -f 42 -r 10.1.1.4 -g -w 3"); // not asked for: must not show
    let mut expected = rich_state();
    let web = svc("tcp/10.1.0.1:80");
    expected.services.get_mut(&web).unwrap().reals.values_mut().next().unwrap().weight = 9;
    expected.services.remove(&svc("udp/10.1.0.2:53"));
    b.observe_services(&[web, svc("udp/10.1.0.2:53"), svc("tcp/10.9.9.9:1")], &mut state).unwrap();
    assert_eq!(state, expected);
}

fn big_state(services: usize, reals: usize) -> State {
    let mut s = State::default();
    for i in 0..services {
        let key = svc(&format!("tcp/10.3.{}.{}:80", i / 250, i % 250 + 1));
        let reals = (0..reals)
            .map(|j| {
                let n = i * reals + j;
                let address = format!("10.1.{}.{}", 10 + n / 250, n % 250 + 1).parse().unwrap();
                (
                    RealKey { address, port: 80 },
                    RealServer { weight: (n % 5) as u32, forward: Forward::Dr, upper_threshold: 0, lower_threshold: 0 },
                )
            })
            .collect();
        s.services.insert(key, Service { name: None, attrs: ServiceAttrs::default(), reals });
    }
    s
}

/// Many requests split into many datagrams, many dumps one after the other, and one service too
/// big for one dump part (its parts come in several reads).
fn many_batches_and_dumps_agree_with_ipvsadm(b: &mut IpvsBackend) {
    reset();
    let mut state = big_state(300, 8);
    let huge = one_service("tcp/10.4.0.1:80", ServiceAttrs::default(), &[]);
    let mut huge_svc = huge.services.into_iter().next().unwrap();
    for j in 0..300u32 {
        let address = format!("10.1.{}.{}", 100 + j / 250, j % 250 + 1).parse().unwrap();
        huge_svc.1.reals.insert(
            RealKey { address, port: 80 },
            RealServer { weight: 1, forward: Forward::Nat, upper_threshold: 0, lower_threshold: 0 },
        );
    }
    state.services.insert(huge_svc.0, huge_svc.1);
    let changes = creations(&state);
    b.client().limit_batch(7);
    assert_eq!(b.execute(&changes).unwrap().writes, 301 + 300 * 8 + 300);
    assert_eq!(observe(b).services, state.services);
    b.client().limit_batch(usize::MAX);
    assert_eq!(observe(b).services, state.services);
    assert_eq!(ipvsadm_save().len(), 301 + 300 * 8 + 300);
    // Many keys: read through one service dump, filtered; a missing key is absent.
    let mut keys: Vec<ServiceKey> = state.services.keys().copied().collect();
    keys.push(svc("tcp/10.9.9.9:1"));
    let mut read = State::default();
    b.observe_services(&keys, &mut read).unwrap();
    assert_eq!(read.services, state.services);
    reset();
}

fn refused(b: &mut IpvsBackend, changes: &[Change]) -> (String, Option<i32>) {
    let e = b.execute_ipvs(changes).expect_err("the kernel should refuse");
    (e.to_string(), e.errno())
}

/// Each kernel refusal becomes one sentence: what was being done, to which object, and what to do.
fn kernel_refusals_are_sentences_naming_the_object(b: &mut IpvsBackend) {
    reset();
    let key = svc("tcp/10.1.0.1:80");
    let rk = RealKey { address: "10.1.1.1".parse().unwrap(), port: 80 };
    let real = RealServer { weight: 1, forward: Forward::Dr, upper_threshold: 0, lower_threshold: 0 };
    let create = |attrs: ServiceAttrs| {
        Change::Ipvs(IpvsChange::CreateService { key, name: Some("web".into()), attrs: Box::new(attrs) })
    };

    let (msg, errno) =
        refused(b, &[create(ServiceAttrs { scheduler: Scheduler::Other("nosuch".into()), ..Default::default() })]);
    assert_eq!(errno, Some(libc::ENOENT));
    assert_eq!(
        msg,
        "creating service web (tcp/10.1.0.1:80): unknown scheduler `nosuch`: load its module with `modprobe ip_vs_nosuch`"
    );

    let (msg, _) = refused(b, &[Change::Ipvs(IpvsChange::CreateReal { service: key, key: rk, real })]);
    assert_eq!(msg, "creating real server 10.1.1.1:80 in service tcp/10.1.0.1:80: no such service");

    b.execute(&[create(ServiceAttrs::default())]).unwrap();
    let (msg, errno) = refused(b, &[create(ServiceAttrs::default())]);
    assert_eq!(errno, Some(libc::EEXIST));
    assert_eq!(msg, "creating service web (tcp/10.1.0.1:80): it already exists");

    // The director's own subnet broadcast address is not a unicast one.
    let far = RealKey { address: "10.1.255.255".parse().unwrap(), port: 80 };
    let (msg, errno) = refused(b, &[Change::Ipvs(IpvsChange::CreateReal { service: key, key: far, real })]);
    assert_eq!(errno, Some(libc::EINVAL));
    assert!(msg.starts_with("creating real server 10.1.255.255:80 in service tcp/10.1.0.1:80: "), "{msg}");
    assert!(msg.contains("must be a unicast address this director can route to"), "{msg}");

    let heavy = RealServer { weight: 1 << 31, ..real };
    let (msg, errno) = refused(b, &[Change::Ipvs(IpvsChange::CreateReal { service: key, key: rk, real: heavy })]);
    assert_eq!(errno, Some(libc::ERANGE));
    assert!(msg.contains("out of range"), "{msg}");
    let upside_down = RealServer { upper_threshold: 5, lower_threshold: 10, ..real };
    let (msg, _) = refused(b, &[Change::Ipvs(IpvsChange::CreateReal { service: key, key: rk, real: upside_down })]);
    assert!(msg.contains("lower threshold at most the upper"), "{msg}");

    let (msg, errno) =
        refused(b, &[Change::Ipvs(IpvsChange::UpdateReal { service: key, key: rk, before: real, after: real })]);
    assert_eq!(errno, Some(libc::ENOENT));
    assert_eq!(msg, "updating real server 10.1.1.1:80 in service tcp/10.1.0.1:80: no such real server in this service");

    // A failure stops what follows: later batches are not sent.
    b.client().limit_batch(1);
    let other = svc("tcp/10.1.0.5:80");
    let (msg, _) = refused(
        b,
        &[
            create(ServiceAttrs::default()),
            Change::Ipvs(IpvsChange::CreateService { key: other, name: None, attrs: Box::default() }),
        ],
    );
    assert!(msg.contains("already exists"), "{msg}");
    b.client().limit_batch(usize::MAX);
    assert!(!observe(b).services.contains_key(&other));
    reset();
}

/// Run as nobody, without CAP_NET_ADMIN: the kernel refuses even reading, and lvsync says why.
fn without_cap_net_admin_lvsync_says_so() {
    let exe = std::env::current_exe().unwrap();
    let out = sh(&format!(
        "setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all {} helper_observe_unprivileged --exact --ignored --nocapture 2>&1",
        exe.display()
    ));
    assert!(
        out.contains("REFUSED: reading the IPVS services: not permitted: IPVS needs CAP_NET_ADMIN, even to read it"),
        "{out}"
    );
}

#[test]
#[ignore = "a helper: the kernel test runs it as an unprivileged user"]
fn helper_observe_unprivileged() {
    let mut state = State::default();
    let err = IpvsBackend::connect().and_then(|mut b| b.observe_ipvs(&mut state)).expect_err("should be refused");
    println!("REFUSED: {err}");
}

/// Last: unload IPVS altogether; connecting says how to load it.
fn without_the_ipvs_module_lvsync_says_how_to_load_it() {
    reset();
    sh("for m in $(lsmod | awk '/^ip_vs_/ {print $1}'); do rmmod $m; done; rmmod ip_vs");
    let err = IpvsBackend::connect().err().expect("no IPVS without its module");
    assert!(matches!(err, Error::NoIpvs));
    assert!(err.to_string().contains("`modprobe ip_vs`"), "{err}");
}
