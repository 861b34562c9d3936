//! Making the plan's bytecode while the bundle is written: one run of the
//! bundle's interpreter (`bytecode.py`) compiles every source in plan
//! order and streams the `.pyc` bytes back, so no compiled file ever
//! lands on disk outside the bundle.  File names go to it as bytes (JSON
//! could carry only text).

use std::io::{BufReader, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::thread::JoinHandle;

use anyhow::{bail, Context, Result};

const COMPILER: &str = include_str!("bytecode.py");

/// A running compiler, answering in the order it was asked.
pub struct Compiler {
    child: Child,
    stdout: BufReader<ChildStdout>,
    stderr: Option<JoinHandle<String>>,
    python: PathBuf,
}

impl Compiler {
    /// Starts `python` on `jobs`: `(source on this machine, its path in
    /// the bundle)`.
    pub fn start(python: &Path, jobs: &[(&Path, &Path)]) -> Result<Compiler> {
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
    pub fn next(&mut self) -> Result<Option<Vec<u8>>> {
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
