//! Where a test's store lives: a temporary sled directory, or a prefix of its own in an etcd
//! (the one `ECSCTL_TEST_ETCD=HOST:PORT[,...]` names, else one started for the test).

use ecsctl_store::{SledStore, StoreOptions};
use std::sync::Arc;

/// A store under test.
pub(crate) type Store = Arc<dyn ecsctl_store::Store>;

/// What keeps a test's store data alive, and opens it again.
pub(crate) enum Fixture {
    Sled(tempfile::TempDir),
    #[cfg(feature = "etcd-tests")]
    Etcd(etcd::Place),
}

impl Fixture {
    pub(crate) fn sled() -> (Fixture, Store) {
        let fixture = Fixture::Sled(tempfile::tempdir().unwrap());
        let store = fixture.reopen(None);
        (fixture, store)
    }

    #[cfg(feature = "etcd-tests")]
    pub(crate) fn etcd() -> (Fixture, Store) {
        let fixture = Fixture::Etcd(etcd::Place::new());
        let store = fixture.reopen(None);
        (fixture, store)
    }

    /// Opens the store (again), with an event log of `capacity` events if given.
    pub(crate) fn reopen(&self, capacity: Option<u64>) -> Store {
        let capacity = capacity.unwrap_or(StoreOptions::default().event_log_capacity);
        match self {
            Fixture::Sled(dir) => Arc::new(
                SledStore::open_with(
                    dir.path().join("store"),
                    StoreOptions {
                        event_log_capacity: capacity,
                    },
                )
                .unwrap(),
            ),
            #[cfg(feature = "etcd-tests")]
            Fixture::Etcd(place) => Arc::new(place.open(capacity)),
        }
    }
}

#[cfg(feature = "etcd-tests")]
pub(crate) mod etcd {
    use ecsctl_store::{EtcdOptions, EtcdStore};

    /// A prefix of the test's own in an etcd.
    pub(crate) struct Place {
        url: String,
        prefix: String,
        /// The etcd started for this test, when none was given.
        _cluster: Option<etcd_harness::EtcdCluster>,
    }

    impl Place {
        pub(crate) fn new() -> Place {
            let prefix = format!("/test-{}", uuid::Uuid::new_v4().simple());
            match std::env::var("ECSCTL_TEST_ETCD") {
                Ok(endpoints) if !endpoints.is_empty() => Place {
                    url: format!("etcd://{endpoints}"),
                    prefix,
                    _cluster: None,
                },
                _ => {
                    let cluster = etcd_harness::EtcdCluster::start(1).unwrap();
                    Place {
                        url: cluster.store_url(),
                        prefix,
                        _cluster: Some(cluster),
                    }
                }
            }
        }

        pub(crate) fn open(&self, capacity: u64) -> EtcdStore {
            let mut options = EtcdOptions::from_url(&self.url).unwrap();
            options.prefix = self.prefix.clone();
            options.event_log_capacity = capacity;
            EtcdStore::connect(options).unwrap()
        }
    }
}
