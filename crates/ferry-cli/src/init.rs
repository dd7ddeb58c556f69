//! `ferry init --from-appspec APPSPEC --taskdef TASKDEF ...`: a team's CodeDeploy setup as a
//! Ferry manifest and task definition file, written into the application repository and
//! validated (`ferry_core::manifest::codedeploy` does the conversion).

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use ferry_core::manifest::{self, codedeploy};

use crate::args::{InitArgs, RerouteTimeout};

pub fn run(args: InitArgs) -> anyhow::Result<ExitCode> {
    let [blue, green] = <[String; 2]>::try_from(args.target_groups.clone()).map_err(|given| {
        crate::ConfigError(format!(
            "--target-groups takes the pair, two ARNs, the one production uses now first; found {}",
            given.len()
        ))
    })?;
    let appspec_text = std::fs::read_to_string(&args.from_appspec)
        .with_context(|| format!("reading {}", args.from_appspec.display()))?;
    let appspec =
        match codedeploy::parse_appspec(&args.from_appspec.display().to_string(), &appspec_text) {
            Ok(appspec) => appspec,
            Err(problems) => {
                eprintln!("{problems}");
                return Ok(ExitCode::from(1));
            }
        };
    let taskdef_text = std::fs::read_to_string(&args.taskdef)
        .with_context(|| format!("reading {}", args.taskdef.display()))?;
    let group = codedeploy::DeploymentGroup {
        cluster: args.cluster.clone(),
        service: args.service.clone(),
        region: args.region.clone(),
        listener: args.listener.clone(),
        test_listener: args.test_listener.clone(),
        target_groups: [blue, green],
        deployment_config: args.deployment_config.clone(),
        reroute_wait_seconds: args.reroute_wait,
        continue_after_wait: args.on_reroute_timeout == RerouteTimeout::Continue,
        termination_wait_seconds: args.termination_wait,
        alarms: args.alarms.clone(),
        image: args.image.clone(),
    };
    let service = args.service.as_str();
    let converted = codedeploy::convert(
        &appspec,
        &taskdef_text,
        &group,
        &format!("../ecs/{service}.json"),
    )
    .map_err(crate::ConfigError)?;

    let manifest_path = args.dir.join(".ferry").join(format!("{service}.yaml"));
    let task_definition_path = args.dir.join("ecs").join(format!("{service}.json"));
    for path in [&manifest_path, &task_definition_path] {
        if path.exists() && !args.force {
            bail!(crate::ConfigError(format!(
                "{} exists; --force replaces it",
                path.display()
            )));
        }
    }
    write(&manifest_path, &converted.manifest)?;
    write(&task_definition_path, &converted.task_definition)?;
    println!("wrote {}", manifest_path.display());
    println!("wrote {}", task_definition_path.display());
    for note in &converted.not_carried {
        println!("not carried: {note}");
    }
    match manifest::load(&manifest_path) {
        Ok(found) => {
            println!(
                "ok  {} ({} on {}, {})",
                manifest_path.display(),
                found.service,
                found.cluster,
                found.plan().strategy_label()
            );
            println!(
                "next: `ferry plan {}`, then move the service to the EXTERNAL deployment controller (docs/migrating-from-codedeploy.md)",
                manifest_path.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(problems) => {
            eprintln!("{problems}");
            eprintln!("the files were written; fix what is listed above, then `ferry validate`");
            Ok(ExitCode::from(1))
        }
    }
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(folder) = path.parent() {
        std::fs::create_dir_all(folder)
            .with_context(|| format!("creating {}", folder.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}
