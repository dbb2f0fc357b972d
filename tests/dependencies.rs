//! What `bootstrap`'s package is built from: the sandbox and its server
//! framework are test equipment, so they must not be among the product's
//! normal dependencies at all (not merely left out by a feature or dropped
//! by the linker). SAM's `rust-cargolambda` build and `cargo lambda build`
//! then ship the right binary with no extra flags.

use std::process::Command;

/// The names of every package `exh-task` depends on for its library and
/// binaries (`cargo tree -e normal`), from the lock file, offline.
fn normal_dependencies() -> Vec<String> {
    let output = Command::new(env!("CARGO"))
        .args([
            "tree",
            "--offline",
            "--locked",
            "--package",
            "exh-task",
            "--edges",
            "normal",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("cargo tree prints text")
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_product_package_depends_on_neither_the_sandbox_nor_axum() {
    let dependencies = normal_dependencies();
    for control in ["exh-task", "lambda_runtime", "reqwest"] {
        assert!(
            dependencies.iter().any(|name| name == control),
            "control: {control} missing from {dependencies:?}"
        );
    }
    for test_equipment in ["exh-task-sandbox", "axum", "clap"] {
        assert!(
            !dependencies.iter().any(|name| name == test_equipment),
            "exh-task depends on {test_equipment}: {dependencies:?}"
        );
    }
}
