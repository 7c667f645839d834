//! Finding the `llama-server` binary: the `binary:` setting, then
//! `PROMPTEVAL_LLAMA_SERVER`, then `PATH`, then the cache the setup script installs to.

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::provider::llamacpp::install;

/// Environment variable naming the `llama-server` binary when `binary:` is not set.
pub const LLAMA_SERVER_ENV: &str = "PROMPTEVAL_LLAMA_SERVER";
/// The binary's name on `PATH`.
const BINARY_NAME: &str = "llama-server";

/// The environment binary discovery reads. Tests build it by hand so they never touch the
/// process environment.
#[derive(Clone, Debug, Default)]
pub struct LookupEnv {
    /// The value of [`LLAMA_SERVER_ENV`].
    pub llama_server: Option<OsString>,
    /// The value of `PATH`.
    pub path: Option<OsString>,
    /// The cache directory ([`crate::provider::llamacpp::install::cache_dir`]).
    pub cache_dir: PathBuf,
}

impl LookupEnv {
    /// Reads the process environment.
    pub fn from_process() -> Self {
        LookupEnv {
            llama_server: std::env::var_os(LLAMA_SERVER_ENV),
            path: std::env::var_os("PATH"),
            cache_dir: install::cache_dir(),
        }
    }
}

/// No usable binary: every place looked at, in order, with what was found there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BinaryNotFound {
    /// One line per place, e.g. `` `llama-server` on PATH: not found``.
    pub looked: Vec<String>,
}

impl fmt::Display for BinaryNotFound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot find `{BINARY_NAME}`; looked at: ")?;
        f.write_str(&self.looked.join("; "))
    }
}

/// Finds the binary. A `binary:` setting or [`LLAMA_SERVER_ENV`] is decisive: when what it
/// names is not usable, the search stops there rather than silently running another
/// binary. A value without a `/` is looked up on `PATH`.
pub fn find_binary(configured: Option<&Path>, env: &LookupEnv) -> Result<PathBuf, BinaryNotFound> {
    if let Some(binary) = configured {
        return explicit("`binary:` setting", binary, env);
    }
    if let Some(value) = env.llama_server.as_ref().filter(|v| !v.is_empty()) {
        return explicit(LLAMA_SERVER_ENV, Path::new(value), env);
    }
    let mut looked = vec![
        "`binary:` setting: not set".to_string(),
        format!("{LLAMA_SERVER_ENV}: not set"),
    ];
    match on_path(Path::new(BINARY_NAME), env.path.as_ref()) {
        Ok(found) => return Ok(found),
        Err(why) => looked.push(format!("`{BINARY_NAME}` on PATH: {why}")),
    }
    let cached = install::cached_binary(&env.cache_dir);
    match usable(&cached) {
        Ok(()) => Ok(cached),
        Err(why) => {
            looked.push(format!("{}: {why}", cached.display()));
            Err(BinaryNotFound { looked })
        }
    }
}

fn explicit(source: &str, binary: &Path, env: &LookupEnv) -> Result<PathBuf, BinaryNotFound> {
    let bare = binary.components().count() == 1 && !binary.is_absolute();
    let result = if bare {
        on_path(binary, env.path.as_ref())
            .map_err(|why| format!("`{}` on PATH: {why}", binary.display()))
    } else {
        usable(binary)
            .map(|()| binary.to_path_buf())
            .map_err(|why| format!("{}: {why}", binary.display()))
    };
    result.map_err(|why| BinaryNotFound {
        looked: vec![format!("{source} {why}")],
    })
}

/// The first usable `name` in the directories of `path`.
fn on_path(name: &Path, path: Option<&OsString>) -> Result<PathBuf, &'static str> {
    let Some(path) = path.filter(|p| !p.is_empty()) else {
        return Err("PATH is not set");
    };
    std::env::split_paths(path)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(name))
        .find(|candidate| usable(candidate).is_ok())
        .ok_or("not found")
}

