//! Every label and annotation key catctl writes or reads, in one place.

/// The label pods are selected by: the cat's name.
pub const APP: &str = "app";
/// The cat an object belongs to.
pub const NAME: &str = "app.kubernetes.io/name";
pub const PART_OF: &str = "app.kubernetes.io/part-of";
/// The label every object catctl manages carries, with the value [`MANAGED_BY_CATCTL`].
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const MANAGED_BY_CATCTL: &str = "catctl";
/// The version (tag) a workload runs.
pub const VERSION: &str = "app.kubernetes.io/version";

/// Image label: the digest of the sources an image was built from.
pub const SOURCE_DIGEST: &str = "io.catctl.source-digest";
/// Image and container label: the cat an image or container belongs to.
pub const CAT: &str = "io.catctl.cat";
/// Container label: the registry digest of the image a local container runs.
pub const IMAGE_DIGEST: &str = "io.catctl.image-digest";
/// Container label marking the containers `up` starts.
pub const UP: &str = "io.catctl.up";

/// Pod-template annotation: the checksum of the cat's Secret data.
pub const SECRET_CHECKSUM: &str = "catctl.io/secret-checksum";
/// Workload annotation: catctl's deploy history.
pub const HISTORY: &str = "catctl.io/history";
pub const CHANGE_CAUSE: &str = "kubernetes.io/change-cause";
pub const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";
/// Workload annotation: the cat is asleep — `{"since": RFC 3339, "by": "user@host"}`, written by
/// `catctl sleep` under its own field manager and removed by `catctl wake`.
pub const ASLEEP: &str = "catctl.io/asleep";
