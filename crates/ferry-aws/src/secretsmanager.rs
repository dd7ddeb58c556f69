//! [`SecretReader`] on Secrets Manager: `GetSecretValue` of the current version, as text.

use async_trait::async_trait;
use aws_sdk_secretsmanager::Client;
use ferry_core::ports::{PortError, PortResult, SecretReader};

use crate::error::port_error;

/// Reads secrets by name or ARN.
#[derive(Debug, Clone)]
pub struct SecretsManagerReader {
    client: Client,
}

impl SecretsManagerReader {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// With a client made from the shared SDK configuration.
    pub fn from_config(config: &aws_config::SdkConfig) -> Self {
        Self::new(Client::new(config))
    }
}

#[async_trait]
impl SecretReader for SecretsManagerReader {
    async fn read_secret(&self, id: &str) -> PortResult<String> {
        let output = self
            .client
            .get_secret_value()
            .secret_id(id)
            .send()
            .await
            .map_err(|error| port_error("GetSecretValue", &format!("secret {id}"), error))?;
        output.secret_string().map(str::to_string).ok_or_else(|| {
            PortError::Invalid(format!(
                "secret {id} has no value yet (or only a binary one): put the text with `aws secretsmanager put-secret-value --secret-id {id} --secret-string ...`"
            ))
        })
    }
}
