//! The provenance tags MLflow's run context providers put on a new run:
//! who started it (`mlflow.user`), from what (`mlflow.source.name`,
//! `mlflow.source.type`) and, in a git work tree, at which commit
//! (`mlflow.source.git.*`).
//!
//! Git metadata is read from the repository's files (`HEAD`, loose refs,
//! `packed-refs`, `config`, a worktree's `.git` file and `commondir`): no
//! process is spawned, and whatever cannot be read only leaves tags out,
//! as MLflow leaves them out when GitPython fails.

use std::path::{Path, PathBuf};

use tandem_mlflow_client::Tag;

/// The user MLflow records (`mlflow.user`).
pub const USER: &str = "mlflow.user";
/// What started the run (`sys.argv[0]` in MLflow).
pub const SOURCE_NAME: &str = "mlflow.source.name";
/// `LOCAL` for a process run on this machine.
pub const SOURCE_TYPE: &str = "mlflow.source.type";
/// The HEAD commit of the project's work tree.
pub const GIT_COMMIT: &str = "mlflow.source.git.commit";
/// The checked-out branch (absent on a detached HEAD).
pub const GIT_BRANCH: &str = "mlflow.source.git.branch";
/// The repository's first remote, credentials removed.
pub const GIT_REPO_URL: &str = "mlflow.source.git.repoURL";

/// The tags for a fresh run of the project at `project_root`.
pub(crate) fn run_tags(project_root: &Path) -> Vec<Tag> {
    let mut tags = Vec::new();
    if let Some(user) = user() {
        tags.push(Tag::new(USER, user));
    }
    if let Some(argv0) = std::env::args_os().next() {
        tags.push(Tag::new(SOURCE_NAME, argv0.to_string_lossy()));
    }
    tags.push(Tag::new(SOURCE_TYPE, "LOCAL"));
    if let Some(git) = GitInfo::find(project_root) {
        tags.push(Tag::new(GIT_COMMIT, git.commit));
        if let Some(branch) = git.branch {
            tags.push(Tag::new(GIT_BRANCH, branch));
        }
        if let Some(url) = git.repo_url {
            tags.push(Tag::new(GIT_REPO_URL, url));
        }
    }
    tags
}

/// The login name as Python's `getpass.getuser()` finds it: the first of
/// `LOGNAME`, `USER`, `LNAME`, `USERNAME` that is set and not empty, else
/// the password database's name for this process's uid.
pub fn user() -> Option<String> {
    for key in ["LOGNAME", "USER", "LNAME", "USERNAME"] {
        if let Some(value) = std::env::var_os(key).filter(|v| !v.is_empty()) {
            return Some(value.to_string_lossy().into_owned());
        }
    }
    passwd_name()
}

#[cfg(unix)]
fn passwd_name() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    // `/proc/self` belongs to the process's (real and effective) uid.
    let uid = std::fs::metadata("/proc/self").ok()?.uid().to_string();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        (fields.nth(1)? == uid).then(|| name.to_owned())
    })
}

#[cfg(not(unix))]
fn passwd_name() -> Option<String> {
    None
}

/// What MLflow's git context records of a work tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitInfo {
    /// The HEAD commit's sha.
    pub commit: String,
    /// The branch HEAD is on; `None` when detached.
    pub branch: Option<String>,
    /// The first remote's URL, without credentials.
    pub repo_url: Option<String>,
}

