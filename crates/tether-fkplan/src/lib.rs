//! Managed foreign keys as data: one INSERT/UPDATE/DELETE/REPLACE plus the schema in,
//! an ordered plan of explicit statements out. Nothing here executes anything.
