//! `ferry sandbox [--dir DIR]`: Ferry without an AWS account, in one command.
//!
//! Starts the AWS emulator (moto) on a free loopback port, in the background, installing it
//! into a private virtual environment the first time when no Python at hand has it; seeds what
//! a team running a service on ECS has (`sandbox/seed.py`, embedded: a load balancer, a service
//! serving from blue, alarms); writes an application repository to edit in DIR; prints the
//! lines to export, so `eval "$(ferry sandbox)"` works. `ferry sandbox --stop [--dir DIR]` ends
//! the emulator. What runs where is kept in `DIR/.ferry-sandbox/`.

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::ConfigError;
use crate::args::SandboxArgs;

/// The seeding script, run with the emulator's own Python (it has boto3).
const SEED: &str = include_str!("sandbox/seed.py");
/// The emulator, pinned as the tests pin it.
const MOTO: &str = "moto[server]>=5.1,<6";
/// The folder `ferry sandbox` names when `--dir` is not given.
const DEFAULT_DIR: &str = "ferry-sandbox";
const STATE_DIR: &str = ".ferry-sandbox";

/// What a running sandbox is, in `DIR/.ferry-sandbox/state.json`.
#[derive(Debug, Serialize, Deserialize)]
struct State {
    pid: u32,
    endpoint: String,
}

pub fn run(args: SandboxArgs) -> anyhow::Result<ExitCode> {
    if args.stop {
        let dir = args.dir.unwrap_or_else(|| PathBuf::from(DEFAULT_DIR));
        return stop(&dir);
    }
    let dir = match args.dir {
        Some(dir) => dir,
        None => new_folder(),
    };
    if let Some(state) = read_state(&dir)?
        && alive(state.pid)
    {
        eprintln!(
            "ferry sandbox: already running at {} (pid {}) for {}",
            state.endpoint,
            state.pid,
            dir.display()
        );
        print_exports(&state.endpoint, &dir);
        return Ok(ExitCode::SUCCESS);
    }
    if dir.join(".ferry").exists() {
        return Err(ConfigError(format!(
            "{} already holds a .ferry/ folder: give `ferry sandbox --dir` a new folder",
            dir.display()
        ))
        .into());
    }
    std::fs::create_dir_all(dir.join(STATE_DIR))
        .with_context(|| format!("creating {}", dir.display()))?;
    let dir = std::fs::canonicalize(&dir).with_context(|| format!("{}", dir.display()))?;
    let python = emulator_python()?;
    let port = free_port()?;
    let endpoint = format!("http://127.0.0.1:{port}");
    let pid = start_emulator(&python, port, &dir)?;
    write_state(
        &dir,
        &State {
            pid,
            endpoint: endpoint.clone(),
        },
    )?;
    if let Err(error) = wait_until_answering(port, pid) {
        let _ = kill(pid);
        return Err(error);
    }
    let seed_path = dir.join(STATE_DIR).join("seed.py");
    std::fs::write(&seed_path, SEED).context("writing the seeding script")?;
    let seeded = Command::new(&python)
        .arg(&seed_path)
        .arg(&endpoint)
        .arg(&dir)
        .stdin(Stdio::null())
        .output()
        .context("running the seeding script")?;
    if !seeded.status.success() {
        let _ = kill(pid);
        anyhow::bail!(
            "seeding the emulator failed: {}",
            String::from_utf8_lossy(&seeded.stderr)
                .lines()
                .last()
                .unwrap_or("no message")
        );
    }
    eprintln!(
        "ferry sandbox: the AWS emulator runs at {endpoint} (pid {pid}), with cluster shop, service web serving from blue behind a load balancer, and alarms web-5xx and web-p99-latency"
    );
    eprintln!(
        "ferry sandbox: an application repository to edit is in {}",
        dir.display()
    );
    print_exports(&endpoint, &dir);
    Ok(ExitCode::SUCCESS)
}

/// The lines to export, and what to do next as comments: `eval "$(ferry sandbox)"` works.
fn print_exports(endpoint: &str, dir: &Path) {
    let dir_text = dir.display().to_string();
    println!(
        "export AWS_ENDPOINT_URL={endpoint} AWS_REGION=eu-west-1 AWS_ACCESS_KEY_ID=sandbox AWS_SECRET_ACCESS_KEY=sandbox"
    );
    println!(
        "# then: cd {} && ferry deploy .ferry/web.yaml --local",
        shell_quote(&dir_text)
    );
    println!(
        "# stop it with: ferry sandbox --stop --dir {}",
        shell_quote(&dir_text)
    );
}

