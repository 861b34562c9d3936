//! The files a C host's build reads besides the header: the pkg-config
//! file `lib/pkgconfig/<module>.pc` and the CMake package
//! `lib/cmake/<module>/`, from the templates in `stubs/`.  Their paths are
//! relative to their own folder, so a bundle may be moved before a host
//! is built against it.

use std::path::Path;

use super::Files;
use crate::bundle::Layout;

const PKGCONFIG_TEMPLATE: &str = include_str!("../../stubs/module.pc.in");
const CMAKE_TEMPLATE: &str = include_str!("../../stubs/module-config.cmake.in");

/// Adds both files for `module`, whose plugin runs CPython `python`.
pub fn collect(files: &mut Files, layout: &Layout, module: &str, python: &str) {
    for (dest, template) in [
        (&layout.pkgconfig, PKGCONFIG_TEMPLATE),
        (&layout.cmake_config, CMAKE_TEMPLATE),
    ] {
        files.add_text(dest, &fill(template, dest, layout, module, python));
    }
}

fn fill(template: &str, dest: &Path, layout: &Layout, module: &str, python: &str) -> String {
    template
        .replace("@TO_BUNDLE@", &to_bundle(dest))
        .replace("@INCLUDEDIR@", &parent(&layout.header))
        .replace("@LIBDIR@", &layout.libdir.display().to_string())
        .replace("@PLUGIN@", &layout.plugin.display().to_string())
        .replace("@PYTHON@", python)
        .replace("@MODULE@", module)
}

/// The way up from the folder of `dest` (a path inside the bundle) to
/// the bundle's top: `../..` for `lib/pkgconfig/x.pc`.
fn to_bundle(dest: &Path) -> String {
    let depth = dest.parent().map_or(0, |p| p.components().count());
    vec![".."; depth].join("/")
}

fn parent(path: &Path) -> String {
    path.parent()
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_are_filled_with_paths_relative_to_their_file() {
        let home = crate::bundle::Home {
            prefix: "python".into(),
            stdlib: "python/lib/python3.11".into(),
            extensions: Some("python/lib/python3.11/lib-dynload".into()),
            required: Vec::new(),
            zip: None,
        };
        let layout = Layout::new("Hello", home);
        let pc = fill(
            PKGCONFIG_TEMPLATE,
            &layout.pkgconfig,
            &layout,
            "Hello",
            "3.11.7",
        );
        assert!(pc.contains("\nbundle=${pcfiledir}/../..\n"), "{pc}");
        assert!(
            pc.contains("\nLibs: -L${libdir} -lHello -Wl,-rpath,${libdir} "),
            "{pc}"
        );
        assert!(pc.contains("-Wl,-rpath-link,${bundlelibdir}\n"), "{pc}");
        assert!(pc.contains("\nbundlelibdir=${bundle}/lib\n"), "{pc}");
        let cmake = fill(
            CMAKE_TEMPLATE,
            &layout.cmake_config,
            &layout,
            "Hello",
            "3.11.7",
        );
        assert!(
            cmake.contains("\"${CMAKE_CURRENT_LIST_DIR}/../../..\""),
            "{cmake}"
        );
        assert!(
            cmake.contains("add_library(Hello::Hello SHARED IMPORTED)"),
            "{cmake}"
        );
        assert!(
            cmake.contains("\"${_Hello_bundle}/libHello.so\""),
            "{cmake}"
        );
        assert!(!pc.contains('@') && !cmake.contains('@'));
    }
}
