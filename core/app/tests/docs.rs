//! The architecture docs are checked against the code, so they cannot drift:
//! docs/design.md's ports table names exactly the traits of `ports.rs`, and
//! its crate table (and the README's layout table) exactly the workspace's
//! crates under `core/`.

use std::collections::BTreeSet;

const PORTS_RS: &str = include_str!("../src/ports.rs");
const DESIGN_MD: &str = include_str!("../../../docs/design.md");
const README_MD: &str = include_str!("../../../README.md");
const WORKSPACE: &str = include_str!("../../../Cargo.toml");

/// The first backticked word of each table row of the section under `heading`.
fn table_names(doc: &str, heading: &str) -> BTreeSet<String> {
    let section = doc.split(heading).nth(1).unwrap_or_else(|| panic!("{heading:?} not found"));
    let section = section.split("\n#").next().unwrap_or_default();
    section
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn design_md_lists_every_port_and_no_other() {
    let in_code: BTreeSet<String> = PORTS_RS
        .lines()
        .filter_map(|l| l.strip_prefix("pub trait "))
        .filter_map(|l| l.split(':').next())
        .map(str::to_owned)
        .collect();
    assert!(in_code.len() > 10, "{in_code:?}");
    let in_docs = table_names(DESIGN_MD, "### Ports and the adapter bundle");
    let in_docs: BTreeSet<String> = in_docs.into_iter().filter(|n| !n.contains(' ')).collect();
    assert_eq!(in_docs, in_code, "docs/design.md's ports table against core/app/src/ports.rs");
}

#[test]
fn design_md_and_the_readme_list_every_core_crate() {
    let members: BTreeSet<String> = WORKSPACE
        .lines()
        .filter_map(|l| l.trim().strip_prefix("\"core/"))
        .filter_map(|l| l.split('"').next())
        .map(|dir| format!("keyturn-{dir}"))
        .collect();
    assert!(members.len() >= 5, "{members:?}");
    let design: BTreeSet<String> =
        table_names(DESIGN_MD, "## Workspace").into_iter().filter(|n| n.starts_with("keyturn-")).collect();
    let core_only: BTreeSet<String> = design.iter().filter(|c| members.contains(*c)).cloned().collect();
    assert_eq!(core_only, members, "docs/design.md's crate table against the workspace's core/ members");
    let readme: BTreeSet<String> = table_names(README_MD, "## Layout")
        .into_iter()
        .filter_map(|p| p.strip_prefix("core/").map(|d| format!("keyturn-{}", d.trim_end_matches('/'))))
        .collect();
    assert_eq!(readme, members, "README's layout table against the workspace's core/ members");
}
