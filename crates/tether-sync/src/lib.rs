//! Tether's main job: copy a database, subset and transformed, with every foreign key
//! intact. For now this holds the demo database generator.

pub mod demo;
