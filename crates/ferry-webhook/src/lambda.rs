//! The Lambda function URL side of `webhook-intake` (payload format 2.0): the request's headers
//! and body (base64-decoded when the function URL encoded it), and the response back.
//!
//! A function URL accepts at most 6 MB of request body and answers 413 itself beyond that, so
//! in AWS the 25 MB check of the intake never sees more; `ferry serve` enforces it locally.

use aws_lambda_events::event::lambda_function_urls::{
    LambdaFunctionUrlRequest, LambdaFunctionUrlResponse,
};
use base64::Engine;
use http::{HeaderMap, HeaderValue};

use crate::intake::{Intake, WebhookResponse};

/// The headers and the raw body of a function URL request; a body that claims to be base64 but
/// is not answers 400.
pub fn request_parts(
    request: &LambdaFunctionUrlRequest,
) -> Result<(HeaderMap, Vec<u8>), WebhookResponse> {
    let body = request.body.as_deref().unwrap_or("");
    let body = if request.is_base64_encoded {
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|error| {
                WebhookResponse::refused(400, format!("the base64 body does not decode: {error}"))
            })?
    } else {
        body.as_bytes().to_vec()
    };
    Ok((request.headers.clone(), body))
}

/// The function URL response for `response`: its status and JSON body.
pub fn response(response: &WebhookResponse) -> LambdaFunctionUrlResponse {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    let mut out = LambdaFunctionUrlResponse::default();
    out.status_code = i64::from(response.status);
    out.headers = headers;
    out.body = Some(response.body.to_string());
    out.is_base64_encoded = false;
    out
}

/// What `functions/webhook-intake` does with one invocation.
pub async fn handle(
    intake: &Intake,
    request: LambdaFunctionUrlRequest,
) -> LambdaFunctionUrlResponse {
    let method = request
        .request_context
        .http
        .method
        .as_deref()
        .unwrap_or("POST");
    if !method.eq_ignore_ascii_case("POST") {
        return response(&WebhookResponse::refused(
            405,
            format!("{method} is not allowed: GitHub delivers webhooks with POST"),
        ));
    }
    match request_parts(&request) {
        Ok((headers, body)) => response(&intake.handle(&headers, &body).await),
        Err(refused) => response(&refused),
    }
}
