//! Errors as ECS shapes them under AWS JSON 1.1: `{"__type": CODE, "message": ...}` with the
//! HTTP status AWS answers with, so that botocore and the SDKs raise the matching classes.

use serde_json::json;

/// An ECS error response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct EcsError {
    /// HTTP status.
    pub status: u16,
    /// The error code (`ClusterNotFoundException`), the `__type` of the body.
    pub code: &'static str,
    /// What happened, and what to do.
    pub message: String,
}

impl EcsError {
    fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        EcsError {
            status,
            code,
            message: message.into(),
        }
    }

    /// A request parameter is wrong.
    pub fn invalid_parameter(message: impl Into<String>) -> Self {
        Self::new(400, "InvalidParameterException", message)
    }
    /// A client-side error ECS reports as `ClientException` (refused by a rule).
    pub fn client(message: impl Into<String>) -> Self {
        Self::new(400, "ClientException", message)
    }
    /// The cluster does not exist.
    pub fn cluster_not_found() -> Self {
        Self::new(400, "ClusterNotFoundException", "Cluster not found.")
    }
    /// The cluster still has services.
    pub fn cluster_contains_services(message: impl Into<String>) -> Self {
        Self::new(400, "ClusterContainsServicesException", message)
    }
    /// The cluster still has tasks that are not stopped.
    pub fn cluster_contains_tasks(message: impl Into<String>) -> Self {
        Self::new(400, "ClusterContainsTasksException", message)
    }
    /// The service does not exist (never did, or was deleted long enough ago to be gone).
    pub fn service_not_found() -> Self {
        Self::new(400, "ServiceNotFoundException", "Service not found.")
    }
    /// The service does not exist, and why (deleted already, ...).
    pub fn service_not_found_because(message: impl Into<String>) -> Self {
        Self::new(400, "ServiceNotFoundException", message)
    }
    /// The service exists but is DRAINING or INACTIVE (deleted): it cannot be changed.
    pub fn service_not_active() -> Self {
        Self::new(400, "ServiceNotActiveException", "Service was not ACTIVE.")
    }
    /// The resource an ARN names does not exist (TagResource, UntagResource,
    /// ListTagsForResource).
    pub fn resource_not_found(message: impl Into<String>) -> Self {
        Self::new(400, "ResourceNotFoundException", message)
    }
    /// The caller's identity may not do this.
    pub fn access_denied(message: impl Into<String>) -> Self {
        Self::new(400, "AccessDeniedException", message)
    }
    /// `X-Amz-Target` names no ECS operation.
    pub fn unknown_operation(message: impl Into<String>) -> Self {
        Self::new(400, "UnknownOperationException", message)
    }
    /// An ECS operation ecsctl does not implement (yet): never a silent success.
    pub fn unsupported(operation: &str) -> Self {
        Self::new(
            400,
            "UnsupportedFeatureException",
            format!(
                "{operation} is not supported by ecsctl's ECS API yet (see README, \"ECS API\", for the operations it serves)"
            ),
        )
    }
    /// The request body is not the JSON the operation takes.
    pub fn serialization(message: impl Into<String>) -> Self {
        Self::new(400, "SerializationException", message)
    }
    /// The server failed.
    pub fn server(message: impl Into<String>) -> Self {
        Self::new(500, "ServerException", message)
    }

    /// The error for a signature that did not verify.
    pub fn from_signature(e: &crate::sigv4::SigError) -> Self {
        use crate::sigv4::SigError;
        let code = match e {
            SigError::Missing => "MissingAuthenticationTokenException",
            SigError::Incomplete(_) => "IncompleteSignatureException",
            SigError::UnknownKey => "UnrecognizedClientException",
            SigError::Mismatch | SigError::Expired { .. } => "InvalidSignatureException",
        };
        // AWS JSON services answer 403 for a missing token, 400 for the rest.
        let status = if matches!(e, SigError::Missing) {
            403
        } else {
            400
        };
        Self::new(status, code, e.to_string())
    }

    /// The response body.
    pub fn body(&self) -> Vec<u8> {
        serde_json::to_vec(&json!({"__type": self.code, "message": self.message}))
            .unwrap_or_default()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::sigv4::SigError;

    #[test]
    fn bodies_carry_type_and_message() {
        let e = EcsError::cluster_not_found();
        let body: serde_json::Value = serde_json::from_slice(&e.body()).unwrap();
        assert_eq!(
            body,
            json!({"__type": "ClusterNotFoundException", "message": "Cluster not found."})
        );
        assert_eq!(e.status, 400);
        assert!(EcsError::unsupported("RunTask").message.contains("RunTask"));
        assert_eq!(EcsError::server("x").status, 500);
    }

    #[test]
    fn signature_failures_map_to_aws_codes() {
        let unknown = EcsError::from_signature(&SigError::UnknownKey);
        assert_eq!(
            (unknown.status, unknown.code),
            (400, "UnrecognizedClientException")
        );
        let bad = EcsError::from_signature(&SigError::Mismatch);
        assert_eq!((bad.status, bad.code), (400, "InvalidSignatureException"));
        let missing = EcsError::from_signature(&SigError::Missing);
        assert_eq!(
            (missing.status, missing.code),
            (403, "MissingAuthenticationTokenException")
        );
    }
}
