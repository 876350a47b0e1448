//! `catctl list`: cats with their versions, as a table or JSON; flags override catctl.toml.

use crate::common::{TestFarm, stdout_of};

#[test]
fn table_and_json() {
    let farm = TestFarm::new();
    farm.catctl()
        .args(["copycat", "tt", "dd"])
        .assert()
        .success();
    farm.write("cats/tt/cat.toml", "version = \"v2\"\n");
    let table = farm.catctl().arg("list").output().unwrap();
    assert!(table.status.success());
    assert_eq!(
        stdout_of(&table),
        "CAT   VERSION   REPLICAS   IMAGE\n\
         dd    v1        1          127.0.0.1:5000/dd:v1\n\
         tt    v2        1          127.0.0.1:5000/tt:v2\n"
    );
    let json = farm
        .catctl()
        .args(["list", "-o", "json", "--registry", "gcr.io/cream-heros"])
        .output()
        .unwrap();
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value[1]["name"], "tt");
    assert_eq!(value[1]["version"], "v2");
    assert_eq!(value[1]["image"], "gcr.io/cream-heros/tt:v2");
    assert_eq!(value.as_array().unwrap().len(), 2);
}

#[test]
fn colour_only_when_asked() {
    let farm = TestFarm::new();
    let plain = farm.catctl().args(["copycat", "dd"]).output().unwrap();
    assert!(
        !plain.stderr.contains(&0x1b),
        "NO_COLOR and no terminal: no escapes"
    );
    let coloured = farm
        .catctl()
        .args(["copycat", "tt", "--color", "always"])
        .output()
        .unwrap();
    assert!(coloured.stderr.contains(&0x1b), "--color always paints");
    let quiet = farm
        .catctl()
        .args(["copycat", "coco", "-q"])
        .output()
        .unwrap();
    assert!(quiet.status.success());
    assert!(quiet.stderr.is_empty(), "-q hides status lines");
}
