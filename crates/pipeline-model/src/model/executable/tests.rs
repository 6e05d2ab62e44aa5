use super::*;

const SCRIPT: &[u8] = b"#!/bin/sh\necho hi\n";
/// `printf '#!/bin/sh\necho hi\n' | sha256sum`
const SCRIPT_SHA256: &str = "299001868fb8c02fd431c336c6d058f5558c5dff5b5af5e6fe04b870a6a9cbba";

struct Fixture {
    _dir: tempfile::TempDir,
    exe: EmbeddedExecutable,
    model: PathBuf,
    cache: ExecutableCache,
}

fn embedded() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let exe = dir.path().join("tool");
    std::fs::write(&exe, SCRIPT).unwrap();
    let model = dir.path().join("model");
    std::fs::create_dir(&model).unwrap();
    let cache = ExecutableCache::at(dir.path().join("home/.cache/tandem/executables"));
    Fixture {
        exe: EmbeddedExecutable::embed(&exe, &model).unwrap(),
        _dir: dir,
        model,
        cache,
    }
}

/// A model as tandem wrote them before compression: `bin/tool` as is.
fn uncompressed() -> Fixture {
    let fixture = embedded();
    std::fs::remove_file(fixture.model.join("bin/tool.zst")).unwrap();
    std::fs::write(fixture.model.join("bin/tool"), SCRIPT).unwrap();
    let exe = EmbeddedExecutable {
        path: "bin/tool".to_owned(),
        compression: None,
        ..fixture.exe.clone()
    };
    Fixture { exe, ..fixture }
}

#[cfg(unix)]
fn run(path: &Path) -> String {
    let out = Command::new(path).output().unwrap();
    String::from_utf8(out.stdout).unwrap()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

#[test]
fn an_embedded_file_is_compressed_recorded_and_unpacked_into_the_cache() {
    let f = embedded();
    let stored = std::fs::read(f.model.join("bin/tool.zst")).unwrap();
    assert_eq!(&stored[..4], b"\x28\xb5\x2f\xfd", "a zstd frame");
    let compression = f.exe.compression.clone().unwrap();
    assert_eq!(compression.format, CompressionFormat::Zstd);
    assert_eq!(compression.size, stored.len() as u64);
    assert_eq!(compression.sha256, hex(&Sha256::digest(&stored)));
    assert_eq!(
        f.exe,
        EmbeddedExecutable {
            path: "bin/tool.zst".to_owned(),
            target: BUILD_TARGET.to_owned(),
            sha256: SCRIPT_SHA256.to_owned(),
            size: SCRIPT.len() as u64,
            compression: Some(compression),
        }
    );
    let runnable = f.exe.verify_with(&f.model, &f.cache).unwrap();
    assert_eq!(
        runnable,
        f.cache.root().join(SCRIPT_SHA256).join("tool"),
        "named by its hash in the cache"
    );
    assert_eq!(std::fs::read(&runnable).unwrap(), SCRIPT);
    #[cfg(unix)]
    {
        assert_eq!(mode(&runnable), 0o700);
        assert_eq!(mode(f.cache.root()), 0o700);
        assert_eq!(mode(&f.cache.root().join(SCRIPT_SHA256)), 0o700);
        assert_eq!(run(&runnable), "hi\n");
    }
    // The second use finds it there.
    assert_eq!(f.exe.verify_with(&f.model, &f.cache).unwrap(), runnable);
}

#[cfg(unix)]
#[test]
fn a_tampered_cached_executable_is_replaced_not_run() {
    let f = embedded();
    let cached = f.exe.verify_with(&f.model, &f.cache).unwrap();
    let marker = f.model.join("pwned");
    std::fs::write(
        &cached,
        format!("#!/bin/sh\ntouch {}\necho PWNED\n", marker.display()),
    )
    .unwrap();
    let again = f.exe.verify_with(&f.model, &f.cache).unwrap();
    assert_eq!(again, cached);
    assert_eq!(std::fs::read(&again).unwrap(), SCRIPT);
    assert_eq!(run(&again), "hi\n");
    assert!(!marker.exists(), "the tampered file never ran");
}

#[cfg(unix)]
#[test]
fn a_cache_writable_by_others_owned_by_another_user_or_a_symlink_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let f = embedded();
    let root = f.cache.root();
    std::fs::create_dir_all(root).unwrap();
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o777)).unwrap();
    let err = f.exe.verify_with(&f.model, &f.cache).unwrap_err();
    assert_eq!(err.kind(), "executable_cache", "{err}");
    assert!(err.to_string().contains("writable by other users"), "{err}");
    assert!(!root.join(SCRIPT_SHA256).exists(), "nothing was unpacked");

    // A private directory that others may read is narrowed, not refused.
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).unwrap();
    f.exe.verify_with(&f.model, &f.cache).unwrap();
    assert_eq!(mode(root), 0o700);

    // A per-executable directory made group-writable is refused too.
    let sha_dir = root.join(SCRIPT_SHA256);
    std::fs::set_permissions(&sha_dir, std::fs::Permissions::from_mode(0o770)).unwrap();
    let err = f.exe.verify_with(&f.model, &f.cache).unwrap_err();
    assert_eq!(err.kind(), "executable_cache", "{err}");
    std::fs::set_permissions(&sha_dir, std::fs::Permissions::from_mode(0o700)).unwrap();

    // Owned by someone else (only root can arrange that).
    if std::os::unix::fs::chown(root, Some(65534), None).is_ok() {
        let err = f.exe.verify_with(&f.model, &f.cache).unwrap_err();
        assert!(err.to_string().contains("owned by uid 65534"), "{err}");
        std::os::unix::fs::chown(root, Some(rustix::process::geteuid().as_raw()), None).unwrap();
    }

    // A symlink to a directory of one's own is refused as well: the link
    // could be swapped.
    let elsewhere = root.with_file_name("elsewhere");
    std::fs::rename(root, &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, root).unwrap();
    let err = f.exe.verify_with(&f.model, &f.cache).unwrap_err();
    assert!(err.to_string().contains("symlink"), "{err}");
}

