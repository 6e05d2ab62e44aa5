//! Which files of an environment directory hold one kind of configuration.
//!
//! Kedro's default patterns for kind `catalog` are `catalog*`, `catalog*/**`
//! and `**/catalog*` (likewise `parameters`, `credentials`), restricted to
//! `.yml`, `.yaml` and `.json` files and skipping hidden files and folders.
//! In other words, a file belongs to the kind when its first path component
//! or its file name starts with the kind's name.

use std::path::{Path, PathBuf};

use crate::error::Error;

const EXTENSIONS: &[&str] = &["yml", "yaml", "json"];

/// The files of kind `prefix` under `env_dir`, sorted as path strings (the
/// order Kedro merges them in; component-wise order would differ).
pub(crate) fn config_files(env_dir: &Path, prefix: &str) -> Result<Vec<PathBuf>, Error> {
    let mut found = Vec::new();
    walk(env_dir, env_dir, prefix, &mut found)?;
    found.sort_by(|a, b| a.as_os_str().cmp(b.as_os_str()));
    Ok(found)
}

fn walk(root: &Path, dir: &Path, prefix: &str, found: &mut Vec<PathBuf>) -> Result<(), Error> {
    let entries = std::fs::read_dir(dir).map_err(|e| io_error(dir, &e))?;
    for entry in entries {
        let entry = entry.map_err(|e| io_error(dir, &e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            continue;
        };
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        // Symlinked folders are not followed, so a link cycle cannot loop.
        let file_type = entry.file_type().map_err(|e| io_error(&path, &e))?;
        if file_type.is_dir() {
            walk(root, &path, prefix, found)?;
        } else if path.is_file() && belongs(root, &path, prefix) {
            found.push(path);
        }
    }
    Ok(())
}

fn belongs(root: &Path, path: &Path, prefix: &str) -> bool {
    let has_extension = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.contains(&e));
    let first = path
        .strip_prefix(root)
        .ok()
        .and_then(|rel| rel.components().next())
        .and_then(|c| c.as_os_str().to_str());
    let file_name = path.file_name().and_then(|n| n.to_str());
    has_extension
        && (first.is_some_and(|f| f.starts_with(prefix))
            || file_name.is_some_and(|f| f.starts_with(prefix)))
}

fn io_error(path: &Path, err: &std::io::Error) -> Error {
    Error::InvalidConfig {
        file: Some(path.display().to_string()),
        line: None,
        entry: None,
        message: format!("cannot read the configuration directory: {err}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_kedros_default_patterns() {
        let dir = tempfile::tempdir().unwrap();
        let files = [
            "catalog.yml",
            "catalog_extra.yaml",
            "catalog.json",
            "catalog.txt",
            "catalog/one.yml",
            "catalog/deep/two.yml",
            "catalogs_more/three.yml",
            "pipelines/x/catalog_x.yml",
            "pipelines/x/other.yml",
            ".hidden/catalog.yml",
            "sub/.catalog.yml",
            "parameters.yml",
            "Catalog.yml",
        ];
        for f in files {
            let path = dir.path().join(f);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "a: 1\n").unwrap();
        }
        let found: Vec<String> = config_files(dir.path(), "catalog")
            .unwrap()
            .iter()
            .map(|p| {
                p.strip_prefix(dir.path())
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/")
            })
            .collect();
        assert_eq!(
            found,
            [
                "catalog.json",
                "catalog.yml",
                "catalog/deep/two.yml",
                "catalog/one.yml",
                "catalog_extra.yaml",
                "catalogs_more/three.yml",
                "pipelines/x/catalog_x.yml",
            ]
        );
    }
}
