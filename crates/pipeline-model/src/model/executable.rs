//! The executable a model carries: the binary that registers the model's
//! node functions, copied into `bin/` so that any tandem (the bundled CLI,
//! MLflow's Python loader) can run the model without the project's source.
//!
//! It is stored stripped of its symbols (when a `strip` or `objcopy` is at
//! hand) and zstd-compressed: the executable is most of a model's bytes,
//! and every logged version carries it. It runs from the private
//! [`ExecutableCache`], decompressed once per SHA-256.
//!
//! A model is data from elsewhere, and running a file from it is running
//! code from elsewhere: before anything executes it, [`EmbeddedExecutable::verify`]
//! checks that it was built for this platform and that its bytes are the
//! ones the model recorded (size and SHA-256, of the stored file and of
//! the executable it decompresses to), and the cached copy is hashed again
//! before each use.

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::executable_cache::ExecutableCache;
use super::inside;
use crate::error::Error;

/// The Rust target triple this crate was compiled for: the platform of
/// the executable that embeds it (`x86_64-unknown-linux-gnu`).
pub const BUILD_TARGET: &str = env!("TANDEM_BUILD_TARGET");

/// The directory embedded executables are written to.
const BIN_DIR: &str = "bin";
/// The suffix of a zstd-compressed executable in `bin/`.
const ZSTD_SUFFIX: &str = ".zst";
/// zstd's level for the executable. On the churn release build, stripped
/// to 39.7 MB (docs/benchmarks.md): level 3 gives 12.7 MB in 0.24 s, 9
/// gives 11.3 MB in 1.1 s, 19 gives 10.0 MB in 22 s; a save (and a tracked
/// run) waits for it, and the megabyte or two more cost less to upload than
/// the seconds to shave them.
const ZSTD_LEVEL: i32 = 3;

/// The `executable` entry of the `tandem` flavor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmbeddedExecutable {
    /// The file inside the model (`bin/<name>.zst`; `bin/<name>` for an
    /// uncompressed one, as models saved before compression have).
    pub path: String,
    /// The target triple it runs on.
    pub target: String,
    /// The SHA-256 of the executable (decompressed), lowercase hex.
    pub sha256: String,
    /// The executable's size in bytes (decompressed).
    pub size: u64,
    /// How the file at `path` is compressed; `None` when it is the
    /// executable itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<Compression>,
}

/// How an embedded executable is stored, and the stored file's own size
/// and checksum (checked before decompressing).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Compression {
    /// The compression format.
    pub format: CompressionFormat,
    /// The SHA-256 of the compressed file, lowercase hex.
    pub sha256: String,
    /// The compressed file's size in bytes.
    pub size: u64,
}

/// A compression format of an embedded executable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CompressionFormat {
    /// Zstandard (a single frame).
    Zstd,
}

impl EmbeddedExecutable {
    /// Writes `executable` into `<model_dir>/bin/` — stripped of symbols
    /// when a `strip` tool can do it, then zstd-compressed — and describes
    /// the copy: sizes and hashes of the executable and of the stored file,
    /// computed on the way.
    pub(crate) fn embed(executable: &Path, model_dir: &Path) -> Result<Self, Error> {
        let name = executable
            .file_name()
            .and_then(|n| n.to_str())
            .filter(|n| !n.is_empty())
            .ok_or_else(|| Error::Executable {
                path: executable.display().to_string(),
                message: "the executable to embed needs a UTF-8 file name".to_owned(),
            })?;
        let path = format!("{BIN_DIR}/{name}{ZSTD_SUFFIX}");
        let destination = inside(model_dir, &path)?;
        let bin = model_dir.join(BIN_DIR);
        std::fs::create_dir_all(&bin).map_err(Error::io("create", &bin))?;
        let stripped = bin.join(format!(".{name}.stripped"));
        let source_path = if strip(executable, &stripped) {
            stripped.as_path()
        } else {
            executable
        };
        let compressed = compress(source_path, &destination);
        if source_path == stripped {
            // Best effort: the staging directory goes if the save fails anyway.
            let _ = std::fs::remove_file(&stripped);
        }
        let ((size, sha256), stored) = compressed?;
        Ok(EmbeddedExecutable {
            path,
            target: BUILD_TARGET.to_owned(),
            sha256,
            size,
            compression: Some(Compression {
                format: CompressionFormat::Zstd,
                sha256: stored.1,
                size: stored.0,
            }),
        })
    }

