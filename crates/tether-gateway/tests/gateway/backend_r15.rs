//! Review r15 Q3: the gateway's own errors about its backend (cannot connect, lost)
//! reach libmariadb clients with their message. The stock `mariadb` command takes a
//! server error numbered 2000-2999 for "Received malformed packet" (2027) and drops
//! the message, so they are sent as 1105 (ER_UNKNOWN_ERROR).

use tether_testkit::tls;

use crate::support::{start_with, Gw, PASSWORD, USER};

fn mariadb_cli(gw: &Gw, args: &[&str]) -> (bool, String, String) {
    let bin = std::env::var("TETHER_TEST_MARIADB_BIN_DIR")
        .map(|d| format!("{d}/mariadb"))
        .unwrap_or_else(|_| "mariadb".into());
    let out = std::process::Command::new(bin)
        .args(["--no-defaults", "-h127.0.0.1", &format!("-P{}", gw.addr.port())])
        .args([&format!("-u{USER}"), &format!("-p{PASSWORD}"), "--batch"])
        .args(args)
        .output()
        .expect("the mariadb client runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_mariadb_command_shows_why_the_backend_cannot_be_reached() {
    let (server, c) = (tls::mariadb_tls(), tls::certs());
    server.create_db("gw_r15q");
    // A backend whose certificate is not from the CA the URL trusts.
    let backend = format!(
        "mysql://root@127.0.0.1:{}/gw_r15q?ssl-mode=VERIFY_IDENTITY&ssl-ca={}",
        server.port,
        c.other_ca.display()
    );
    let gw = start_with(
        &[
            ("ks", "unmanaged", &backend),
            ("down", "unmanaged", "mysql://root@127.0.0.1:1/x"),
        ],
        "",
    );
    let (ok, out, err) = mariadb_cli(&gw, &["ks", "-e", "SELECT 1"]);
    assert!(!ok, "{out}");
    // (The client echoes the statement before its error.)
    assert_eq!(
        err.trim().lines().last().expect("an error line"),
        format!(
            "ERROR 1105 (HY000) at line 1: tether gateway: cannot connect to backend mysql://root@127.0.0.1:{}/gw_r15q: \
             TLS certificate check failed: the server's certificate is not signed by a CA in ssl-ca {} (invalid peer \
             certificate: UnknownIssuer)",
            server.port,
            c.other_ca.display()
        )
    );
    // Nothing listening: the same number, and the reason.
    let (ok, _, err) = mariadb_cli(&gw, &["down", "-e", "SELECT 1"]);
    assert!(!ok);
    assert!(
        err.contains(
            "ERROR 1105 (HY000) at line 1: tether gateway: cannot connect to backend mysql://root@127.0.0.1:1/x: "
        ),
        "{err}"
    );
    assert!(!err.contains("malformed packet"), "{err}");
}
