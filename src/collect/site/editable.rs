//! `.pth` files, and the editable installs they make.  A bundle must not
//! import from the build machine, so a `.pth` line naming a folder outside
//! the site directory — `pip install -e` in compat mode, `setup.py
//! develop`, or any hand-written `.pth` — is replaced by that folder's
//! modules, copied into site-packages; so is a line that installs one of
//! setuptools' editable finders (`import __editable___<dist>_finder; ...`),
//! by the sources its `MAPPING` names.  Such lines are dropped; a `.pth`
//! left with nothing to do is not carried.  Lines that stay inside the
//! site directory, and other `import` lines, are kept.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result};
use walkdir::WalkDir;

use super::dists::{self, Distribution};
use crate::collect::{is_noise_dir, is_noise_file, Files};
use crate::fail;

/// setuptools' editable finders: module path -> `MAPPING` (see probe.py).
pub type Finders = BTreeMap<PathBuf, Option<BTreeMap<String, PathBuf>>>;

/// One `.pth` file of a site directory, about to be carried.
pub struct Pth<'a> {
    pub site_dir: &'a Path,
    /// Its path relative to the site directory.
    pub relative: &'a Path,
    /// The distribution whose `RECORD` lists it.
    pub owner: Option<&'a Distribution>,
}

/// What one line of a `.pth` does, as `site.addpackage()` reads it.
#[derive(Debug, PartialEq)]
enum Line {
    /// A comment, a blank line, an `import` line, or a folder inside the
    /// site directory named relatively: carried as it is.
    Keep,
    /// A folder inside the site directory named by its absolute path:
    /// carried relative to the site directory.
    Relative(PathBuf),
    /// Installs this editable finder module.
    Finder(PathBuf),
    /// A folder or file outside the site directory.
    Outside(PathBuf),
    /// A path that does not exist: `site` ignores it.
    Gone,
}

/// Carries `pth` into `site` (the bundle's site-packages), with the
/// sources of the editable installs it makes.
pub fn carry(files: &mut Files, pth: &Pth, finders: &Finders, site: &Path) -> Result<()> {
    let path = pth.site_dir.join(pth.relative);
    let bytes =
        std::fs::read(&path).with_context(|| format!("cannot read `{}`", path.display()))?;
    let text = String::from_utf8_lossy(&bytes);
    let mut kept = String::new();
    let mut changed = false;
    for line in text.lines() {
        let class = classify(line, pth.site_dir, finders);
        changed |= class != Line::Keep;
        match class {
            Line::Keep => kept += &format!("{line}\n"),
            Line::Relative(relative) => kept += &format!("{}\n", relative.display()),
            Line::Finder(finder) => carry_finder(files, &finder, finders, site)?,
            Line::Outside(outside) if outside.is_file() => {
                // A zipped module archive (an `.egg`): carried beside the .pth.
                let name = outside.file_name().unwrap_or_default();
                files.add_unless_taken(&site.join(name), &outside)?;
                kept += &format!("{}\n", Path::new(name).display());
            }
            Line::Outside(outside) => {
                let owner_names = pth.owner.map(|d| d.top_level.clone()).unwrap_or_default();
                carry_folder(files, &outside, owner_names, site)?;
            }
            Line::Gone => {}
        }
    }
    let dest = site.join(pth.relative);
    if !changed {
        files.add_unless_taken(&dest, &path)?;
    } else if kept
        .lines()
        .any(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        files.add_text_unless_taken(&dest, &kept);
    }
    Ok(())
}

