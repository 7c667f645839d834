//! The `mcp` handler against real MCP servers nobody here wrote: `mcp-server-time` (PyPI)
//! over stdio and `@modelcontextprotocol/server-everything` (npm) over stdio and streamable
//! HTTP — tool listing, calls, errors — and no server process left after any ending.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use prompteval::agent::mcp::{McpHandler, McpSettings};
use prompteval::agent::ToolHandler;
use prompteval::tools::ToolCall;

use crate::support::mcp::{alive, everything, free_port, group, time_server, wait_gone};

fn handler(yaml: &str) -> McpHandler {
    let settings: McpSettings = serde_yaml::from_str(yaml).unwrap();
    McpHandler::new(settings.check("srv", Path::new("/")).unwrap())
}

fn stdio(program: &Path, args: &[&str]) -> McpHandler {
    let settings = McpSettings {
        command: Some(program.display().to_string()),
        args: args.iter().map(|a| a.to_string()).collect(),
        timeout: Some("20s".into()),
        ..McpSettings::default()
    };
    McpHandler::new(settings.check("srv", Path::new("/")).unwrap())
}

fn call(name: &str, args: &str) -> ToolCall {
    ToolCall::from_raw("call_1", name, args)
}

fn no_vars() -> serde_json::Map<String, serde_json::Value> {
    serde_json::Map::new()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_server_time_lists_its_tools_answers_calls_and_refuses_bad_ones() {
    let Some(bin) = time_server() else { return };
    let server = stdio(&bin, &["--local-timezone", "UTC"]);
    server.start().await.unwrap();
    let pid = server.server_pid().await.expect("a stdio server runs");
    assert!(alive(pid));

    let tools = server.list_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["get_current_time", "convert_time"]);
    let params = &tools[0].parameters;
    assert_eq!(params["type"], "object");
    assert!(params["properties"]["timezone"].is_object(), "{params}");
    assert!(tools[0].description.as_deref().unwrap().contains("time"));

    let now = server
        .call(
            &call("get_current_time", r#"{"timezone": "Europe/Rome"}"#),
            &no_vars(),
        )
        .await
        .unwrap();
    let now: serde_json::Value = serde_json::from_str(&now).unwrap();
    assert_eq!(now["timezone"], "Europe/Rome", "{now}");
    let converted = server
        .call(
            &call(
                "convert_time",
                r#"{"source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo"}"#,
            ),
            &no_vars(),
        )
        .await
        .unwrap();
    assert!(converted.contains("21:00"), "{converted}");

    let bad = server
        .call(
            &call("get_current_time", r#"{"timezone": "Mars/Olympus"}"#),
            &no_vars(),
        )
        .await
        .unwrap_err();
    assert!(bad.message.contains("Mars/Olympus"), "{bad}");
    let unknown = server
        .call(&call("get_weather", "{}"), &no_vars())
        .await
        .unwrap_err();
    assert!(unknown.message.contains("get_weather"), "{unknown}");
    let not_json = server
        .call(&call("get_current_time", "{timezone"), &no_vars())
        .await
        .unwrap_err();
    assert_eq!(
        not_json.message,
        "the arguments are not valid JSON: {timezone"
    );
    // Errors leave the session usable.
    assert!(server
        .call(
            &call("get_current_time", r#"{"timezone": "UTC"}"#),
            &no_vars()
        )
        .await
        .is_ok());

    server.stop().await;
    assert_eq!(
        wait_gone(pid),
        Vec::<u32>::new(),
        "the server outlived stop()"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_everything_over_stdio_lists_calls_and_reports_errors() {
    let Some(bin) = everything() else { return };
    let server = stdio(&bin, &["stdio"]);
    server.start().await.unwrap();
    let pid = server.server_pid().await.unwrap();
    let tools = server.list_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
    assert!(
        names.contains(&"echo") && names.contains(&"get-sum"),
        "{names:?}"
    );
    let sum = tools.iter().find(|t| t.name == "get-sum").unwrap();
    assert_eq!(sum.parameters["properties"]["a"]["type"], "number");

    let echoed = server
        .call(&call("echo", r#"{"message": "hi"}"#), &no_vars())
        .await
        .unwrap();
    assert_eq!(echoed, "Echo: hi");
    let summed = server
        .call(&call("get-sum", r#"{"a": 2, "b": 3}"#), &no_vars())
        .await
        .unwrap();
    assert!(summed.contains('5'), "{summed}");
    let bad = server
        .call(&call("get-sum", r#"{"a": "two", "b": 3}"#), &no_vars())
        .await
        .unwrap_err();
    assert!(!bad.message.is_empty(), "{bad}");
    let unknown = server
        .call(&call("no-such-tool", "{}"), &no_vars())
        .await
        .unwrap_err();
    assert!(unknown.message.contains("no-such-tool"), "{unknown}");

    drop(server);
    assert_eq!(
        wait_gone(pid),
        Vec::<u32>::new(),
        "the server outlived its handler"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_everything_over_streamable_http() {
    let Some(bin) = everything() else { return };
    let port = free_port();
    let mut server = Command::new(&bin)
        .arg("streamableHttp")
        .env("PORT", port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(server.stderr.take().unwrap()).lines();
    let listening = lines.any(|l| l.is_ok_and(|l| l.contains("listening")));
    assert!(listening, "server-everything did not start listening");

    let client = handler(&format!(
        "{{url: 'http://127.0.0.1:{port}/mcp', timeout: 20s}}"
    ));
    client.start().await.unwrap();
    assert_eq!(
        client.server_pid().await,
        None,
        "nothing is started for a url"
    );
    let tools = client.list_tools().await.unwrap();
    assert!(tools.iter().any(|t| t.name == "echo"), "{tools:?}");
    let echoed = client
        .call(&call("echo", r#"{"message": "over http"}"#), &no_vars())
        .await
        .unwrap();
    assert_eq!(echoed, "Echo: over http");
    let unknown = client
        .call(&call("no-such-tool", "{}"), &no_vars())
        .await
        .unwrap_err();
    assert!(unknown.message.contains("no-such-tool"), "{unknown}");
    client.stop().await;
    let _ = server.kill();
    let _ = server.wait();
}

#[tokio::test]
async fn a_server_that_cannot_start_says_why_with_its_stderr() {
    let missing = stdio(Path::new("/nonexistent/mcp-server"), &[]);
    let err = missing.start().await.unwrap_err();
    assert!(
        err.message
            .starts_with("mcp server `srv`: cannot start `/nonexistent/mcp-server`:"),
        "{err}"
    );
    let dies = stdio(
        Path::new("sh"),
        &["-c", "echo 'no such module: foo' >&2; exit 3"],
    );
    let err = dies.start().await.unwrap_err();
    assert!(
        err.message
            .starts_with("mcp server `srv`: `sh` did not initialize"),
        "{err}"
    );
    assert!(err.message.contains("no such module: foo"), "{err}");

    let port = free_port();
    let unreachable = handler(&format!(
        "{{url: 'http://127.0.0.1:{port}/mcp', startup_timeout: 5s}}"
    ));
    let err = unreachable.start().await.unwrap_err();
    assert!(err.message.starts_with("mcp server `srv`:"), "{err}");
}

#[tokio::test]
async fn a_silent_server_times_out_at_startup() {
    let silent = handler("{command: sleep, args: ['30'], startup_timeout: 300ms}");
    let err = silent.start().await.unwrap_err();
    assert_eq!(
        err.message,
        "mcp server `srv`: did not start and initialize within 300ms (startup_timeout)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_server_started_goes_with_it() {
    let Some(bin) = time_server() else { return };
    // The shell runs the server as its child (not exec): two processes in one group.
    let server = stdio(
        Path::new("sh"),
        &["-c", "\"$0\"; true", &bin.display().to_string()],
    );
    server.start().await.unwrap();
    let pid = server.server_pid().await.unwrap();
    assert_eq!(group(pid).len(), 2, "sh and mcp-server-time");
    assert_eq!(server.list_tools().await.unwrap().len(), 2);
    drop(server);
    assert_eq!(wait_gone(pid), Vec::<u32>::new());
}

/// Run by [`the_server_dies_with_prompteval`] in a child test process: starts a server,
/// prints its pid and waits to be killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a helper the kill tests run in their own process"]
async fn hold_a_time_server() {
    let Some(bin) = std::env::var_os("PROMPTEVAL_TEST_HOLD_MCP").map(PathBuf::from) else {
        return;
    };
    let server = stdio(&bin, &[]);
    server.start().await.unwrap();
    println!("server pid {}", server.server_pid().await.unwrap());
    tokio::time::sleep(std::time::Duration::from_secs(60)).await;
}

/// Starts [`hold_a_time_server`] in a process of its own, waits for the server, sends
/// `signal` to the holding process, and returns the server's pid.
fn hold_and_kill(bin: &Path, signal: &str) -> u32 {
    let mut holder = Command::new(std::env::current_exe().unwrap())
        .args([
            "e2e_mcp::hold_a_time_server",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env("PROMPTEVAL_TEST_HOLD_MCP", bin)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = std::io::BufReader::new(holder.stdout.take().unwrap());
    let pid = stdout
        .lines()
        .map_while(Result::ok)
        .find_map(|l| {
            l.strip_prefix("server pid ")
                .map(|p| p.trim().parse::<u32>().unwrap())
        })
        .expect("the holder printed the server's pid");
    assert!(alive(pid));
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &holder.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let _ = holder.wait();
    pid
}

#[test]
fn the_server_dies_with_prompteval() {
    let Some(bin) = time_server() else { return };
    for signal in ["KILL", "TERM", "INT"] {
        let pid = hold_and_kill(&bin, signal);
        assert_eq!(wait_gone(pid), Vec::<u32>::new(), "after SIG{signal}");
    }
}
