//! Where the store's data lives in etcd, under the prefix (`--store-prefix`, `/ecsctl` by
//! default), so that several ecsctl installations (or test runs) can share one etcd:
//!
//! - `P/o/STORAGE-KEY`: objects (the storage keys of `crate::keys`, as in sled);
//! - `P/e/NNNNNNNNNNNNNNNNNNNN`: the event log, one key per store revision (20 digits, so
//!   that key order is revision order);
//! - `P/m/revision`: the store revision; `P/m/family/F`: TaskDefinition revision counters;
//! - `P/l/KIND \0 KEY=VALUE \0 STORAGE-KEY`: the label index;
//! - `P/s/STORAGE-KEY`: Secret values, apart from the objects and the event log;
//! - `P/leader`: the elected control plane's id, held by its lease.

/// The keys of one store in etcd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layout {
    /// The prefix with one trailing `/`.
    root: String,
}

impl Layout {
    /// The layout under `prefix` (`/ecsctl`; a trailing `/` is optional).
    pub(crate) fn new(prefix: &str) -> Self {
        Layout {
            root: format!("{}/", prefix.trim_end_matches('/')),
        }
    }

    /// The prefix as given to etcd (without the trailing `/`).
    pub(crate) fn prefix(&self) -> &str {
        self.root.trim_end_matches('/')
    }

    pub(crate) fn object(&self, storage_key: &str) -> Vec<u8> {
        format!("{}o/{storage_key}", self.root).into_bytes()
    }

    /// Where the objects under a storage-key prefix are.
    pub(crate) fn objects_under(&self, storage_prefix: &str) -> Vec<u8> {
        self.object(storage_prefix)
    }

    /// The storage key of an object's etcd key.
    pub(crate) fn storage_key(&self, key: &[u8]) -> Option<String> {
        let text = std::str::from_utf8(key).ok()?;
        text.strip_prefix(&self.root)?
            .strip_prefix("o/")
            .map(str::to_string)
    }

    pub(crate) fn event(&self, revision: u64) -> Vec<u8> {
        format!("{}e/{revision:020}", self.root).into_bytes()
    }

    pub(crate) fn events(&self) -> Vec<u8> {
        format!("{}e/", self.root).into_bytes()
    }

    /// A meta key: the store revision (`crate::keys::META_REVISION`) or a family counter.
    pub(crate) fn meta(&self, key: &str) -> Vec<u8> {
        format!("{}m/{key}", self.root).into_bytes()
    }

    pub(crate) fn label(&self, kind: &str, label: (&str, &str), storage_key: &str) -> Vec<u8> {
        let mut key = self.labels(kind, label);
        key.extend_from_slice(storage_key.as_bytes());
        key
    }

    /// Every index entry of objects of `kind` carrying `label`.
    pub(crate) fn labels(&self, kind: &str, (k, v): (&str, &str)) -> Vec<u8> {
        format!("{}l/{kind}\0{k}={v}\0", self.root).into_bytes()
    }

    /// The storage key an index entry points to.
    pub(crate) fn label_target(&self, entry: &[u8]) -> Option<String> {
        let text = std::str::from_utf8(entry).ok()?;
        text.rsplit_once('\0').map(|(_, key)| key.to_string())
    }

    pub(crate) fn secret(&self, storage_key: &str) -> Vec<u8> {
        format!("{}s/{storage_key}", self.root).into_bytes()
    }

    pub(crate) fn leader(&self) -> Vec<u8> {
        format!("{}leader", self.root).into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_stay_under_the_prefix_and_decode_back() {
        let l = Layout::new("/ecsctl/");
        assert_eq!(l.prefix(), "/ecsctl");
        let k = l.object("Service/default/web");
        assert_eq!(k, b"/ecsctl/o/Service/default/web");
        assert_eq!(l.storage_key(&k).as_deref(), Some("Service/default/web"));
        assert!(l.event(9) < l.event(10));
        let entry = l.label("Task", ("ecsctl.service", "web"), "Task/default/t1");
        assert!(entry.starts_with(&l.labels("Task", ("ecsctl.service", "web"))));
        assert_eq!(l.label_target(&entry).as_deref(), Some("Task/default/t1"));
    }
}
