//! The cats' Secrets: `local` reads and checks `secret/`, `sync` brings the cluster in line,
//! `slack` asks Slack whose token each one is.

pub mod local;
pub mod slack;
pub mod sync;

pub use local::{Findings, LocalSecret, SecretValue, checksum, fingerprint};
