//! The bundle contract: where each part of a bundle lives (`layout`),
//! what its manifest records (`manifest`), what its bill of materials
//! says (`sbom`), and the formats a bundle is written to and read back
//! from — a folder, a `.zip`, a `.tar.gz` (`format`).  The write stage, `verify` and `inspect` all go through
//! here, and never through each other.

mod civil;
pub mod format;
mod layout;
mod manifest;
pub mod name;
pub mod sbom;

pub use format::{Format, Sink};
pub use layout::{Home, Layout};
pub use manifest::{Distribution, Manifest, ManifestFile, PythonInfo, Requires};

/// The manifest's path inside every bundle.
pub const MANIFEST: &str = "MANIFEST.json";