fn classify(line: &str, site_dir: &Path, finders: &Finders) -> Line {
    if line.starts_with('#') || line.trim().is_empty() {
        return Line::Keep;
    }
    if let Some(statement) = line
        .strip_prefix("import ")
        .or_else(|| line.strip_prefix("import\t"))
    {
        let module = statement
            .trim_start()
            .split(|c: char| c == ';' || c == ',' || c.is_whitespace())
            .next()
            .unwrap_or_default();
        let finder = finders.keys().find(|finder| {
            finder.parent() == Some(site_dir)
                && finder.file_stem().is_some_and(|stem| stem == module)
        });
        return finder.map_or(Line::Keep, |f| Line::Finder(f.clone()));
    }
    let named = Path::new(line.trim_end());
    let path = normal(&site_dir.join(named));
    match path.strip_prefix(site_dir) {
        Ok(relative) if named.is_absolute() && relative.as_os_str().is_empty() => Line::Gone,
        Ok(relative) if named.is_absolute() => Line::Relative(relative.to_path_buf()),
        Ok(_) => Line::Keep,
        Err(_) if path.exists() => Line::Outside(path),
        Err(_) => Line::Gone,
    }
}

/// `path` with `.` and `..` resolved lexically, as `os.path.normpath`.
fn normal(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The sources an editable finder maps, each to its dotted name's place.
fn carry_finder(files: &mut Files, finder: &Path, finders: &Finders, site: &Path) -> Result<()> {
    let Some(Some(mapping)) = finders.get(finder) else {
        return Err(fail(
            format!(
                "cannot tell which sources the editable finder `{}` maps",
                finder.display()
            ),
            "install that distribution without -e, or leave it out with --exclude",
        ));
    };
    // Nested names first: `a.b` mapped elsewhere wins over `a`'s own `b/`.
    let mut names: Vec<(&String, &PathBuf)> = mapping.iter().collect();
    names.sort_by_key(|(name, _)| std::cmp::Reverse(name.matches('.').count()));
    for (name, source) in names {
        let dest = site.join(name.replace('.', "/"));
        if !carry_source(files, &dest, source)? {
            return Err(fail(
                format!(
                    "the editable install of `{name}` points to `{}`, which does not exist",
                    source.display()
                ),
                "reinstall it from its sources with pip install -e, or leave it out with --exclude",
            ));
        }
    }
    Ok(())
}

/// The importable modules of a folder a `.pth` names: its distribution's
/// `top_level.txt` names, else those of the `.egg-info` inside it
/// (`setup.py develop`), else every package and module in it.
fn carry_folder(files: &mut Files, folder: &Path, names: Vec<String>, site: &Path) -> Result<()> {
    let names = if !names.is_empty() {
        names
    } else {
        let eggs = egg_info_top_level(folder)?;
        if eggs.is_empty() {
            importable(folder)?
        } else {
            eggs
        }
    };
    for name in names {
        carry_source(files, &site.join(&name), &folder.join(&name))?;
    }
    Ok(())
}

/// Copies the package folder `source` to `dest`, or the module `source`
/// names (`source.py`, `source.*.so`) beside `dest`.  False when there is
/// none.
fn carry_source(files: &mut Files, dest: &Path, source: &Path) -> Result<bool> {
    if source.is_dir() {
        let walker = WalkDir::new(source)
            .follow_links(true)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| !is_noise_dir(&e.file_name().to_string_lossy()));
        let what = format!("the editable sources `{}`", source.display());
        for item in walker {
            let item = item.map_err(|e| super::super::walk_error(e, &what))?;
            super::super::check_regular(&item, &what)?;
            if item.file_type().is_file() && !is_noise_file(&item.file_name().to_string_lossy()) {
                let relative = item.path().strip_prefix(source).unwrap_or(item.path());
                files.add_unless_taken(&dest.join(relative), item.path())?;
            }
        }
        return Ok(true);
    }
    let (Some(parent), Some(stem), Some(dest_dir)) =
        (source.parent(), source.file_name(), dest.parent())
    else {
        return Ok(false);
    };
    if source.is_file() {
        files.add_unless_taken(&dest_dir.join(stem), source)?;
        return Ok(true);
    }
    let stem = stem.to_string_lossy();
    let mut found = false;
    let Ok(entries) = std::fs::read_dir(parent) else {
        return Ok(false);
    };
    let mut modules: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .filter(|e| dists::provides(&stem, &e.file_name().to_string_lossy()))
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    modules.sort();
    for module in modules {
        files.add_unless_taken(
            &dest_dir.join(module.file_name().unwrap_or_default()),
            &module,
        )?;
        found = true;
    }
    Ok(found)
}

