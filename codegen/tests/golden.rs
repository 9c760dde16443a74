//! Golden files: the generated source of each fixture in `tests/golden/`
//! (`x.proto` → `x.rs`, default options) is compared byte for byte with the
//! checked-in `x.rs`, so any change in the output shows up as a diff in
//! review. To accept a change, regenerate them:
//!
//! ```sh
//! SWITCHBOARD_BLESS=1 cargo test -p switchboard-codegen --test golden
//! ```
//!
//! `switchboard-generated-tests` compiles the same fixtures with
//! `switchboard-build` under `deny(warnings, missing_docs)` and checks that
//! its output equals these files too.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a failed unwrap is a failed test

mod support;

use support::{descriptors, first_difference, golden_dir, golden_protos};
use switchboard_codegen::{Options, generate};

#[test]
fn generated_source_matches_the_golden_files() {
    let bless = std::env::var_os("SWITCHBOARD_BLESS").is_some_and(|v| v == "1");
    let mut failures = Vec::new();
    for (stem, _) in golden_protos() {
        let files = descriptors(&golden_dir(), &format!("{stem}.proto"));
        let generated = generate(&mut prost_build::Config::new(), &Options::default(), files)
            .unwrap_or_else(|e| panic!("{stem}.proto: {e}"));
        let names: Vec<&str> = generated.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [format!("{stem}.rs")],
            "{stem}.proto: one package, one file"
        );
        let actual = &generated[0].content;
        let golden = golden_dir().join(format!("{stem}.rs"));
        if bless {
            std::fs::write(&golden, actual).expect("write golden file");
            continue;
        }
        let expected = std::fs::read_to_string(&golden).unwrap_or_default();
        if *actual != expected {
            failures.push(format!(
                "{}: {}",
                golden.display(),
                first_difference(actual, &expected)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "generated code differs from the golden files (if intended, rerun with \
         SWITCHBOARD_BLESS=1 and review the diff):\n{}",
        failures.join("\n")
    );
}
