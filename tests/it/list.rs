//! `catctl list`: cats with their versions, as a table or JSON; flags override catctl.toml.

use crate::common::Farm;

#[test]
fn table_and_json() {
    let farm = Farm::new();
    farm.run(["copycat", "tt", "dd"]).ok();
    farm.write("cats/tt/cat.toml", "version = \"v2\"\n");
    let table = farm.run(["list"]).ok();
    assert_eq!(
        table.stdout(),
        "CAT   VERSION   REPLICAS   IMAGE\n\
         dd    v1        1          127.0.0.1:5000/dd:v1\n\
         tt    v2        1          127.0.0.1:5000/tt:v2\n"
    );
    let value = farm
        .run(["list", "-o", "json", "--registry", "gcr.io/cream-heros"])
        .items();
    assert_eq!(value[1]["cat"], "tt");
    assert_eq!(value[1]["tag"], "v2");
    assert_eq!(value[1]["image"], "gcr.io/cream-heros/tt:v2");
    assert_eq!(value.as_array().unwrap().len(), 2);
}

#[test]
fn colour_only_when_asked() {
    let farm = Farm::new();
    let plain = farm.run(["copycat", "dd"]).ok();
    assert!(
        !plain.stderr_bytes().contains(&0x1b),
        "NO_COLOR and no terminal: no escapes"
    );
    let coloured = farm.run(["copycat", "tt", "--color", "always"]);
    assert!(
        coloured.stderr_bytes().contains(&0x1b),
        "--color always paints"
    );
    let quiet = farm.run(["copycat", "coco", "-q"]).ok();
    assert!(quiet.stderr_bytes().is_empty(), "-q hides status lines");
}
