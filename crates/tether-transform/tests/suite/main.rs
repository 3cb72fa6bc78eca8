//! The tether-transform specification as tests: every kind on a real column type,
//! determinism, nulls, fitting, JavaScript, FK resolution and the key bookkeeping.
//! One integration-test binary for the crate (sections as modules).

mod common;
mod js;
mod keys_r13;
mod kinds;
mod properties;
mod resolve;
