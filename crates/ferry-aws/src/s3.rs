//! [`PayloadArchive`] in an S3 bucket (`FERRY_PAYLOAD_BUCKET`): webhook payloads too big for an
//! event. The bucket's lifecycle rule (Terraform) expires them; they are only needed while the
//! workflows that the event started read them.

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use ferry_core::ports::{PayloadArchive, PortResult};
use tracing::info;

use crate::error::{code_of, port_error};

/// Stores payloads as `s3://<bucket>/<key>`.
#[derive(Debug, Clone)]
pub struct S3Archive {
    client: Client,
    bucket: String,
}

impl S3Archive {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }

    /// With a client made from the shared SDK configuration.
    pub fn from_config(config: &aws_config::SdkConfig, bucket: impl Into<String>) -> Self {
        Self::new(Client::new(config), bucket)
    }
}

#[async_trait]
impl PayloadArchive for S3Archive {
    async fn store(&self, key: &str, body: &[u8]) -> PortResult<String> {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type("application/json")
            .body(ByteStream::from(body.to_vec()))
            .send()
            .await
            .map_err(|error| {
                port_error("PutObject", &format!("s3://{}/{key}", self.bucket), error)
            })?;
        Ok(format!("s3://{}/{key}", self.bucket))
    }
}

/// Creates the bucket when it is missing. For local mode and tests; in AWS, Terraform owns it
/// (encrypted, private, with a lifecycle rule).
pub async fn ensure_bucket(client: &Client, bucket: &str) -> PortResult<()> {
    let subject = format!("bucket {bucket}");
    if client.head_bucket().bucket(bucket).send().await.is_ok() {
        return Ok(());
    }
    let mut create = client.create_bucket().bucket(bucket);
    let region = client.config().region().map(|region| region.to_string());
    if let Some(region) = region.filter(|region| region != "us-east-1") {
        create = create.create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(
                    region.as_str(),
                ))
                .build(),
        );
    }
    match create.send().await {
        Ok(_) => {
            info!(bucket, "created bucket");
            Ok(())
        }
        Err(error)
            if matches!(
                code_of(&error),
                Some("BucketAlreadyOwnedByYou" | "BucketAlreadyExists")
            ) =>
        {
            Ok(())
        }
        Err(error) => Err(port_error("CreateBucket", &subject, error)),
    }
}