/// The `top_level.txt` names of the `.egg-info` folders in `folder`.
fn egg_info_top_level(folder: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    let entries =
        std::fs::read_dir(folder).with_context(|| format!("cannot read `{}`", folder.display()))?;
    let mut eggs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "egg-info"))
        .map(|p| p.join("top_level.txt"))
        .filter(|p| p.is_file())
        .collect();
    eggs.sort();
    for top_level in eggs {
        let text = std::fs::read_to_string(&top_level)
            .with_context(|| format!("cannot read `{}`", top_level.display()))?;
        names.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(String::from),
        );
    }
    Ok(names)
}

/// Every package (a folder with `__init__.py`) and module in `folder`,
/// `setup.py` and venvs aside.
fn importable(folder: &Path) -> Result<Vec<String>> {
    let entries =
        std::fs::read_dir(folder).with_context(|| format!("cannot read `{}`", folder.display()))?;
    let mut names = Vec::new();
    for entry in entries.filter_map(|e| e.ok()) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let module = if path.is_dir() {
            let package = path.join("__init__.py").is_file() && !path.join("pyvenv.cfg").exists();
            package.then_some(name.as_str())
        } else if name == "setup.py" {
            None
        } else {
            name.strip_suffix(".py").or_else(|| {
                name.ends_with(".so")
                    .then(|| name.split('.').next().unwrap_or(""))
            })
        };
        if let Some(module) = module.filter(|m| is_identifier(m)) {
            names.push(module.to_string());
        }
    }
    names.sort();
    names.dedup();
    Ok(names)
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
        && chars.all(|c| c == '_' || c.is_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_pth_lines_as_site_does() {
        let root = tempfile::tempdir().unwrap();
        let site = root.path().join("site-packages");
        let project = root.path().join("project");
        std::fs::create_dir_all(site.join("inner")).unwrap();
        std::fs::create_dir_all(&project).unwrap();
        let finder = site.join("__editable___demo_1_0_finder.py");
        let finders: Finders = [(finder.clone(), None)].into_iter().collect();
        let class = |line: &str| classify(line, &site, &finders);
        assert_eq!(class("# comment"), Line::Keep);
        assert_eq!(class("import os; os.environ"), Line::Keep);
        assert_eq!(class("inner"), Line::Keep);
        assert_eq!(
            class(&format!("{}", site.join("inner").display())),
            Line::Relative("inner".into())
        );
        assert_eq!(
            class("import __editable___demo_1_0_finder; __editable___demo_1_0_finder.install()"),
            Line::Finder(finder)
        );
        assert_eq!(
            class(&format!("{}  ", project.display())),
            Line::Outside(project)
        );
        assert_eq!(
            class("../project"),
            Line::Outside(root.path().join("project"))
        );
        assert_eq!(class("/no/such/folder"), Line::Gone);
    }

    #[test]
    fn finds_importable_modules_of_a_folder() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path();
        for file in [
            "pkg/__init__.py",
            "mod.py",
            "setup.py",
            "ext.cpython-311-x86_64-linux-gnu.so",
            "docs/index.rst",
            ".venv/pyvenv.cfg",
            "my-tool.py",
        ] {
            std::fs::create_dir_all(dir.join(file).parent().unwrap()).unwrap();
            std::fs::write(dir.join(file), "").unwrap();
        }
        assert_eq!(importable(dir).unwrap(), ["ext", "mod", "pkg"]);
    }

    #[test]
    fn identifiers() {
        assert!(is_identifier("_private2"));
        assert!(!is_identifier("2fast"));
        assert!(!is_identifier("my-tool"));
    }
}
