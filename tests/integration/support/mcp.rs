//! The real MCP servers installed by scripts/setup-mcp-servers.sh, or a skip; and what the
//! tests count processes with.

use std::path::PathBuf;

use prompteval::provider::llamacpp::install;

/// `mcp-server-time` (PyPI) in the cache's venv.
pub fn time_server() -> Option<PathBuf> {
    installed(install::cache_dir().join("venv-mcp/bin/mcp-server-time"))
}

/// `mcp-server-everything` (npm) in the cache's node_modules.
pub fn everything() -> Option<PathBuf> {
    installed(install::cache_dir().join("npm-mcp/node_modules/.bin/mcp-server-everything"))
}

/// `path` when it exists, else `None` after saying why; a failure instead under
/// `PROMPTEVAL_REQUIRE_MCP=1` (set by scripts/test.sh, so by `.ci/run`).
fn installed(path: PathBuf) -> Option<PathBuf> {
    if path.exists() {
        return Some(path);
    }
    let why = format!(
        "{} is missing (run scripts/setup-mcp-servers.sh)",
        path.display()
    );
    if std::env::var("PROMPTEVAL_REQUIRE_MCP").is_ok_and(|v| v == "1") {
        panic!("{why}");
    }
    eprintln!("skipped: {why}");
    None
}

/// Whether process `pid` exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

/// The live processes of process group `pgid`.
pub fn group(pgid: u32) -> Vec<u32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // After the `(comm)`: state, ppid, pgrp.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.split_whitespace().collect())
            .unwrap_or_default();
        if fields.get(2) == Some(&pgid.to_string().as_str()) && fields.first() != Some(&"Z") {
            pids.push(pid);
        }
    }
    pids
}

/// Waits up to five seconds for every process of group `pgid` to be gone; the ones left.
pub fn wait_gone(pgid: u32) -> Vec<u32> {
    for _ in 0..100 {
        let left = group(pgid);
        if left.is_empty() && !alive(pgid) {
            return left;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    group(pgid)
}

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}
