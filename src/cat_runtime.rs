//! The contract between catctl and a cat's container, defined once: where the cat's Secret is
//! mounted and the environment variables that tell the engine so. `catctl up` (local Docker) and
//! the Kubernetes manifests both use these, and `templates/cat`'s engine reads them.

/// Directory where the cat's Secret (`secret/<cat>-token`) is mounted read-only.
pub const SECRET_MOUNT_PATH: &str = "/run/secrets/cat";

/// Environment variable giving the engine [`SECRET_MOUNT_PATH`].
pub const SECRET_DIR_ENV: &str = "CAT_SECRET_DIR";

/// Environment variable giving the engine the port of its HTTP health endpoint.
pub const HEALTH_PORT_ENV: &str = "CAT_HEALTH_PORT";

/// The health port used when a cat's `cat.toml` does not set one.
pub const DEFAULT_HEALTH_PORT: u16 = 8080;

/// The Secret holding a cat's tokens, and the entry of `secret/` it is made from.
pub fn secret_name(cat: &str) -> String {
    format!("{cat}-token")
}
