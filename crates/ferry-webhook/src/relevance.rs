//! The cheap first half of "is this push relevant?", decided in the intake so that an
//! irrelevant push costs one HMAC and one parse: no DynamoDB write, no event, no workflow.
//!
//! # The rule
//!
//! A push is published when all of these hold:
//!
//! 1. it updates a **branch** (`refs/heads/...`): tags and other refs never deploy;
//! 2. it does not **delete** the branch;
//! 3. the branch is **tracked**: one of `FERRY_TRACKED_BRANCHES` (comma-separated names, a
//!    trailing `*` matches a prefix: `main,release/*`), or, when that is unset, the
//!    repository's default branch;
//! 4. one of its **changed paths** (the `added`, `modified` and `removed` of every pushed
//!    commit) matches `FERRY_WATCH_PATHS` (comma-separated; default `.ferry/,*.json`: a
//!    manifest, or anything that may be a task definition), **or** the paths are not known
//!    completely (no commit listed, as for a new branch or a force push to an older commit,
//!    or GitHub's cap of 2048 listed commits reached). Teams whose task definitions use
//!    `${GIT_SHA}` and so deploy on every commit set `FERRY_WATCH_PATHS=*`.
//!
//! A pull request is published when its action is `opened`, `reopened`, `synchronize` or
//! `closed` and its base branch is tracked.
//!
//! The exact decision, "which manifests does this commit touch", needs the repository's files
//! and is made later, by whatever starts the deploy workflow (the local runtime reads the
//! manifests at the commit; see `ferry-local`): a manifest is touched when its own file or its
//! task definition changed, or when the paths are unknown.

/// Which branches and paths make an event worth publishing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relevance {
    /// Empty: the repository's default branch.
    pub tracked_branches: Vec<String>,
    pub watch_paths: PathFilter,
}

impl Default for Relevance {
    fn default() -> Self {
        Self {
            tracked_branches: Vec::new(),
            watch_paths: PathFilter::parse(DEFAULT_WATCH_PATHS),
        }
    }
}

/// `FERRY_WATCH_PATHS` when unset.
pub const DEFAULT_WATCH_PATHS: &str = ".ferry/,*.json";

impl Relevance {
    /// From `FERRY_TRACKED_BRANCHES` and `FERRY_WATCH_PATHS`; empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        Self {
            tracked_branches: get("FERRY_TRACKED_BRANCHES")
                .map(|value| split_list(&value))
                .unwrap_or_default(),
            watch_paths: PathFilter::parse(
                get("FERRY_WATCH_PATHS")
                    .as_deref()
                    .unwrap_or(DEFAULT_WATCH_PATHS),
            ),
        }
    }

    /// Whether `branch` is tracked, the default branch being `default_branch`.
    pub fn tracks(&self, branch: &str, default_branch: &str) -> bool {
        if self.tracked_branches.is_empty() {
            return branch == default_branch;
        }
        self.tracked_branches
            .iter()
            .any(|pattern| match pattern.strip_suffix('*') {
                Some(prefix) => branch.starts_with(prefix),
                None => pattern == branch,
            })
    }

    /// Says which branches are tracked, for "ignored" answers.
    pub fn describe_tracked(&self, default_branch: &str) -> String {
        if self.tracked_branches.is_empty() {
            format!("the default branch {default_branch} (set FERRY_TRACKED_BRANCHES for others)")
        } else {
            self.tracked_branches.join(", ")
        }
    }
}

fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_string)
        .collect()
}

/// Path patterns: `*` (everything), `dir/` (anything under a folder of that name, at any
/// depth: `.ferry/` matches `services/web/.ferry/web.yaml`), `*.ext` (a suffix, at any depth),
/// or an exact path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathFilter {
    patterns: Vec<String>,
}

impl PathFilter {
    pub fn parse(list: &str) -> Self {
        Self {
            patterns: split_list(list),
        }
    }

    pub fn matches(&self, path: &str) -> bool {
        self.patterns.iter().any(|pattern| {
            if pattern == "*" || pattern == "**" {
                true
            } else if let Some(suffix) = pattern.strip_prefix('*') {
                path.ends_with(suffix)
            } else if pattern.ends_with('/') {
                path.starts_with(pattern.as_str())
                    || path
                        .match_indices(pattern.as_str())
                        .any(|(at, _)| at > 0 && path.as_bytes()[at - 1] == b'/')
            } else {
                path == pattern
            }
        })
    }

    pub fn describe(&self) -> String {
        self.patterns.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_watch_paths_are_manifests_and_json_files_at_any_depth() {
        let filter = Relevance::default().watch_paths;
        for path in [
            ".ferry/web.yaml",
            "services/web/.ferry/web.yaml",
            "ecs/web.json",
            "taskdef.json",
        ] {
            assert!(filter.matches(path), "{path}");
        }
        for path in [
            "README.md",
            "web/src/main.rs",
            "x.ferry/web.yaml",
            "ferry/web.yaml",
            "ecs/web.json5",
        ] {
            assert!(!filter.matches(path), "{path}");
        }
    }

    #[test]
    fn a_star_watches_every_path_and_exact_paths_match_only_themselves() {
        assert!(PathFilter::parse("*").matches("src/main.rs"));
        let exact = PathFilter::parse("deploy/web.yaml");
        assert!(exact.matches("deploy/web.yaml"));
        assert!(!exact.matches("deploy/web.yaml.bak"));
    }

    #[test]
    fn without_a_list_only_the_default_branch_is_tracked() {
        let relevance = Relevance::from_lookup(|_| None);
        assert!(relevance.tracks("main", "main"));
        assert!(!relevance.tracks("feature", "main"));
        assert!(relevance.tracks("trunk", "trunk"));
    }

    #[test]
    fn tracked_branches_are_names_or_prefixes_ending_in_a_star() {
        let relevance = Relevance::from_lookup(|name| {
            (name == "FERRY_TRACKED_BRANCHES").then(|| "main, release/*".to_string())
        });
        assert!(relevance.tracks("main", "trunk"));
        assert!(relevance.tracks("release/2026-11", "trunk"));
        assert!(!relevance.tracks("trunk", "trunk"));
        assert!(!relevance.tracks("mainline", "trunk"));
    }
}
