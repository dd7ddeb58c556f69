//! [`DeploymentStore`] on one DynamoDB table.
//!
//! # Single-table design
//!
//! The Terraform module creates exactly these names; [`ensure_table`] creates the same table in
//! local mode.
//!
//! | item | `pk` | `sk` | other attributes |
//! | --- | --- | --- | --- |
//! | deployment | `DEPLOYMENT#<id>` | `DEPLOYMENT` | `record` (the [`Deployment`] as JSON), `version` (N), `deploymentId`, `serviceKey`, `status`, `createdAt`, `updatedAt`, `gsi2pk`/`gsi2sk`, `gsi3pk`/`gsi3sk`, and `gsi1pk`/`gsi1sk` while in flight |
//! | service lock | `LOCK#<cluster>/<service>` | `LOCK` | `deploymentId`, `serviceKey`, `acquiredAt`, `expiresAtTime` (RFC 3339), `expiresAt` (N, epoch seconds) |
//! | chat thread | `THREAD#<deployment id>` | `THREAD` | `channel`, `ts`: the Slack message a deployment's notifications edit and thread under |
//! | desired state | `DESIRED#<cluster>/<service>` | `DESIRED` | `record` (the [`Desired`] as JSON), `version` (N), `generation` (N), `serviceKey`, `settledGeneration` (N), `settledDeploymentId`, `settledAt` once a generation is settled, and `gsi1pk`/`gsi1sk` while one waits |
//!
//! Other components put their own items in the same table (webhook delivery ids with an
//! `expiresAt`); their `pk` prefixes never collide with these.
//!
//! Indexes (all project all attributes):
//! - `gsi1` (`gsi1pk` = `INFLIGHT`, `gsi1sk` = `<createdAt>#<id>`): deployments in flight. It is
//!   sparse: a write that makes a deployment terminal omits both attributes, which removes the
//!   item from the index. In-flight deployments are few at any time, so one partition is fine.
//!   Desired states waiting to be deployed use the same index under `gsi1pk` = `PENDING`
//!   (`gsi1sk` = `<pushedAt>#<service key>`).
//! - `gsi2` (`gsi2pk` = `SERVICE#<cluster>/<service>`, `gsi2sk` = `<createdAt>#<id>`): a
//!   service's deployments, newest first with `ScanIndexForward = false`.
//! - `gsi3` (`gsi3pk` = `DEPLOYMENTS`, `gsi3sk` = `<createdAt>#<id>`): every service's
//!   deployments, newest first (the web UI's list). One partition: deployments are written a
//!   few times a minute at most.
//!
//! `createdAt` in sort keys is UTC with nine fractional digits, so text order is time order.
//!
//! `expiresAt` is the table's TTL attribute. The lock carries it so that a crashed deployment's
//! lock disappears eventually; expiry itself is decided by the conditional writes below, never by
//! TTL (which deletes items up to days late).
//!
//! # Concurrency
//!
//! - A deployment write is a conditional put on `version = :expected` (the whole item is
//!   replaced, which is also how the gsi1 attributes go away); the loser gets `Conflict`.
//! - `plan` settles a desired state in the same transaction that takes the lock: an update of
//!   the desired item on `generation = :g AND settledGeneration <> :g` (or not settled yet),
//!   which also removes it from `PENDING`. The settlement lives in its own attributes, which
//!   win over the JSON copy when read. Other desired writes are conditional puts on `version`.
//! - Acquire: put the lock if `attribute_not_exists(pk) OR deploymentId = :me OR expiresAt <=
//!   :now`. Take over: `attribute_not_exists(pk) OR deploymentId = :holder`. Release: delete if
//!   `deploymentId = :me`. Lock expiry is compared in whole epoch seconds: a lock expires once
//!   `expires_at <= now`, as in ferry-core's in-memory store.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, IndexStatus,
    KeySchemaElement, KeyType, Projection, ProjectionType, Put, ScalarAttributeType, TableStatus,
    TimeToLiveSpecification, TransactWriteItem, Update,
};
use ferry_core::convergence::{Desired, Settled};
use ferry_core::deployment::Deployment;
use ferry_core::ports::{
    DeploymentStore, LockOutcome, PortError, PortResult, ServiceLock, ThreadRef, ThreadStore,
};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use tracing::{debug, info};

use crate::error::{code_of, port_error};