impl GitInfo {
    /// The git state of the work tree holding `dir` (it or an ancestor has
    /// `.git`); `None` outside one, on a branch with no commit yet, or when
    /// the files cannot be read.
    pub fn find(dir: &Path) -> Option<GitInfo> {
        let start = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
        let git_dir = start
            .ancestors()
            .find_map(|d| git_dir_of(&d.join(".git")))?;
        // A linked worktree keeps HEAD in its own directory and refs,
        // packed-refs and config in the main repository's.
        let common = match std::fs::read_to_string(git_dir.join("commondir")) {
            Ok(text) => resolve(&git_dir, text.trim()),
            Err(_) => git_dir.clone(),
        };
        let head = std::fs::read_to_string(git_dir.join("HEAD")).ok()?;
        let head = head.trim();
        let (commit, branch) = match head.strip_prefix("ref:") {
            Some(reference) => {
                let reference = reference.trim();
                let commit = resolve_ref(&git_dir, &common, reference, 0)?;
                let branch = reference.strip_prefix("refs/heads/").map(str::to_owned);
                (commit, branch)
            }
            None if is_sha(head) => (head.to_owned(), None),
            None => return None,
        };
        let repo_url = std::fs::read_to_string(common.join("config"))
            .ok()
            .and_then(|config| first_remote_url(&config))
            .map(|url| strip_credentials(&url));
        Some(GitInfo {
            commit,
            branch,
            repo_url,
        })
    }
}

/// The git directory `.git` names: itself, or the `gitdir:` of a `.git`
/// file (a linked worktree or a submodule).
fn git_dir_of(dot_git: &Path) -> Option<PathBuf> {
    let metadata = std::fs::metadata(dot_git).ok()?;
    if metadata.is_dir() {
        return dot_git
            .join("HEAD")
            .is_file()
            .then(|| dot_git.to_path_buf());
    }
    let text = std::fs::read_to_string(dot_git).ok()?;
    let target = text.trim().strip_prefix("gitdir:")?.trim();
    let base = dot_git.parent()?;
    Some(resolve(base, target))
}

fn resolve(base: &Path, path: &str) -> PathBuf {
    let path = Path::new(path);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}

/// The sha `reference` points at: a loose ref (in the worktree's own
/// directory first, as git looks), else `packed-refs`; symbolic refs are
/// followed a few levels deep.
fn resolve_ref(git_dir: &Path, common: &Path, reference: &str, depth: u8) -> Option<String> {
    // Ref names never climb out of the git directory.
    if depth > 5
        || reference
            .split('/')
            .any(|part| part == ".." || part.is_empty())
    {
        return None;
    }
    for dir in [git_dir, common] {
        if let Ok(text) = std::fs::read_to_string(dir.join(reference)) {
            let text = text.trim();
            if let Some(next) = text.strip_prefix("ref:") {
                return resolve_ref(git_dir, common, next.trim(), depth + 1);
            }
            return is_sha(text).then(|| text.to_owned());
        }
    }
    let packed = std::fs::read_to_string(common.join("packed-refs")).ok()?;
    packed.lines().find_map(|line| {
        let (sha, name) = line.split_once(' ')?;
        (name.trim() == reference && is_sha(sha)).then(|| sha.to_owned())
    })
}

fn is_sha(text: &str) -> bool {
    matches!(text.len(), 40 | 64) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The `url` of the first `[remote "…"]` section of a git config, as
/// GitPython lists remotes in the file's order (MLflow takes the first).
fn first_remote_url(config: &str) -> Option<String> {
    let mut in_remote = false;
    for line in config.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_remote = line.starts_with("[remote ");
            continue;
        }
        if in_remote
            && let Some((key, value)) = line.split_once('=')
            && key.trim().eq_ignore_ascii_case("url")
        {
            let value = value.trim().trim_matches('"');
            if !value.is_empty() {
                return Some(value.to_owned());
            }
        }
    }
    None
}

