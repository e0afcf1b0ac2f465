//! The README's model table is the registry's: every registered family has
//! its row, with the registry's own description.

use gpurec::models::FAMILIES;

#[test]
fn the_readme_lists_every_registered_family() {
    let readme = include_str!("../README.md");
    for f in FAMILIES {
        let row = format!("| `{}` | {} |", f.name, f.about);
        assert!(readme.contains(&row), "README.md lacks the row for {}: {row}", f.name);
    }
}
