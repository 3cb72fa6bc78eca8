//! Twenty-first session (review r21d F2): a `[[subset.relations]]` whose `table` is
//! unknown, or is not the FK's child, said the FK does not exist; an FK name shared by
//! two tables without `table` quietly applied to both. Each is now refused naming what
//! is wrong, by the plan (exit code 2), before anything is written.

use tether_testkit::{TestDb, TestEngine as Engine};

/// The plan's refusal of a job with `relation` on a source where `s1.child` and
/// `s2.child` both have an FK named `fk_p`.
fn refusal(src: &TestDb, relation: &str) -> Result<(), String> {
    let text = format!(
        "source = \"{}\"\nprivacy = \"off\"\n[[destinations]]\nurl = \"sqlite:///tmp/relations_r22_unused.sqlite\"\n\
         [[subset.targets]]\ntable = \"s1.parent\"\nwhere = \"id = 1\"\n[[subset.relations]]\n{relation}\n",
        src.url
    );
    let job = tether_sync::Job::parse("job.toml", &text, &|_| None).expect("job");
    tether_testkit::block_on(async {
        match tether_sync::prepare(&job).await {
            Ok(p) => {
                p.source.close().await;
                Ok(())
            }
            Err(e) => {
                assert!(matches!(e, tether_sync::SyncError::Plan(_)), "exit code 2: {e:?}");
                Err(e.to_string())
            }
        }
    })
}

#[test]
fn a_relation_naming_the_wrong_table_or_an_ambiguous_fk_is_refused_naming_what_is_wrong() {
    let src = TestDb::create(Engine::Postgres);
    src.exec(
        "CREATE SCHEMA s1; CREATE SCHEMA s2;
         CREATE TABLE s1.parent (id int PRIMARY KEY);
         CREATE TABLE s1.child (id int PRIMARY KEY, p int CONSTRAINT fk_p REFERENCES s1.parent);
         CREATE TABLE s2.child (id int PRIMARY KEY, p int CONSTRAINT fk_p REFERENCES s1.parent);",
    );
    let at = "job.toml: line 8: subset relation: ";
    assert_eq!(
        refusal(
            &src,
            "foreign_key = \"fk_p\"\ntable = \"nosuch\"\nfollow_children = false"
        ),
        Err(format!("{at}table `nosuch` does not exist in the source"))
    );
    assert_eq!(
        refusal(
            &src,
            "foreign_key = \"fk_p\"\ntable = \"s1.parent\"\nfollow_children = false"
        ),
        Err(format!(
            "{at}foreign key `fk_p` is not a foreign key of table `s1.parent`: `table` names the FK's child \
             table, which is `s1.child` or `s2.child`"
        ))
    );
    assert_eq!(
        refusal(&src, "foreign_key = \"fk_p\"\nfollow_children = false"),
        Err(format!(
            "{at}foreign key `fk_p` is the name of an FK of 2 tables (`s1.child`, `s2.child`): set `table` to the \
             child table it means"
        ))
    );
    assert_eq!(
        refusal(&src, "foreign_key = \"fk_q\"\nfollow_children = false"),
        Err(format!("{at}foreign key `fk_q` does not exist among the copied tables"))
    );
    // Named with its child, it plans.
    assert_eq!(
        refusal(
            &src,
            "foreign_key = \"fk_p\"\ntable = \"s2.child\"\nfollow_children = false"
        ),
        Ok(())
    );
}
