//! One cold start: spawn a function binary against a fresh [`StandIn`], wait for its first
//! request, read its peak memory, kill it.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::runtime_api::{NEXT_INVOCATION, StandIn};

/// What one cold start measured.
#[derive(Debug, Clone, Copy)]
pub struct ColdStart {
    /// From just before `spawn` to the arrival of the first `GET .../invocation/next`: process
    /// start, tracing set-up, SDK configuration and client construction.
    pub to_first_poll: Duration,
    /// CPU time its threads had by then, from `/proc/<pid>/task/*/schedstat`. Unlike the wall
    /// time, it hardly depends on what else the machine is running.
    pub cpu: Duration,
    /// `VmHWM` (peak resident set) of the process while it waits for its first event.
    pub peak_rss_bytes: u64,
}

/// How often the child is checked for an early exit while no request has arrived.
const POLL: Duration = Duration::from_millis(5);

/// Starts `binary` as Lambda function `function` would start and measures its cold start.
/// With a `runner` (e.g. `qemu-aarch64 -L /usr/aarch64-linux-gnu`), the binary is its last
/// argument: a way to check that a cross-built binary boots, not to time it.
pub fn cold_start(
    binary: &Path,
    runner: &[String],
    extra_env: &[(String, String)],
    function: &str,
    timeout: Duration,
) -> Result<ColdStart, String> {
    let api =
        StandIn::start().map_err(|e| format!("cannot start the runtime API stand-in: {e}"))?;
    let mut command = match runner.split_first() {
        Some((program, args)) => {
            let mut command = Command::new(program);
            command.args(args).arg(binary);
            command
        }
        None => Command::new(binary),
    };
    command
        .env_clear()
        .envs(lambda_environment(function, &api.host_port()))
        .envs(extra_env.iter().map(|(name, value)| (name, value)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());

    let started = Instant::now();
    let mut child = command
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    let request = loop {
        if let Some(request) = api.next_request(POLL) {
            break request;
        }
        match child.try_wait() {
            Ok(Some(status)) => {
                return Err(format!(
                    "{function} exited ({status}) before its first poll; stderr:\n{}",
                    stderr_of(&mut child)
                ));
            }
            Ok(None) if started.elapsed() > timeout => {
                stop(&mut child);
                return Err(format!(
                    "{function} did not poll within {timeout:?}; stderr:\n{}",
                    stderr_of(&mut child)
                ));
            }
            Ok(None) => {}
            Err(e) => return Err(format!("cannot wait for {function}: {e}")),
        }
    };
    let to_first_poll = request.at.duration_since(started);

    if request.method != "GET" || request.path != NEXT_INVOCATION {
        stop(&mut child);
        return Err(format!(
            "{function} sent {} {} instead of polling: {}\nstderr:\n{}",
            request.method,
            request.path,
            request.body,
            stderr_of(&mut child)
        ));
    }
    let peak_rss_bytes = peak_rss_bytes(child.id());
    let cpu = cpu_time(child.id());
    stop(&mut child);
    Ok(ColdStart {
        to_first_poll,
        cpu: cpu?,
        peak_rss_bytes: peak_rss_bytes?,
    })
}

/// The environment Lambda gives a `provided.al2023` function, with dummy credentials (nothing
/// is called: the measurement ends at the first poll) and nothing from the caller's environment.
fn lambda_environment(function: &str, runtime_api: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_LAMBDA_RUNTIME_API", runtime_api.to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME", format!("ferry-{function}")),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128".into()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        (
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "2026/01/01/[$LATEST]00000000000000000000000000000000".into(),
        ),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/ferry-{function}"),
        ),
        ("AWS_REGION", "eu-west-1".into()),
        ("AWS_DEFAULT_REGION", "eu-west-1".into()),
        ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE".into()),
        (
            "AWS_SECRET_ACCESS_KEY",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".into(),
        ),
        ("AWS_SESSION_TOKEN", "coldstart-benchmark".into()),
        ("LAMBDA_TASK_ROOT", "/var/task".into()),
        ("LAMBDA_RUNTIME_DIR", "/var/runtime".into()),
        ("_HANDLER", "bootstrap".into()),
        ("TZ", ":UTC".into()),
        ("FERRY_TABLE", "ferry".into()),
        // The local stand-ins for the secrets the GitHub-facing functions read from Secrets
        // Manager in AWS (that read is a network round trip before the first poll, not measured).
        ("GITHUB_TOKEN", "coldstart-benchmark".into()),
        ("FERRY_GITHUB_WEBHOOK_SECRET", "coldstart-benchmark".into()),
    ]
}

/// `VmHWM` from `/proc/<pid>/status`, in bytes.
fn peak_rss_bytes(pid: u32) -> Result<u64, String> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| value.trim().strip_suffix("kB"))
        .and_then(|kib| kib.trim().parse::<u64>().ok())
        .map(|kib| kib * 1024)
        .ok_or_else(|| format!("{path} has no VmHWM line"))
}

/// The time on CPU of every thread of `pid`: the first field of each `schedstat`, nanoseconds.
fn cpu_time(pid: u32) -> Result<Duration, String> {
    let dir = format!("/proc/{pid}/task");
    let tasks = std::fs::read_dir(&dir).map_err(|e| format!("cannot list {dir}: {e}"))?;
    let mut nanos = 0;
    for task in tasks {
        let path = task
            .map_err(|e| format!("cannot list {dir}: {e}"))?
            .path()
            .join("schedstat");
        let stat = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        nanos += stat
            .split_whitespace()
            .next()
            .and_then(|on_cpu| on_cpu.parse::<u64>().ok())
            .ok_or_else(|| format!("{} does not start with a number", path.display()))?;
    }
    Ok(Duration::from_nanos(nanos))
}

fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

fn stderr_of(child: &mut Child) -> String {
    let mut text = String::new();
    if let Some(stderr) = child.stderr.as_mut() {
        let _ = stderr.take(64 * 1024).read_to_string(&mut text);
    }
    text
}
