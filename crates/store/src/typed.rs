//! Typed writes on any [`Store`]: a controller hands the status struct it owns (api's
//! `ServiceStatus`, `TaskStatus`...) and the store gets its JSON, so no controller builds
//! another kind's status as a `serde_json::Value` by hand.

use crate::{Store, StoreError};
use api::{Object, ObjectKey};
use serde::Serialize;

/// Typed helpers over [`Store`]; implemented for every store, including `dyn Store`.
pub trait StoreExt {
    /// [`Store::update_status`] with the status as its typed struct.
    fn write_status<T: Serialize>(
        &self,
        key: &ObjectKey,
        status: &T,
        expected_resource_version: Option<u64>,
    ) -> Result<Object, StoreError>;
}

impl<S: Store + ?Sized> StoreExt for S {
    fn write_status<T: Serialize>(
        &self,
        key: &ObjectKey,
        status: &T,
        expected_resource_version: Option<u64>,
    ) -> Result<Object, StoreError> {
        self.update_status(key, status_value(key, status)?, expected_resource_version)
    }
}

/// The JSON of a typed status, or why it has none.
pub(crate) fn status_value<T: Serialize>(
    key: &ObjectKey,
    status: &T,
) -> Result<serde_json::Value, StoreError> {
    serde_json::to_value(status).map_err(|e| StoreError::Invalid(format!("status of {key}: {e}")))
}
