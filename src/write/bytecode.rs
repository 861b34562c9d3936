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
//! bundles the same bytes.  A run whose answer is in the bytecode cache
//! (`bytecode_cache.rs`) is not started: its answer is read from there.

use std::io::{BufReader, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::thread::JoinHandle;

use anyhow::{bail, Context, Result};

use super::bytecode_cache::{self, Entry};

const COMPILER: &str = include_str!("bytecode.py");
/// How many runs of the interpreter compile a plan's bytecode.
const PROCESSES: usize = 4;

/// The running compilers of a plan's sources, answering in plan order.
pub struct Compilers {
    runs: Vec<Run>,
    next: usize,
}

/// One share of the sources: compiled by a run of the interpreter, or
/// answered from the cache.
enum Run {
    Compiling(Box<Compiler>),
    Cached(Box<dyn Read>),
}

impl Compilers {
    /// Starts `python` (which runs on the runtime library `runtime`) on
    /// `jobs`: `(source on this machine, its path in the bundle)`, split
    /// between at most `PROCESSES` runs, each answered from the cache in
    /// `cache` when it holds its answer.
    pub fn start(
        python: &Path,
        runtime: &Path,
        jobs: &[(&Path, &Path)],
        cache: Option<&Path>,
    ) -> Result<Compilers> {
        let runs = (0..PROCESSES.min(jobs.len()).max(1))
            .map(|run| {
                let share: Vec<_> = jobs.iter().skip(run).step_by(PROCESSES).copied().collect();
                let Some(dir) = cache else {
                    return Compiler::start(python, &share, None)
                        .map(|c| Run::Compiling(Box::new(c)));
                };
                let key = bytecode_cache::key(COMPILER, python, runtime, &share)?;
                if let Some(answer) = bytecode_cache::open(dir, &key) {
                    return Ok(Run::Cached(Box::new(answer)));
                }
                Compiler::start(python, &share, Entry::create(dir, key))
                    .map(|c| Run::Compiling(Box::new(c)))
            })
            .collect::<Result<_>>()?;
        Ok(Compilers { runs, next: 0 })
    }

    /// The `.pyc` of the next source in plan order, or `None` when it
    /// does not compile with this interpreter.
    pub fn next(&mut self) -> Result<Option<Vec<u8>>> {
        let run = self.next % self.runs.len();
        self.next += 1;
        match &mut self.runs[run] {
            Run::Compiling(compiler) => compiler.next(),
            Run::Cached(answer) => {
                read_answer(answer.as_mut()).context("the bytecode cache ends mid-answer")
            }
        }
    }
}

/// One answer: an 8-byte length and that many bytes of `.pyc`, or the
/// length -1 for a source that does not compile.
fn read_answer(from: &mut dyn Read) -> std::io::Result<Option<Vec<u8>>> {
    let mut length = [0u8; 8];
    from.read_exact(&mut length)?;
    let Ok(length) = usize::try_from(i64::from_le_bytes(length)) else {
        return Ok(None);
    };
    let mut pyc = vec![0; length];
    from.read_exact(&mut pyc)?;
    Ok(Some(pyc))
}

/// How many answers a compiler may give ahead of the writer: enough that
/// it never waits while the writer deflates or copies other files, few
/// enough that what waits is a few MiB.
const READ_AHEAD: usize = 16;

/// One answer as read: the SHA-256 of the source the compiler read, and
/// the `.pyc` (`None`: it does not compile).
type Answer = std::io::Result<([u8; 32], Option<Vec<u8>>)>;

/// A running compiler, answering in the order it was asked; a thread
/// reads its answers as they come, so that it is never held up by the
/// writer.
struct Compiler {
    child: Child,
    answers: Receiver<Answer>,
    stderr: Option<JoinHandle<String>>,
    python: PathBuf,
    /// How many answers are still to come.
    left: usize,
    /// Where the answers are kept for the next build, when they are.
    cache: Option<Entry>,
}

impl Compiler {
    fn start(python: &Path, jobs: &[(&Path, &Path)], cache: Option<Entry>) -> Result<Compiler> {
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
        let answers = read_ahead(stdout, jobs.len());
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
            answers,
            stderr: Some(stderr),
            python: python.to_path_buf(),
            left: jobs.len(),
            cache,
        })
    }

    /// The next `.pyc`, or `None` when its source does not compile with
    /// this interpreter.
    fn next(&mut self) -> Result<Option<Vec<u8>>> {
        let received = self.answers.recv().unwrap_or_else(|_| {
            Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the compiler's answers ended",
            ))
        });
        let (read, answer) = match received {
            Ok(answer) => answer,
            Err(err) => {
                self.cache = None;
                let _ = self.child.wait();
                let stderr = self.stderr.take().and_then(|t| t.join().ok());
                bail!(
                    "compiling bytecode with `{}` failed ({err}): {}",
                    self.python.display(),
                    stderr.unwrap_or_default().trim()
                );
            }
        };
        self.left = self.left.saturating_sub(1);
        if let Some(entry) = &mut self.cache {
            if entry.add(&read, answer.as_deref()).is_err() {
                self.cache = None;
            }
        }
        if self.left == 0 {
            // A cache that cannot be written costs the next build time,
            // never this one its bundle.
            let _ = self.cache.take().map(Entry::finish);
        }
        Ok(answer)
    }
}

/// Reads `count` answers from `stdout` on a thread of their own, at most
/// `READ_AHEAD` ahead of their reader; the first failure ends them.
fn read_ahead(stdout: ChildStdout, count: usize) -> Receiver<Answer> {
    let (send, receive) = std::sync::mpsc::sync_channel(READ_AHEAD);
    std::thread::spawn(move || {
        let mut stdout = BufReader::new(stdout);
        for _ in 0..count {
            let mut read = [0u8; 32];
            let answer = stdout
                .read_exact(&mut read)
                .and_then(|()| read_answer(&mut stdout))
                .map(|pyc| (read, pyc));
            let failed = answer.is_err();
            if send.send(answer).is_err() || failed {
                return;
            }
        }
    });
    receive
}

impl Drop for Compiler {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
