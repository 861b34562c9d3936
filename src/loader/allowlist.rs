//! The system allow-list: libraries every target machine is assumed to
//! have (manylinux's policy, as auditwheel ships it), plus the dynamic
//! loader.  Everything else a bundle needs is vendored into it.

/// SONAMEs never vendored.
pub const SYSTEM_LIBRARIES: &[&str] = &[
    "libc.so.6",
    "libm.so.6",
    "libmvec.so.1",
    "libdl.so.2",
    "librt.so.1",
    "libpthread.so.0",
    "libutil.so.1",
    "libnsl.so.1",
    "libresolv.so.2",
    "libanl.so.1",
    "libgcc_s.so.1",
    "libstdc++.so.6",
    "libatomic.so.1",
    "libz.so.1",
    "libexpat.so.1",
    "libX11.so.6",
    "libXext.so.6",
    "libXrender.so.1",
    "libICE.so.6",
    "libSM.so.6",
    "libGL.so.1",
    "libgobject-2.0.so.0",
    "libgthread-2.0.so.0",
    "libglib-2.0.so.0",
];

/// Whether `soname` is on the allow-list or names a dynamic loader
/// (`ld-linux-x86-64.so.2`, also as a path).
pub fn is_system(soname: &str) -> bool {
    let name = soname.rsplit('/').next().unwrap_or(soname);
    SYSTEM_LIBRARIES.contains(&soname) || name.starts_with("ld-linux")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glibc_and_the_loader_are_system_openssl_is_not() {
        assert!(is_system("libc.so.6"));
        assert!(is_system("libstdc++.so.6"));
        assert!(is_system("ld-linux-x86-64.so.2"));
        assert!(is_system("/lib64/ld-linux-x86-64.so.2"));
        assert!(!is_system("libssl.so.3"));
        assert!(!is_system("libnsl.so.2"));
        assert!(!is_system("libc.so"));
    }
}
