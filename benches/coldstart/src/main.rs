//! `coldstart`: how long each Ferry Lambda function takes from process start to its first poll
//! of the Lambda Runtime API, and how much memory it holds by then.
//!
//! Each function binary (built for the host: `cargo build --release --bin <name>`) is spawned
//! with the environment Lambda sets and `AWS_LAMBDA_RUNTIME_API` pointing at a stand-in server
//! on 127.0.0.1. The clock stops when `GET /2018-06-01/runtime/invocation/next` arrives: by then
//! tracing is set up and every AWS client is built. Then `VmHWM` is read and the process killed.
//! Nothing leaves the machine: the stand-in never answers and no AWS API is called.
//!
//! `make bench-coldstart` (scripts/coldstart.sh) builds everything and runs this; results are
//! summarised in docs/benchmarks.md.

mod probe;
mod runtime_api;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use probe::ColdStart;

const USAGE: &str = "\
Usage: coldstart [OPTIONS] [FUNCTION...]

Measures the cold start of each Lambda function (default: every functions/<name>/) built for the
host, against a stand-in Lambda Runtime API on 127.0.0.1. Exits 1 when a function fails to start
or misses a target.

Options:
  --runs N          cold starts per function, after one discarded warm-up (default 20)
  --bin-dir DIR     the host binaries (default $CARGO_TARGET_DIR/release, else target/release)
  --max-p95-ms MS   target for the p95 time to the first poll (default 15)
  --max-rss-mb MB   target for the peak resident set, in MB of 10^6 bytes (default 20)
  --markdown        print a Markdown table (for docs/benchmarks.md)
  --env NAME=VALUE  add to (or override in) the functions' Lambda environment; repeatable
  --runner CMD      start each binary through CMD (split on spaces), e.g.
                    \"qemu-aarch64 -L /usr/aarch64-linux-gnu\" to check that the arm64 binaries
                    boot; times and memory are then the emulator's
  -h, --help        this text
";

/// A function gets this long to reach its first poll before the run counts as failed.
const TIMEOUT: Duration = Duration::from_secs(10);

struct Options {
    runs: usize,
    bin_dir: PathBuf,
    max_p95: Duration,
    max_rss_bytes: u64,
    markdown: bool,
    runner: Vec<String>,
    env: Vec<(String, String)>,
    functions: Vec<String>,
}

/// One function's runs, summarised.
struct Summary {
    function: String,
    median: Duration,
    p95: Duration,
    max: Duration,
    cpu_median: Duration,
    peak_rss_bytes: u64,
}

