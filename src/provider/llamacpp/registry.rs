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
    if let Some(server) = servers.get(settings).and_then(Weak::upgrade) {
        return Ok(server);
    }
    let server = Arc::new(ManagedServer::spawn(settings)?);
    servers.insert(settings.clone(), Arc::downgrade(&server));
    Ok(server)
}
