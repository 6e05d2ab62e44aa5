//! The executable a model carries: the binary that registers the model's
//! node functions, copied into `bin/` so that any tandem (the bundled CLI,
//! MLflow's Python loader) can run the model without the project's source.
//!
//! A model is data from elsewhere, and running a file from it is running
//! code from elsewhere: before anything executes it, [`EmbeddedExecutable::verify`]
//! checks that it was built for this platform and that its bytes are the
//! ones the model recorded (size and SHA-256).

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::inside;
use crate::error::Error;

/// The Rust target triple this crate was compiled for: the platform of
/// the executable that embeds it (`x86_64-unknown-linux-gnu`).
pub const BUILD_TARGET: &str = env!("TANDEM_BUILD_TARGET");

/// The directory embedded executables are written to.
const BIN_DIR: &str = "bin";

/// The `executable` entry of the `tandem` flavor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddedExecutable {
    /// The file inside the model (`bin/<name>`).
    pub path: String,
    /// The target triple it runs on.
    pub target: String,
    /// The SHA-256 of its bytes, lowercase hex.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
}

impl EmbeddedExecutable {
    /// Copies `executable` into `<model_dir>/bin/`, hashing it on the way
    /// (one pass over a file that is often 100 MB), and describes the copy.
    pub(crate) fn embed(executable: &Path, model_dir: &Path) -> Result<Self, Error> {
        let name = executable
            .file_name()
            .and_then(|n| n.to_str())
            .filter(|n| !n.is_empty())
            .ok_or_else(|| Error::Executable {
                path: executable.display().to_string(),
                message: "the executable to embed needs a UTF-8 file name".to_owned(),
            })?;
        let path = format!("{BIN_DIR}/{name}");
        let destination = inside(model_dir, &path)?;
        let bin = model_dir.join(BIN_DIR);
        std::fs::create_dir_all(&bin).map_err(Error::io("create", &bin))?;
        let source = File::open(executable).map_err(Error::io("read", executable))?;
        let mut out = File::create(&destination).map_err(Error::io("write", &destination))?;
        let (size, sha256) = hash(source, Some(&mut out), executable, &destination)?;
        out.sync_all().map_err(Error::io("write", &destination))?;
        drop(out);
        make_executable(&destination)?;
        Ok(EmbeddedExecutable {
            path,
            target: BUILD_TARGET.to_owned(),
            sha256,
            size,
        })
    }

    /// The embedded file of the model in `model_dir`, once it is known to
    /// be safe to run here: built for [`BUILD_TARGET`], with the recorded
    /// size and SHA-256, and executable (a download loses the mode bits;
    /// they are restored, or the file is copied to a per-user cache keyed
    /// by its hash when the model directory is read-only).
    pub fn verify(&self, model_dir: &Path) -> Result<PathBuf, Error> {
        let path = inside(model_dir, &self.path)?;
        let refuse = |message: String| Error::Executable {
            path: path.display().to_string(),
            message,
        };
        if self.target != BUILD_TARGET {
            return Err(refuse(format!(
                "it was built for {}, and this machine runs {BUILD_TARGET}; \
                 rebuild the model's package for {BUILD_TARGET} and log the model again",
                self.target
            )));
        }
        let file = File::open(&path).map_err(|e| {
            refuse(format!(
                "cannot open it ({e}); was the model copied without its bin/ directory?"
            ))
        })?;
        // A size mismatch is found without reading 100 MB.
        let on_disk = file.metadata().map_err(Error::io("read", &path))?.len();
        let (size, sha256) = if on_disk == self.size {
            hash(file, None, &path, &path)?
        } else {
            (on_disk, "not computed".to_owned())
        };
        if size != self.size || sha256 != self.sha256 {
            return Err(refuse(format!(
                "its bytes are not the ones the model recorded (size {size}, sha256 {sha256}; \
                 expected size {}, sha256 {}): the file was altered or truncated",
                self.size, self.sha256
            )));
        }
        if make_executable(&path).is_ok() {
            return Ok(path);
        }
        self.cached_copy(&path)
    }

    /// A copy of the verified file under the user's cache directory, named
    /// by its hash so that every model sharing the executable shares it.
    fn cached_copy(&self, verified: &Path) -> Result<PathBuf, Error> {
        let name = verified.file_name().unwrap_or_default();
        let dir = cache_dir().join(&self.sha256);
        let cached = dir.join(name);
        if !cached.exists() {
            // Copied under a staged name, so a concurrent reader never runs
            // half a file, and fsynced before the rename, so a crash cannot
            // leave an empty file that later runs would trust.
            let partial = tandem_io::durable::create_staging_file(&cached)
                .map_err(Error::io("create", &dir))?;
            let copied = std::fs::copy(verified, &partial)
                .map_err(Error::io("copy", verified))
                .and_then(|_| make_executable(&partial))
                .and_then(|()| {
                    std::fs::File::open(&partial)
                        .and_then(|f| f.sync_all())
                        .map_err(Error::io("sync", &partial))
                })
                .and_then(|()| {
                    tandem_io::durable::rename_durably(&partial, &cached)
                        .map_err(Error::io("rename into", &cached))
                });
            if copied.is_err() {
                // Best effort: the copy's error matters more than leftovers.
                let _ = std::fs::remove_file(&partial);
            }
            copied?;
        }
        Ok(cached)
    }
}

