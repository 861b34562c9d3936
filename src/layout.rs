//! The bundle contract: where each part of a bundle lives, relative to
//! its top folder.  The bootstrap has these paths compiled in, so the
//! plugin finds them wherever the folder is moved.

use std::path::PathBuf;

use crate::resolve::Interpreter;

/// The relative paths of one bundle.
#[derive(Debug, Clone)]
pub struct Layout {
    /// `lib<module>.so`, the plugin.
    pub plugin: PathBuf,
    /// `include/<module>.h`.
    pub header: PathBuf,
    /// `lib/`: libpython and the shared libraries vendored with it.
    pub libdir: PathBuf,
    /// `lib/pkgconfig/<module>.pc`: compile and link flags for pkg-config.
    pub pkgconfig: PathBuf,
    /// `lib/cmake/<module>/<module lowercased>-config.cmake`: the CMake
    /// package that `find_package(<module> CONFIG)` finds.
    pub cmake_config: PathBuf,
    /// `python/`: the interpreter's home (`sys.prefix`).
    pub home: PathBuf,
    /// `python/lib/pythonX.Y/`: the standard library.
    pub stdlib: PathBuf,
    /// `python/lib/pythonX.Y/lib-dynload/`: its extension modules.
    pub dynload: PathBuf,
    /// `site-packages/`: the venv's distributions.
    pub site: PathBuf,
    /// `app/`: the user's own modules, first on `sys.path`.
    pub app: PathBuf,
    /// `MANIFEST.json`: every file with its size, mode and sha256.
    pub manifest: PathBuf,
}

impl Layout {
    pub fn new(module: &str, python: &Interpreter) -> Layout {
        let home = PathBuf::from("python");
        let stdlib = home.join("lib").join(python.stdlib_name());
        Layout {
            plugin: PathBuf::from(format!("lib{module}.so")),
            header: PathBuf::from("include").join(format!("{module}.h")),
            libdir: PathBuf::from("lib"),
            pkgconfig: PathBuf::from(format!("lib/pkgconfig/{module}.pc")),
            cmake_config: PathBuf::from(format!(
                "lib/cmake/{module}/{}-config.cmake",
                module.to_ascii_lowercase()
            )),
            dynload: stdlib.join("lib-dynload"),
            stdlib,
            home,
            site: PathBuf::from("site-packages"),
            app: PathBuf::from("app"),
            manifest: PathBuf::from("MANIFEST.json"),
        }
    }
}
