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
/// Image label: `true` when the image was built from a cat whose sources (its directory or the
/// template) had changes git had not committed; `false` when they were committed; absent when
/// the farm is not in a git repository.
pub const GIT_DIRTY: &str = "io.catctl.git-dirty";

/// OCI image label: the git commit of the farm the image was built from.
pub const OCI_REVISION: &str = "org.opencontainers.image.revision";
/// OCI image label: where the farm's sources live (the git remote `origin`, without any
/// credentials in its URL).
pub const OCI_SOURCE: &str = "org.opencontainers.image.source";
/// OCI image label: when the image was built (RFC 3339). It makes every build's image id new,
/// which is why images are compared by [`SOURCE_DIGEST`], never by id.
pub const OCI_CREATED: &str = "org.opencontainers.image.created";
/// OCI image label: the cat's version (the image tag).
pub const OCI_VERSION: &str = "org.opencontainers.image.version";

/// Pod-template annotation: the checksum of the cat's Secret data.
pub const SECRET_CHECKSUM: &str = "catctl.io/secret-checksum";

pub const CHANGE_CAUSE: &str = "kubernetes.io/change-cause";
pub const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";
/// Workload annotation: the cat is asleep — `{"since": RFC 3339, "by": "user@host"}`, written by
/// `catctl sleep` under its own field manager and removed by `catctl wake`.
pub const ASLEEP: &str = "catctl.io/asleep";
