//! A value replaced whole while readers hold the one they loaded: requests and connections
//! clone the `Arc` (no lock held while they use it), `sync` stores a new one.

use std::sync::{Arc, RwLock};

#[derive(Debug, Default)]
pub(crate) struct SwapCell<T>(RwLock<Arc<T>>);

impl<T> SwapCell<T> {
    pub fn new(value: impl Into<Arc<T>>) -> Self {
        SwapCell(RwLock::new(value.into()))
    }

    pub fn load(&self) -> Arc<T> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn store(&self, value: impl Into<Arc<T>>) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = value.into();
    }
}
