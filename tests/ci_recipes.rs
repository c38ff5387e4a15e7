//! The CI recipes in examples/ci/: both are valid YAML of the shape their CI expects, and the
//! script they run, run here on a real git repository with the real binary, validates every
//! file (failing on an invalid one) and writes the markdown comment, with the plan against a
//! snapshot when one is published.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

fn recipe(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ci").join(name)
}

fn yaml(name: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(recipe(name)).unwrap();
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{name} is not valid YAML: {e}"))
}

#[test]
fn the_github_workflow_is_valid_yaml_running_the_review_on_pull_requests() {
    let w = yaml("github-actions.yml");
    assert!(w["on"]["pull_request"].is_object(), "{w}");
    assert_eq!(w["permissions"]["pull-requests"], "write");
    let steps = w["jobs"]["review"]["steps"].as_array().expect("steps");
    let runs: Vec<&str> = steps.iter().filter_map(|s| s["run"].as_str()).collect();
    assert!(runs.iter().any(|r| r.contains("lvsync-review.sh")), "{runs:?}");
    assert!(runs.iter().any(|r| r.contains("gh pr comment")), "{runs:?}");
}

#[test]
fn the_gitlab_pipeline_is_valid_yaml_running_the_review_on_merge_requests() {
    let p = yaml("gitlab-ci.yml");
    let job = &p["lvsync-review"];
    assert_eq!(job["stage"], "review");
    assert!(job["rules"][0]["if"].as_str().unwrap().contains("merge_request_event"));
    let script: Vec<&str> = job["script"].as_array().unwrap().iter().filter_map(|s| s.as_str()).collect();
    assert!(script.iter().any(|s| s.contains("lvsync-review.sh")), "{script:?}");
    assert!(script.iter().any(|s| s.contains("merge_requests/$CI_MERGE_REQUEST_IID/notes")), "{script:?}");
}

const WEB: &str = "version: 1\nservices:\n  - name: web\n    vip: 192.168.2.110\n    port: 80\n    \
                   real_servers:\n      - {address: 192.168.2.106, weight: 1}\n";

fn git(repo: &Path, args: &[&str]) {
    let out = Command::new("git").arg("-C").arg(repo).args(args).output().unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

fn review(repo: &Path, files: &[&str], snapshots: &str) -> (i32, String, String) {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_lvsync"));
    let out = Command::new("bash")
        .arg(recipe("lvsync-review.sh"))
        .args(files)
        .current_dir(repo)
        .env("LVSYNC", &bin)
        .env("BASE", "main")
        .env("SNAPSHOTS", snapshots)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let (o, e) = (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned());
    eprintln!("{o}{e}");
    (out.status.code().unwrap_or(-1), o, e)
}

#[test]
fn the_review_script_comments_the_diff_and_the_snapshot_plan_and_fails_on_an_invalid_file() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    git(repo, &["init", "-q", "-b", "main"]);
    git(repo, &["config", "user.email", "ci@example.com"]);
    git(repo, &["config", "user.name", "ci"]);
    std::fs::create_dir_all(repo.join("directors")).unwrap();
    std::fs::write(repo.join("directors/d1.yaml"), WEB).unwrap();
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-qm", "base"]);
    git(repo, &["checkout", "-qb", "change"]);
    std::fs::write(repo.join("directors/d1.yaml"), WEB.replace("weight: 1", "weight: 3")).unwrap();
    std::fs::write(repo.join("directors/d2.yaml"), WEB).unwrap();

    // A snapshot of d1's director, as `export --format json` would publish it: d1 as applied.
    let live = lvsync::desired::desired(&lvsync::model::load(WEB).unwrap(), &Default::default());
    let inventory = lvsync::state::Inventory {
        services: live.services.iter().map(|(k, s)| (*k, s.name.clone())).collect(),
        found: true,
        firewall: None,
        ..Default::default()
    };
    let snap = lvsync::snapshot::Snapshot::take(&live, &inventory, "d1".into(), SystemTime::now());
    std::fs::create_dir_all(repo.join("snapshots")).unwrap();
    std::fs::write(repo.join("snapshots/d1.json"), serde_json::to_string(&snap).unwrap()).unwrap();

    let (code, comment, _) = review(repo, &["directors/d1.yaml", "directors/d2.yaml"], "snapshots");
    assert_eq!(code, 0);
    assert!(comment.contains("#### lvsync diff `main:directors/d1.yaml` → `directors/d1.yaml`"), "{comment}");
    assert!(comment.contains("```diff\n! real server 192.168.2.106:80 of web: weight 1 -> 3\n```"), "{comment}");
    // d2 is new: everything in it is created.
    assert!(comment.contains("`main:directors/d2.yaml` → `directors/d2.yaml`"), "{comment}");
    assert!(comment.contains("+ service web (tcp/192.168.2.110:80)"), "{comment}");
    // d1's snapshot plan; d2 has no snapshot.
    assert!(comment.contains("Plan against the director's snapshot <code>d1.json</code>"), "{comment}");
    assert!(comment.contains("Note: planned against the snapshot of d1"), "{comment}");
    assert_eq!(comment.matches("<details>").count(), 1, "{comment}");

    std::fs::write(repo.join("directors/d2.yaml"), WEB.replace("weight: 1", "weight: heavy")).unwrap();
    let (code, comment, err) = review(repo, &["directors/d1.yaml", "directors/d2.yaml"], "");
    assert_eq!(code, 1);
    assert!(comment.contains("lvsync: invalid file"), "{comment}");
    assert!(err.contains("directors/d2.yaml") && err.contains("`heavy`"), "{err}");
}
