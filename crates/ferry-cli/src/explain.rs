//! The common failures, recognised and said in one line with what to do about them.

use ferry_core::ports::PortError;

/// How an error reads for a person, and whether it is a usage or configuration problem (exit
/// status 2) rather than a failure of the thing asked for (1).
pub fn explain(error: &anyhow::Error) -> (String, bool) {
    if let Some(config) = error.downcast_ref::<crate::ConfigError>() {
        return (config.0.clone(), true);
    }
    let text = format!("{error:#}");
    let lower = text.to_lowercase();
    let endpoint = std::env::var("AWS_ENDPOINT_URL").ok();
    if lower.contains("credential") && !lower.contains("access denied") {
        return (
            "no AWS credentials: set AWS_PROFILE to a profile in ~/.aws/config (run `aws sso login` for SSO), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (any non-empty pair for the local emulator)".into(),
            true,
        );
    }
    if lower.contains("no region")
        || lower.contains("region must be set")
        || lower.contains("missing region")
    {
        return (
            "no AWS region: set AWS_REGION (or a region in your AWS profile)".into(),
            true,
        );
    }
    let unreachable = lower.contains("connection refused")
        || lower.contains("dns error")
        || lower.contains("could not reach aws");
    if unreachable {
        return match endpoint {
            Some(url) => (
                format!(
                    "nothing answers at AWS_ENDPOINT_URL={url}: is the emulator running? (`eval \"$(ferry sandbox)\"` starts one)"
                ),
                true,
            ),
            None => (format!("AWS could not be reached: {text}"), false),
        };
    }
    let port = error
        .chain()
        .find_map(|cause| cause.downcast_ref::<PortError>());
    if let Some(PortError::AccessDenied(detail)) = port {
        return (
            format!(
                "access denied: {detail}. Your IAM principal needs that permission (docs/iam.md lists what Ferry's commands need)"
            ),
            false,
        );
    }
    let missing_ferry = lower.contains("resourcenotfoundexception")
        || lower.contains("requested resource not found")
        || lower.contains("statemachinedoesnotexist");
    if missing_ferry && endpoint.is_none() {
        return (
            format!(
                "Ferry is not installed in this account and region ({text}): install it (docs/install.md), or point FERRY_TABLE and FERRY_DEPLOY_STATE_MACHINE_ARN at the module's table_name and deploy_state_machine_arn outputs"
            ),
            true,
        );
    }
    (text, false)
}
