//! A Git source over a repository on this machine.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use ferry_core::convergence::Relation;
use ferry_core::ports::{GitSource, PortError, PortResult};

/// Reads files either from a commit (`git show COMMIT:PATH`) or, in working-tree mode, from
/// the files on disk (what `ferry deploy --local` uses, so uncommitted edits can be tried).
/// The `repository` argument of [`GitSource::read_file`] is the repository's folder itself, or,
/// after [`LocalRepository::with_folders`], a GitHub name (`owner/name`) mapped to its folder.
#[derive(Debug, Clone)]
pub struct LocalRepository {
    worktree: bool,
    /// `owner/name` (lower case) → checkout, so that deployments record the GitHub name.
    /// `None`: repositories are named by their folders.
    folders: Option<BTreeMap<String, PathBuf>>,
}

impl LocalRepository {
    /// Read committed content with `git show`.
    pub fn commits() -> Self {
        Self {
            worktree: false,
            folders: None,
        }
    }

    /// Read the files as they are on disk, whatever the commit.
    pub fn worktree() -> Self {
        Self {
            worktree: true,
            folders: None,
        }
    }

    /// Resolve these GitHub names (`FERRY_LOCAL_REPOSITORIES`, see
    /// [`crate::parse_repository_map`]) to their folders; any other name is not found.
    pub fn with_folders(mut self, folders: BTreeMap<String, PathBuf>) -> Self {
        self.folders = Some(folders);
        self
    }

    /// The folder `repository` names.
    fn folder(&self, repository: &str) -> PortResult<PathBuf> {
        let Some(folders) = &self.folders else {
            return Ok(PathBuf::from(repository));
        };
        let name = repository.to_ascii_lowercase();
        folders.get(&name).cloned().ok_or_else(|| {
            PortError::NotFound(format!(
                "a local folder for {name} (map it with FERRY_LOCAL_REPOSITORIES={name}=/path/to/checkout)"
            ))
        })
    }
}

/// Refuses paths that would leave the repository.
fn checked(path: &str) -> PortResult<&str> {
    let escapes = Path::new(path).components().any(|part| {
        matches!(
            part,
            std::path::Component::ParentDir | std::path::Component::RootDir
        )
    });
    if escapes || path.is_empty() {
        return Err(PortError::Invalid(format!(
            "{path} is not a path inside the repository"
        )));
    }
    Ok(path)
}

#[async_trait]
impl GitSource for LocalRepository {
    async fn read_file(
        &self,
        repository: &str,
        commit: &str,
        path: &str,
    ) -> PortResult<Option<String>> {
        let path = checked(path)?;
        let repository = self.folder(repository)?;
        if self.worktree {
            let full: PathBuf = repository.join(path);
            return match tokio::fs::read_to_string(&full).await {
                Ok(text) => Ok(Some(text)),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(error) => Err(PortError::Invalid(format!(
                    "cannot read {}: {error}",
                    full.display()
                ))),
            };
        }
        if !commit
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '/' || c == '-' || c == '_' || c == '.')
        {
            return Err(PortError::Invalid(format!("`{commit}` is not a commit")));
        }
        let output = tokio::process::Command::new("git")
            .arg("-C")
            .arg(&repository)
            .arg("show")
            .arg(format!("{commit}:{path}"))
            .output()
            .await
            .map_err(|error| PortError::Invalid(format!("cannot run git: {error}")))?;
        if output.status.success() {
            return String::from_utf8(output.stdout)
                .map(Some)
                .map_err(|_| PortError::Invalid(format!("{path} at {commit} is not UTF-8 text")));
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        // git says "does not exist in" / "exists on disk, but not in" for a missing path.
        if stderr.contains("does not exist") || stderr.contains("but not in") {
            return Ok(None);
        }
        Err(PortError::NotFound(format!(
            "{} at {commit}: {}",
            repository.display(),
            stderr.trim()
        )))
    }

