//! `catctl context CAT --out DIR`: the template with the cat's files laid over it.

use predicates::prelude::*;

use crate::common::TestFarm;

#[test]
fn merges_the_template_and_the_cat() {
    let farm = TestFarm::new();
    farm.catctl().args(["copycat", "dd"]).assert().success();
    farm.write("cats/dd/extra/fish.txt", "tuna\n");
    let out = farm.path().join("X");
    farm.catctl()
        .args(["context", "dd", "--out", "X"])
        .assert()
        .success();
    assert_eq!(
        std::fs::read(out.join("Dockerfile")).unwrap(),
        std::fs::read(farm.path().join("templates/cat/Dockerfile")).unwrap()
    );
    assert_eq!(
        std::fs::read_to_string(out.join("cat.toml")).unwrap(),
        farm.read("cats/dd/cat.toml"),
        "the cat's cat.toml wins over the template's"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("extra/fish.txt")).unwrap(),
        "tuna\n"
    );
}

#[test]
fn refuses_a_non_empty_directory() {
    let farm = TestFarm::new();
    farm.catctl().args(["copycat", "dd"]).assert().success();
    farm.write("X/precious.txt", "keep me\n");
    farm.catctl()
        .args(["context", "dd", "--out", "X"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("not empty"));
    assert_eq!(farm.read("X/precious.txt"), "keep me\n");
    assert!(!farm.path().join("X/Dockerfile").exists());
}

#[test]
fn unknown_cat_suggests_copycat() {
    let farm = TestFarm::new();
    farm.catctl().args(["copycat", "dd"]).assert().success();
    farm.catctl()
        .args(["context", "tt", "--out", "X"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("no cat named 'tt'"))
        .stderr(predicate::str::contains("known cats: dd"))
        .stderr(predicate::str::contains("catctl copycat tt"));
    assert!(!farm.path().join("X").exists());
}
