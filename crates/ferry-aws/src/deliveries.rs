//! [`DeliveryLog`] in Ferry's table: one item per webhook delivery, written with a condition so
//! that of two concurrent deliveries of the same id exactly one wins.
//!
//! | `pk` | `sk` | other attributes |
//! | --- | --- | --- |
//! | `DELIVERY#<X-GitHub-Delivery>` | `DELIVERY` | `event`, `receivedAt` (RFC 3339), `expiresAt` (N, epoch seconds: the table's TTL) |
//!
//! TTL deletes items up to days late; that only makes a late redelivery count as a duplicate a
//! little longer, which is harmless.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use ferry_core::ports::{DeliveryLog, PortResult};
use time::OffsetDateTime;

use crate::dynamodb::names::{EXPIRES_AT, PK, SK};
use crate::dynamodb::{CONDITION_FAILED, n, rfc3339, s};
use crate::error::{code_of, port_error};

const DELIVERY_SK: &str = "DELIVERY";

/// The delivery log on the table named by `FERRY_TABLE`.
#[derive(Debug, Clone)]
pub struct DynamoDeliveryLog {
    client: Client,
    table: String,
}

impl DynamoDeliveryLog {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// With a client made from the shared SDK configuration.
    pub fn from_config(config: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        Self::new(Client::new(config), table)
    }
}

fn delivery_pk(delivery_id: &str) -> String {
    format!("DELIVERY#{delivery_id}")
}

#[async_trait]
impl DeliveryLog for DynamoDeliveryLog {
    async fn record_first(
        &self,
        delivery_id: &str,
        event: &str,
        expires_at: OffsetDateTime,
    ) -> PortResult<bool> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item(PK, s(delivery_pk(delivery_id)))
            .item(SK, s(DELIVERY_SK))
            .item("event", s(event))
            .item("receivedAt", s(rfc3339(OffsetDateTime::now_utc())))
            .item(EXPIRES_AT, n(expires_at.unix_timestamp()))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(error) if code_of(&error) == Some(CONDITION_FAILED) => Ok(false),
            Err(error) => Err(port_error(
                "PutItem",
                &format!("delivery {delivery_id}"),
                error,
            )),
        }
    }

    async fn forget(&self, delivery_id: &str) -> PortResult<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key(PK, s(delivery_pk(delivery_id)))
            .key(SK, s(DELIVERY_SK))
            .send()
            .await
            .map(|_| ())
            .map_err(|error| port_error("DeleteItem", &format!("delivery {delivery_id}"), error))
    }
}