#[test]
fn altered_truncated_foreign_or_escaping_files_are_refused() {
    let f = embedded();
    let file = f.model.join("bin/tool.zst");
    let good = std::fs::read(&file).unwrap();

    let mut altered = good.clone();
    *altered.last_mut().unwrap() ^= 1;
    std::fs::write(&file, &altered).unwrap();
    let err = f.exe.verify_with(&f.model, &f.cache).unwrap_err();
    assert_eq!(err.kind(), "executable");
    assert!(err.to_string().contains("altered"), "{err}");

    std::fs::write(&file, &good[..good.len() - 1]).unwrap();
    let err = f.exe.verify_with(&f.model, &f.cache).unwrap_err();
    assert!(err.to_string().contains("altered or truncated"), "{err}");

    std::fs::write(&file, &good).unwrap();
    let foreign = EmbeddedExecutable {
        target: "riscv64gc-unknown-none-elf".to_owned(),
        ..f.exe.clone()
    };
    let message = foreign
        .verify_with(&f.model, &f.cache)
        .unwrap_err()
        .to_string();
    assert!(message.contains("riscv64gc-unknown-none-elf"), "{message}");
    assert!(message.contains(BUILD_TARGET), "{message}");

    let escaping = EmbeddedExecutable {
        path: "../tool".to_owned(),
        ..f.exe.clone()
    };
    let err = escaping.verify_with(&f.model, &f.cache).unwrap_err();
    assert_eq!(err.kind(), "invalid_model");

    let bad_hash = EmbeddedExecutable {
        sha256: "../../bin".to_owned(),
        ..f.exe.clone()
    };
    let err = bad_hash.verify_with(&f.model, &f.cache).unwrap_err();
    assert!(err.to_string().contains("64 lowercase hex"), "{err}");

    std::fs::remove_file(&file).unwrap();
    let missing = f
        .exe
        .verify_with(&f.model, &f.cache)
        .unwrap_err()
        .to_string();
    assert!(missing.contains("bin/"), "{missing}");
}

/// A hostile model can record any checksum of its compressed file; what
/// counts is what it unpacks to, and how much.
#[test]
fn a_compressed_file_unpacking_to_other_or_more_bytes_is_refused() {
    let f = embedded();
    let file = f.model.join("bin/tool.zst");
    for (payload, needle) in [
        (b"#!/bin/sh\necho HI\n".to_vec(), "other bytes"),
        (vec![b'x'; 1 << 20], "more than"),
    ] {
        let packed = zstd::encode_all(&payload[..], 3).unwrap();
        std::fs::write(&file, &packed).unwrap();
        let lying = EmbeddedExecutable {
            compression: Some(Compression {
                format: CompressionFormat::Zstd,
                sha256: hex(&Sha256::digest(&packed)),
                size: packed.len() as u64,
            }),
            ..f.exe.clone()
        };
        let err = lying.verify_with(&f.model, &f.cache).unwrap_err();
        assert_eq!(err.kind(), "executable", "{err}");
        assert!(err.to_string().contains(needle), "{err}");
        let cached = f.cache.root().join(SCRIPT_SHA256).join("tool");
        assert!(!cached.exists(), "nothing was installed");
    }
}

#[cfg(unix)]
#[test]
fn an_uncompressed_executable_of_an_older_model_runs_in_place_mode_restored() {
    use std::os::unix::fs::PermissionsExt;
    let f = uncompressed();
    let file = f.model.join("bin/tool");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(f.exe.verify_with(&f.model, &f.cache).unwrap(), file);
    assert_eq!(mode(&file), 0o755);
    assert!(!f.cache.root().exists(), "no cache needed");

    std::fs::write(&file, b"#!/bin/sh\necho HI\n").unwrap();
    let err = f.exe.verify_with(&f.model, &f.cache).unwrap_err();
    assert!(err.to_string().contains("altered"), "{err}");
}

#[test]
fn old_models_executable_entries_still_parse() {
    let old = serde_json::json!({
        "path": "bin/churn",
        "target": BUILD_TARGET,
        "sha256": SCRIPT_SHA256,
        "size": 18,
    });
    let exe: EmbeddedExecutable = serde_json::from_value(old).unwrap();
    assert_eq!(exe.compression, None);
    let written = serde_json::to_value(&exe).unwrap();
    assert!(written.get("compression").is_none(), "{written}");
}
