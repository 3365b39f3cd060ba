//! The one place where errors become HTTP: every [`ServiceError`] variant maps to a status
//! and a JSON body `{"error", "code"}`, and so do the framework's own errors (malformed
//! JSON, wrong types, missing token, unknown route, oversized body).

use poem::{http::StatusCode, IntoResponse, Response};
use poem_openapi::{payload::Json, ApiResponse, Object};
use serde::Serialize;

use crate::service::{retry_secs, ServiceError};

/// The body of every error response.
#[derive(Clone, Debug, Object, Serialize)]
pub struct ErrorBody {
    /// What went wrong, for humans.
    pub error: String,
    /// Stable machine-readable code.
    pub code: String,
}

impl ErrorBody {
    pub fn new(code: &str, error: impl Into<String>) -> ErrorBody {
        ErrorBody {
            error: error.into(),
            code: code.to_string(),
        }
    }
}

/// Every error an endpoint can answer with.
#[derive(Debug, ApiResponse)]
pub enum ApiError {
    /// The request could not be understood.
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// Missing, unknown or expired token; wrong credentials.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// The caller may not do this (not a player of the game, not its creator, wrong seat).
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// No such game or player.
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// The request conflicts with the game's state (not your turn, column full, game over, …).
    #[oai(status = 409)]
    Conflict(Json<ErrorBody>),
    /// The body is malformed or a value is out of range.
    #[oai(status = 422)]
    Unprocessable(Json<ErrorBody>),
    /// Too many attempts on an account (`too_many_attempts`) or from an address
    /// (`rate_limited`); `Retry-After` says when to try again.
    #[oai(status = 429)]
    TooManyRequests(
        Json<ErrorBody>,
        /// Seconds to wait before trying again.
        #[oai(header = "Retry-After")]
        Option<u64>,
    ),
    /// A store is unavailable, the game is busy or the server is saturated (`server_busy`,
    /// with `Retry-After`); retry.
    #[oai(status = 503)]
    Unavailable(
        Json<ErrorBody>,
        /// Seconds to wait before trying again.
        #[oai(header = "Retry-After")]
        Option<u64>,
    ),
}

/// HTTP status of each use-case error.
pub fn status_of(err: &ServiceError) -> StatusCode {
    use ServiceError::*;
    match err {
        Unauthorized | InvalidCredentials => StatusCode::UNAUTHORIZED,
        NotAPlayer | WrongPlayer { .. } | NotCreator | NotYourself => StatusCode::FORBIDDEN,
        GameNotFound | PlayerNotFound | NoActiveGame => StatusCode::NOT_FOUND,
        UsernameTaken(_) | GameFull | OwnGame | GameNotWaiting | GameNotActive | NotYourTurn
        | ColumnFull | GameOver | GameNotOver | AlreadyInGame | StateChanged | NoDrawOffer
        | OwnDrawOffer | TooLateToAbort => StatusCode::CONFLICT,
        InvalidUsername(_) | InvalidPassword(_) | InvalidParameter(_) | UnknownBotLevel(_)
        | InvalidMoveList(_) | ColumnOutOfRange => StatusCode::UNPROCESSABLE_ENTITY,
        TooManyAttempts { .. } | RateLimited { .. } | TooManyEmotes { .. } => {
            StatusCode::TOO_MANY_REQUESTS
        }
        Busy | Unavailable | Database(_) | HotStore(_) | ServerBusy { .. } => {
            StatusCode::SERVICE_UNAVAILABLE
        }
    }
}

impl From<ServiceError> for ApiError {
    /// The edge of every request: a store failure is logged (with its cause) here.
    fn from(err: ServiceError) -> Self {
        err.report();
        let body = Json(ErrorBody::new(err.code(), err.to_string()));
        let retry_after = err.retry_after().as_ref().map(retry_secs);
        match status_of(&err) {
            StatusCode::UNAUTHORIZED => Self::Unauthorized(body),
            StatusCode::FORBIDDEN => Self::Forbidden(body),
            StatusCode::NOT_FOUND => Self::NotFound(body),
            StatusCode::CONFLICT => Self::Conflict(body),
            StatusCode::UNPROCESSABLE_ENTITY => Self::Unprocessable(body),
            StatusCode::TOO_MANY_REQUESTS => Self::TooManyRequests(body, retry_after),
            _ => Self::Unavailable(body, retry_after),
        }
    }
}

/// Errors poem-openapi raises while parsing a request, before any handler runs:
/// malformed or mistyped bodies and parameters are 422, a missing token 401.
fn classify_request_error(err: &poem::Error) -> Option<(StatusCode, &'static str)> {
    use poem_openapi::error::{
        AuthorizationError, ContentTypeError, ParseParamError, ParsePathError,
        ParseRequestPayloadError,
    };
    if err.is::<AuthorizationError>() {
        Some((StatusCode::UNAUTHORIZED, "unauthorized"))
    } else if err.is::<ParseRequestPayloadError>() || err.is::<ContentTypeError>() {
        Some((StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"))
    } else if err.is::<ParseParamError>() || err.is::<ParsePathError>() {
        Some((StatusCode::UNPROCESSABLE_ENTITY, "invalid_parameter"))
    } else {
        None
    }
}

/// Renders any error that escaped the endpoints (unknown route, wrong method, body too
/// large, …) as the same JSON shape. Responses that already carry JSON pass untouched.
pub fn render_error(err: poem::Error) -> Response {
    if err.is_from_response() {
        return err.into_response();
    }
    if let Some((status, code)) = classify_request_error(&err) {
        let message = if status == StatusCode::UNAUTHORIZED {
            "Missing or malformed bearer token (Authorization: Bearer <token>)".to_string()
        } else {
            err.to_string()
        };
        let body = serde_json::to_string(&ErrorBody::new(code, message)).unwrap_or_default();
        return body
            .with_status(status)
            .with_content_type("application/json")
            .into_response();
    }
    let status = err.status();
    let code = match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::TOO_MANY_REQUESTS => "rate_limited",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid_body",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        status if status.is_server_error() => "internal",
        _ => "bad_request",
    };
    let message = if status.is_server_error() {
        tracing::error!(error = %err, "unhandled error");
        "Internal error".to_string()
    } else {
        let text = err.to_string();
        if text.is_empty() {
            status.canonical_reason().unwrap_or("error").to_string()
        } else {
            text
        }
    };
    let body = serde_json::to_string(&ErrorBody::new(code, message)).unwrap_or_default();
    body.with_status(status)
        .with_content_type("application/json")
        .into_response()
}
