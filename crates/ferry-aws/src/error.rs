//! Every SDK error becomes a [`PortError`] here, in one place, so that retry decisions (Step
//! Functions `Retry` on `Retryable`) do not depend on which client failed.
//!
//! The classification looks at the AWS error code first (stable and documented per service),
//! then at the HTTP status, then at how the call failed (timeout, no response). Messages keep the
//! operation, the AWS code and the AWS message: they are what a person needs to act.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use ferry_core::ports::PortError;

/// How an AWS failure should be treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    NotFound,
    Conflict,
    Invalid,
    Transient,
    AccessDenied,
}

/// Error codes that name a missing resource, across the services Ferry calls.
const NOT_FOUND: &[&str] = &[
    // ECS
    "ServiceNotFoundException",
    "ClusterNotFoundException",
    "TaskSetNotFoundException",
    // ELBv2
    "ListenerNotFound",
    "RuleNotFound",
    "TargetGroupNotFound",
    "LoadBalancerNotFound",
    // CloudWatch, DynamoDB
    "ResourceNotFound",
    "ResourceNotFoundException",
    // Step Functions
    "StateMachineDoesNotExist",
    "ExecutionDoesNotExist",
    "TaskDoesNotExist",
];

/// Codes for a lost race or a state that forbids the call now.
const CONFLICT: &[&str] = &[
    "ConditionalCheckFailedException",
    "TransactionConflictException",
    "TransactionCanceledException",
    "ResourceInUseException",
    "ExecutionAlreadyExists",
    "TaskTimedOut",
    "ServiceNotActiveException",
    "StateMachineDeleting",
];

/// Codes that are worth retrying with backoff.
const TRANSIENT: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
    "RequestThrottled",
    "RequestThrottledException",
    "KmsThrottlingException",
    "ExecutionLimitExceeded",
    "ServerException",
    "InternalFailure",
    "InternalError",
    "InternalServerError",
    "InternalServerErrorException",
    "InternalServiceError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "RequestTimeout",
    "RequestTimeoutException",
    "PriorRequestNotComplete",
    "IDPCommunicationError",
];

/// Codes for credentials and IAM.
const ACCESS_DENIED: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "ExpiredToken",
    "ExpiredTokenException",
    "SignatureDoesNotMatch",
    "MissingAuthenticationToken",
    "IncompleteSignature",
    "AuthFailure",
    "UnauthorizedOperation",
    "KMSAccessDeniedException",
];

/// Classifies by AWS error code, then HTTP status. `None` for both means the request never got
/// an answer, which is transient.
pub(crate) fn classify(code: Option<&str>, status: Option<u16>) -> Kind {
    if let Some(code) = code {
        // Query-protocol services sometimes prefix codes with a namespace (`aws.foo#Code`).
        let code = code.rsplit('#').next().unwrap_or(code);
        for (codes, kind) in [
            (NOT_FOUND, Kind::NotFound),
            (CONFLICT, Kind::Conflict),
            (TRANSIENT, Kind::Transient),
            (ACCESS_DENIED, Kind::AccessDenied),
        ] {
            if codes.contains(&code) {
                return kind;
            }
        }
    }
    match status {
        Some(429) => Kind::Transient,
        Some(status) if status >= 500 => Kind::Transient,
        Some(401 | 403) => Kind::AccessDenied,
        Some(404) => Kind::NotFound,
        Some(409) => Kind::Conflict,
        // Every other 4xx, including InvalidParameterException, ClientException and
        // ValidationException: the request itself is wrong.
        Some(_) => Kind::Invalid,
        None if code.is_some() => Kind::Invalid,
        None => Kind::Transient,
    }
}

/// The AWS error code of an SDK error, if the service answered with one.
pub(crate) fn code_of<E: ProvideErrorMetadata>(error: &SdkError<E, HttpResponse>) -> Option<&str> {
    match error {
        SdkError::ServiceError(context) => context.err().code(),
        _ => None,
    }
}