/// Whether `path` is an executable file (symlinks followed).
fn usable(path: &Path) -> Result<(), &'static str> {
    let meta = std::fs::metadata(path).map_err(|_| "not found")?;
    if !meta.is_file() {
        return Err("not a file");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o111 == 0 {
            return Err("not executable");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn executable(path: &Path) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, "#!/bin/sh\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }

    struct Dirs {
        _root: tempfile::TempDir,
        path_dir: PathBuf,
        cache: PathBuf,
        env_bin: PathBuf,
        config_bin: PathBuf,
    }

    fn dirs() -> Dirs {
        let root = tempfile::tempdir().unwrap();
        let r = root.path().to_path_buf();
        Dirs {
            path_dir: r.join("path"),
            cache: r.join("cache"),
            env_bin: r.join("env/llama-server"),
            config_bin: r.join("config/llama-server"),
            _root: root,
        }
    }

    fn env(d: &Dirs, env_bin: bool) -> LookupEnv {
        LookupEnv {
            llama_server: env_bin.then(|| d.env_bin.clone().into_os_string()),
            path: Some(
                std::env::join_paths([d.path_dir.join("empty"), d.path_dir.clone()]).unwrap(),
            ),
            cache_dir: d.cache.clone(),
        }
    }

    #[test]
    fn order_is_setting_env_path_cache() {
        let d = dirs();
        for p in [
            &d.config_bin,
            &d.env_bin,
            &d.path_dir.join("llama-server"),
            &install::cached_binary(&d.cache),
        ] {
            executable(p);
        }
        assert_eq!(
            find_binary(Some(&d.config_bin), &env(&d, true)).unwrap(),
            d.config_bin
        );
        assert_eq!(find_binary(None, &env(&d, true)).unwrap(), d.env_bin);
        assert_eq!(
            find_binary(None, &env(&d, false)).unwrap(),
            d.path_dir.join("llama-server")
        );
        std::fs::remove_file(d.path_dir.join("llama-server")).unwrap();
        assert_eq!(
            find_binary(None, &env(&d, false)).unwrap(),
            install::cached_binary(&d.cache)
        );
    }

    #[test]
    fn nothing_found_lists_every_place() {
        let d = dirs();
        let err = find_binary(None, &env(&d, false)).unwrap_err();
        let cached = install::cached_binary(&d.cache);
        assert_eq!(
            err.looked,
            vec![
                "`binary:` setting: not set".to_string(),
                "PROMPTEVAL_LLAMA_SERVER: not set".into(),
                "`llama-server` on PATH: not found".into(),
                format!("{}: not found", cached.display()),
            ]
        );
        assert!(err
            .to_string()
            .starts_with("cannot find `llama-server`; looked at: `binary:`"));
    }

    #[test]
    fn explicit_choices_are_decisive() {
        let d = dirs();
        executable(&install::cached_binary(&d.cache));
        let err = find_binary(Some(&d.config_bin), &env(&d, false)).unwrap_err();
        assert_eq!(
            err.looked,
            vec![format!(
                "`binary:` setting {}: not found",
                d.config_bin.display()
            )]
        );
        let err = find_binary(None, &env(&d, true)).unwrap_err();
        assert_eq!(
            err.looked,
            vec![format!(
                "PROMPTEVAL_LLAMA_SERVER {}: not found",
                d.env_bin.display()
            )]
        );
    }

    #[test]
    fn bare_names_are_looked_up_on_path() {
        let d = dirs();
        executable(&d.path_dir.join("my-server"));
        let found = find_binary(Some(Path::new("my-server")), &env(&d, false)).unwrap();
        assert_eq!(found, d.path_dir.join("my-server"));
        let err = find_binary(Some(Path::new("nope")), &env(&d, false)).unwrap_err();
        assert_eq!(
            err.looked,
            vec!["`binary:` setting `nope` on PATH: not found".to_string()]
        );
    }

    #[cfg(unix)]
    #[test]
    fn non_executable_files_are_skipped() {
        let d = dirs();
        std::fs::create_dir_all(&d.path_dir).unwrap();
        std::fs::write(d.path_dir.join("llama-server"), "data").unwrap();
        std::fs::create_dir_all(&d.config_bin).unwrap();
        let err = find_binary(None, &env(&d, false)).unwrap_err();
        assert_eq!(err.looked[2], "`llama-server` on PATH: not found");
        let err = find_binary(Some(&d.config_bin), &env(&d, false)).unwrap_err();
        assert!(err.looked[0].ends_with("not a file"), "{err}");
        let err = find_binary(Some(&d.path_dir.join("llama-server")), &env(&d, false)).unwrap_err();
        assert!(err.looked[0].ends_with("not executable"), "{err}");
    }
}
