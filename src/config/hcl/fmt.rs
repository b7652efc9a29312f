//! Canonical HCL formatting (stub until the formatter lands).
