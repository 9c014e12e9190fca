//! A built function binary run as Lambda would run it: against a
//! [`RuntimeApi`](crate::emulator::RuntimeApi), with Lambda's memory (a memory
//! cgroup of [`LAMBDA_MEMORY_MB`], where cgroups can be made), killed with its
//! test; and the checks on what it logged.

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
    /// The memory cgroup holding it to [`LAMBDA_MEMORY_MB`], when one could be made.
    cgroup: Option<PathBuf>,
}

/// A memory cgroup (v1) limited to `mb` megabytes, without swap; `None` where
/// cgroups cannot be made here (not root, no v1 memory controller).
fn memory_cgroup(mb: u64) -> Option<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let root = PathBuf::from("/sys/fs/cgroup/memory");
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
    let bytes = (mb * 1024 * 1024).to_string();
    if std::fs::write(dir.join("memory.limit_in_bytes"), &bytes).is_err() {
        let _ = std::fs::remove_dir(&dir);
        return None;
    }
    // Where swap accounting exists, swap counts too (Lambda has none).
    let _ = std::fs::write(dir.join("memory.memsw.limit_in_bytes"), &bytes);
    Some(dir)
}

/// Says once per process that functions run without Lambda's memory limit.
fn warn_no_cgroup() {
    static WARNED: std::sync::Once = std::sync::Once::new();
    WARNED.call_once(|| {
        eprintln!("emulator: no memory cgroup could be made; functions run without Lambda's 256 MB limit")
    });
}

impl Function {
    /// The most memory the function's cgroup used, in bytes.
    pub fn peak_memory(&self) -> Option<u64> {
        let text = std::fs::read_to_string(self.cgroup.as_ref()?.join("memory.max_usage_in_bytes")).ok()?;
        text.trim().parse().ok()
    }

    /// Whether the kernel killed the function for passing its memory limit.
    pub fn out_of_memory_kills(&self) -> u64 {
        self.cgroup
            .as_ref()
            .and_then(|dir| std::fs::read_to_string(dir.join("memory.oom_control")).ok())
            .and_then(|text| {
                text.lines()
                    .find_map(|l| l.strip_prefix("oom_kill ").and_then(|n| n.trim().parse().ok()))
            })
            .unwrap_or(0)
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        let Some(dir) = self.cgroup.take() else { return };
        let _ = self.child.start_kill();
        // The cgroup can go once the process has left it.
        for _ in 0..100 {
            if std::fs::remove_dir(&dir).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Function {
    /// Runs `binary` with the Lambda environment plus `env` (nothing else of
    /// this process's environment); its output goes
    /// to `log` when given (a file, so a chatty function never blocks on a
    /// full pipe), else to this process's output.
    pub fn spawn(
        binary: &std::path::Path,
        api: &RuntimeApi,
        name: &str,
        env: &[(String, String)],
        log: Option<&std::path::Path>,
    ) -> std::io::Result<Function> {
        let cgroup = memory_cgroup(LAMBDA_MEMORY_MB);
        let mut command = match &cgroup {
            // The shell joins the cgroup, then becomes the function.
            Some(dir) => {
                let mut command = Command::new("/bin/sh");
                command.args(["-c", "echo $$ > \"$1/cgroup.procs\" && exec \"$0\""]);
                command.arg(binary).arg(dir);
                command
            }
            None => {
                warn_no_cgroup();
                Command::new(binary)
            }
        };
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
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", LAMBDA_MEMORY_MB.to_string())
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
            cgroup,
        })
    }
}

/// Fails unless every record of a function's log (one per line) fits
/// CloudWatch Logs' limit for one record.
pub fn assert_log_records_fit(log: &std::path::Path) {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    for line in text.lines() {
        assert!(
            line.len() <= intake::limits::MAX_LOG_RECORD_BYTES,
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