/// Attribute and index names shared with `infra/terraform/dynamodb.tf`.
pub mod names {
    pub const PK: &str = "pk";
    pub const SK: &str = "sk";
    pub const GSI1: &str = "gsi1";
    pub const GSI1_PK: &str = "gsi1pk";
    pub const GSI1_SK: &str = "gsi1sk";
    pub const GSI2: &str = "gsi2";
    pub const GSI2_PK: &str = "gsi2pk";
    pub const GSI2_SK: &str = "gsi2sk";
    pub const GSI3: &str = "gsi3";
    pub const GSI3_PK: &str = "gsi3pk";
    pub const GSI3_SK: &str = "gsi3sk";
    /// The TTL attribute, epoch seconds.
    pub const EXPIRES_AT: &str = "expiresAt";
}

use names::*;

const DEPLOYMENT_SK: &str = "DEPLOYMENT";
const LOCK_SK: &str = "LOCK";
const IN_FLIGHT: &str = "INFLIGHT";
const DESIRED_SK: &str = "DESIRED";
const PENDING: &str = "PENDING";
/// gsi3's one partition: every deployment, latest first. Deployments are written a few times a
/// minute at most, far below a partition's limits.
const RECENT: &str = "DEPLOYMENTS";
pub(crate) const CONDITION_FAILED: &str = "ConditionalCheckFailedException";
/// A transaction whose condition failed (or that collided with another transaction).
const TRANSACTION_CANCELED: &str = "TransactionCanceledException";

/// The DynamoDB adapter.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

type Item = HashMap<String, AttributeValue>;

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    async fn get_item(&self, pk: String, sk: &str, what: &str) -> PortResult<Option<Item>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key(PK, s(pk))
            .key(SK, s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|error| port_error("GetItem", what, error))?;
        Ok(output.item)
    }

    async fn put_lock(
        &self,
        lock: &ServiceLock,
        condition: &str,
        values: Vec<(&str, AttributeValue)>,
    ) -> PortResult<bool> {
        let mut call = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(lock_item(lock)))
            .condition_expression(condition);
        for (name, value) in values {
            call = call.expression_attribute_values(name, value);
        }
        match call.send().await {
            Ok(_) => Ok(true),
            Err(error) if code_of(&error) == Some(CONDITION_FAILED) => Ok(false),
            Err(error) => Err(port_error(
                "PutItem",
                &format!("lock of {}", lock.service_key),
                error,
            )),
        }
    }

    /// Pages through a query on one index partition, up to `limit` items, read with `parse`.
    async fn query_index<T>(
        &self,
        index: &str,
        pk_name: &str,
        pk_value: String,
        newest_first: bool,
        limit: Option<usize>,
        parse: fn(&Item) -> PortResult<T>,
    ) -> PortResult<Vec<T>> {
        let mut found = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let remaining = limit.map(|limit| limit.saturating_sub(found.len()));
            if remaining == Some(0) {
                break;
            }
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(index)
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", pk_name)
                .expression_attribute_values(":pk", s(pk_value.clone()))
                .scan_index_forward(!newest_first)
                .set_limit(remaining.map(|count| i32::try_from(count).unwrap_or(i32::MAX)))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|error| {
                    port_error(
                        "Query",
                        &format!("index {index} of table {}", self.table),
                        error,
                    )
                })?;
            for item in output.items() {
                found.push(parse(item)?);
            }
            match output.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        if let Some(limit) = limit {
            found.truncate(limit);
        }
        Ok(found)
    }
}

pub(crate) fn s(text: impl Into<String>) -> AttributeValue {
    AttributeValue::S(text.into())
}

pub(crate) fn n(number: impl ToString) -> AttributeValue {
    AttributeValue::N(number.to_string())
}

fn lock_pk(service_key: &str) -> String {
    format!("LOCK#{service_key}")
}

fn desired_pk(service_key: &str) -> String {
    format!("DESIRED#{service_key}")
}

fn deployment_pk(id: &str) -> String {
    format!("DEPLOYMENT#{id}")
}

/// UTC with nine fractional digits: text order is time order, unlike plain RFC 3339.
fn sortable(at: OffsetDateTime) -> String {
    let format =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:9]Z");
    at.to_offset(time::UtcOffset::UTC)
        .format(&format)
        .unwrap_or_default()
}

pub(crate) fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

