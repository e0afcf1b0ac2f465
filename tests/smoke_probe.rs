mod common;
#[test]
fn probe() {
    let _ = common::gpu();
}
