//! Where each part of a bundle lives, relative to its top folder.  The
//! bootstrap has these paths compiled in, so the plugin finds them
//! wherever the folder is moved.  The interpreter's own part (`Home`) is
//! each Python implementation's to say.

use std::path::PathBuf;

use super::sbom::SBOM;
use super::MANIFEST;

/// The relative paths of one bundle.
#[derive(Debug, Clone)]
pub struct Layout {
    /// `lib<module>.so`, the plugin as hosts load it: a shim that loads
    /// `embedded` from its own real path, unless the plugin exports
    /// variables (which a shim cannot forward).
    pub plugin: PathBuf,
    /// `lib<module>.python.so`, the plugin itself: CFFI's module and the
    /// bootstrap, linked to the interpreter's runtime library; `plugin`
    /// when there is no shim.
    pub embedded: PathBuf,
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
    /// `sbom.cdx.json`: the CycloneDX bill of materials.
    pub sbom: PathBuf,
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
    /// The rest of the standard library as one zip, on `sys.path` before
    /// `stdlib` (`--zip-stdlib`).
    pub zip: Option<PathBuf>,
    /// What the interpreter cannot start without: the bootstrap checks
    /// these first, to name what is missing.
    pub required: Vec<PathBuf>,
}

impl Home {
    /// This home with its standard library zipped at `zip`: what the
    /// interpreter cannot start without is then the zip, which holds the
    /// files `required` named, and its extension modules.
    pub fn zipped(mut self, zip: PathBuf) -> Home {
        self.required = std::iter::once(zip.clone())
            .chain(self.extensions.clone())
            .collect();
        self.zip = Some(zip);
        self
    }
}

impl Layout {
    pub fn new(module: &str, home: Home) -> Layout {
        Layout {
            plugin: PathBuf::new(),
            embedded: PathBuf::new(),
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
            sbom: PathBuf::from(SBOM),
        }
        .with_plugin(&format!("lib{module}.so"))
    }

    /// The layout with the plugin named `name` (`pack` keeps the name of
    /// the library it is given), and the embedded plugin named after it.
    pub fn with_plugin(mut self, name: &str) -> Layout {
        let stem = name.strip_suffix(".so").unwrap_or(name);
        self.plugin = PathBuf::from(name);
        self.embedded = PathBuf::from(format!("{stem}.python.so"));
        self
    }

    /// The layout of a plugin that hosts load directly, without a shim.
    pub fn without_shim(mut self) -> Layout {
        self.embedded = self.plugin.clone();
        self
    }

    pub fn has_shim(&self) -> bool {
        self.embedded != self.plugin
    }
}