fn lock_item(lock: &ServiceLock) -> Item {
    HashMap::from([
        (PK.to_string(), s(lock_pk(&lock.service_key))),
        (SK.to_string(), s(LOCK_SK)),
        ("deploymentId".to_string(), s(&lock.deployment_id)),
        ("serviceKey".to_string(), s(&lock.service_key)),
        ("acquiredAt".to_string(), s(rfc3339(lock.acquired_at))),
        ("expiresAtTime".to_string(), s(rfc3339(lock.expires_at))),
        (EXPIRES_AT.to_string(), n(lock.expires_at.unix_timestamp())),
    ])
}

fn text<'a>(item: &'a Item, name: &str) -> PortResult<&'a str> {
    item.get(name)
        .and_then(|value| value.as_s().ok())
        .map(String::as_str)
        .ok_or_else(|| corrupt(item, &format!("no text attribute `{name}`")))
}

fn corrupt(item: &Item, problem: &str) -> PortError {
    let key = item
        .get(PK)
        .and_then(|value| value.as_s().ok())
        .cloned()
        .unwrap_or_default();
    PortError::Invalid(format!("stored item {key} is unreadable: {problem}"))
}

fn lock_from(item: &Item) -> PortResult<ServiceLock> {
    let time = |name: &str| -> PortResult<OffsetDateTime> {
        OffsetDateTime::parse(text(item, name)?, &Rfc3339)
            .map_err(|error| corrupt(item, &format!("`{name}`: {error}")))
    };
    Ok(ServiceLock {
        service_key: text(item, "serviceKey")?.to_string(),
        deployment_id: text(item, "deploymentId")?.to_string(),
        acquired_at: time("acquiredAt")?,
        expires_at: time("expiresAtTime")?,
    })
}

fn deployment_item(deployment: &Deployment) -> PortResult<Item> {
    let record = serde_json::to_string(deployment).map_err(|error| {
        PortError::Invalid(format!(
            "deployment {} cannot be stored: {error}",
            deployment.id
        ))
    })?;
    let service_key = deployment.service_key();
    let created = format!("{}#{}", sortable(deployment.created_at), deployment.id);
    let mut item = HashMap::from([
        (PK.to_string(), s(deployment_pk(&deployment.id))),
        (SK.to_string(), s(DEPLOYMENT_SK)),
        ("deploymentId".to_string(), s(&deployment.id)),
        ("serviceKey".to_string(), s(&service_key)),
        ("status".to_string(), s(deployment.status.name())),
        ("createdAt".to_string(), s(rfc3339(deployment.created_at))),
        ("updatedAt".to_string(), s(rfc3339(deployment.updated_at))),
        ("version".to_string(), n(deployment.version)),
        ("record".to_string(), s(record)),
        (GSI2_PK.to_string(), s(format!("SERVICE#{service_key}"))),
        (GSI2_SK.to_string(), s(&created)),
        (GSI3_PK.to_string(), s(RECENT)),
        (GSI3_SK.to_string(), s(&created)),
    ]);
    if !deployment.status.is_terminal() {
        item.insert(GSI1_PK.to_string(), s(IN_FLIGHT));
        item.insert(GSI1_SK.to_string(), s(created));
    }
    Ok(item)
}

fn deployment_from(item: &Item) -> PortResult<Deployment> {
    let mut deployment: Deployment = serde_json::from_str(text(item, "record")?)
        .map_err(|error| corrupt(item, &format!("`record`: {error}")))?;
    // The numeric attribute is what the conditions compare; it wins over the JSON copy.
    if let Some(version) = item
        .get("version")
        .and_then(|value| value.as_n().ok())
        .and_then(|number| number.parse().ok())
    {
        deployment.version = version;
    }
    Ok(deployment)
}