/// `url` without a `user:token@` part, as MLflow strips one before
/// recording a remote.
fn strip_credentials(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "0123456789abcdef0123456789abcdef01234567";
    const SHA2: &str = "89abcdef0123456789abcdef0123456789abcdef";

    fn repo(root: &Path, head: &str) -> PathBuf {
        let git = root.join(".git");
        std::fs::create_dir_all(git.join("refs/heads")).unwrap();
        std::fs::write(git.join("HEAD"), head).unwrap();
        git
    }

    #[test]
    fn loose_packed_and_detached_heads() {
        let tmp = tempfile::tempdir().unwrap();
        let git = repo(tmp.path(), "ref: refs/heads/main\n");
        std::fs::write(git.join("refs/heads/main"), format!("{SHA}\n")).unwrap();
        let sub = tmp.path().join("project/conf");
        std::fs::create_dir_all(&sub).unwrap();
        let info = GitInfo::find(&sub).unwrap();
        assert_eq!(info.commit, SHA);
        assert_eq!(info.branch.as_deref(), Some("main"));
        assert_eq!(info.repo_url, None);

        std::fs::write(git.join("HEAD"), "ref: refs/heads/feature/x\n").unwrap();
        std::fs::write(
            git.join("packed-refs"),
            format!("# pack-refs with: peeled\n{SHA2} refs/heads/feature/x\n"),
        )
        .unwrap();
        std::fs::write(
            git.join("config"),
            "[core]\n\tbare = false\n[remote \"upstream\"]\n\turl = https://bob:tok@example.com/a/b.git\n",
        )
        .unwrap();
        let info = GitInfo::find(tmp.path()).unwrap();
        assert_eq!(info.commit, SHA2);
        assert_eq!(info.branch.as_deref(), Some("feature/x"));
        assert_eq!(
            info.repo_url.as_deref(),
            Some("https://example.com/a/b.git")
        );

        std::fs::write(git.join("HEAD"), format!("{SHA}\n")).unwrap();
        let info = GitInfo::find(tmp.path()).unwrap();
        assert_eq!((info.commit.as_str(), info.branch), (SHA, None));
    }

    #[test]
    fn worktrees_unborn_branches_and_no_repository() {
        let tmp = tempfile::tempdir().unwrap();
        let main = tmp.path().join("main");
        let git = repo(&main, "ref: refs/heads/main\n");
        // No commit yet: MLflow records no git tags.
        assert_eq!(GitInfo::find(&main), None);
        std::fs::write(git.join("refs/heads/wt"), SHA).unwrap();
        let wt_git = git.join("worktrees/wt");
        std::fs::create_dir_all(&wt_git).unwrap();
        std::fs::write(wt_git.join("HEAD"), "ref: refs/heads/wt\n").unwrap();
        std::fs::write(wt_git.join("commondir"), "../..\n").unwrap();
        let wt = tmp.path().join("wt");
        std::fs::create_dir_all(&wt).unwrap();
        std::fs::write(wt.join(".git"), format!("gitdir: {}\n", wt_git.display())).unwrap();
        let info = GitInfo::find(&wt).unwrap();
        assert_eq!(
            (info.commit.as_str(), info.branch.as_deref()),
            (SHA, Some("wt"))
        );

        let outside = tempfile::tempdir().unwrap();
        if !outside.path().ancestors().any(|d| d.join(".git").exists()) {
            assert_eq!(GitInfo::find(outside.path()), None);
        }
        std::fs::write(git.join("HEAD"), "ref: refs/heads/../../../etc/passwd\n").unwrap();
        assert_eq!(GitInfo::find(&main), None);
    }

    #[test]
    fn credentials_are_stripped_from_remotes() {
        assert_eq!(
            strip_credentials("https://user:secret@github.com/o/r.git"),
            "https://github.com/o/r.git"
        );
        assert_eq!(
            strip_credentials("git@github.com:o/r.git"),
            "git@github.com:o/r.git"
        );
        assert_eq!(
            first_remote_url("[remote \"origin\"]\n  url = git@h:o/r.git\n[remote \"b\"]\nurl=x\n"),
            Some("git@h:o/r.git".to_owned())
        );
    }

    #[test]
    fn run_tags_name_the_user_and_source() {
        let tmp = tempfile::tempdir().unwrap();
        let tags = run_tags(tmp.path());
        let get = |k: &str| tags.iter().find(|t| t.key == k).map(|t| t.value.clone());
        assert_eq!(get(SOURCE_TYPE).as_deref(), Some("LOCAL"));
        assert_eq!(
            get(SOURCE_NAME),
            std::env::args_os()
                .next()
                .map(|a| a.to_string_lossy().into_owned())
        );
        assert_eq!(get(USER), user());
    }
}
