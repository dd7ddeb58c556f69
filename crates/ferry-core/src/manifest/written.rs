//! How `ferry init` writes a manifest: the lines every converted manifest starts with, and the
//! values the manifest's own syntax spells (durations, strategies, `network:`).

use serde_json::Value;

use super::{ContainerTarget, READ_ONLY_FIELDS};
use crate::plan::Strategy;
use crate::ports::Placement;

/// Service, cluster, region, task definition, container, traffic and strategy.
pub(super) struct Head<'a> {
    /// Where it was written from, for the first comment line.
    pub comment: &'a str,
    pub service: &'a str,
    pub cluster: &'a str,
    pub region: Option<&'a str>,
    pub task_definition_ref: &'a str,
    pub container: &'a ContainerTarget,
    pub listener: &'a str,
    pub rule: Option<&'a str>,
    pub test_listener: Option<&'a str>,
    pub target_groups: &'a [String; 2],
    pub strategy: &'a Strategy,
}

impl Head<'_> {
    pub(super) fn render(&self) -> String {
        let mut out = format!(
            "# Written by `ferry init` {}. Check it with `ferry plan`.\nservice: {}\ncluster: {}\n",
            self.comment, self.service, self.cluster
        );
        if let Some(region) = self.region {
            out.push_str(&format!("region: {region}\n"));
        }
        out.push_str(&format!(
            "taskDefinition: {}\ncontainer: {{ name: {}, port: {} }}\ntraffic:\n  listener: {}\n",
            self.task_definition_ref, self.container.name, self.container.port, self.listener
        ));
        if let Some(rule) = self.rule {
            out.push_str(&format!("  rule: {rule}\n"));
        }
        if let Some(test) = self.test_listener {
            out.push_str(&format!("  testListener: {test}\n"));
        }
        out.push_str(&format!(
            "  targetGroups: [{}, {}]\nstrategy:\n  {}\n",
            self.target_groups[0],
            self.target_groups[1],
            strategy_yaml(self.strategy)
        ));
        out
    }
}

/// A duration as the manifest writes it, in whole minutes or hours.
pub(super) fn minutes(seconds: u64) -> String {
    let minutes = seconds.div_ceil(60).max(1);
    if minutes.is_multiple_of(60) {
        format!("{}h", minutes / 60)
    } else {
        format!("{minutes}m")
    }
}

fn strategy_yaml(strategy: &Strategy) -> String {
    match strategy {
        Strategy::Canary {
            weight,
            bake_seconds,
        } => format!(
            "canary: {{ weight: {weight}, bake: {} }}",
            minutes(*bake_seconds)
        ),
        Strategy::Linear {
            step,
            interval_seconds,
        } => format!(
            "linear: {{ step: {step}, interval: {} }}",
            minutes(*interval_seconds)
        ),
        _ => "allAtOnce: {}".into(),
    }
}

pub(super) fn network_yaml(placement: &Placement) -> String {
    let mut out = String::from("network:\n");
    if let Some(network) = &placement.network {
        out.push_str(&format!(
            "  subnets: [{}]\n  securityGroups: [{}]\n  assignPublicIp: {}\n",
            network.subnets.join(", "),
            network.security_groups.join(", "),
            network.assign_public_ip
        ));
    }
    if !placement.capacity_providers.is_empty() {
        out.push_str("  capacityProviders:\n");
        for item in &placement.capacity_providers {
            out.push_str(&format!(
                "    - {{ capacityProvider: {}, weight: {}, base: {} }}\n",
                item.capacity_provider, item.weight, item.base
            ));
        }
    }
    if let Some(version) = &placement.platform_version {
        out.push_str(&format!("  platformVersion: {version}\n"));
    }
    out
}

/// A task definition without the fields `describe-task-definition` returns and registering
/// refuses.
pub(super) fn without_read_only_fields(document: &mut Value) -> Result<(), String> {
    let fields = document
        .as_object_mut()
        .ok_or("the task definition is not a JSON object")?;
    for field in READ_ONLY_FIELDS {
        fields.remove(*field);
    }
    Ok(())
}

/// The task definition file's text.
pub(super) fn task_definition_file(document: &Value) -> Result<String, String> {
    serde_json::to_string_pretty(document)
        .map(|text| text + "\n")
        .map_err(|error| format!("writing the task definition: {error}"))
}
