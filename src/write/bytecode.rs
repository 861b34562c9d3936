//! Making the plan's bytecode while the bundle is written: runs of the
//! bundle's interpreter (`bytecode.py`) compile the sources and stream
//! the `.pyc` bytes back, so no compiled file ever lands on disk outside
//! the bundle.  File names go to them as bytes (JSON could carry only
//! text).
//!
//! `PROCESSES` runs share the work, source `i` going to run `i %
//! PROCESSES`, and their answers are read back in plan order.  Their
//! number is fixed, not the machine's count of cores: what a Python
//! process compiled before can change the bytes of the next `.pyc` (which
//! strings it holds interned), so the same split on every machine keeps
//! bundles the same bytes.

use std::io::{BufReader, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::thread::JoinHandle;

use anyhow::{bail, Context, Result};

const COMPILER: &str = include_str!("bytecode.py");
/// How many runs of the interpreter compile a plan's bytecode.
const PROCESSES: usize = 4;

/// The running compilers of a plan's sources, answering in plan order.
pub struct Compilers {
    runs: Vec<Compiler>,
    next: usize,
}

impl Compilers {
    /// Starts `python` on `jobs`: `(source on this machine, its path in
    /// the bundle)`, split between at most `PROCESSES` runs.
    pub fn start(python: &Path, jobs: &[(&Path, &Path)]) -> Result<Compilers> {
        let runs = (0..PROCESSES.min(jobs.len()).max(1))
            .map(|run| {
                let share: Vec<_> = jobs.iter().skip(run).step_by(PROCESSES).copied().collect();
                Compiler::start(python, &share)
            })
            .collect::<Result<_>>()?;
        Ok(Compilers { runs, next: 0 })
    }

    /// The `.pyc` of the next source in plan order, or `None` when it
    /// does not compile with this interpreter.
    pub fn next(&mut self) -> Result<Option<Vec<u8>>> {
        let run = self.next % self.runs.len();
        self.next += 1;
        self.runs[run].next()
    }
}

/// A running compiler, answering in the order it was asked.
struct Compiler {
    child: Child,
    stdout: BufReader<ChildStdout>,
    stderr: Option<JoinHandle<String>>,
    python: PathBuf,
}

impl Compiler {
    fn start(python: &Path, jobs: &[(&Path, &Path)]) -> Result<Compiler> {
        let mut child = Command::new(python)
            .args(["-I", "-B", "-W", "ignore", "-c", COMPILER])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot run `{}`", python.display()))?;
        let mut request = Vec::new();
        for (source, module) in jobs {
            for name in [source, module] {
                let bytes = name.as_os_str().as_bytes();
                let length = u32::try_from(bytes.len()).context("a file name of 4 GiB")?;
                request.extend_from_slice(&length.to_le_bytes());
                request.extend_from_slice(bytes);
            }
        }
        let mut stdin = child.stdin.take().context("no pipe to the compiler")?;
        let stdout = child.stdout.take().context("no pipe from the compiler")?;
        let mut stderr = child.stderr.take().context("no pipe from the compiler")?;
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        stdin
            .write_all(&request)
            .context("cannot send the bytecode compiler its files")?;
        drop(stdin);
        Ok(Compiler {
            child,
            stdout: BufReader::new(stdout),
            stderr: Some(stderr),
            python: python.to_path_buf(),
        })
    }

    /// The next `.pyc`, or `None` when its source does not compile with
    /// this interpreter.
    fn next(&mut self) -> Result<Option<Vec<u8>>> {
        let mut length = [0u8; 8];
        if let Err(err) = self.stdout.read_exact(&mut length) {
            let _ = self.child.wait();
            let stderr = self.stderr.take().and_then(|t| t.join().ok());
            bail!(
                "compiling bytecode with `{}` failed ({err}): {}",
                self.python.display(),
                stderr.unwrap_or_default().trim()
            );
        }
        let Ok(length) = usize::try_from(i64::from_le_bytes(length)) else {
            return Ok(None);
        };
        let mut pyc = vec![0; length];
        self.stdout
            .read_exact(&mut pyc)
            .context("the bytecode compiler stopped mid-file")?;
        Ok(Some(pyc))
    }
}

impl Drop for Compiler {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
