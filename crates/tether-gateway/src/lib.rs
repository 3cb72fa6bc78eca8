//! `tether gateway`: a MySQL-protocol server in front of MariaDB/MySQL that can take
//! over foreign-key enforcement per keyspace.
