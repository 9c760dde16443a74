//! `switchboard-build` writes exactly the golden files of
//! `codegen/tests/golden` (which `switchboard-codegen`'s golden and plugin
//! tests compare against): so the output the plugin produces, the output
//! `build.rs` produces and the output this crate compiles under
//! `deny(warnings, missing_docs)` are one and the same.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test

use std::path::Path;

#[test]
fn build_output_equals_the_golden_files() {
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../codegen/tests/golden");
    let built = Path::new(env!("OUT_DIR")).join("golden");
    let mut compared = 0;
    for entry in std::fs::read_dir(&golden).expect("golden dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let name = path.file_name().expect("file name");
        let expected = std::fs::read_to_string(&path).expect("golden file");
        let actual = std::fs::read_to_string(built.join(name))
            .unwrap_or_else(|e| panic!("{} was not generated: {e}", name.display()));
        assert!(
            actual == expected,
            "{} differs from the golden file {}",
            built.join(name).display(),
            path.display()
        );
        compared += 1;
    }
    assert_eq!(compared, 3, "one golden file per fixture");
}
