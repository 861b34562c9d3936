//! Where a patch is made: the output's bytes, which start as a copy of
//! the input and may grow — a `Vec` in memory, or a temporary file mapped
//! into memory, so that patching a library of any size touches only the
//! pages it reads and writes (`Mapped`).  A patch computes what it writes
//! (`Writes`) from the bytes as they are, then writes it all at once.

use std::fs::File;

use anyhow::{Context, Result};
use memmap2::MmapMut;

use super::bytes::put;

/// The bytes of a file being patched.
pub(super) trait Buffer {
    fn bytes(&self) -> &[u8];
    fn bytes_mut(&mut self) -> &mut [u8];
    /// Makes the file `len` bytes long, the new bytes zero.
    fn grow(&mut self, len: u64) -> Result<()>;
}

impl Buffer for Vec<u8> {
    fn bytes(&self) -> &[u8] {
        self
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        self
    }

    fn grow(&mut self, len: u64) -> Result<()> {
        self.resize(usize::try_from(len)?, 0);
        Ok(())
    }
}

/// A temporary file of this process's own, mapped into memory.
pub(super) struct Mapped<'f> {
    file: &'f File,
    /// None while the file is empty, which cannot be mapped.
    map: Option<MmapMut>,
}

impl<'f> Mapped<'f> {
    pub fn new(file: &'f File) -> Result<Mapped<'f>> {
        let mut mapped = Mapped { file, map: None };
        mapped.map()?;
        Ok(mapped)
    }

    fn map(&mut self) -> Result<()> {
        self.map = None;
        let len = self
            .file
            .metadata()
            .context("cannot map a temporary file")?
            .len();
        if len > 0 {
            // SAFETY: the file is a temporary file of this process's own
            // (`patch_temporary`'s contract): nothing else writes or
            // truncates it while it is mapped.
            let map = unsafe { MmapMut::map_mut(self.file) };
            self.map = Some(map.context("cannot map a temporary file")?);
        }
        Ok(())
    }
}

impl Buffer for Mapped<'_> {
    fn bytes(&self) -> &[u8] {
        self.map.as_deref().unwrap_or_default()
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        self.map.as_deref_mut().unwrap_or_default()
    }

    fn grow(&mut self, len: u64) -> Result<()> {
        self.map = None;
        self.file
            .set_len(len)
            .context("cannot grow a temporary file")?;
        self.map()
    }
}

/// What a patch writes: bytes at file offsets, in order, into an output
/// of `len` bytes.
pub(super) struct Writes {
    len: u64,
    puts: Vec<(u64, Vec<u8>)>,
}

impl Writes {
    pub fn new(len: u64) -> Writes {
        Writes {
            len,
            puts: Vec::new(),
        }
    }

    pub fn put(&mut self, offset: u64, value: &[u8]) {
        self.puts.push((offset, value.to_vec()));
    }

    pub fn put_u16(&mut self, offset: u64, value: u16) {
        self.put(offset, &value.to_le_bytes());
    }

    pub fn put_u64(&mut self, offset: u64, value: u64) {
        self.put(offset, &value.to_le_bytes());
    }

    /// Grows `out` to the new length and writes every put, each checked
    /// to lie inside the file.
    pub fn apply(self, out: &mut dyn Buffer) -> Result<()> {
        if self.len > out.bytes().len() as u64 {
            out.grow(self.len)?;
        }
        for (offset, value) in &self.puts {
            put(out.bytes_mut(), *offset, value)?;
        }
        Ok(())
    }
}