fn desired_item(desired: &Desired) -> PortResult<Item> {
    let record = serde_json::to_string(desired).map_err(|error| {
        PortError::Invalid(format!(
            "the desired state of {} cannot be stored: {error}",
            desired.service_key
        ))
    })?;
    let mut item = HashMap::from([
        (PK.to_string(), s(desired_pk(&desired.service_key))),
        (SK.to_string(), s(DESIRED_SK)),
        ("serviceKey".to_string(), s(&desired.service_key)),
        ("generation".to_string(), n(desired.generation)),
        ("version".to_string(), n(desired.version)),
        ("record".to_string(), s(record)),
    ]);
    if let Some(settled) = &desired.settled {
        item.insert("settledGeneration".to_string(), n(settled.generation));
        item.insert("settledAt".to_string(), s(rfc3339(settled.at)));
        if let Some(id) = &settled.deployment_id {
            item.insert("settledDeploymentId".to_string(), s(id));
        }
    }
    if desired.is_pending() {
        item.insert(GSI1_PK.to_string(), s(PENDING));
        item.insert(
            GSI1_SK.to_string(),
            s(format!(
                "{}#{}",
                sortable(desired.push.pushed_at),
                desired.service_key
            )),
        );
    }
    Ok(item)
}

fn desired_from(item: &Item) -> PortResult<Desired> {
    let mut desired: Desired = serde_json::from_str(text(item, "record")?)
        .map_err(|error| corrupt(item, &format!("`record`: {error}")))?;
    let number = |name: &str| -> Option<u64> {
        item.get(name)
            .and_then(|value| value.as_n().ok())
            .and_then(|number| number.parse().ok())
    };
    // The attributes are what conditions compare and what the settling transaction writes:
    // they win over the JSON copy.
    if let Some(version) = number("version") {
        desired.version = version;
    }
    if let Some(generation) = number("settledGeneration") {
        let at = item
            .get("settledAt")
            .and_then(|value| value.as_s().ok())
            .and_then(|text| OffsetDateTime::parse(text, &Rfc3339).ok())
            .unwrap_or(desired.push.pushed_at);
        desired.settled = Some(Settled {
            generation,
            deployment_id: item
                .get("settledDeploymentId")
                .and_then(|value| value.as_s().ok())
                .cloned(),
            at,
        });
    }
    Ok(desired)
}

/// The update that settles `generation` of the lock's service for `deployment_id`, on condition
/// that it is still the desired generation and not settled yet.
fn settle_update(
    table: &str,
    lock: &ServiceLock,
    generation: u64,
) -> PortResult<TransactWriteItem> {
    let update = Update::builder()
        .table_name(table)
        .key(PK, s(desired_pk(&lock.service_key)))
        .key(SK, s(DESIRED_SK))
        .condition_expression(
            "generation = :g AND (attribute_not_exists(settledGeneration) OR settledGeneration <> :g)",
        )
        .update_expression(
            "SET settledGeneration = :g, settledDeploymentId = :id, settledAt = :at, version = version + :one REMOVE gsi1pk, gsi1sk",
        )
        .expression_attribute_values(":g", n(generation))
        .expression_attribute_values(":id", s(&lock.deployment_id))
        .expression_attribute_values(":at", s(rfc3339(lock.acquired_at)))
        .expression_attribute_values(":one", n(1))
        .build()
        .map_err(|error| PortError::Invalid(format!("desired state write: {error}")))?;
    Ok(TransactWriteItem::builder().update(update).build())
}

