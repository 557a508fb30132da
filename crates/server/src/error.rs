//! Errors: [`ServerError`] for starting and running the server, [`ApiError`] for one
//! request's answer (`{"error": "...", "details": [...]}` with a status code).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::path::PathBuf;
use store::StoreError;

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Something about the configuration cannot work (for instance TCP without a token).
    #[error("{0}")]
    Config(String),
    /// Another server already answers on the socket.
    #[error("another ecsctl server is already listening on {}", .0.display())]
    AlreadyRunning(PathBuf),
    /// An I/O operation failed.
    #[error("{context}: {source}")]
    Io {
        /// What the server was doing.
        context: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The store failed.
    #[error("{context}: {store}")]
    Store {
        /// What the server was doing.
        context: String,
        /// The store error (in the message, not repeated as a source).
        store: StoreError,
    },
}

impl ServerError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        ServerError::Io {
            context: context.into(),
            source,
        }
    }
}

/// An error answer of the HTTP API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub error: String,
    pub details: Vec<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, error: impl Into<String>) -> Self {
        ApiError {
            status,
            error: error.into(),
            details: Vec::new(),
        }
    }

    pub fn bad_request(error: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, error)
    }

    pub fn with_details(mut self, details: Vec<String>) -> Self {
        self.details = details;
        self
    }
}

impl From<admission::Refusal> for ApiError {
    /// 400 with the headline and one detail line per problem (`kind/name: why`).
    fn from(r: admission::Refusal) -> Self {
        match r {
            admission::Refusal::Store(e) => e.into(),
            refused => {
                let details = refused.lines();
                ApiError::bad_request(refused.to_string()).with_details(details)
            }
        }
    }
}

impl From<admission::access::Forbidden> for ApiError {
    /// 403 naming the role, its clusters, what was asked, the rule and how to allow it.
    fn from(f: admission::access::Forbidden) -> Self {
        ApiError::new(StatusCode::FORBIDDEN, f.to_string())
    }
}

impl From<admission::Denied> for ApiError {
    fn from(d: admission::Denied) -> Self {
        match d {
            admission::Denied::Forbidden(f) => f.into(),
            admission::Denied::Refused(r) => r.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        let status = match &e {
            StoreError::NotFound(_) => StatusCode::NOT_FOUND,
            StoreError::Conflict { .. } => StatusCode::CONFLICT,
            StoreError::Expired { .. } => StatusCode::GONE,
            StoreError::Invalid(_) => StatusCode::BAD_REQUEST,
            StoreError::Corrupt { .. } | StoreError::Backend(_) | StoreError::Config(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        if status.is_server_error() {
            tracing::error!(error = %e, "store error");
        }
        ApiError::new(status, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = api::wire::ErrorBody {
            error: self.error,
            details: self.details,
        };
        (self.status, Json(body)).into_response()
    }
}
