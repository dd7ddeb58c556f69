//! [`EventPublisher`] on an EventBridge bus (`FERRY_EVENT_BUS`), and [`ensure_event_bus`] for
//! local mode.
//!
//! `PutEvents` answers 200 even when an entry failed: the failure is in the entry's
//! `ErrorCode`, which is read here and classified like any other AWS error.

use async_trait::async_trait;
use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use ferry_core::ports::{BusEvent, EventPublisher, PortResult};
use tracing::{debug, info};

use crate::error::{classify, code_of, from_kind, port_error};

/// Puts events on one bus.
#[derive(Debug, Clone)]
pub struct EventBridgePublisher {
    client: Client,
    bus: String,
}

impl EventBridgePublisher {
    pub fn new(client: Client, bus: impl Into<String>) -> Self {
        Self {
            client,
            bus: bus.into(),
        }
    }

    /// With a client made from the shared SDK configuration.
    pub fn from_config(config: &aws_config::SdkConfig, bus: impl Into<String>) -> Self {
        Self::new(Client::new(config), bus)
    }
}

#[async_trait]
impl EventPublisher for EventBridgePublisher {
    async fn publish(&self, event: &BusEvent) -> PortResult<()> {
        let subject = format!("event bus {}", self.bus);
        let entry = PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus)
            .source(&event.source)
            .detail_type(&event.detail_type)
            .detail(event.detail.to_string())
            .build();
        let output = self
            .client
            .put_events()
            .entries(entry)
            .send()
            .await
            .map_err(|error| port_error("PutEvents", &subject, error))?;
        let result = output.entries().first();
        if output.failed_entry_count() > 0 || result.and_then(|r| r.error_code()).is_some() {
            let code = result.and_then(|r| r.error_code());
            let message = result
                .and_then(|r| r.error_message())
                .unwrap_or("no message");
            let detail = format!("PutEvents: {}: {message}", code.unwrap_or("UnknownError"));
            // Entry errors carry no HTTP status; InternalFailure and ThrottlingException are
            // transient, the rest (MalformedDetail, ...) are the request's fault.
            return Err(from_kind(classify(code, Some(400)), &subject, detail));
        }
        debug!(
            bus = %self.bus,
            detail_type = %event.detail_type,
            id = ?result.and_then(|r| r.event_id()),
            "event put"
        );
        Ok(())
    }
}

/// Creates the bus `name` when it is missing. For local mode and tests; in AWS, Terraform owns
/// the bus. `default` always exists.
pub async fn ensure_event_bus(client: &Client, name: &str) -> PortResult<()> {
    if name == "default" {
        return Ok(());
    }
    let subject = format!("event bus {name}");
    match client.describe_event_bus().name(name).send().await {
        Ok(_) => return Ok(()),
        Err(error) if code_of(&error) == Some("ResourceNotFoundException") => {}
        Err(error) => return Err(port_error("DescribeEventBus", &subject, error)),
    }
    match client.create_event_bus().name(name).send().await {
        Ok(_) => {
            info!(bus = name, "created event bus");
            Ok(())
        }
        Err(error) if code_of(&error) == Some("ResourceAlreadyExistsException") => Ok(()),
        Err(error) => Err(port_error("CreateEventBus", &subject, error)),
    }
}
