//! `cargo lambda build --release` (what `make lambdas` and CDK run) adds
//! `strip`, `lto = "thin"`, `codegen-units = 1` and `panic = "abort"` for
//! every one of these keys the workspace's `[profile.release]` leaves out
//! (cargo-lambda-metadata, `cargo_release_profile_config`). A key dropped
//! from Cargo.toml would silently change the deployed bootstrap instead of
//! falling back to Cargo's default, as `panic` did before it was written
//! down (the bootstrap aborted on panic while the docs said it unwound).

const KEYS_CARGO_LAMBDA_FILLS_IN: [&str; 4] = ["strip", "lto", "codegen-units", "panic"];

/// The `key = value` lines of one `[section]` of a TOML file (enough for
/// Cargo.toml's flat profile tables; comments and blank lines skipped).
fn section<'a>(toml: &'a str, name: &str) -> Vec<(&'a str, &'a str)> {
    let header = format!("[{name}]");
    toml.lines()
        .map(str::trim)
        .skip_while(|l| *l != header)
        .skip(1)
        .take_while(|l| !l.starts_with('['))
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect()
}

#[test]
fn the_release_profile_sets_every_key_cargo_lambda_would_otherwise_choose() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml");
    let toml = std::fs::read_to_string(path).expect("the workspace Cargo.toml");
    let release = section(&toml, "profile.release");
    assert!(!release.is_empty(), "no [profile.release] in {path}");
    for key in KEYS_CARGO_LAMBDA_FILLS_IN {
        assert!(
            release.iter().any(|(k, _)| *k == key),
            "[profile.release] in {path} must set `{key}`: cargo-lambda sets it otherwise (see this test's module docs)"
        );
    }
}

#[test]
fn section_reads_only_the_named_table() {
    let toml = "[a]\nx = 1\n# c\n\n[profile.release]\nlto = true\npanic = \"abort\"\n[b]\nstrip = true\n";
    assert_eq!(section(toml, "profile.release"), vec![("lto", "true"), ("panic", "\"abort\"")]);
    assert!(section(toml, "missing").is_empty());
}
