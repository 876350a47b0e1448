//! Malformed configuration names the file, the line and the key.

use crate::common::{Farm, copy_tree};

fn farm_with_dd(cat_toml: &str) -> Farm {
    let farm = Farm::new();
    farm.write("cats/dd/cat.toml", cat_toml);
    farm
}

#[test]
fn unknown_key_in_cat_toml() {
    let farm = farm_with_dd("version = \"v1\"\nreplica = 2\n");
    farm.run(["context", "dd", "--out", "X"])
        .fails()
        .stderr_has("cats/dd/cat.toml:2:")
        .stderr_has("unknown field `replica`");
}

#[test]
fn wrong_type_in_cat_toml() {
    let farm = farm_with_dd("version = \"v1\"\n\nreplicas = \"two\"\n");
    farm.run(["list"])
        .fails()
        .stderr_has("cats/dd/cat.toml:3:")
        .stderr_has("key `replicas`")
        .stderr_has("invalid type");
}

#[test]
fn latest_is_refused_as_a_version() {
    let farm = farm_with_dd("# DD\nversion = \"latest\"\n");
    farm.run(["list"])
        .fails()
        .stderr_has("cats/dd/cat.toml:2")
        .stderr_has("key `version`")
        .stderr_has("explicit version");
}

#[test]
fn unknown_key_in_catctl_toml() {
    let farm = Farm::new();
    farm.write(
        "catctl.toml",
        "registry = \"127.0.0.1:5000\"\nnamespaces = \"x\"\n",
    );
    farm.run(["list"])
        .fails()
        .stderr_has("catctl.toml:2:")
        .stderr_has("unknown field `namespaces`");
}

#[test]
fn bad_registry_is_explained() {
    let farm = Farm::new();
    farm.run(["list", "--registry", "https://gcr.io/x"])
        .fails()
        .stderr_has("must not include a scheme");
}

#[test]
fn explicit_config_is_used() {
    let farm = Farm::new();
    farm.write("other/catctl.toml", "registry = \"gcr.io/cream-heros\"\n");
    std::fs::create_dir_all(farm.path().join("other/cats")).unwrap();
    copy_tree(
        &farm.path().join("templates"),
        &farm.path().join("other/templates"),
    );
    farm.run(["--config", "other/catctl.toml", "copycat", "dd"])
        .ok();
    assert!(farm.path().join("other/cats/dd/cat.toml").is_file());
    farm.run(["--config", "other/catctl.toml", "list"])
        .ok()
        .stdout_has("gcr.io/cream-heros/dd:v1");
}
