//! The preflight: read-only checks before `apply` and `plan` change anything.
