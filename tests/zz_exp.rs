#[test]
fn exp() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("exp");
    let o = lvsync::lab::kernel::boot(&lvsync::lab::kernel::Boot::new(
        &dir,
        [concat!(env!("CARGO_MANIFEST_DIR"), "/target/exp.sh")],
    ))
    .unwrap();
    println!("{}", o.output);
}
