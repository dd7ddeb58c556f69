//! `ferry validate PATH...`

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use ferry_core::manifest;

/// Validates every manifest found under `paths`; problems go to stderr.
pub fn run(paths: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let manifests = collect(paths)?;
    let mut invalid = 0;
    for path in &manifests {
        match manifest::load(path) {
            Ok(found) => {
                let plan = found.plan();
                println!(
                    "ok  {} ({} on {}, {} step{})",
                    path.display(),
                    found.service,
                    found.cluster,
                    plan.steps.len(),
                    if plan.steps.len() == 1 { "" } else { "s" }
                );
            }
            Err(problems) => {
                invalid += 1;
                eprintln!("{problems}");
            }
        }
    }
    if invalid > 0 {
        eprintln!(
            "{invalid} of {} manifest{} invalid",
            manifests.len(),
            if manifests.len() == 1 { " is" } else { "s are" }
        );
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// Files are taken as they are; a directory contributes the `*.yaml`/`*.yml` files of its
/// `.ferry/` folder (or of itself, when it is a `.ferry` folder).
fn collect(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for path in paths {
        if path.is_file() {
            found.push(path.clone());
            continue;
        }
        if !path.is_dir() {
            bail!("{}: no such file or directory", path.display());
        }
        let folder = if path.file_name().is_some_and(|name| name == ".ferry") {
            path.clone()
        } else {
            path.join(".ferry")
        };
        let mut in_folder = yaml_files(&folder).with_context(|| {
            format!(
                "{}: expected a .ferry folder with manifests",
                path.display()
            )
        })?;
        if in_folder.is_empty() {
            bail!("{}: no manifests (*.yaml) found", folder.display());
        }
        found.append(&mut in_folder);
    }
    Ok(found)
}

fn yaml_files(folder: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(folder)?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| {
            path.is_file()
                && path
                    .extension()
                    .is_some_and(|extension| extension == "yaml" || extension == "yml")
        })
        .collect();
    files.sort();
    Ok(files)
}
