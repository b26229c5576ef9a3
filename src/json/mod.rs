//! Decoded messages as JSON: canboat's analyzer format for interoperability.

pub mod canboat;

pub use canboat::{header, write_message, Style, Units};
