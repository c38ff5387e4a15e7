//! Section 3's last case against a real kernel (User-Mode Linux): a live table the file format
//! cannot express (a real server on loopback, the local-node setup; a
//! real server equal to its VIP; a non-contiguous persistence netmask) makes `export` exit 1
//! naming each, and print no file; a table it can express still exports a file `validate` takes.

mod ipvs_support;
mod uml_support;

use std::process::Command;

use ipvs_support::*;

fn lvsync(state: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_lvsync")).args(["--state-dir", state]).args(args).output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    eprintln!("$ lvsync {args:?} -> {:?}\n{stdout}{stderr}", out.status.code());
    (out.status.code(), stdout.into_owned(), stderr.into_owned())
}

#[test]
fn export_refuses_what_the_format_cannot_express() {
    uml_support::test_in_kernel("export_refuses_what_the_format_cannot_express", scratch(), || {
        director_network();
        let dir = scratch().join(format!("export-local-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let state = dir.join("state");
        let state = state.to_str().unwrap();

        ipvsadm_build(&["ipvsadm -A -t 10.1.0.20:80 -s rr", "ipvsadm -a -t 10.1.0.20:80 -r 10.1.1.20:80 -g"]);
        let (code, exported, _) = lvsync(state, &["export"]);
        assert_eq!(code, Some(0));
        let file = dir.join("exported.yaml");
        std::fs::write(&file, &exported).unwrap();
        assert_eq!(lvsync(state, &["validate", file.to_str().unwrap()]).0, Some(0));

        ipvsadm_build(&[
            "ipvsadm -A -t 10.1.0.21:80 -s rr",
            "ipvsadm -a -t 10.1.0.21:80 -r 127.0.0.1:80 -g",
            "ipvsadm -A -t 10.1.0.254:80 -s rr",
            "ipvsadm -a -t 10.1.0.254:80 -r 10.1.0.254:80 -g",
            "ipvsadm -A -t 10.1.0.22:80 -s rr -p 300 -M 255.0.255.0",
        ]);
        // The kernel takes a real server on loopback (it lists the method asked, `Route`; old
        // kernels listed such a real server as `Local`).
        let listing = sh("ipvsadm -Ln -t 10.1.0.21:80");
        assert!(listing.contains("127.0.0.1:80"), "{listing}");
        let (code, stdout, stderr) = lvsync(state, &["export"]);
        assert_eq!(code, Some(1), "{stderr}");
        assert_eq!(stdout, "", "no file is printed");
        assert!(stderr.contains("cannot express, so no file was written"), "{stderr}");
        assert!(
            stderr.contains("service tcp/10.1.0.21:80, real server 127.0.0.1:80: `127.0.0.1` is a loopback address"),
            "{stderr}"
        );
        assert!(stderr.contains("service tcp/10.1.0.254:80, real server 10.1.0.254:80: "), "{stderr}");
        assert!(stderr.contains("service tcp/10.1.0.22:80: `255.0.255.0` is not a valid IPv4 netmask"), "{stderr}");
    });
}
