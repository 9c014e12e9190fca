//! A built function binary run as Lambda would run it: against a
//! [`RuntimeApi`](crate::emulator::RuntimeApi), with Lambda's memory (a memory
//! cgroup of [`LAMBDA_MEMORY_MB`], where cgroups can be made) or a whole
//! [`LambdaSize`] (memory and CPU share), killed with its test; and the
//! checks on what it logged.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::process::{Child, Command};

use crate::emulator::{RuntimeApi, LAMBDA_MEMORY_MB};

/// The environment for a function against a local SQS at `endpoint` (fixed
/// credentials, no instance metadata), plus `extra` settings.
pub fn local_env(endpoint: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    [
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_REGION", "us-east-1"),
        // Lambda sets both; boto3 reads only this one.
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "local"),
        ("AWS_SECRET_ACCESS_KEY", "local"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        // Most runs are not about the sender's credentials; the ones that
        // are set a token or an allowlist, and a run without either is open
        // on purpose (the functions refuse to start open otherwise).
        ("ALLOW_UNAUTHENTICATED", "true"),
    ]
    .iter()
    .chain(extra)
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// Makes a child die with this process, even when this process is killed and
/// destructors do not run: no stray functions or servers after a test.
pub fn dies_with_this_process(command: &mut Command) {
    // SAFETY: prctl is async-signal-safe and touches no memory of ours.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
}

/// A function binary running against a [`RuntimeApi`]; killed when dropped.
pub struct Function {
    pub child: Child,
    /// The cgroups holding it to its size, where they could be made.
    cgroups: Cgroups,
}

/// The size of a Lambda function: its memory, and the share of a CPU Lambda
/// gives with it (one vCPU at 1,769 MB, in proportion below).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LambdaSize {
    pub memory_mb: u64,
    /// Throttle the CPU to the memory's share (else only memory is limited).
    pub cpu_share: bool,
    /// Let init run on one full vCPU, throttling from the first poll of the
    /// Runtime API on (Lambda's init is reported to get more CPU).
    pub full_cpu_init: bool,
}

/// The memory that buys one full vCPU on Lambda.
pub const ONE_VCPU_MB: u64 = 1769;
/// The CFS period the CPU quota is a share of.
const CFS_PERIOD_US: u64 = 100_000;

impl LambdaSize {
    /// Memory only, CPU unthrottled: what the tests use (the template's size).
    pub const TESTS: LambdaSize = LambdaSize {
        memory_mb: LAMBDA_MEMORY_MB,
        cpu_share: false,
        full_cpu_init: false,
    };

    /// Lambda's memory and CPU share at `memory_mb`.
    pub fn lambda(memory_mb: u64, full_cpu_init: bool) -> LambdaSize {
        LambdaSize {
            memory_mb,
            cpu_share: true,
            full_cpu_init,
        }
    }

    /// The CFS quota (µs per 100 ms) of this size's CPU share.
    pub fn cpu_quota_us(&self) -> u64 {
        (CFS_PERIOD_US * self.memory_mb.min(ONE_VCPU_MB) / ONE_VCPU_MB).max(1000)
    }
}

/// The v1 cgroups of one function, removed when dropped; either may be
/// missing where cgroups cannot be made here (not root, no v1 controller).
#[derive(Default)]
pub struct Cgroups {
    memory: Option<PathBuf>,
    cpu: Option<PathBuf>,
    quota_us: Option<u64>,
}

/// A new cgroup under a v1 controller, `None` where it cannot be made.
fn make_cgroup(controller: &str) -> Option<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let root = PathBuf::from("/sys/fs/cgroup").join(controller);
    if !root.join("cgroup.procs").exists() {
        return None;
    }
    let name = format!(
        "intake-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let dir = root.join(name);
    std::fs::create_dir(&dir).ok()?;
    Some(dir)
}

/// A number a cgroup reports in one of its files.
fn read_number(dir: &std::path::Path, file: &str) -> Option<u64> {
    std::fs::read_to_string(dir.join(file)).ok()?.trim().parse().ok()
}