    /// The runnable executable of the model in `model_dir`, once it is
    /// known to be safe to run here: built for [`BUILD_TARGET`], with the
    /// recorded sizes and SHA-256s. A compressed one is decompressed into
    /// the user's [`ExecutableCache`] (once; the cached copy is re-hashed
    /// on every call and replaced if it changed). An uncompressed one (an
    /// older model) runs in place, made executable (a download loses the
    /// mode bits), or from the cache when the model directory is read-only.
    pub fn verify(&self, model_dir: &Path) -> Result<PathBuf, Error> {
        self.verify_in(model_dir, ExecutableCache::user)
    }

    /// [`verify`](Self::verify) with the cache in `cache`.
    pub fn verify_with(&self, model_dir: &Path, cache: &ExecutableCache) -> Result<PathBuf, Error> {
        self.verify_in(model_dir, || Ok(cache.clone()))
    }

    /// The cache is only looked for when it is needed: an uncompressed
    /// executable in a writable model runs where it is, HOME or not.
    fn verify_in(
        &self,
        model_dir: &Path,
        cache: impl FnOnce() -> Result<ExecutableCache, Error>,
    ) -> Result<PathBuf, Error> {
        let path = self.check_target(model_dir)?;
        let refuse = |message: String| Error::Executable {
            path: path.display().to_string(),
            message,
        };
        let file = File::open(&path).map_err(|e| {
            refuse(format!(
                "cannot open it ({e}); was the model copied without its bin/ directory?"
            ))
        })?;
        let name = self.executable_name(&path)?;
        let Some(compression) = &self.compression else {
            check_bytes(file, &path, self.size, &self.sha256).map_err(refuse)?;
            if make_executable(&path).is_ok() {
                return Ok(path);
            }
            let cache = cache()?;
            return cache.executable(&self.sha256, self.size, name, |out| {
                let source = File::open(&path).map_err(Error::io("read", &path))?;
                hash(source, Some(out as &mut dyn Write), &path, cache.root())
            });
        };
        check_bytes(file, &path, compression.size, &compression.sha256).map_err(refuse)?;
        let cache = cache()?;
        cache.executable(&self.sha256, self.size, name, |out| {
            decompress(&path, self.size, out)
        })
    }

    /// The embedded file's path, refused unless it was built for this platform.
    fn check_target(&self, model_dir: &Path) -> Result<PathBuf, Error> {
        let path = inside(model_dir, &self.path)?;
        if self.target != BUILD_TARGET {
            return Err(Error::Executable {
                path: path.display().to_string(),
                message: format!(
                    "it was built for {}, and this machine runs {BUILD_TARGET}; rebuild the \
                     model's package for {BUILD_TARGET} and log the model again",
                    self.target
                ),
            });
        }
        Ok(path)
    }

    /// The executable's file name: the stored one without `.zst`.
    fn executable_name<'a>(&self, path: &'a Path) -> Result<&'a str, Error> {
        let stored = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let name = match self.compression {
            Some(_) => stored.strip_suffix(ZSTD_SUFFIX).unwrap_or(stored),
            None => stored,
        };
        tandem_io::paths::segment(name).map_err(|e| Error::Executable {
            path: path.display().to_string(),
            message: format!("its name cannot name a cached file ({e})"),
        })
    }
}

