//! Malformed configuration names the file, the line and the key.

use predicates::prelude::*;

use crate::common::TestFarm;

fn farm_with_dd(cat_toml: &str) -> TestFarm {
    let farm = TestFarm::new();
    farm.write("cats/dd/cat.toml", cat_toml);
    farm
}

#[test]
fn unknown_key_in_cat_toml() {
    let farm = farm_with_dd("version = \"v1\"\nreplica = 2\n");
    farm.catctl()
        .args(["context", "dd", "--out", "X"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("cats/dd/cat.toml:2:"))
        .stderr(predicate::str::contains("unknown field `replica`"));
}

#[test]
fn wrong_type_in_cat_toml() {
    let farm = farm_with_dd("version = \"v1\"\n\nreplicas = \"two\"\n");
    farm.catctl()
        .args(["list"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("cats/dd/cat.toml:3:"))
        .stderr(predicate::str::contains("key `replicas`"))
        .stderr(predicate::str::contains("invalid type"));
}

#[test]
fn latest_is_refused_as_a_version() {
    let farm = farm_with_dd("# DD\nversion = \"latest\"\n");
    farm.catctl()
        .args(["list"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("cats/dd/cat.toml:2"))
        .stderr(predicate::str::contains("key `version`"))
        .stderr(predicate::str::contains("explicit version"));
}

#[test]
fn unknown_key_in_catctl_toml() {
    let farm = TestFarm::new();
    farm.write(
        "catctl.toml",
        "registry = \"127.0.0.1:5000\"\nnamespaces = \"x\"\n",
    );
    farm.catctl()
        .args(["list"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("catctl.toml:2:"))
        .stderr(predicate::str::contains("unknown field `namespaces`"));
}

#[test]
fn bad_registry_is_explained() {
    let farm = TestFarm::new();
    farm.catctl()
        .args(["list", "--registry", "https://gcr.io/x"])
        .assert()
        .failure()
        .stderr(predicate::str::contains("must not include a scheme"));
}

#[test]
fn explicit_config_is_used() {
    let farm = TestFarm::new();
    farm.write("other/catctl.toml", "registry = \"gcr.io/cream-heros\"\n");
    std::fs::create_dir_all(farm.path().join("other/cats")).unwrap();
    crate::common::copy_tree(
        &farm.path().join("templates"),
        &farm.path().join("other/templates"),
    );
    farm.catctl()
        .args(["--config", "other/catctl.toml", "copycat", "dd"])
        .assert()
        .success();
    assert!(farm.path().join("other/cats/dd/cat.toml").is_file());
    farm.catctl()
        .args(["--config", "other/catctl.toml", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("gcr.io/cream-heros/dd:v1"));
}