/// Writes one setting of a cgroup; drops the cgroup when it cannot be set.
fn set(dir: Option<PathBuf>, file: &str, value: &str) -> Option<PathBuf> {
    let dir = dir?;
    if std::fs::write(dir.join(file), value).is_err() {
        let _ = std::fs::remove_dir(&dir);
        return None;
    }
    Some(dir)
}

impl Cgroups {
    pub fn make(size: LambdaSize) -> Cgroups {
        let bytes = (size.memory_mb * 1024 * 1024).to_string();
        let memory = set(make_cgroup("memory"), "memory.limit_in_bytes", &bytes);
        if let Some(dir) = &memory {
            // Where swap accounting exists, swap counts too (Lambda has none).
            let _ = std::fs::write(dir.join("memory.memsw.limit_in_bytes"), &bytes);
        }
        let (cpu, quota_us) = if size.cpu_share {
            let quota = size.cpu_quota_us();
            let at_init = if size.full_cpu_init { CFS_PERIOD_US } else { quota };
            let dir = set(make_cgroup("cpu"), "cpu.cfs_period_us", &CFS_PERIOD_US.to_string());
            (set(dir, "cpu.cfs_quota_us", &at_init.to_string()), Some(quota))
        } else {
            (None, None)
        };
        Cgroups { memory, cpu, quota_us }
    }

    /// Whether the CPU share asked for is in force (false: unthrottled).
    pub fn cpu_limited(&self) -> bool {
        self.cpu.is_some()
    }

    /// A closure that brings the CPU to the size's share (for a full-CPU
    /// init: called when the function first polls the Runtime API).
    pub fn throttle(&self) -> impl FnOnce() + Send + 'static {
        let target = self.cpu.clone().zip(self.quota_us);
        move || {
            if let Some((dir, quota)) = target {
                let _ = std::fs::write(dir.join("cpu.cfs_quota_us"), quota.to_string());
            }
        }
    }

    fn dirs(&self) -> impl Iterator<Item = &PathBuf> {
        self.memory.iter().chain(self.cpu.iter())
    }
}

