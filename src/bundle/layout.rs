//! Where each part of a bundle lives, relative to its top folder.  The
//! bootstrap has these paths compiled in, so the plugin finds them
//! wherever the folder is moved.  The interpreter's own part (`Home`) is
//! each Python implementation's to say.

use std::path::PathBuf;

use super::MANIFEST;

/// The relative paths of one bundle.
#[derive(Debug, Clone)]
pub struct Layout {
    /// `lib<module>.so`, the plugin.
    pub plugin: PathBuf,
    /// `include/<module>.h`.
    pub header: PathBuf,
    /// `lib/`: the interpreter's runtime library and the shared libraries
    /// vendored with it.
    pub libdir: PathBuf,
    /// `lib/pkgconfig/<module>.pc`: compile and link flags for pkg-config.
    pub pkgconfig: PathBuf,
    /// `lib/cmake/<module>/<module lowercased>-config.cmake`: the CMake
    /// package that `find_package(<module> CONFIG)` finds.
    pub cmake_config: PathBuf,
    /// The interpreter's home.
    pub home: Home,
    /// `site-packages/`: the venv's distributions.
    pub site: PathBuf,
    /// `app/`: the user's own modules, first on `sys.path`.
    pub app: PathBuf,
    /// `MANIFEST.json`: every file with its size, mode and sha256.
    pub manifest: PathBuf,
}

/// The interpreter's own folders in the bundle.
#[derive(Debug, Clone)]
pub struct Home {
    /// `sys.prefix`.
    pub prefix: PathBuf,
    /// The standard library.
    pub stdlib: PathBuf,
    /// The standard library's extension modules, when they have a folder
    /// of their own.
    pub extensions: Option<PathBuf>,
    /// What the interpreter cannot start without: the bootstrap checks
    /// these first, to name what is missing.
    pub required: Vec<PathBuf>,
}

impl Layout {
    pub fn new(module: &str, home: Home) -> Layout {
        Layout {
            plugin: PathBuf::from(format!("lib{module}.so")),
            header: PathBuf::from("include").join(format!("{module}.h")),
            libdir: PathBuf::from("lib"),
            pkgconfig: PathBuf::from(format!("lib/pkgconfig/{module}.pc")),
            cmake_config: PathBuf::from(format!(
                "lib/cmake/{module}/{}-config.cmake",
                module.to_ascii_lowercase()
            )),
            home,
            site: PathBuf::from("site-packages"),
            app: PathBuf::from("app"),
            manifest: PathBuf::from(MANIFEST),
        }
    }
}
