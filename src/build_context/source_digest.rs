//! The source digest: one sha256 over a build context's paths, kinds, modes, contents and
//! symlink targets, in path order. Modification times and directory listing order do not
//! enter it, so the same sources give the same digest on any machine and after any checkout.
//! [`with_bases`] adds the digests of the base images the Dockerfile builds on (resolved by
//! `base_images`). `build` records it in the image label [`LABEL`]; `verify` compares it with
//! the sources now.

use std::fs::File;
use std::io::Read;

use anyhow::{Context as _, Result};
use sha2::{Digest as _, Sha256};

use crate::image::Digest;

use crate::build_context::base_images::ResolvedBase;
use crate::build_context::overlay::{Entry, EntryKind};

/// The image label holding the source digest of the context the image was built from.
pub use crate::labels::SOURCE_DIGEST as LABEL;

/// The image label naming the cat an image belongs to.
pub use crate::labels::{CAT as CAT_LABEL, IMAGE_DIGEST as IMAGE_DIGEST_LABEL};

/// `sha256:<hex>` of `entries` (as [`crate::build_context::overlay::build_context`] returns them).
pub fn source_digest(entries: &[Entry]) -> Result<Digest> {
    let mut sorted: Vec<&Entry> = entries.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 64 * 1024];
    for entry in sorted {
        match &entry.kind {
            EntryKind::Dir => hasher.update(format!("dir\0{}\0", entry.path)),
            EntryKind::Symlink { target } => hasher.update(format!(
                "symlink\0{}\0{}\0",
                entry.path,
                target.to_string_lossy()
            )),
            EntryKind::File { mode } => {
                let mut file = File::open(&entry.source)
                    .with_context(|| format!("cannot read {}", entry.source.display()))?;
                let len = file
                    .metadata()
                    .with_context(|| format!("cannot read {}", entry.source.display()))?
                    .len();
                hasher.update(format!("file\0{}\0{mode:o}\0{len}\0", entry.path));
                loop {
                    let n = file
                        .read(&mut buffer)
                        .with_context(|| format!("cannot read {}", entry.source.display()))?;
                    if n == 0 {
                        break;
                    }
                    hasher.update(&buffer[..n]);
                }
            }
        }
    }
    Ok(Digest::sha256(&hasher.finalize()))
}

/// The source digest of a context whose files have the digest `files` and whose Dockerfile
/// builds on `bases`: `files` itself when it builds on none (`FROM scratch`), else one sha256
/// over it and each base's reference and digest, so that an updated base image changes it.
pub fn with_bases(
    files: &Digest,
    bases: &[ResolvedBase],
    build_args: &std::collections::BTreeMap<String, String>,
) -> Digest {
    if bases.is_empty() && build_args.is_empty() {
        return files.clone();
    }
    let mut hasher = Sha256::new();
    hasher.update(format!("files\0{files}\0"));
    for base in bases {
        hasher.update(format!("base\0{}\0{}\0", base.reference, base.digest));
    }
    for (name, value) in build_args {
        hasher.update(format!("arg\0{name}\0{value}\0"));
    }
    Digest::sha256(&hasher.finalize())
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::Path;
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::build_context::overlay::build_context;

    fn write(path: &Path, text: &str) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    fn farm(root: &Path, files: &[(&str, &str)]) -> (std::path::PathBuf, std::path::PathBuf) {
        let (template, cat) = (root.join("t"), root.join("c"));
        fs::create_dir_all(&cat).unwrap();
        for (path, text) in files {
            write(&root.join(path), text);
        }
        (template, cat)
    }

    fn digest_of(template: &Path, cat: &Path) -> crate::image::Digest {
        source_digest(&build_context(template, cat).unwrap()).unwrap()
    }

    #[test]
    fn same_sources_same_digest_whatever_the_mtimes_and_creation_order() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let files = [
            ("t/Dockerfile", "FROM scratch\n"),
            ("t/src/a.js", "a"),
            ("t/src/b.js", "b"),
            ("c/cat.toml", "version = \"v1\"\n"),
        ];
        let (ta, ca) = farm(a.path(), &files);
        let mut reversed = files;
        reversed.reverse();
        let (tb, cb) = farm(b.path(), &reversed);
        let first = digest_of(&ta, &ca);
        assert_eq!(first.hex().len(), 64, "{first}");
        assert_eq!(first, digest_of(&tb, &cb));

        let old = SystemTime::now() - Duration::from_secs(86_400 * 365);
        for path in ["t/Dockerfile", "t/src/a.js", "c/cat.toml"] {
            let file = fs::File::options()
                .write(true)
                .open(a.path().join(path))
                .unwrap();
            file.set_modified(old).unwrap();
        }
        assert_eq!(first, digest_of(&ta, &ca), "mtimes do not count");
    }

    #[test]
    fn content_path_mode_and_overrides_count() {
        let tmp = tempfile::tempdir().unwrap();
        let (t, c) = farm(
            tmp.path(),
            &[("t/Dockerfile", "FROM scratch\n"), ("t/run.sh", "echo")],
        );
        let base = digest_of(&t, &c);
        write(&c.join("run.sh"), "echo hi");
        let overridden = digest_of(&t, &c);
        assert_ne!(
            base, overridden,
            "a cat file overriding the template counts"
        );
        fs::remove_file(c.join("run.sh")).unwrap();
        assert_eq!(base, digest_of(&t, &c), "reverting restores the digest");

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let script = t.join("run.sh");
            let mode = fs::metadata(&script).unwrap().permissions().mode() & 0o7777;
            fs::set_permissions(&script, fs::Permissions::from_mode(mode ^ 0o100)).unwrap();
            assert_ne!(base, digest_of(&t, &c), "the mode counts");
            fs::set_permissions(&script, fs::Permissions::from_mode(mode)).unwrap();
        }
        fs::rename(t.join("run.sh"), t.join("run2.sh")).unwrap();
        assert_ne!(base, digest_of(&t, &c), "the path counts");
    }

    #[test]
    fn base_images_and_build_args_count_and_none_leaves_the_file_digest() {
        let files = Digest::sha256(&[1; 32]);
        let none = std::collections::BTreeMap::new();
        assert_eq!(with_bases(&files, &[], &none), files);
        let base = |byte: u8| ResolvedBase {
            reference: "node:22".into(),
            digest: Digest::sha256(&[byte; 32]),
        };
        let with_one = with_bases(&files, &[base(2)], &none);
        assert_ne!(with_one, files);
        assert_eq!(with_one, with_bases(&files, &[base(2)], &none));
        assert_ne!(
            with_one,
            with_bases(&files, &[base(3)], &none),
            "an updated base"
        );
        let arg = std::collections::BTreeMap::from([("A".to_string(), "1".to_string())]);
        assert_ne!(with_bases(&files, &[], &arg), files, "a build argument");
    }

    #[test]
    fn ignored_files_do_not_count() {
        let tmp = tempfile::tempdir().unwrap();
        let (t, c) = farm(
            tmp.path(),
            &[
                ("t/Dockerfile", "FROM scratch\n"),
                ("t/.dockerignore", "*.log\n"),
            ],
        );
        let base = digest_of(&t, &c);
        write(&c.join("debug.log"), "noise");
        assert_eq!(base, digest_of(&t, &c));
    }
}
