//! Loader tests: whole files through [`super::load`].
