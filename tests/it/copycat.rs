//! `catctl copycat`: validation first, never touching an existing cat, all or nothing.

use crate::common::{Catctl, Farm, tree};

#[test]
fn creates_cats_and_never_overwrites_them() {
    let farm = Farm::new();
    farm.run(["copycat", "dd", "tt", "coco"])
        .ok()
        .stderr_has("Created cats/dd");
    for cat in ["dd", "tt", "coco"] {
        let text = farm.read(&format!("cats/{cat}/cat.toml"));
        assert!(text.contains("version = \"v1\""), "{text}");
        assert!(text.contains(&format!("name = \"{cat}\"")), "{text}");
    }
    // A cat's customised code must survive a second copycat (the `rm -rf` of copycat.sh).
    farm.write("cats/dd/cat.toml", "version = \"v7\"\n");
    farm.write("cats/dd/bot.js", "// DD's own code\n");
    let before = tree(farm.path());

    farm.run(["copycat", "dd", "tt", "coco"])
        .fails()
        .stderr_has("cats/dd, cats/tt, cats/coco")
        .stderr_has("already exist");
    assert_eq!(tree(farm.path()), before, "the tree changed");

    // One existing name among new ones: still nothing written.
    farm.run(["copycat", "momo", "dd"])
        .fails()
        .stderr_has("cats/dd")
        .stderr_lacks("cats/momo");
    assert_eq!(tree(farm.path()), before, "momo was created anyway");
}

#[test]
fn invalid_names_are_refused_with_the_valid_name() {
    let farm = Farm::new();
    let before = tree(farm.path());
    farm.run(["copycat", "dd_1"])
        .fails()
        .stderr_has("'_'")
        .stderr_has("use 'dd-1'");
    farm.run(["copycat", "DD"])
        .fails()
        .stderr_has("lower case")
        .stderr_has("use 'dd'");
    // A valid name alongside an invalid one is not created either.
    farm.run(["copycat", "tt", "Coco"])
        .fails()
        .stderr_has("use 'coco'");
    assert_eq!(tree(farm.path()), before);
}

#[test]
fn too_long_names_are_refused_with_the_limit() {
    let farm = Farm::new();
    let name = format!("{}x", "cream-heroes-".repeat(4)); // 53 characters
    farm.run(["copycat", &name])
        .fails()
        .stderr_has("at most 46");
    assert!(!farm.path().join("cats").exists());
    farm.run(["copycat", &"a".repeat(46)]).ok();
}

#[test]
fn a_name_given_twice_is_refused() {
    let farm = Farm::new();
    farm.run(["copycat", "dd", "dd"])
        .fails()
        .stderr_has("named twice");
    assert!(!farm.path().join("cats/dd").exists());
}

#[test]
fn works_from_a_subdirectory_of_the_farm() {
    let farm = Farm::new();
    std::fs::create_dir_all(farm.path().join("secret/deep")).unwrap();
    farm.command(["copycat", "lulu"])
        .current_dir(farm.path().join("secret/deep"))
        .run()
        .ok();
    assert!(farm.path().join("cats/lulu/cat.toml").is_file());
}

#[test]
fn outside_a_farm_says_how_to_find_one() {
    let dir = tempfile::tempdir().unwrap();
    Catctl::new(["copycat", "dd"])
        .current_dir(dir.path())
        .run()
        .fails()
        .stderr_has("could not find catctl.toml")
        .stderr_has("--config");
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
}
