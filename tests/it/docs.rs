//! Every document the code, the tests, the scripts and the docs cite is in the
//! repository, and so is every section they name: `docs/<file>.md#<anchor>` must be a
//! heading of that file (GitHub's anchors), a bare `<file>.md` a file beside the one
//! citing it or at the top, `README "<title>"` a heading of the README, and a
//! Markdown link `(#anchor)` a heading of its own page. Nothing may point outside the
//! repository: not to the shared folder beside it, nor by a section sign and number
//! into a document it does not hold.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The files whose text may cite a document: sources, scripts, data definitions,
/// docs, and the scenario logs' headers (the captures themselves are left out).
fn sources() -> Vec<PathBuf> {
    const EXTENSIONS: &[&str] = &["rs", "md", "sh", "py", "toml", "def", "table", "conf"];
    let mut out = vec![
        root().join(".ci/run"),
        root().join("tests/vcan/init"),
        root().join("tests/conformance-known.txt"),
    ];
    let mut dirs = vec![root().to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("a folder of the repository") {
            let path = entry.expect("a folder entry").path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if path.is_dir() {
                if !matches!(name, "target" | ".git" | "corpus" | "artifacts" | "decodes") {
                    dirs.push(path);
                }
                continue;
            }
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
            let scenario_log =
                ext == "log" && path.starts_with(root().join("candump-samples/scenarios"));
            if EXTENSIONS.contains(&ext) || scenario_log {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces as `-`.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The headings of a Markdown text (outside code blocks), as titles.
fn headings(text: &str) -> Vec<String> {
    let mut fenced = false;
    let mut out = Vec::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if !fenced && line.starts_with('#') {
            let title = line.trim_start_matches('#');
            if title.starts_with(' ') {
                out.push(title.trim().replace('`', ""));
            }
        }
    }
    out
}

/// The anchors of a Markdown text; a repeated heading gets `-1`, `-2` … as on GitHub.
fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = BTreeSet::new();
    for h in headings(text) {
        let base = slug(&h);
        let n = seen.entry(base.clone()).or_insert(0);
        out.insert(if *n == 0 {
            base.clone()
        } else {
            format!("{base}-{n}")
        });
        *n += 1;
    }
    out
}

/// The shared folder beside the repository, as a path would name it.
const OUTSIDE: &str = concat!("..", "/shared");
/// The section sign, which numbered the sections of documents outside the repository.
const SECTION: char = '\u{a7}';

fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/')
}

/// What is wrong with the citations in `text`, the content of `file`; `read` gives
/// the text of a repository file by its path from the top (None: no such file).
fn problems(file: &Path, text: &str, read: &dyn Fn(&Path) -> Option<String>) -> Vec<String> {
    let here = file.parent().unwrap_or(Path::new(""));
    let mut out = Vec::new();
    let own_anchors = anchors(text);
    for (n, line) in text.lines().enumerate() {
        let at = |what: String| format!("{}:{}: {what}", file.display(), n + 1);
        if line.contains(OUTSIDE) {
            out.push(at(format!("points outside the repository ({OUTSIDE})")));
        }
        if line.contains(SECTION) {
            out.push(at(format!(
                "a {SECTION} section number: cite docs/<file>.md#<anchor> of this repository"
            )));
        }
        // Every `….md` token, with its path and anchor.
        let chars: Vec<char> = line.chars().collect();
        let mut i = 0;
        while i + 3 <= chars.len() {
            if chars[i..].starts_with(&['.', 'm', 'd'])
                && !chars.get(i + 3).is_some_and(|c| c.is_ascii_alphanumeric())
            {
                let mut start = i;
                while start > 0 && is_path_char(chars[start - 1]) {
                    start -= 1;
                }
                let path: String = chars[start..i + 3].iter().collect();
                let mut end = i + 3;
                let mut anchor = String::new();
                if chars.get(end) == Some(&'#') {
                    end += 1;
                    while end < chars.len()
                        && (chars[end].is_alphanumeric() || matches!(chars[end], '-' | '_'))
                    {
                        anchor.push(chars[end]);
                        end += 1;
                    }
                }
                if path.trim_start_matches(['.', '/']).len() > 3 && !path.starts_with("http") {
                    let beside = here.join(&path);
                    let target = if path.contains('/') && read(Path::new(&path)).is_some() {
                        Some(PathBuf::from(&path))
                    } else if read(&beside).is_some() {
                        Some(beside)
                    } else if !path.contains('/') && read(Path::new(&path)).is_some() {
                        Some(PathBuf::from(&path))
                    } else {
                        None
                    };
                    match target.and_then(|t| read(&t).map(|body| (t, body))) {
                        None => out.push(at(format!("{path}: no such file in the repository"))),
                        Some((t, body)) => {
                            if !anchor.is_empty() && !anchors(&body).contains(&anchor) {
                                out.push(at(format!(
                                    "{path}#{anchor}: no such section in {}",
                                    t.display()
                                )));
                            }
                        }
                    }
                }
                i = end.max(i + 3);
                continue;
            }
            i += 1;
        }
        // README "Title".
        let mut rest = line;
        while let Some(p) = rest.find("README \"") {
            let after = &rest[p + 8..];
            match after.find('"') {
                Some(q) => {
                    let title = &after[..q];
                    let readme = read(Path::new("README.md")).unwrap_or_default();
                    if !headings(&readme).iter().any(|h| h == title) {
                        out.push(at(format!("README \"{title}\": no such heading")));
                    }
                    rest = &after[q + 1..];
                }
                None => break,
            }
        }
        // Markdown links to a section of the same page.
        if file.extension().is_some_and(|e| e == "md") {
            let mut rest = line;
            while let Some(p) = rest.find("](#") {
                let after = &rest[p + 3..];
                let end = after.find(')').unwrap_or(after.len());
                let anchor = &after[..end];
                if !own_anchors.contains(anchor) {
                    out.push(at(format!("(#{anchor}): no such section on this page")));
                }
                rest = &after[end..];
            }
        }
    }
    out
}

fn read_repo(path: &Path) -> Option<String> {
    let full = root().join(path);
    full.is_file()
        .then(|| std::fs::read_to_string(full).ok())
        .flatten()
}

#[test]
fn every_cited_document_and_section_is_in_the_repository() {
    let files = sources();
    assert!(files.len() > 100, "only {} files found", files.len());
    let mut all = Vec::new();
    let mut cited = 0;
    for file in &files {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        let rel = file.strip_prefix(root()).expect("inside the repository");
        if rel == Path::new(file!()) {
            // This file: its checker's own test cites what does not exist, on purpose.
            continue;
        }
        cited += text.matches("docs/").count();
        all.extend(problems(rel, &text, &read_repo));
    }
    assert!(cited > 100, "only {cited} citations of docs/ found");
    assert!(
        all.is_empty(),
        "{} broken citations:\n{}",
        all.len(),
        all.join("\n")
    );
}

#[test]
fn the_checker_finds_what_is_broken() {
    // Made-up documents, named at run time so that no scan of the sources takes
    // them for citations.
    let md = |stem: &str| format!("{stem}.{}", "md");
    let (a, b, readme) = (md("docs/a"), md("docs/b"), md("README"));
    let docs: BTreeMap<String, &str> = [
        (
            a.clone(),
            "# A\n\n## Address claim\n\n```\n## not a heading\n```\n## Address claim\n",
        ),
        (readme.clone(), "# n2k-dbus\n\n## Usage\n"),
    ]
    .into();
    let read = |p: &Path| docs.get(p.to_str().unwrap_or("")).map(|s| s.to_string());
    let ok = format!("// {a}#address-claim, {a}#address-claim-1, {readme}, README \"Usage\"");
    assert_eq!(
        problems(Path::new("src/x.rs"), &ok, &read),
        Vec::<String>::new()
    );
    let bad: Vec<(String, String)> = vec![
        (format!("// {b}"), format!("{b}: no such file")),
        (
            format!("// {a}#not-a-heading"),
            format!("no such section in {a}"),
        ),
        (format!("// {a}#address-claim-2"), "no such section".into()),
        (format!("// {}", md("nmea2000")), "no such file".into()),
        (
            format!("// {} {SECTION}5", md("nmea2000")),
            "section number".into(),
        ),
        (
            format!("// see {OUTSIDE}/docs/x"),
            "outside the repository".into(),
        ),
        (
            "// README \"Tests\"".into(),
            "README \"Tests\": no such heading".into(),
        ),
    ];
    for (text, want) in &bad {
        let got = problems(Path::new("src/x.rs"), text, &read);
        assert!(got.iter().any(|p| p.contains(want)), "{text}: {got:?}");
    }
    let page = "# A\n\nsee [there](#nowhere)\n";
    let got = problems(Path::new(&a), page, &read);
    assert!(got.iter().any(|p| p.contains("(#nowhere)")), "{got:?}");
}