/// Whether the file is `size` bytes with SHA-256 `sha256`; the message
/// says how it differs. A size mismatch is found without reading 100 MB.
fn check_bytes(file: File, path: &Path, size: u64, sha256: &str) -> Result<(), String> {
    let on_disk = file.metadata().map_err(|e| e.to_string())?.len();
    let (found_size, found_sha) = if on_disk == size {
        hash(file, None, path, path).map_err(|e| e.to_string())?
    } else {
        (on_disk, "not computed".to_owned())
    };
    if found_size == size && found_sha == sha256 {
        return Ok(());
    }
    Err(format!(
        "its bytes are not the ones the model recorded (size {found_size}, sha256 {found_sha}; \
         expected size {size}, sha256 {sha256}): the file was altered or truncated"
    ))
}

/// Writes `executable` without its symbol table to `out` with the
/// platform's `strip` (or `objcopy`); false, leaving nothing behind, when
/// neither is there or it fails (the executable is then embedded as built).
fn strip(executable: &Path, out: &Path) -> bool {
    if cfg!(windows) {
        return false;
    }
    let tools: [(&str, &[&str]); 2] = [("strip", &[]), ("objcopy", &["--strip-all"])];
    for (tool, flags) in tools {
        let status = Command::new(tool)
            .args(flags)
            .arg("-o")
            .arg(out)
            .arg(executable)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        match status {
            Ok(status) if status.success() && out.is_file() => return true,
            Ok(status) => tracing::debug!("{tool} could not strip the executable ({status})"),
            Err(e) => tracing::debug!("no {tool} to strip the executable ({e})"),
        }
        let _ = std::fs::remove_file(out);
    }
    false
}

/// Compresses `source` into `destination`; returns (size, SHA-256) of the
/// source and of the compressed file.
fn compress(source: &Path, destination: &Path) -> Result<(Digested, Digested), Error> {
    let input = File::open(source).map_err(Error::io("read", source))?;
    let out = File::create(destination).map_err(Error::io("write", destination))?;
    let mut encoder = zstd::stream::Encoder::new(HashingWriter::new(out), ZSTD_LEVEL)
        .map_err(Error::io("compress", source))?;
    // The size lets a decoder check the frame, and the Python loader's
    // zstandard preallocate.
    let length = input.metadata().map_err(Error::io("read", source))?.len();
    encoder
        .set_pledged_src_size(Some(length))
        .map_err(Error::io("compress", source))?;
    let original = hash(
        input,
        Some(&mut encoder as &mut dyn Write),
        source,
        destination,
    )?;
    let writer = encoder.finish().map_err(Error::io("write", destination))?;
    let (out, stored) = writer.finish();
    out.sync_all().map_err(Error::io("write", destination))?;
    Ok((original, stored))
}

/// Decompresses the zstd file `path` into `out`, refusing to write more
/// than `size` bytes (a hostile frame may expand without bound); returns
/// the size and SHA-256 of what it wrote.
fn decompress(path: &Path, size: u64, out: &mut File) -> Result<(u64, String), Error> {
    let file = File::open(path).map_err(Error::io("read", path))?;
    let decoder = zstd::stream::Decoder::new(file).map_err(Error::io("decompress", path))?;
    let mut writer = HashingWriter::new(out);
    let written = std::io::copy(&mut decoder.take(size + 1), &mut writer)
        .map_err(Error::io("decompress", path))?;
    let (_, (_, sha256)) = writer.finish();
    if written > size {
        return Err(Error::Executable {
            path: path.display().to_string(),
            message: format!(
                "it decompresses to more than the {size} bytes the model records; refusing it"
            ),
        });
    }
    Ok((written, sha256))
}

/// A size in bytes and a SHA-256 in lowercase hex.
type Digested = (u64, String);

/// A writer that hashes and counts what goes through it.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    size: u64,
}

impl<W: Write> HashingWriter<W> {
    fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: Sha256::new(),
            size: 0,
        }
    }

    fn finish(self) -> (W, (u64, String)) {
        (self.inner, (self.size, hex(&self.hasher.finalize())))
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.hasher.update(&buf[..written]);
        self.size += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Size and SHA-256 (hex) of `source`, copied to `copy` on the way.
pub(super) fn hash(
    source: File,
    mut copy: Option<&mut dyn Write>,
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
    Ok((size, hex(&hasher.finalize())))
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
mod tests;