#[async_trait]
impl DeploymentStore for DynamoStore {
    async fn acquire_lock(
        &self,
        service_key: &str,
        deployment_id: &str,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> PortResult<LockOutcome> {
        let lock = ServiceLock {
            service_key: service_key.to_string(),
            deployment_id: deployment_id.to_string(),
            acquired_at: now,
            expires_at,
        };
        // A lost race against a release can leave nothing to report; try again a few times.
        for _ in 0..3 {
            let acquired = self
                .put_lock(
                    &lock,
                    "attribute_not_exists(pk) OR deploymentId = :me OR expiresAt <= :now",
                    vec![(":me", s(deployment_id)), (":now", n(now.unix_timestamp()))],
                )
                .await?;
            if acquired {
                info!(
                    service = service_key,
                    deployment = deployment_id,
                    "lock acquired"
                );
                return Ok(LockOutcome::Acquired);
            }
            if let Some(holder) = self.get_lock(service_key).await? {
                debug!(service = service_key, holder = %holder.deployment_id, "lock held");
                return Ok(LockOutcome::HeldBy(holder));
            }
        }
        Err(PortError::Transient(format!(
            "lock of {service_key} keeps changing hands; try again"
        )))
    }

    async fn take_over_lock(
        &self,
        service_key: &str,
        holder: &str,
        deployment_id: &str,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> PortResult<()> {
        let lock = ServiceLock {
            service_key: service_key.to_string(),
            deployment_id: deployment_id.to_string(),
            acquired_at: now,
            expires_at,
        };
        let taken = self
            .put_lock(
                &lock,
                "attribute_not_exists(pk) OR deploymentId = :holder",
                vec![(":holder", s(holder))],
            )
            .await?;
        if taken {
            info!(
                service = service_key,
                deployment = deployment_id,
                from = holder,
                "lock taken over"
            );
            return Ok(());
        }
        let now_held_by = self
            .get_lock(service_key)
            .await?
            .map_or_else(|| "nobody".to_string(), |lock| lock.deployment_id);
        Err(PortError::Conflict(format!(
            "lock of {service_key} is now held by {now_held_by}, not {holder}"
        )))
    }

    async fn release_lock(&self, service_key: &str, deployment_id: &str) -> PortResult<()> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(lock_pk(service_key)))
            .key(SK, s(LOCK_SK))
            .condition_expression("deploymentId = :me")
            .expression_attribute_values(":me", s(deployment_id))
            .send()
            .await;
        match result {
            Ok(_) => {
                info!(
                    service = service_key,
                    deployment = deployment_id,
                    "lock released"
                );
                Ok(())
            }
            // Not ours (or already gone): nothing to release.
            Err(error) if code_of(&error) == Some(CONDITION_FAILED) => Ok(()),
            Err(error) => Err(port_error(
                "DeleteItem",
                &format!("lock of {service_key}"),
                error,
            )),
        }
    }

    async fn get_lock(&self, service_key: &str) -> PortResult<Option<ServiceLock>> {
        self.get_item(
            lock_pk(service_key),
            LOCK_SK,
            &format!("lock of {service_key}"),
        )
        .await?
        .map(|item| lock_from(&item))
        .transpose()
    }

