//! `catctl context CAT --out DIR`: the template with the cat's files laid over it.

use crate::common::Farm;

#[test]
fn merges_the_template_and_the_cat() {
    let farm = Farm::new();
    farm.run(["copycat", "dd"]).ok();
    farm.write("cats/dd/extra/fish.txt", "tuna\n");
    let out = farm.path().join("X");
    farm.run(["context", "dd", "--out", "X"]).ok();
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
    let farm = Farm::new();
    farm.run(["copycat", "dd"]).ok();
    farm.write("X/precious.txt", "keep me\n");
    farm.run(["context", "dd", "--out", "X"])
        .fails()
        .stderr_has("not empty");
    assert_eq!(farm.read("X/precious.txt"), "keep me\n");
    assert!(!farm.path().join("X/Dockerfile").exists());
}

#[test]
fn unknown_cat_suggests_copycat() {
    let farm = Farm::new();
    farm.run(["copycat", "dd"]).ok();
    farm.run(["context", "tt", "--out", "X"])
        .fails()
        .stderr_has("no cat named 'tt'")
        .stderr_has("known cats: dd")
        .stderr_has("catctl copycat tt");
    assert!(!farm.path().join("X").exists());
}
