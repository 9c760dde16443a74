//! The comparison harness. Filled in by the benchmark issue.
