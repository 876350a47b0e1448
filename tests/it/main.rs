//! End-to-end tests of the real `catctl` binary: one integration-test binary, one module per
//! area. Shared fixtures live in `common`.

mod cluster;
mod common;

mod cats;
mod completions;
mod config_errors;
mod context_cmd;
mod copycat;
mod deploy;
mod images;
mod lifecycle;
mod list;
mod logs;
mod secret;
mod secret_sync;
mod services;
mod slack;