impl Drop for Cgroups {
    fn drop(&mut self) {
        for dir in self.dirs() {
            // The cgroup can go once the process has left it.
            for _ in 0..100 {
                if std::fs::remove_dir(dir).is_ok() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
}

/// Says once per process that functions run without Lambda's memory limit.
fn warn_no_cgroup(memory_mb: u64) {
    static WARNED: std::sync::Once = std::sync::Once::new();
    WARNED.call_once(|| {
        eprintln!("emulator: no memory cgroup could be made; functions run without Lambda's {memory_mb} MB limit")
    });
}

impl Function {
    /// The most memory the function's cgroup used, in bytes.
    pub fn peak_memory(&self) -> Option<u64> {
        read_number(self.cgroups.memory.as_ref()?, "memory.max_usage_in_bytes")
    }

    /// Whether the kernel killed the function for passing its memory limit.
    pub fn out_of_memory_kills(&self) -> u64 {
        self.cgroups
            .memory
            .as_ref()
            .and_then(|dir| std::fs::read_to_string(dir.join("memory.oom_control")).ok())
            .and_then(|text| {
                text.lines()
                    .find_map(|l| l.strip_prefix("oom_kill ").and_then(|n| n.trim().parse().ok()))
            })
            .unwrap_or(0)
    }

    /// Whether the function runs with its size's CPU share.
    pub fn cpu_limited(&self) -> bool {
        self.cgroups.cpu_limited()
    }

    /// The CPU quota in force now (µs per 100 ms), where there is one.
    pub fn cpu_quota_us(&self) -> Option<u64> {
        read_number(self.cgroups.cpu.as_ref()?, "cpu.cfs_quota_us")
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

impl Function {
    /// Runs `binary` with the Lambda environment plus `env` (nothing else of
    /// this process's environment), with the template's memory
    /// ([`LambdaSize::TESTS`]); its output goes to `log` when given (a file,
    /// so a chatty function never blocks on a full pipe), else to this
    /// process's output.
    pub fn spawn(
        binary: &std::path::Path,
        api: &RuntimeApi,
        name: &str,
        env: &[(String, String)],
        log: Option<&std::path::Path>,
    ) -> std::io::Result<Function> {
        Function::spawn_sized(binary, api, name, env, log, LambdaSize::TESTS)
    }

    /// [`Function::spawn`] at a chosen size: memory limit, CPU share, and
    /// optionally a full-CPU init (throttled from its first poll on).
    pub fn spawn_sized(
        binary: &std::path::Path,
        api: &RuntimeApi,
        name: &str,
        env: &[(String, String)],
        log: Option<&std::path::Path>,
        size: LambdaSize,
    ) -> std::io::Result<Function> {
        let cgroups = Cgroups::make(size);
        if size.full_cpu_init {
            api.on_first_poll(cgroups.throttle());
        }
        let mut command = if cgroups.dirs().next().is_some() {
            // The shell joins the cgroups, then becomes the function.
            let mut command = Command::new("/bin/sh");
            command.args([
                "-c",
                "for g in \"$@\"; do echo $$ > \"$g/cgroup.procs\" || exit 1; done; exec \"$0\"",
            ]);
            command.arg(binary).args(cgroups.dirs());
            command
        } else {
            Command::new(binary)
        };
        if cgroups.memory.is_none() {
            warn_no_cgroup(size.memory_mb);
        }
        // Only what Lambda sets, not this machine's environment: a developer's
        // SSL_CERT_FILE/SSL_CERT_DIR, HOME (profile files) or AWS_PROFILE would
        // change what the function does at init, and what the benchmarks measure.
        command
            .env_clear()
            .env("PATH", "/usr/local/bin:/usr/bin:/bin")
            .env("LANG", "en_US.UTF-8")
            .env("TZ", ":UTC")
            .env("AWS_LAMBDA_RUNTIME_API", api.addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", size.memory_mb.to_string())
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .kill_on_drop(true);
        dies_with_this_process(&mut command);
        if let Some(path) = log {
            let file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
            command.stdout(file.try_clone()?).stderr(file);
        }
        Ok(Function {
            child: command.spawn()?,
            cgroups,
        })
    }
}

/// Fails unless every record of a function's log (one per line) fits
/// CloudWatch Logs' limit for one record.
pub fn assert_log_records_fit(log: &std::path::Path) {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    for line in text.lines() {
        assert!(
            line.len() <= platform::sqs::MAX_LOG_RECORD_BYTES,
            "{}: a log record of {} bytes, over CloudWatch's 256 KiB",
            log.display(),
            line.len()
        );
    }
}

/// The path of a workspace binary (`artemis`, `amlyze`), building it first
/// (a no-op when it is up to date). `FUNCTION_BIN_DIR` overrides the folder.
pub fn function_binary(name: &str) -> PathBuf {
    if let Ok(dir) = std::env::var("FUNCTION_BIN_DIR") {
        return PathBuf::from(dir).join(name);
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let status = std::process::Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--bin", name])
        .current_dir(&root)
        .status()
        .expect("cargo build");
    assert!(status.success(), "building {name} failed");
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("target"));
    target.join("debug").join(name)
}

/// Runs the built `recover` with `flags` on `log` against moto (the shared
/// server) with `vars`; its output, once it has succeeded.
pub async fn recover(flags: &[&str], log: &std::path::Path, vars: &[(&str, &str)]) -> String {
    let output = tokio::process::Command::new(function_binary("recover"))
        .args(flags)
        .arg(log)
        .envs(json_log_env(&crate::Moto::shared().endpoint))
        .envs(vars.iter().copied())
        .output()
        .await
        .expect("recover runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// [`local_env`] with Lambda's JSON log format (what the log checks read).
pub fn json_log_env(endpoint: &str) -> Vec<(String, String)> {
    local_env(endpoint, &[("AWS_LAMBDA_LOG_FORMAT", "JSON")])
}