    async fn list_dir(
        &self,
        repository: &str,
        commit: &str,
        path: &str,
    ) -> PortResult<Vec<String>> {
        let folder = checked(path.trim_end_matches('/'))?;
        let repository = self.folder(repository)?;
        let mut names = Vec::new();
        if self.worktree {
            let full: PathBuf = repository.join(folder);
            let mut entries = match tokio::fs::read_dir(&full).await {
                Ok(entries) => entries,
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(names),
                Err(error) => {
                    return Err(PortError::Invalid(format!(
                        "cannot list {}: {error}",
                        full.display()
                    )));
                }
            };
            while let Ok(Some(entry)) = entries.next_entry().await {
                if entry.file_type().await.is_ok_and(|kind| kind.is_file()) {
                    names.push(entry.file_name().to_string_lossy().into_owned());
                }
            }
            names.sort();
            return Ok(names);
        }
        if !commit
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '/' || c == '-' || c == '_' || c == '.')
        {
            return Err(PortError::Invalid(format!("`{commit}` is not a commit")));
        }
        // `git ls-tree COMMIT -- folder/` lists the folder's entries: "<mode> <type> <id>\t<path>".
        let output = tokio::process::Command::new("git")
            .arg("-C")
            .arg(&repository)
            .arg("ls-tree")
            .arg(commit)
            .arg("--")
            .arg(format!("{folder}/"))
            .output()
            .await
            .map_err(|error| PortError::Invalid(format!("cannot run git: {error}")))?;
        if !output.status.success() {
            return Err(PortError::NotFound(format!(
                "{} at {commit}: {}",
                repository.display(),
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        for line in String::from_utf8_lossy(&output.stdout).lines() {
            let Some((meta, file)) = line.split_once('\t') else {
                continue;
            };
            if meta.split_whitespace().nth(1) == Some("blob") {
                names.push(file.rsplit('/').next().unwrap_or(file).to_string());
            }
        }
        names.sort();
        Ok(names)
    }

    async fn compare_commits(
        &self,
        repository: &str,
        base: &str,
        head: &str,
    ) -> PortResult<Relation> {
        let folder = self.folder(repository)?;
        let (base, head) = (commit_id(base)?, commit_id(head)?);
        if base.eq_ignore_ascii_case(head) {
            return Ok(Relation::Identical);
        }
        // `merge-base --is-ancestor A B` exits 0 when A is an ancestor of B, 1 when it is not,
        // and otherwise (128) when either is not a commit here: unrelated, as GitHub's 404.
        let is_ancestor = |ancestor: &str, of: &str| {
            let folder = folder.clone();
            let (ancestor, of) = (ancestor.to_string(), of.to_string());
            async move {
                let status = tokio::process::Command::new("git")
                    .arg("-C")
                    .arg(&folder)
                    .args(["merge-base", "--is-ancestor", &ancestor, &of])
                    .output()
                    .await
                    .map_err(|error| PortError::Invalid(format!("cannot run git: {error}")))?
                    .status;
                Ok::<bool, PortError>(status.success())
            }
        };
        Ok(if is_ancestor(base, head).await? {
            Relation::Ahead
        } else if is_ancestor(head, base).await? {
            Relation::Behind
        } else {
            Relation::Diverged
        })
    }

    async fn commit_message(&self, repository: &str, commit: &str) -> PortResult<Option<String>> {
        local_commit_message(&self.folder(repository)?, commit).await
    }

    async fn head_of_branch(&self, repository: &str, branch: &str) -> PortResult<Option<String>> {
        let folder = self.folder(repository)?;
        if branch.starts_with('-') || branch.contains("..") || branch.is_empty() {
            return Err(PortError::Invalid(format!("`{branch}` is not a branch")));
        }
        let output = tokio::process::Command::new("git")
            .arg("-C")
            .arg(&folder)
            .args(["rev-parse", "--verify", "--quiet"])
            .arg(format!("refs/heads/{branch}^{{commit}}"))
            .output()
            .await
            .map_err(|error| PortError::Invalid(format!("cannot run git: {error}")))?;
        let sha = String::from_utf8_lossy(&output.stdout).trim().to_string();
        Ok((output.status.success() && !sha.is_empty()).then_some(sha))
    }
}

/// `git log -1 --format=%B COMMIT`: the message, `None` when the commit is not here.
async fn local_commit_message(folder: &Path, commit: &str) -> PortResult<Option<String>> {
    let commit = commit_id(commit)?;
    let output = tokio::process::Command::new("git")
        .arg("-C")
        .arg(folder)
        .args(["log", "-1", "--format=%B"])
        .arg(format!("{commit}^{{commit}}"))
        .arg("--")
        .output()
        .await
        .map_err(|error| PortError::Invalid(format!("cannot run git: {error}")))?;
    Ok(output.status.success().then(|| {
        String::from_utf8_lossy(&output.stdout)
            .trim_end()
            .to_string()
    }))
}

/// A commit id as Git takes it on a command line (never an option).
fn commit_id(commit: &str) -> PortResult<&str> {
    if commit.is_empty() || !commit.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(PortError::Invalid(format!("`{commit}` is not a commit id")));
    }
    Ok(commit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(dir: &Path, args: &[&str]) -> String {
        let output = std::process::Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap().trim().to_string()
    }

    fn commit(dir: &Path, message: &str) -> String {
        git(
            dir,
            &[
                "-c",
                "user.email=t@example.com",
                "-c",
                "user.name=t",
                "commit",
                "-q",
                "--allow-empty",
                "-m",
                message,
            ],
        );
        git(dir, &["rev-parse", "HEAD"])
    }

    #[tokio::test]
    async fn orders_commits_by_ancestry_and_reads_branch_heads() {
        let dir = tempfile::tempdir().unwrap();
        git(dir.path(), &["init", "-q", "-b", "main"]);
        let first = commit(dir.path(), "one");
        let second = commit(dir.path(), "two");
        git(dir.path(), &["checkout", "-q", "-b", "other", &first]);
        let aside = commit(dir.path(), "aside");
        let repo = dir.path().to_str().unwrap();
        let source = LocalRepository::commits();
        let relation = |base: String, head: String| {
            let source = source.clone();
            async move { source.compare_commits(repo, &base, &head).await.unwrap() }
        };
        assert_eq!(
            relation(first.clone(), second.clone()).await,
            Relation::Ahead
        );
        assert_eq!(
            relation(second.clone(), first.clone()).await,
            Relation::Behind
        );
        assert_eq!(
            relation(second.clone(), second.clone()).await,
            Relation::Identical
        );
        assert_eq!(
            relation(second.clone(), aside.clone()).await,
            Relation::Diverged
        );
        assert_eq!(
            relation(second.clone(), "ab".repeat(20)).await,
            Relation::Diverged,
            "a commit the repository does not have is unrelated"
        );
        assert!(source.compare_commits(repo, "--all", &first).await.is_err());
        assert_eq!(
            source.head_of_branch(repo, "main").await.unwrap(),
            Some(second)
        );
        assert_eq!(
            source.head_of_branch(repo, "other").await.unwrap(),
            Some(aside)
        );
        assert_eq!(source.head_of_branch(repo, "gone").await.unwrap(), None);
    }

    #[tokio::test]
    async fn reads_committed_files_and_reports_missing_ones() {
        let dir = tempfile::tempdir().unwrap();
        git(dir.path(), &["init", "-q"]);
        std::fs::create_dir(dir.path().join(".ferry")).unwrap();
        std::fs::write(dir.path().join(".ferry/web.yaml"), "service: web\n").unwrap();
        git(dir.path(), &["add", "."]);
        git(
            dir.path(),
            &[
                "-c",
                "user.email=t@example.com",
                "-c",
                "user.name=t",
                "commit",
                "-qm",
                "one",
            ],
        );
        let commit = git(dir.path(), &["rev-parse", "HEAD"]);
        std::fs::write(dir.path().join(".ferry/web.yaml"), "service: changed\n").unwrap();

        let repo = dir.path().to_str().unwrap();
        let committed = LocalRepository::commits();
        assert_eq!(
            committed
                .read_file(repo, &commit, ".ferry/web.yaml")
                .await
                .unwrap()
                .unwrap(),
            "service: web\n"
        );
        assert_eq!(
            committed
                .read_file(repo, &commit, ".ferry/api.yaml")
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            committed.list_dir(repo, &commit, ".ferry").await.unwrap(),
            ["web.yaml"]
        );
        assert!(
            committed
                .list_dir(repo, &commit, "none")
                .await
                .unwrap()
                .is_empty()
        );
        let named = LocalRepository::commits()
            .with_folders(crate::parse_repository_map(&format!("Acme/Shop={repo}")).unwrap());
        assert_eq!(
            named
                .read_file("acme/shop", &commit, ".ferry/web.yaml")
                .await
                .unwrap()
                .unwrap(),
            "service: web\n"
        );
        assert_eq!(
            named
                .list_dir("ACME/shop", &commit, ".ferry")
                .await
                .unwrap(),
            ["web.yaml"]
        );
        let unmapped = named
            .read_file("acme/api", &commit, ".ferry/web.yaml")
            .await;
        assert!(
            matches!(unmapped, Err(PortError::NotFound(ref message)) if message.contains("FERRY_LOCAL_REPOSITORIES=acme/api=")),
            "{unmapped:?}"
        );
        let worktree = LocalRepository::worktree();
        std::fs::write(dir.path().join(".ferry/api.yaml"), "service: api\n").unwrap();
        assert_eq!(
            worktree.list_dir(repo, &commit, ".ferry/").await.unwrap(),
            ["api.yaml", "web.yaml"]
        );
        assert_eq!(
            worktree
                .read_file(repo, &commit, ".ferry/web.yaml")
                .await
                .unwrap()
                .unwrap(),
            "service: changed\n"
        );
        assert!(
            worktree
                .read_file(repo, &commit, "../etc/passwd")
                .await
                .is_err()
        );
        assert!(
            committed
                .read_file(repo, "HEAD; rm -rf /", ".ferry/web.yaml")
                .await
                .is_err()
        );
    }
}
