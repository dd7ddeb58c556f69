//! `ferry init --cluster C --service S`: a live service (read by `ferry_aws::discover`,
//! converted by `ferry_core::manifest::live`), or with `--from-appspec APPSPEC --taskdef
//! TASKDEF ...` a team's CodeDeploy setup (`ferry_core::manifest::codedeploy`), as a Ferry
//! manifest and task definition file, written into the application repository and validated.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use ferry_core::manifest::{self, codedeploy, live};

use crate::args::{InitArgs, RerouteTimeout};

pub async fn run(args: InitArgs) -> anyhow::Result<ExitCode> {
    let pair = match args.target_groups.len() {
        0 => None,
        2 => Some([args.target_groups[0].clone(), args.target_groups[1].clone()]),
        given => {
            return Err(crate::ConfigError(format!(
                "--target-groups takes the pair, two ARNs, the one production uses now first; found {given}"
            ))
            .into());
        }
    };
    let service = args.service.as_str();
    let task_definition_ref = format!("../ecs/{service}.json");
    let converted = match &args.from_appspec {
        None if args.from_codedeploy.is_some() => {
            let Some(converted) = from_codedeploy_group(&args, &task_definition_ref).await? else {
                return Ok(ExitCode::from(1));
            };
            converted
        }
        Some(appspec_path) => {
            let Some(converted) = from_codedeploy(&args, appspec_path, pair, &task_definition_ref)?
            else {
                return Ok(ExitCode::from(1));
            };
            converted
        }
        None => {
            let (_, region, clients) = aws(&args).await;
            let live = ferry_aws::discover::live_service(&clients, region, &args.cluster, service)
                .await
                .with_context(|| {
                    format!("reading service {service} in cluster {}", args.cluster)
                })?;
            let choices = live::Choices {
                listener: args.listener.clone(),
                target_groups: pair,
            };
            live::from_live(&live, &choices, &task_definition_ref).map_err(crate::ConfigError)?
        }
    };

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
    // From CodeDeploy these are what could not be carried; from a live service, what to check.
    let label = if args.from_appspec.is_some() || args.from_codedeploy.is_some() {
        "not carried"
    } else {
        "note"
    };
    for note in &converted.not_carried {
        println!("{label}: {note}");
    }
    for note in &converted.notes {
        println!("note: {note}");
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
            println!("next: `ferry plan {}`", manifest_path.display());
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

/// The offline conversion; `None` when the AppSpec has problems (printed).
fn from_codedeploy(
    args: &InitArgs,
    appspec_path: &Path,
    pair: Option<[String; 2]>,
    task_definition_ref: &str,
) -> anyhow::Result<Option<codedeploy::Converted>> {
    // clap requires these with --from-appspec.
    let (Some(taskdef), Some(listener), Some(target_groups)) =
        (&args.taskdef, &args.listener, pair)
    else {
        return Err(crate::ConfigError(
            "--from-appspec needs --taskdef, --listener and --target-groups".into(),
        )
        .into());
    };
    let appspec_text = std::fs::read_to_string(appspec_path)
        .with_context(|| format!("reading {}", appspec_path.display()))?;
    let appspec =
        match codedeploy::parse_appspec(&appspec_path.display().to_string(), &appspec_text) {
            Ok(appspec) => appspec,
            Err(problems) => {
                eprintln!("{problems}");
                return Ok(None);
            }
        };
    let taskdef_text = std::fs::read_to_string(taskdef)
        .with_context(|| format!("reading {}", taskdef.display()))?;
    let group = codedeploy::DeploymentGroup {
        cluster: args.cluster.clone(),
        service: args.service.clone(),
        region: args.region.clone(),
        listener: listener.clone(),
        test_listener: args.test_listener.clone(),
        target_groups,
        deployment_config: args.deployment_config.clone(),
        reroute_wait_seconds: args.reroute_wait,
        continue_after_wait: args.on_reroute_timeout == RerouteTimeout::Continue,
        termination_wait_seconds: args.termination_wait,
        alarms: args.alarms.clone(),
        image: args.image.clone(),
    };
    codedeploy::convert(&appspec, &taskdef_text, &group, task_definition_ref)
        .map(Some)
        .map_err(|problem| crate::ConfigError(problem).into())
}

/// `--from-codedeploy APP/GROUP`: the deployment group and its latest AppSpec from CodeDeploy,
/// the task definition and container from the service it deploys. `None` when the AppSpec has
/// problems (printed).
async fn from_codedeploy_group(
    args: &InitArgs,
    task_definition_ref: &str,
) -> anyhow::Result<Option<codedeploy::Converted>> {
    let named = args.from_codedeploy.as_deref().unwrap_or_default();
    let Some((application, group)) = named
        .split_once('/')
        .filter(|(application, group)| !application.is_empty() && !group.is_empty())
    else {
        return Err(crate::ConfigError(format!(
            "--from-codedeploy is written APPLICATION/DEPLOYMENT-GROUP, found {named:?}"
        ))
        .into());
    };
    let (config, region, clients) = aws(args).await;
    let setup = ferry_aws::discover::codedeploy_setup(
        &config,
        &clients,
        application,
        group,
        region.clone(),
    )
    .await
    .with_context(|| format!("reading CodeDeploy deployment group {named}"))?;
    let (old_cluster, old_service) = (setup.group.cluster.clone(), setup.group.service.clone());
    let live = ferry_aws::discover::live_service(&clients, region, &old_cluster, &old_service)
        .await
        .with_context(|| format!("reading service {old_service} in cluster {old_cluster}"))?;
    println!(
        "read CodeDeploy {named}, which deploys {old_service} in {old_cluster}; the manifest is for {} in {}",
        args.service, args.cluster
    );
    let mut notes = Vec::new();
    let appspec = match &setup.appspec {
        Some(text) => match codedeploy::parse_appspec(&format!("the AppSpec of {named}"), text) {
            Ok(appspec) => appspec,
            Err(problems) => {
                eprintln!("{problems}");
                return Ok(None);
            }
        },
        None => {
            notes.push(format!(
                "the AppSpec: {named}'s deployments keep none CodeDeploy can show (an S3 revision); the container and network were read from {old_service}, and its hooks are unknown"
            ));
            codedeploy::AppSpec {
                container: live.container.clone().ok_or_else(|| {
                    crate::ConfigError(format!("service {old_service} has no load balancer"))
                })?,
                placement: live.placement.clone(),
                hooks: Vec::new(),
            }
        }
    };
    if appspec.placement.is_none() {
        notes.push(format!(
            "network: neither the AppSpec nor {old_service} says where tasks run; a first deployment of {} needs `network:` (subnets, securityGroups, launchType)",
            args.service
        ));
    }
    let mut group_settings = setup.group;
    group_settings.cluster = args.cluster.clone();
    group_settings.service = args.service.clone();
    let task_definition = serde_json::to_string(&live.task_definition)?;
    let mut converted = codedeploy::convert(
        &appspec,
        &task_definition,
        &group_settings,
        task_definition_ref,
    )
    .map_err(crate::ConfigError)?;
    notes.append(&mut converted.not_carried);
    converted.not_carried = notes;
    Ok(Some(converted))
}

/// The SDK configuration, the region the manifest names (`--region`, else the configured one)
/// and the clients `ferry init` reads with.
async fn aws(args: &InitArgs) -> (aws_config::SdkConfig, Option<String>, ferry_aws::AwsClients) {
    let config = ferry_aws::load_sdk_config().await;
    let region = args
        .region
        .clone()
        .or_else(|| config.region().map(|region| region.to_string()));
    let clients = ferry_aws::AwsClients::new(&config);
    (config, region, clients)
}