    async fn create(&self, deployment: &Deployment) -> PortResult<()> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(deployment_item(deployment)?))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) if code_of(&error) == Some(CONDITION_FAILED) => Err(PortError::Conflict(
                format!("deployment {} exists", deployment.id),
            )),
            Err(error) => Err(port_error(
                "PutItem",
                &format!("deployment {}", deployment.id),
                error,
            )),
        }
    }

    async fn create_with_lock(
        &self,
        deployment: &Deployment,
        lock: &ServiceLock,
        replacing: Option<&str>,
        settles: Option<u64>,
    ) -> PortResult<()> {
        let mut values = HashMap::from([
            (":me".to_string(), s(&lock.deployment_id)),
            (":now".to_string(), n(lock.acquired_at.unix_timestamp())),
        ]);
        let mut condition =
            "attribute_not_exists(pk) OR deploymentId = :me OR expiresAt <= :now".to_string();
        if let Some(holder) = replacing {
            condition.push_str(" OR deploymentId = :holder");
            values.insert(":holder".to_string(), s(holder));
        }
        let put_lock = Put::builder()
            .table_name(&self.table)
            .set_item(Some(lock_item(lock)))
            .condition_expression(condition)
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(|error| PortError::Invalid(format!("lock write: {error}")))?;
        let put_record = Put::builder()
            .table_name(&self.table)
            .set_item(Some(deployment_item(deployment)?))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(|error| PortError::Invalid(format!("record write: {error}")))?;
        let mut items = vec![
            TransactWriteItem::builder().put(put_lock).build(),
            TransactWriteItem::builder().put(put_record).build(),
        ];
        if let Some(generation) = settles {
            items.push(settle_update(&self.table, lock, generation)?);
        }
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match result {
            Ok(_) => {
                info!(service = %lock.service_key, deployment = %deployment.id, settles, "lock acquired, deployment recorded");
                Ok(())
            }
            Err(error) if code_of(&error) == Some(TRANSACTION_CANCELED) => {
                Err(PortError::Conflict(format!(
                    "the lock of {} is held by another deployment, deployment {} exists, or the desired state moved on",
                    lock.service_key, deployment.id
                )))
            }
            Err(error) => Err(port_error(
                "TransactWriteItems",
                &format!(
                    "deployment {} and the lock of {}",
                    deployment.id, lock.service_key
                ),
                error,
            )),
        }
    }

    async fn get(&self, deployment_id: &str) -> PortResult<Option<Deployment>> {
        self.get_item(
            deployment_pk(deployment_id),
            DEPLOYMENT_SK,
            &format!("deployment {deployment_id}"),
        )
        .await?
        .map(|item| deployment_from(&item))
        .transpose()
    }

    async fn update(&self, deployment: &mut Deployment) -> PortResult<()> {
        let expected = deployment.version;
        let mut next = deployment.clone();
        next.version = expected + 1;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(deployment_item(&next)?))
            .condition_expression("version = :expected")
            .expression_attribute_values(":expected", n(expected))
            .send()
            .await;
        match result {
            Ok(_) => {
                deployment.version = next.version;
                Ok(())
            }
            Err(error) if code_of(&error) == Some(CONDITION_FAILED) => {
                // `version = :expected` also fails when the item does not exist.
                match self.get(&deployment.id).await? {
                    None => Err(PortError::NotFound(format!("deployment {}", deployment.id))),
                    Some(stored) => Err(PortError::Conflict(format!(
                        "deployment {} was changed by someone else (version {} != {})",
                        deployment.id, stored.version, expected
                    ))),
                }
            }
            Err(error) => Err(port_error(
                "PutItem",
                &format!("deployment {}", deployment.id),
                error,
            )),
        }
    }

    async fn list_for_service(
        &self,
        service_key: &str,
        limit: usize,
    ) -> PortResult<Vec<Deployment>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        self.query_index(
            GSI2,
            GSI2_PK,
            format!("SERVICE#{service_key}"),
            true,
            Some(limit),
            deployment_from,
        )
        .await
    }

    async fn list_in_flight(&self) -> PortResult<Vec<Deployment>> {
        let mut found = self
            .query_index(
                GSI1,
                GSI1_PK,
                IN_FLIGHT.to_string(),
                false,
                None,
                deployment_from,
            )
            .await?;
        // Index reads are eventually consistent: a deployment that just ended may linger.
        found.retain(|deployment| !deployment.status.is_terminal());
        Ok(found)
    }

    async fn list_recent(&self, limit: usize) -> PortResult<Vec<Deployment>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        self.query_index(
            GSI3,
            GSI3_PK,
            RECENT.to_string(),
            true,
            Some(limit),
            deployment_from,
        )
        .await
    }

    async fn get_desired(&self, service_key: &str) -> PortResult<Option<Desired>> {
        self.get_item(
            desired_pk(service_key),
            DESIRED_SK,
            &format!("the desired state of {service_key}"),
        )
        .await?
        .map(|item| desired_from(&item))
        .transpose()
    }

    async fn put_desired(&self, desired: &mut Desired) -> PortResult<()> {
        let expected = desired.version;
        let mut next = desired.clone();
        next.version = expected + 1;
        let request = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(desired_item(&next)?));
        let request = if expected == 0 {
            request.condition_expression("attribute_not_exists(pk)")
        } else {
            request
                .condition_expression("version = :expected")
                .expression_attribute_values(":expected", n(expected))
        };
        match request.send().await {
            Ok(_) => {
                desired.version = next.version;
                Ok(())
            }
            Err(error) if code_of(&error) == Some(CONDITION_FAILED) => {
                Err(PortError::Conflict(format!(
                    "the desired state of {} was changed by someone else",
                    desired.service_key
                )))
            }
            Err(error) => Err(port_error(
                "PutItem",
                &format!("the desired state of {}", desired.service_key),
                error,
            )),
        }
    }

    async fn list_pending_desired(&self) -> PortResult<Vec<Desired>> {
        let mut found = self
            .query_index(
                GSI1,
                GSI1_PK,
                PENDING.to_string(),
                false,
                None,
                desired_from,
            )
            .await?;
        // Eventually consistent, as above.
        found.retain(Desired::is_pending);
        Ok(found)
    }
}

#[async_trait]
impl ThreadStore for DynamoStore {
    async fn get_thread(&self, deployment_id: &str) -> PortResult<Option<ThreadRef>> {
        let what = format!("the thread of deployment {deployment_id}");
        let Some(item) = self
            .get_item(format!("THREAD#{deployment_id}"), "THREAD", &what)
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(ThreadRef {
            channel: text(&item, "channel")?.to_string(),
            ts: text(&item, "ts")?.to_string(),
        }))
    }

    async fn put_thread(&self, deployment_id: &str, thread: &ThreadRef) -> PortResult<bool> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(PK, s(format!("THREAD#{deployment_id}")))
            .item(SK, s("THREAD"))
            .item("channel", s(&thread.channel))
            .item("ts", s(&thread.ts))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(error) if code_of(&error) == Some(CONDITION_FAILED) => Ok(false),
            Err(error) => Err(port_error(
                "PutItem",
                &format!("the thread of deployment {deployment_id}"),
                error,
            )),
        }
    }
}

