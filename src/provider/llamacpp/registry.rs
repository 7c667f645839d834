//! The servers running in this process, so providers with the same model and server
//! settings share one `llama-server` instead of starting one each.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, Weak};

use super::config::ServerSettings;
use super::server::ManagedServer;
use crate::provider::ProviderError;

/// Live servers by their settings. Entries are weak: a server stops when its last
/// provider is dropped, whatever the registry holds.
static SERVERS: Mutex<BTreeMap<ServerSettings, Weak<ManagedServer>>> = Mutex::new(BTreeMap::new());

/// The server for `settings`: the one already running in this process, or a newly
/// spawned one (see [`ManagedServer::spawn`] for the thread to call this from). The
/// caller still has to [`ManagedServer::wait_ready`].
pub fn shared_server(settings: &ServerSettings) -> Result<Arc<ManagedServer>, ProviderError> {
    let mut servers = SERVERS.lock().unwrap_or_else(|p| p.into_inner());
    servers.retain(|_, server| server.strong_count() > 0);
    let server = match servers.get(settings).and_then(Weak::upgrade) {
        Some(server) => server,
        None => {
            let server = Arc::new(ManagedServer::spawn(settings)?);
            servers.insert(settings.clone(), Arc::downgrade(&server));
            server
        }
    };
    let mut kept = KEPT.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(kept) = kept.as_mut() {
        kept.insert(settings.clone(), (server.clone(), true));
    }
    Ok(server)
}

/// The servers a [`KeepServers`] holds (`None`: no guard), each with whether it was asked
/// for since [`KeepServers::mark`].
type Kept = BTreeMap<ServerSettings, (Arc<ManagedServer>, bool)>;

static KEPT: Mutex<Option<Kept>> = Mutex::new(None);

/// While this guard lives, every server started in this process keeps running after its
/// last provider is dropped, so that the runs of a watch session share one server instead
/// of starting one each. Dropping the guard stops them (unless a provider still uses one).
#[derive(Debug)]
pub struct KeepServers {
    _private: (),
}

impl KeepServers {
    /// Starts keeping servers.
    #[allow(clippy::new_without_default)]
    pub fn new() -> KeepServers {
        let mut kept = KEPT.lock().unwrap_or_else(|p| p.into_inner());
        kept.get_or_insert_with(BTreeMap::new);
        KeepServers { _private: () }
    }

    /// Forgets which servers were asked for, before a run that starts every provider the
    /// session's evals use.
    pub fn mark(&self) {
        let mut kept = KEPT.lock().unwrap_or_else(|p| p.into_inner());
        for (_, used) in kept.iter_mut().flat_map(|k| k.values_mut()) {
            *used = false;
        }
    }

    /// Stops the servers nobody asked for since [`KeepServers::mark`] (after that run: the
    /// servers of settings the project no longer has); returns how many.
    pub fn release_unused(&self) -> usize {
        let released: Vec<Arc<ManagedServer>> = {
            let mut kept = KEPT.lock().unwrap_or_else(|p| p.into_inner());
            let Some(kept) = kept.as_mut() else { return 0 };
            let unused: Vec<ServerSettings> = kept
                .iter()
                .filter(|(_, (_, used))| !used)
                .map(|(s, _)| s.clone())
                .collect();
            unused
                .iter()
                .filter_map(|s| kept.remove(s))
                .map(|(server, _)| server)
                .collect()
        };
        // Dropped outside the lock: stopping a server waits for it to exit.
        released.len()
    }

    /// The process ids of the servers kept now.
    pub fn pids(&self) -> Vec<u32> {
        let kept = KEPT.lock().unwrap_or_else(|p| p.into_inner());
        kept.iter()
            .flat_map(|k| k.values())
            .map(|(s, _)| s.pid())
            .collect()
    }
}

impl Drop for KeepServers {
    fn drop(&mut self) {
        let kept = KEPT.lock().unwrap_or_else(|p| p.into_inner()).take();
        // Dropped outside the lock: each server is stopped (SIGTERM, then SIGKILL) and reaped.
        drop(kept);
    }
}
