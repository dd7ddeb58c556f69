//! Serving the router from a Lambda function URL (payload format 2.0): the event becomes an
//! HTTP request, the router answers it, the answer becomes the function URL response.
//!
//! Written here rather than with `lambda_http`: Ferry's functions already run on
//! `lambda_runtime` with `aws_lambda_events`, and this is the one conversion they need; the
//! IAM principal of an `AWS_IAM` URL goes into the request as [`AwsPrincipal`].
//!
//! A function URL accepts at most 6 MB of request body and answers 413 itself beyond that.

use aws_lambda_events::event::lambda_function_urls::{
    LambdaFunctionUrlRequest, LambdaFunctionUrlResponse,
};
use axum::Router;
use axum::body::Body;
use base64::Engine;
use http::{HeaderValue, Request, StatusCode};
use tower::ServiceExt;

use crate::AwsPrincipal;

/// Answers one function URL invocation with `router`.
pub async fn handle(router: Router, event: LambdaFunctionUrlRequest) -> LambdaFunctionUrlResponse {
    let request = match to_request(event) {
        Ok(request) => request,
        Err(message) => return text_response(StatusCode::BAD_REQUEST, &message),
    };
    let response = match router.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let (parts, body) = response.into_parts();
    // Ferry's answers are small JSON documents; a body that cannot be read is a bug.
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let mut out = LambdaFunctionUrlResponse::default();
    out.status_code = i64::from(parts.status.as_u16());
    out.headers = parts.headers;
    match String::from_utf8(bytes.to_vec()) {
        Ok(text) => out.body = Some(text),
        Err(_) => {
            out.body = Some(base64::engine::general_purpose::STANDARD.encode(&bytes));
            out.is_base64_encoded = true;
        }
    }
    out
}

/// The HTTP request an event describes, with the verified IAM principal when there is one.
pub fn to_request(event: LambdaFunctionUrlRequest) -> Result<Request<Body>, String> {
    let context = &event.request_context;
    let method = context.http.method.as_deref().unwrap_or("GET");
    let path = event
        .raw_path
        .as_deref()
        .or(context.http.path.as_deref())
        .unwrap_or("/");
    let uri = match event.raw_query_string.as_deref() {
        Some(query) if !query.is_empty() => format!("{path}?{query}"),
        _ => path.to_string(),
    };
    let body = event.body.as_deref().unwrap_or("");
    let body = if event.is_base64_encoded {
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|error| format!("the base64 body does not decode: {error}"))?
    } else {
        body.as_bytes().to_vec()
    };
    let mut request = Request::builder()
        .method(method)
        .uri(&uri)
        .body(Body::from(body))
        .map_err(|error| format!("not an HTTP request ({method} {uri}): {error}"))?;
    *request.headers_mut() = event.headers.clone();
    let principal = context
        .authorizer
        .as_ref()
        .and_then(|authorizer| authorizer.iam.as_ref())
        .and_then(|iam| iam.user_arn.clone())
        .filter(|arn| !arn.is_empty());
    if let Some(arn) = principal {
        request.extensions_mut().insert(AwsPrincipal(arn));
    }
    Ok(request)
}

fn text_response(status: StatusCode, message: &str) -> LambdaFunctionUrlResponse {
    let mut out = LambdaFunctionUrlResponse::default();
    out.status_code = i64::from(status.as_u16());
    out.headers
        .insert("content-type", HeaderValue::from_static("application/json"));
    out.body = Some(serde_json::json!({ "error": "invalid", "message": message }).to_string());
    out
}
