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

/// A bare machine where `bundle` was installed as people install
/// libraries: copied under `/opt`, its plugin `plugin` linked from
/// `/usr/local/lib` (a relative link, so that it resolves inside and
/// outside the root).  Runs `expressions` through the link in two hosts,
/// one that dlopen()s `/usr/local/lib/<plugin>`, one linked at build time
/// with `-L` that folder and its path as RPATH; returns what each printed.
pub fn run_through_install_symlink(
    name: &str,
    bundle: &Path,
    plugin: &str,
    expressions: &[&str],
) -> [String; 2] {
    let root = bare_root(name);
    let installed = root.join("opt/vendor/plugin");
    std::fs::create_dir_all(installed.parent().unwrap()).unwrap();
    super::copy_tree(bundle, &installed);
    let links = root.join("usr/local/lib");
    std::fs::create_dir_all(&links).unwrap();
    std::os::unix::fs::symlink(
        Path::new("../../../opt/vendor/plugin").join(plugin),
        links.join(plugin),
    )
    .unwrap();
    std::fs::copy(super::run_plugin_host(), root.join("host")).unwrap();
    let source = "#include <stdio.h>\nint evaluate(const char *);\n\
                  int main(int argc, char **argv) {\n\
                  for (int i = 1; i < argc; i++) printf(\"%d\\n\", evaluate(argv[i]));\n\
                  return 0; }\n";
    std::fs::write(root.join("linked.c"), source).unwrap();
    let library = plugin
        .strip_prefix("lib")
        .and_then(|p| p.strip_suffix(".so"))
        .unwrap();
    super::run_ok(
        std::process::Command::new("cc")
            .args(["-Wall", "-Werror", "-o"])
            .arg(root.join("linked"))
            .arg(root.join("linked.c"))
            .arg(format!("-L{}", links.display()))
            .arg(format!("-l{library}"))
            .arg("-Wl,-rpath,/usr/local/lib"),
    );
    let link = format!("/usr/local/lib/{plugin}");
    let hosts: [Vec<&str>; 2] = [vec!["/host", &link], vec!["/linked"]];
    hosts.map(|host| {
        let output = super::run_ok(
            std::process::Command::new("/usr/sbin/chroot")
                .env_clear()
                .arg(&root)
                .args(&host)
                .args(expressions),
        );
        assert!(
            super::stderr(&output).is_empty(),
            "{host:?}: {}",
            super::stderr(&output)
        );
        super::stdout(&output)
    })
}
