//! The output formats, chosen by the output's name: a folder, a `.zip`,
//! or a `.tar.gz` (`.tgz`).  Archives hold the bundle under one top-level
//! folder named like the archive, so unpacking never spills files.

use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Dir,
    Zip,
    TarGz,
}

impl Format {
    pub fn of(path: &Path) -> Format {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        if name.ends_with(".zip") {
            Format::Zip
        } else if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
            Format::TarGz
        } else {
            Format::Dir
        }
    }

    /// The folder an archive holds its files under: its name without the
    /// extension.
    pub fn top_folder(self, path: &Path) -> String {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let suffix_len = match self {
            Format::Dir => 0,
            Format::Zip => ".zip".len(),
            Format::TarGz if name.to_ascii_lowercase().ends_with(".tgz") => ".tgz".len(),
            Format::TarGz => ".tar.gz".len(),
        };
        name[..name.len() - suffix_len].to_string()
    }
}

/// A date and time in UTC, from seconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

impl Civil {
    /// Howard Hinnant's days-to-civil algorithm.
    pub fn from_unix(seconds: u64) -> Civil {
        let days = (seconds / 86_400) as i64;
        let rest = (seconds % 86_400) as u32;
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Civil {
            year,
            month,
            day,
            hour: rest / 3600,
            minute: rest % 3600 / 60,
            second: rest % 60,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_and_top_folder_from_the_name() {
        assert_eq!(Format::of(Path::new("dist/plugin")), Format::Dir);
        assert_eq!(Format::of(Path::new("dist/plugin-1.0.zip")), Format::Zip);
        assert_eq!(Format::of(Path::new("a/b.TAR.GZ")), Format::TarGz);
        assert_eq!(
            Format::Zip.top_folder(Path::new("dist/plugin-1.0.zip")),
            "plugin-1.0"
        );
        assert_eq!(Format::TarGz.top_folder(Path::new("x/p.tar.gz")), "p");
        assert_eq!(Format::TarGz.top_folder(Path::new("x/p.tgz")), "p");
    }

    #[test]
    fn civil_time_from_unix_seconds() {
        let c = Civil::from_unix(315_532_800);
        assert_eq!(
            (c.year, c.month, c.day, c.hour, c.minute, c.second),
            (1980, 1, 1, 0, 0, 0)
        );
        let c = Civil::from_unix(1_709_251_199);
        assert_eq!(
            (c.year, c.month, c.day, c.hour, c.minute, c.second),
            (2024, 2, 29, 23, 59, 59)
        );
    }
}