fn stop(dir: &Path) -> anyhow::Result<ExitCode> {
    let Some(state) = read_state(dir)? else {
        return Err(ConfigError(format!(
            "no sandbox runs for {}: `ferry sandbox --stop --dir DIR` names the folder `ferry sandbox` printed",
            dir.display()
        ))
        .into());
    };
    // A pid the system gave to another program since is left alone.
    if alive(state.pid) && is_emulator(state.pid) {
        kill(state.pid)?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while alive(state.pid) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    std::fs::remove_file(dir.join(STATE_DIR).join("state.json")).ok();
    eprintln!(
        "ferry sandbox: stopped the emulator at {} (pid {}); {} is left as it was",
        state.endpoint,
        state.pid,
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `ferry-sandbox`, or `ferry-sandbox-2`, ... : a folder that does not exist yet.
fn new_folder() -> PathBuf {
    (1..)
        .map(|n| match n {
            1 => PathBuf::from(DEFAULT_DIR),
            n => PathBuf::from(format!("{DEFAULT_DIR}-{n}")),
        })
        .find(|dir| !dir.exists())
        .expect("some folder name is free")
}

/// A Python that can run the emulator: `FERRY_SANDBOX_PYTHON`, else `python3` when it has
/// moto and boto3, else a virtual environment of Ferry's own, made (once) when missing.
fn emulator_python() -> anyhow::Result<PathBuf> {
    if let Some(python) = std::env::var_os("FERRY_SANDBOX_PYTHON") {
        return Ok(PathBuf::from(python));
    }
    let has_moto = |python: &Path| {
        Command::new(python)
            .args(["-c", "import moto.server, boto3"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    };
    let system = PathBuf::from("python3");
    if has_moto(&system) {
        return Ok(system);
    }
    let venv = cache_dir().join("ferry").join("sandbox-venv");
    let python = venv.join("bin").join("python");
    if has_moto(&python) {
        return Ok(python);
    }
    eprintln!(
        "ferry sandbox: installing the AWS emulator (moto) into {} — once, about a minute",
        venv.display()
    );
    let made = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .stdin(Stdio::null())
        .output();
    match made {
        Err(_) => {
            return Err(ConfigError(
                "ferry sandbox runs the AWS emulator with Python: install python3 (and python3-venv), then run it again".into(),
            )
            .into());
        }
        Ok(output) if !output.status.success() => {
            return Err(ConfigError(format!(
                "could not make a Python virtual environment in {} (install python3-venv): {}",
                venv.display(),
                String::from_utf8_lossy(&output.stderr).trim()
            ))
            .into());
        }
        Ok(_) => {}
    }
    let installed = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            MOTO,
            "boto3",
        ])
        .stdin(Stdio::null())
        .output()
        .context("running pip")?;
    if !installed.status.success() || !has_moto(&python) {
        return Err(ConfigError(format!(
            "installing moto from PyPI failed (is PyPI reachable?): {}",
            String::from_utf8_lossy(&installed.stderr)
                .lines()
                .last()
                .unwrap_or("no message")
        ))
        .into());
    }
    Ok(python)
}

fn cache_dir() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
}

fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// The emulator, in its own process group so that it outlives this command and a Ctrl-C in
/// the terminal; its log goes to `DIR/.ferry-sandbox/emulator.log`.
fn start_emulator(python: &Path, port: u16, dir: &Path) -> anyhow::Result<u32> {
    use std::os::unix::process::CommandExt;
    let log_path = dir.join(STATE_DIR).join("emulator.log");
    let log = std::fs::File::create(&log_path)
        .with_context(|| format!("creating {}", log_path.display()))?;
    let child = Command::new(python)
        .args([
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0)
        .spawn()
        .with_context(|| format!("starting the emulator with {}", python.display()))?;
    Ok(child.id())
}

fn wait_until_answering(port: u16, pid: u32) -> anyhow::Result<()> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        if !alive(pid) {
            anyhow::bail!("the emulator exited at start: see .ferry-sandbox/emulator.log");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    anyhow::bail!("the emulator did not answer on port {port} within 30 s")
}

fn read_state(dir: &Path) -> anyhow::Result<Option<State>> {
    let path = dir.join(STATE_DIR).join("state.json");
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(serde_json::from_str(&text).ok()),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error).with_context(|| format!("reading {}", path.display())),
    }
}

fn write_state(dir: &Path, state: &State) -> anyhow::Result<()> {
    let path = dir.join(STATE_DIR).join("state.json");
    let mut file = std::fs::File::create(&path)?;
    writeln!(file, "{}", serde_json::to_string(state)?)?;
    Ok(())
}

/// Whether process `pid` runs (and is not a zombie), as `/proc` says.
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            // "pid (comm) S ...": the state follows the last ')'.
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .is_some_and(|state| state != "Z")
        })
        .unwrap_or(false)
}

/// Whether process `pid` is a Python running moto's server (its command line says so).
fn is_emulator(pid: u32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|line| String::from_utf8_lossy(&line).contains("moto.server"))
}

fn kill(pid: u32) -> anyhow::Result<()> {
    let status = Command::new("kill")
        .arg(pid.to_string())
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .context("running kill")?;
    if !status.success() && alive(pid) {
        anyhow::bail!("could not stop the emulator (pid {pid})");
    }
    Ok(())
}

/// `text` as one shell word.
fn shell_quote(text: &str) -> String {
    if text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+:@".contains(c))
    {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names_are_quoted_for_the_shell_only_when_needed() {
        assert_eq!(shell_quote("/tmp/ferry-sandbox"), "/tmp/ferry-sandbox");
        assert_eq!(shell_quote("/tmp/my shop"), "'/tmp/my shop'");
        assert_eq!(shell_quote("/tmp/it's"), r"'/tmp/it'\''s'");
    }

    #[test]
    fn this_process_is_alive_and_an_unused_pid_is_not() {
        assert!(alive(std::process::id()));
        assert!(!alive(u32::MAX));
    }
}