/// `$XDG_CACHE_HOME/tandem/executables`, `~/.cache/...` without it, and
/// the temporary directory when there is no home either.
fn cache_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("tandem").join("executables")
}

/// Size and SHA-256 (hex) of `source`, copied to `copy` on the way.
fn hash(
    source: File,
    mut copy: Option<&mut File>,
    source_path: &Path,
    copy_path: &Path,
) -> Result<(u64, String), Error> {
    let mut reader = BufReader::with_capacity(1 << 20, source);
    let mut hasher = Sha256::new();
    let mut buffer = vec![0; 1 << 20];
    let mut size = 0u64;
    loop {
        let read = reader
            .read(&mut buffer)
            .map_err(Error::io("read", source_path))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        if let Some(out) = copy.as_deref_mut() {
            out.write_all(&buffer[..read])
                .map_err(Error::io("write", copy_path))?;
        }
        size += read as u64;
    }
    let digest = hasher.finalize();
    let hex = digest.iter().map(|b| format!("{b:02x}")).collect();
    Ok((size, hex))
}

#[cfg(unix)]
fn make_executable(path: &Path) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    let metadata = std::fs::metadata(path).map_err(Error::io("read", path))?;
    let mode = metadata.permissions().mode();
    // Only the owner and those who could read it gain execute rights.
    let wanted = mode | ((mode & 0o444) >> 2) | 0o100;
    if mode == wanted {
        return Ok(());
    }
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(wanted))
        .map_err(Error::io("make executable", path))
}

#[cfg(not(unix))]
fn make_executable(_path: &Path) -> Result<(), Error> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCRIPT: &[u8] = b"#!/bin/sh\necho hi\n";
    /// `printf '#!/bin/sh\necho hi\n' | sha256sum`
    const SCRIPT_SHA256: &str = "299001868fb8c02fd431c336c6d058f5558c5dff5b5af5e6fe04b870a6a9cbba";

    fn embedded(dir: &Path) -> (EmbeddedExecutable, PathBuf) {
        let exe = dir.join("tool");
        std::fs::write(&exe, SCRIPT).unwrap();
        let model = dir.join("model");
        std::fs::create_dir(&model).unwrap();
        (EmbeddedExecutable::embed(&exe, &model).unwrap(), model)
    }

    #[test]
    fn an_embedded_file_is_recorded_and_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let (exe, model) = embedded(dir.path());
        assert_eq!(
            exe,
            EmbeddedExecutable {
                path: "bin/tool".to_owned(),
                target: BUILD_TARGET.to_owned(),
                sha256: SCRIPT_SHA256.to_owned(),
                size: SCRIPT.len() as u64,
            }
        );
        assert_eq!(exe.verify(&model).unwrap(), model.join("bin/tool"));
    }

    #[cfg(unix)]
    #[test]
    fn a_download_that_lost_its_mode_bits_is_made_executable() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let (exe, model) = embedded(dir.path());
        let file = model.join("bin/tool");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let runnable = exe.verify(&model).unwrap();
        let mode = std::fs::metadata(&runnable).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o755);
    }

    #[test]
    fn altered_truncated_foreign_or_escaping_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (exe, model) = embedded(dir.path());
        let file = model.join("bin/tool");

        std::fs::write(&file, b"#!/bin/sh\necho HI\n").unwrap();
        let altered = exe.verify(&model).unwrap_err();
        assert_eq!(altered.kind(), "executable");
        assert!(altered.to_string().contains("altered"), "{altered}");

        std::fs::write(&file, SCRIPT).unwrap();
        let foreign = EmbeddedExecutable {
            target: "riscv64gc-unknown-none-elf".to_owned(),
            ..exe.clone()
        };
        let message = foreign.verify(&model).unwrap_err().to_string();
        assert!(message.contains("riscv64gc-unknown-none-elf"), "{message}");
        assert!(message.contains(BUILD_TARGET), "{message}");

        let escaping = EmbeddedExecutable {
            path: "../tool".to_owned(),
            ..exe.clone()
        };
        assert_eq!(escaping.verify(&model).unwrap_err().kind(), "invalid_model");

        std::fs::remove_file(&file).unwrap();
        let missing = exe.verify(&model).unwrap_err().to_string();
        assert!(missing.contains("bin/"), "{missing}");
    }
}