/// Creates the table with its indexes and TTL when it is missing, then waits until it and its
/// indexes are ACTIVE. For local mode and tests; in AWS, Terraform owns the table.
pub async fn ensure_table(client: &Client, name: &str) -> PortResult<()> {
    let subject = format!("table {name}");
    match client.describe_table().table_name(name).send().await {
        Ok(_) => return wait_until_active(client, name).await,
        Err(error) if code_of(&error) == Some("ResourceNotFoundException") => {}
        Err(error) => return Err(port_error("DescribeTable", &subject, error)),
    }
    let build = |error: aws_smithy_types::error::operation::BuildError| {
        PortError::Invalid(format!("table definition: {error}"))
    };
    let key = |attribute: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(attribute)
            .key_type(kind)
            .build()
            .map_err(build)
    };
    let index = |index: &str, pk: &str, sk: &str| -> PortResult<GlobalSecondaryIndex> {
        GlobalSecondaryIndex::builder()
            .index_name(index)
            .key_schema(key(pk, KeyType::Hash)?)
            .key_schema(key(sk, KeyType::Range)?)
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build()
            .map_err(build)
    };
    let mut call = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key(PK, KeyType::Hash)?)
        .key_schema(key(SK, KeyType::Range)?)
        .global_secondary_indexes(index(GSI1, GSI1_PK, GSI1_SK)?)
        .global_secondary_indexes(index(GSI2, GSI2_PK, GSI2_SK)?)
        .global_secondary_indexes(index(GSI3, GSI3_PK, GSI3_SK)?);
    for attribute in [PK, SK, GSI1_PK, GSI1_SK, GSI2_PK, GSI2_SK, GSI3_PK, GSI3_SK] {
        call = call.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(attribute)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(build)?,
        );
    }
    match call.send().await {
        Ok(_) => info!(table = name, "created table"),
        // Somebody else is creating it right now: wait for theirs, they set its TTL.
        Err(error) if code_of(&error) == Some("ResourceInUseException") => {
            return wait_until_active(client, name).await;
        }
        Err(error) => return Err(port_error("CreateTable", &subject, error)),
    }
    wait_until_active(client, name).await?;
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(EXPIRES_AT)
                .enabled(true)
                .build()
                .map_err(build)?,
        )
        .send()
        .await
        .map_err(|error| port_error("UpdateTimeToLive", &subject, error))?;
    Ok(())
}

async fn wait_until_active(client: &Client, name: &str) -> PortResult<()> {
    let subject = format!("table {name}");
    for _ in 0..120 {
        let output = client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .map_err(|error| port_error("DescribeTable", &subject, error))?;
        if let Some(table) = output.table() {
            let indexes_active = table
                .global_secondary_indexes()
                .iter()
                .all(|index| index.index_status() == Some(&IndexStatus::Active));
            if table.table_status() == Some(&TableStatus::Active) && indexes_active {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    Err(PortError::Transient(format!(
        "{subject} is not ACTIVE after two minutes"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn sortable_times_order_as_text() {
        let earlier = sortable(datetime!(2026-11-22 02:15:00.5 UTC));
        let later = sortable(datetime!(2026-11-22 02:15:00.25 +01:00));
        assert_eq!(earlier, "2026-11-22T02:15:00.500000000Z");
        assert_eq!(later, "2026-11-22T01:15:00.250000000Z");
        assert!(later < earlier);
    }

    #[test]
    fn lock_items_round_trip() {
        let lock = ServiceLock {
            service_key: "prod/web".into(),
            deployment_id: "web-1".into(),
            acquired_at: datetime!(2026-11-22 02:15:00.123 UTC),
            expires_at: datetime!(2026-11-22 03:15:00.123 UTC),
        };
        let item = lock_item(&lock);
        assert_eq!(
            item[EXPIRES_AT],
            n(datetime!(2026-11-22 03:15:00 UTC).unix_timestamp())
        );
        assert_eq!(lock_from(&item).unwrap(), lock);
    }
}