fn main() -> ExitCode {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(Some(options)) => options,
        Ok(None) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("coldstart: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };

    let mut summaries = Vec::new();
    let mut failed = false;
    for function in &options.functions {
        match measure(&options, function) {
            Ok(summary) => summaries.push(summary),
            Err(message) => {
                eprintln!("coldstart: {function}: {message}");
                failed = true;
            }
        }
    }

    if options.markdown {
        print_markdown(&summaries);
    } else {
        print_table(&options, &summaries);
    }

    // Through a runner (an emulator), times and memory say nothing about the real thing.
    let missed: Vec<&str> = summaries
        .iter()
        .filter(|_| options.runner.is_empty())
        .filter(|s| s.p95 >= options.max_p95 || s.peak_rss_bytes >= options.max_rss_bytes)
        .map(|s| s.function.as_str())
        .collect();
    if !missed.is_empty() {
        eprintln!(
            "coldstart: over target (p95 {} ms, peak RSS {:.0} MB): {}",
            options.max_p95.as_millis(),
            mb(options.max_rss_bytes),
            missed.join(", ")
        );
        failed = true;
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn measure(options: &Options, function: &str) -> Result<Summary, String> {
    let binary = options.bin_dir.join(function);
    if !binary.is_file() {
        return Err(format!(
            "{} does not exist; build it with `cargo build --release --bin {function}`",
            binary.display()
        ));
    }
    // The warm-up brings the binary into the page cache, as it is on a Lambda host that has
    // just downloaded the function; it is not counted.
    probe::cold_start(&binary, &options.runner, &options.env, function, TIMEOUT)?;
    let runs = (0..options.runs)
        .map(|_| probe::cold_start(&binary, &options.runner, &options.env, function, TIMEOUT))
        .collect::<Result<Vec<ColdStart>, String>>()?;

    let mut times: Vec<Duration> = runs.iter().map(|run| run.to_first_poll).collect();
    times.sort_unstable();
    let mut cpu: Vec<Duration> = runs.iter().map(|run| run.cpu).collect();
    cpu.sort_unstable();
    Ok(Summary {
        function: function.to_string(),
        median: median(&times),
        p95: percentile(&times, 95),
        max: times.last().copied().unwrap_or_default(),
        cpu_median: median(&cpu),
        peak_rss_bytes: runs.iter().map(|run| run.peak_rss_bytes).max().unwrap_or(0),
    })
}

/// The median of sorted, non-empty `times`.
fn median(times: &[Duration]) -> Duration {
    let middle = times.len() / 2;
    if times.len().is_multiple_of(2) {
        (times[middle - 1] + times[middle]) / 2
    } else {
        times[middle]
    }
}

/// The nearest-rank percentile of sorted, non-empty `times`.
fn percentile(times: &[Duration], percent: usize) -> Duration {
    let rank = (times.len() * percent).div_ceil(100).max(1);
    times[rank - 1]
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

fn print_table(options: &Options, summaries: &[Summary]) {
    println!(
        "{} cold starts per function (after one warm-up), binaries in {}",
        options.runs,
        options.bin_dir.display()
    );
    println!(
        "{:<16} {:>11} {:>9} {:>9} {:>14} {:>14}",
        "FUNCTION", "MEDIAN ms", "P95 ms", "MAX ms", "CPU ms (med)", "PEAK RSS MB"
    );
    for s in summaries {
        println!(
            "{:<16} {:>11.2} {:>9.2} {:>9.2} {:>14.2} {:>14.1}",
            s.function,
            ms(s.median),
            ms(s.p95),
            ms(s.max),
            ms(s.cpu_median),
            mb(s.peak_rss_bytes)
        );
    }
}

fn print_markdown(summaries: &[Summary]) {
    println!("| function | median | p95 | max | CPU time (median) | peak RSS |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for s in summaries {
        println!(
            "| `{}` | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} MB |",
            s.function,
            ms(s.median),
            ms(s.p95),
            ms(s.max),
            ms(s.cpu_median),
            mb(s.peak_rss_bytes)
        );
    }
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Option<Options>, String> {
    let mut options = Options {
        runs: 20,
        bin_dir: default_bin_dir(),
        max_p95: Duration::from_millis(15),
        max_rss_bytes: 20_000_000,
        markdown: false,
        runner: Vec::new(),
        env: Vec::new(),
        functions: Vec::new(),
    };
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--runs" => {
                options.runs = parse_number(&value("--runs")?, "--runs")?;
                if options.runs == 0 {
                    return Err("--runs must be at least 1".into());
                }
            }
            "--bin-dir" => options.bin_dir = PathBuf::from(value("--bin-dir")?),
            "--max-p95-ms" => {
                options.max_p95 =
                    Duration::from_millis(parse_number(&value("--max-p95-ms")?, "--max-p95-ms")?);
            }
            "--max-rss-mb" => {
                options.max_rss_bytes =
                    parse_number::<u64>(&value("--max-rss-mb")?, "--max-rss-mb")? * 1_000_000;
            }
            "--markdown" => options.markdown = true,
            "--env" => {
                let pair = value("--env")?;
                let (name, value) = pair
                    .split_once('=')
                    .ok_or(format!("--env expects NAME=VALUE, found {pair:?}"))?;
                options.env.push((name.to_string(), value.to_string()));
            }
            "--runner" => {
                options.runner = value("--runner")?
                    .split_whitespace()
                    .map(str::to_string)
                    .collect();
            }
            flag if flag.starts_with('-') => return Err(format!("unknown option {flag}")),
            function => options.functions.push(function.to_string()),
        }
    }
    if options.functions.is_empty() {
        options.functions = all_functions()?;
    }
    Ok(Some(options))
}

fn parse_number<T: std::str::FromStr>(text: &str, name: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("{name} expects a whole number, found {text:?}"))
}

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn default_bin_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
        .join("release")
}

/// Every `functions/<name>/` with a Cargo.toml; its binary is named `<name>`.
fn all_functions() -> Result<Vec<String>, String> {
    let dir = workspace_root().join("functions");
    let entries =
        std::fs::read_dir(&dir).map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
    let mut functions: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|entry| entry.path().join("Cargo.toml").is_file())
        .filter_map(|entry| entry.file_name().into_string().ok())
        .collect();
    functions.sort();
    Ok(functions)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn millis(values: &[u64]) -> Vec<Duration> {
        values.iter().map(|&v| Duration::from_millis(v)).collect()
    }

    #[test]
    fn median_averages_the_two_middle_values_of_an_even_count() {
        assert_eq!(median(&millis(&[1, 2, 4, 9])), Duration::from_millis(3));
        assert_eq!(median(&millis(&[1, 2, 9])), Duration::from_millis(2));
    }

    #[test]
    fn p95_of_twenty_runs_is_the_nineteenth_fastest() {
        let times = millis(&(1..=20).collect::<Vec<_>>());
        assert_eq!(percentile(&times, 95), Duration::from_millis(19));
        assert_eq!(percentile(&millis(&[7]), 95), Duration::from_millis(7));
    }
}
