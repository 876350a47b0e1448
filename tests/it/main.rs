//! End-to-end tests of the real `catctl` binary: one integration-test binary, one module per
//! area. Every test builds its farm with `common::Farm` and runs the binary through it
//! (`farm.run([...]).ok()`); `cluster` and `services` are the fake cluster and the real Docker
//! daemon and registry a farm can have. Snapshots (insta) live in `snapshots/`: after a
//! deliberate change, `cargo insta review` (or `INSTA_UPDATE=always INSTA_FORCE_PASS=1 cargo test
//! --test it`) and commit the .snap files; under CI a missing or different snapshot fails.

mod cluster;
mod common;
mod services;

mod cats;
mod completions;
mod config_errors;
mod context_cmd;
mod copycat;
mod deploy;
mod docker;
mod faults;
mod help;
mod image_promise;
mod images;
mod kubectl;
mod lifecycle;
mod list;
mod logs;
mod output;
mod promise;
mod secret;
mod secret_sync;
mod slack;
mod speed;
