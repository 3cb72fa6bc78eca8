//! Gateway tests against the test MariaDB (see scripts/test): a real gateway on a
//! free port, real clients (mysql_async, the stock `mariadb` command, Python's
//! pymysql), real backends. One test binary; modules by subject.

mod support;

mod backend_r15;
mod binlog;
mod binlog_r16;
mod cascade_r13;
mod charset_r15;
mod clash;
mod ddl_r14;
mod differential;
mod disallow_r17;
mod disguised;
mod dynamic_r15;
mod heldout;
mod keys_r14;
mod kill_r15;
mod limits;
mod locks_r14;
mod managed;
mod metadata;
mod online;
mod online_acceptance;
mod online_copy;
mod online_fk_r15;
mod online_r13;
mod online_r14;
mod online_r17;
mod online_review;
mod online_safety;
mod passthrough;
mod picked_r13;
mod prepared;
mod protocol_r13;
mod pymysql;
mod recheck_r17;
mod refresh;
mod review12;
mod review_a;
mod routing_r16;
mod session_r14;
mod session_state;
mod sharded;
mod sharded_atomic;
mod sharded_binlog;
mod sharded_fk_r16;
mod sharded_forms;
mod sharded_managed;
mod sharded_review;
mod sharded_routing;
mod tls;
mod triggers;
mod values_r14;
mod values_r15;
mod views_r17;
