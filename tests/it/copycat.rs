//! `catctl copycat`: validation first, never touching an existing cat, all or nothing.

use predicates::prelude::*;

use crate::common::{TestFarm, snapshot};

#[test]
fn creates_cats_and_never_overwrites_them() {
    let farm = TestFarm::new();
    farm.catctl()
        .args(["copycat", "dd", "tt", "coco"])
        .assert()
        .success()
        .stderr(predicate::str::contains("Created cats/dd"));
    for cat in ["dd", "tt", "coco"] {
        let text = farm.read(&format!("cats/{cat}/cat.toml"));
        assert!(text.contains("version = \"v1\""), "{text}");
        assert!(text.contains(&format!("name = \"{cat}\"")), "{text}");
    }
    // A cat's customised code must survive a second copycat (the `rm -rf` of copycat.sh).
    farm.write("cats/dd/cat.toml", "version = \"v7\"\n");
    farm.write("cats/dd/bot.js", "// DD's own code\n");
    let before = snapshot(farm.path());

    farm.catctl()
        .args(["copycat", "dd", "tt", "coco"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("cats/dd, cats/tt, cats/coco"))
        .stderr(predicate::str::contains("already exist"));
    assert_eq!(snapshot(farm.path()), before, "the tree changed");

    // One existing name among new ones: still nothing written.
    farm.catctl()
        .args(["copycat", "momo", "dd"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("cats/dd"))
        .stderr(predicate::str::contains("cats/momo").not());
    assert_eq!(snapshot(farm.path()), before, "momo was created anyway");
}

#[test]
fn invalid_names_are_refused_with_the_valid_name() {
    let farm = TestFarm::new();
    let before = snapshot(farm.path());
    farm.catctl()
        .args(["copycat", "dd_1"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("'_'"))
        .stderr(predicate::str::contains("use 'dd-1'"));
    farm.catctl()
        .args(["copycat", "DD"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("lower case"))
        .stderr(predicate::str::contains("use 'dd'"));
    // A valid name alongside an invalid one is not created either.
    farm.catctl()
        .args(["copycat", "tt", "Coco"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("use 'coco'"));
    assert_eq!(snapshot(farm.path()), before);
}

#[test]
fn too_long_names_are_refused_with_the_limit() {
    let farm = TestFarm::new();
    let name = format!("{}x", "cream-heroes-".repeat(4)); // 53 characters
    farm.catctl()
        .args(["copycat", &name])
        .assert()
        .failure()
        .stderr(predicate::str::contains("at most 46"));
    assert!(!farm.path().join("cats").exists());
    farm.catctl()
        .args(["copycat", &"a".repeat(46)])
        .assert()
        .success();
}

#[test]
fn a_name_given_twice_is_refused() {
    let farm = TestFarm::new();
    farm.catctl()
        .args(["copycat", "dd", "dd"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("named twice"));
    assert!(!farm.path().join("cats/dd").exists());
}

#[test]
fn works_from_a_subdirectory_of_the_farm() {
    let farm = TestFarm::new();
    std::fs::create_dir_all(farm.path().join("secret/deep")).unwrap();
    farm.catctl()
        .current_dir(farm.path().join("secret/deep"))
        .args(["copycat", "lulu"])
        .assert()
        .success();
    assert!(farm.path().join("cats/lulu/cat.toml").is_file());
}

#[test]
fn outside_a_farm_says_how_to_find_one() {
    let dir = tempfile::tempdir().unwrap();
    crate::common::catctl()
        .current_dir(dir.path())
        .args(["copycat", "dd"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("could not find catctl.toml"))
        .stderr(predicate::str::contains("--config"));
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
}
