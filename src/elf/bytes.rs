//! Little-endian integers at file offsets, every access bounds-checked:
//! the bytes come from files we did not write, so an offset may point
//! anywhere.

use anyhow::{anyhow, Result};

pub fn slice(bytes: &[u8], offset: u64, len: u64) -> Result<&[u8]> {
    let start = usize::try_from(offset).map_err(|_| out_of_file(offset, len))?;
    let len_usize = usize::try_from(len).map_err(|_| out_of_file(offset, len))?;
    let end = start
        .checked_add(len_usize)
        .ok_or_else(|| out_of_file(offset, len))?;
    bytes
        .get(start..end)
        .ok_or_else(|| out_of_file(offset, len))
}

fn out_of_file(offset: u64, len: u64) -> anyhow::Error {
    anyhow!("{len} bytes at offset {offset:#x} lie outside the file")
}

pub fn u16_at(bytes: &[u8], offset: u64) -> Result<u16> {
    let b = slice(bytes, offset, 2)?;
    Ok(u16::from_le_bytes([b[0], b[1]]))
}

pub fn u32_at(bytes: &[u8], offset: u64) -> Result<u32> {
    let mut b = [0u8; 4];
    b.copy_from_slice(slice(bytes, offset, 4)?);
    Ok(u32::from_le_bytes(b))
}

pub fn u64_at(bytes: &[u8], offset: u64) -> Result<u64> {
    let mut b = [0u8; 8];
    b.copy_from_slice(slice(bytes, offset, 8)?);
    Ok(u64::from_le_bytes(b))
}

pub fn put_u32(bytes: &mut [u8], offset: u64, value: u32) -> Result<()> {
    put(bytes, offset, &value.to_le_bytes())
}

pub fn put(bytes: &mut [u8], offset: u64, value: &[u8]) -> Result<()> {
    let len = value.len() as u64;
    let start = usize::try_from(offset).map_err(|_| out_of_file(offset, len))?;
    let end = start
        .checked_add(value.len())
        .ok_or_else(|| out_of_file(offset, len))?;
    bytes
        .get_mut(start..end)
        .ok_or_else(|| out_of_file(offset, len))?
        .copy_from_slice(value);
    Ok(())
}

/// The NUL-terminated string at `offset` of `table`.
pub fn c_str(table: &[u8], offset: u64) -> Result<&str> {
    let start = usize::try_from(offset)
        .ok()
        .filter(|&s| s < table.len())
        .ok_or_else(|| anyhow!("string offset {offset:#x} lies outside the string table"))?;
    let rest = &table[start..];
    let end = rest
        .iter()
        .position(|&b| b == 0)
        .ok_or_else(|| anyhow!("the string at {offset:#x} is not NUL-terminated"))?;
    std::str::from_utf8(&rest[..end]).map_err(|_| anyhow!("the string at {offset:#x} is not UTF-8"))
}

pub fn align_up(value: u64, align: u64) -> Option<u64> {
    if align <= 1 {
        return Some(value);
    }
    value.checked_add(align - 1).map(|v| v / align * align)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_past_the_end_are_errors() {
        let bytes = [1u8, 2, 3];
        assert_eq!(u16_at(&bytes, 1).unwrap(), 0x0302);
        assert!(u32_at(&bytes, 0).is_err());
        assert!(u64_at(&bytes, u64::MAX).is_err());
        assert!(slice(&bytes, u64::MAX - 1, 4).is_err());
    }

    #[test]
    fn strings_end_at_nul_inside_the_table() {
        let table = b"\0libc.so.6\0abc";
        assert_eq!(c_str(table, 1).unwrap(), "libc.so.6");
        assert_eq!(c_str(table, 4).unwrap(), "c.so.6");
        assert!(c_str(table, 11).is_err());
        assert!(c_str(table, 99).is_err());
    }

    #[test]
    fn align_up_rounds_to_multiples() {
        assert_eq!(align_up(0x1001, 0x1000), Some(0x2000));
        assert_eq!(align_up(0x1000, 0x1000), Some(0x1000));
        assert_eq!(align_up(7, 0), Some(7));
        assert_eq!(align_up(u64::MAX, 16), None);
    }
}
