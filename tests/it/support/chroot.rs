//! Bare machines: chroot roots holding only the system libraries a bundle
//! may assume and the dynamic loader, for tests that prove a bundle needs
//! nothing else.

use std::path::{Path, PathBuf};

use super::workdir;

/// The system libraries a bundle may assume on the target machine
/// (the manylinux allow-list), plus the dynamic loader.
pub const ALLOW_LIST: &[&str] = &[
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

/// A bare machine: a folder holding only the allow-listed system
/// libraries that exist here, the loader, and an empty /tmp.  Tests copy
/// their host and bundle into it and run them with `chroot`.
pub fn bare_root(name: &str) -> PathBuf {
    let root = workdir(name);
    let libdir = root.join("lib/x86_64-linux-gnu");
    std::fs::create_dir_all(&libdir).unwrap();
    std::fs::create_dir_all(root.join("lib64")).unwrap();
    std::fs::create_dir_all(root.join("tmp")).unwrap();
    for lib in ALLOW_LIST {
        let system = Path::new("/lib/x86_64-linux-gnu").join(lib);
        if system.exists() {
            std::fs::copy(&system, libdir.join(lib)).unwrap();
        }
    }
    std::fs::copy(
        "/lib64/ld-linux-x86-64.so.2",
        root.join("lib64/ld-linux-x86-64.so.2"),
    )
    .unwrap();
    root
}
