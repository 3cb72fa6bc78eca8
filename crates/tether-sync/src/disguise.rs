//! Servers that look alike and are not one, and one that feeds another unseen
//! (review r25c): when two databases of equal identity are one, and when a PostgreSQL
//! destination may publish into the source by logical replication. Pure: the caller
//! ([`crate::refuse_overlaps`]) reads the servers.

/// What two databases of equal identity are.
pub(crate) enum Twins {
    Same,
    /// Two servers that report the same (a PostgreSQL cluster cloned with pg_basebackup
    /// and run as a primary of its own; two MariaDB pods `mariadb-0` of one StatefulSet
    /// in two namespaces): the source's probe is not seen on the other.
    Distinct,
    /// Why nothing tells.
    Unknown(String),
}

/// Two databases of equal identity (`id`), the probe of one seen from the other or not
/// (`seen`, None: unknown); `both_primaries`: neither is a PostgreSQL standby, for
/// certain. A standby and its primary share their system identifier and not their
/// sessions, so on PostgreSQL only two primaries are told apart by the probe (review
/// r25c F2); a MariaDB/MySQL named lock is server-wide (F3).
pub(crate) fn twins(id: &tether_connect::Identity, both_primaries: bool, seen: Option<bool>) -> Twins {
    use tether_connect::Identity;
    let unknown = |what: &str| Twins::Unknown(format!("{what}, and no probe could be seen either way"));
    match (id, seen) {
        (Identity::Postgres { .. } | Identity::Mysql { .. }, Some(true)) => Twins::Same,
        (Identity::Postgres { .. }, _) if !both_primaries => Twins::Same,
        (Identity::Postgres { .. } | Identity::Mysql { .. }, Some(false)) => Twins::Distinct,
        (Identity::Postgres { .. }, None) if id.decisive() => unknown(
            "the same system identifier (a cluster and its copy made by pg_basebackup, each run as a primary, have \
             it too), neither a standby",
        ),
        (Identity::Postgres { .. }, None) => unknown(
            "the same address and port as the servers report them (two servers in containers can), neither a standby",
        ),
        (Identity::Mysql { .. }, None) => unknown(
            "the same host name, port and data directory (two containers or pods run alike report the same too)",
        ),
        _ => Twins::Same,
    }
}

/// Why the source's database may receive, by logical replication, what is written
/// into a PostgreSQL destination (`dest`): the source subscribes (or the login may not
/// read whether it does), and the destination can publish (`wal_level = logical`).
/// Evidence, where found: a publication of the destination that a subscription of the
/// source names.
pub(crate) fn logical_feed(source: &tether_connect::Logical, dest: &tether_connect::Logical) -> Option<String> {
    if !dest.can_publish {
        return None;
    }
    let subscriptions = match &source.subscriptions {
        Ok(s) if s.is_empty() => return None,
        Ok(s) => s,
        Err(e) => {
            return Some(format!(
                "the destination can publish (wal_level = logical) and the source's login may not read the source's \
                 subscriptions (pg_subscription: {e})"
            ))
        }
    };
    let published = subscriptions.iter().find_map(|sub| {
        dest.publications
            .iter()
            .find(|p| sub.publications.contains(&p.name))
            .map(|p| (sub, p))
    });
    if let Some((sub, p)) = published {
        const NAMED: usize = 5;
        let tables = match (p.all_tables, p.tables.len()) {
            (true, _) => "for all tables, those the job creates too".to_string(),
            (false, 0) => "with no table yet".to_string(),
            (false, k) => format!(
                "with {}{}",
                p.tables.iter().take(NAMED).cloned().collect::<Vec<_>>().join(", "),
                if k > NAMED {
                    format!(" and {} more", k - NAMED)
                } else {
                    String::new()
                }
            ),
        };
        return Some(format!(
            "the source's subscription `{}` subscribes to publication `{}`, which the destination publishes {tables}",
            sub.name, p.name
        ));
    }
    let names: Vec<String> = subscriptions
        .iter()
        .map(|s| format!("`{}` (publications {})", s.name, s.publications.join(", ")))
        .collect();
    Some(format!(
        "the source's database subscribes ({}) and the destination can publish (wal_level = logical): \
         its publisher may be the destination, or be fed by it",
        names.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tether_connect::{Identity, Logical, Publication, Subscription};

    fn pg(cluster: &str) -> Identity {
        Identity::Postgres {
            cluster: cluster.into(),
            database: "shop".into(),
        }
    }

    #[test]
    fn one_system_identifier_is_one_cluster_unless_two_primaries_say_otherwise() {
        let id = pg("with system identifier 7");
        // A standby (or a server whose recovery is unknown) and its primary: one.
        for seen in [Some(false), None, Some(true)] {
            assert!(matches!(twins(&id, false, seen), Twins::Same));
        }
        assert!(matches!(twins(&id, true, Some(true)), Twins::Same));
        assert!(matches!(twins(&id, true, Some(false)), Twins::Distinct));
        let Twins::Unknown(why) = twins(&id, true, None) else {
            panic!("unknown")
        };
        assert!(why.starts_with("the same system identifier"), "{why}");
        let Twins::Unknown(why) = twins(&pg("at 10.0.0.5 port 5432"), true, None) else {
            panic!("unknown")
        };
        assert!(why.starts_with("the same address and port"), "{why}");
        let my = Identity::Mysql {
            server: "mariadb-0:3306 (data directory /var/lib/mysql/)".into(),
            database: "shop".into(),
        };
        assert!(matches!(twins(&my, true, Some(false)), Twins::Distinct));
        assert!(matches!(twins(&my, true, Some(true)), Twins::Same));
        assert!(matches!(twins(&my, true, None), Twins::Unknown(_)));
    }

    fn logical(subscriptions: Result<Vec<Subscription>, String>, can_publish: bool, pubs: Vec<Publication>) -> Logical {
        Logical {
            subscriptions,
            can_publish,
            publications: pubs,
        }
    }

    #[test]
    fn a_subscribed_source_is_fed_by_a_destination_that_can_publish() {
        let sub = || {
            Ok(vec![Subscription {
                name: "s".into(),
                publications: vec!["p".into()],
            }])
        };
        let publication = |all| Publication {
            name: "p".into(),
            all_tables: all,
            tables: vec!["public.a".into(), "public.b".into()],
        };
        let none = logical(Ok(vec![]), true, vec![]);
        assert_eq!(
            logical_feed(&none, &logical(Ok(vec![]), true, vec![publication(true)])),
            None
        );
        // wal_level below logical: publishes nothing.
        assert_eq!(
            logical_feed(
                &logical(sub(), false, vec![]),
                &logical(Ok(vec![]), false, vec![publication(true)])
            ),
            None
        );
        let source = logical(sub(), false, vec![]);
        assert_eq!(
            logical_feed(&source, &logical(Ok(vec![]), true, vec![publication(false)])).as_deref(),
            Some("the source's subscription `s` subscribes to publication `p`, which the destination publishes with public.a, public.b")
        );
        assert_eq!(
            logical_feed(&source, &logical(Ok(vec![]), true, vec![])).as_deref(),
            Some(
                "the source's database subscribes (`s` (publications p)) and the destination can publish (wal_level = \
                 logical): its publisher may be the destination, or be fed by it"
            )
        );
        let unreadable = logical(Err("permission denied for table pg_subscription".into()), false, vec![]);
        assert!(logical_feed(&unreadable, &logical(Ok(vec![]), true, vec![]))
            .is_some_and(|w| w.ends_with("(pg_subscription: permission denied for table pg_subscription)")));
    }
}