/// Converts an SDK error. `operation` is the AWS operation (`CreateTaskSet`); `subject` names what
/// it was about (`service web in cluster prod`), so `NotFound` reads "service web in cluster prod
/// ... not found".
pub(crate) fn port_error<E>(
    operation: &str,
    subject: &str,
    error: SdkError<E, HttpResponse>,
) -> PortError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match &error {
        SdkError::ServiceError(context) => {
            let err = context.err();
            let code = err.code();
            let status = context.raw().status().as_u16();
            let message = err.message().unwrap_or("no message");
            let detail = format!("{operation}: {}: {message}", code.unwrap_or("UnknownError"));
            from_kind(classify(code, Some(status)), subject, detail)
        }
        SdkError::TimeoutError(_) => {
            PortError::Transient(format!("{operation} on {subject}: timed out"))
        }
        SdkError::DispatchFailure(_) => PortError::Transient(format!(
            "{operation} on {subject}: could not reach AWS: {}",
            source_chain(&error)
        )),
        SdkError::ResponseError(context) => PortError::Transient(format!(
            "{operation} on {subject}: unreadable response (HTTP {}): {}",
            context.raw().status().as_u16(),
            source_chain(&error)
        )),
        SdkError::ConstructionFailure(_) => PortError::Invalid(format!(
            "{operation} on {subject}: request could not be built: {}",
            source_chain(&error)
        )),
        // SdkError is non-exhaustive.
        _ => PortError::Transient(format!(
            "{operation} on {subject}: {}",
            source_chain(&error)
        )),
    }
}

/// Builds the variant for `kind`; `NotFound` names the subject first because its display appends
/// "not found".
pub(crate) fn from_kind(kind: Kind, subject: &str, detail: String) -> PortError {
    match kind {
        Kind::NotFound => PortError::NotFound(format!("{subject} ({detail})")),
        Kind::Conflict => PortError::Conflict(format!("{subject}: {detail}")),
        Kind::Invalid => PortError::Invalid(format!("{subject}: {detail}")),
        Kind::Transient => PortError::Transient(format!("{subject}: {detail}")),
        Kind::AccessDenied => PortError::AccessDenied(format!("{subject}: {detail}")),
    }
}

/// The error and its causes on one line: SDK errors put the useful part ("connection refused")
/// in the source chain, not in the top-level message.
fn source_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_decide_before_statuses() {
        assert_eq!(
            classify(Some("ServiceNotFoundException"), Some(400)),
            Kind::NotFound
        );
        assert_eq!(
            classify(Some("ConditionalCheckFailedException"), Some(400)),
            Kind::Conflict
        );
        assert_eq!(
            classify(Some("ThrottlingException"), Some(400)),
            Kind::Transient
        );
        assert_eq!(classify(Some("Throttling"), Some(400)), Kind::Transient);
        assert_eq!(
            classify(Some("AccessDeniedException"), Some(400)),
            Kind::AccessDenied
        );
        assert_eq!(
            classify(
                Some("com.amazonaws.dynamodb.v20120810#ResourceNotFoundException"),
                None
            ),
            Kind::NotFound
        );
    }

    #[test]
    fn client_errors_are_invalid_and_server_errors_transient() {
        assert_eq!(
            classify(Some("InvalidParameterException"), Some(400)),
            Kind::Invalid
        );
        assert_eq!(classify(Some("ClientException"), Some(400)), Kind::Invalid);
        assert_eq!(classify(Some("ValidationError"), Some(400)), Kind::Invalid);
        assert_eq!(
            classify(Some("ServerException"), Some(500)),
            Kind::Transient
        );
        assert_eq!(classify(Some("SomethingNew"), Some(503)), Kind::Transient);
        assert_eq!(classify(None, Some(429)), Kind::Transient);
        assert_eq!(classify(None, Some(403)), Kind::AccessDenied);
        assert_eq!(classify(None, None), Kind::Transient);
    }

    #[test]
    fn not_found_messages_name_the_subject_first() {
        let error = from_kind(
            Kind::NotFound,
            "service web in cluster prod",
            "DescribeServices: ServiceNotFoundException: Service not found.".into(),
        );
        assert_eq!(
            error.to_string(),
            "service web in cluster prod (DescribeServices: ServiceNotFoundException: \
             Service not found.) not found"
        );
    }
}
