//! Decoder conformance: every capture in `candump-samples/` that has a reference decode
//! (canboat's `analyzer -json -nv -si`, in `candump-samples/decodes/`) is decoded and
//! compared message by message and field by field. Numbers agree within one resolution
//! step of the field. At least 99.9 % of the fields of each file must agree (a file
//! below that needs its reason in `tests/conformance-known.txt`), and every kind of
//! disagreement must be explained there too.
//!
//! Run `cargo test --release --test conformance -- --nocapture` to see the figures.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use n2k_dbus::json::{self, Style, Units};
use n2k_dbus::logs::LogReader;
use n2k_dbus::logs::Messages;
use n2k_dbus::pgn;
use serde_json::{Map, Value};

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("candump-samples")
}

/// What part of the reference timestamps is meaningful for a capture.
#[derive(Clone, Copy, PartialEq)]
enum Clock {
    /// Full date and time.
    Full,
    /// Time of day only (Yacht Devices RAW).
    TimeOfDay,
    /// No timestamps in the capture.
    None,
}

fn clock_of(name: &str) -> Clock {
    match name {
        "candumpSample1.txt" | "candumpSample2.txt" => Clock::None,
        n if n.contains("ydwg") || n.contains("YDWG") => Clock::TimeOfDay,
        _ => Clock::Full,
    }
}

fn our_decode(path: &Path) -> Vec<Value> {
    let f = BufReader::new(File::open(path).expect("open sample"));
    let mut reader = LogReader::new(f, path.display().to_string()).skip_bad_lines(true);
    let mut replay = Messages::new();
    let mut out = Vec::new();
    let mut line = String::new();
    while let Some(rec) = reader.next_record() {
        let rec = rec.unwrap_or_else(|e| panic!("{e}"));
        if let Some(m) = replay.on_record(&rec) {
            if let Some(def) = pgn::select(m.id.pgn, m.data) {
                line.clear();
                json::write_message(&mut line, Style::canboat(Units::Si), &m, def);
                out.push(
                    serde_json::from_str(&line)
                        .unwrap_or_else(|e| panic!("our JSON does not parse: {e}: {line}")),
                );
            }
        }
    }
    out
}

fn reference(name: &str) -> Vec<Value> {
    let path = samples().join("decodes").join(format!("{name}.json.gz"));
    let mut text = String::new();
    flate2::read::GzDecoder::new(File::open(&path).expect("open reference"))
        .read_to_string(&mut text)
        .expect("gunzip reference");
    text.lines()
        .skip(1)
        .map(|l| serde_json::from_str(l).expect("reference JSON"))
        .collect()
}

fn key_of(m: &Value) -> (u64, u64, u64, &str) {
    (
        m["pgn"].as_u64().unwrap_or(0),
        m["src"].as_u64().unwrap_or(0),
        m["dst"].as_u64().unwrap_or(0),
        m["description"].as_str().unwrap_or(""),
    )
}

/// Resolution of a field in SI output, for the numeric tolerance.
fn resolution(pgn_no: u64, description: &str, field: &str) -> Option<f64> {
    let defs = pgn::variants(pgn_no as u32);
    let def = defs
        .iter()
        .find(|d| d.description == description)
        .or(defs.first())?;
    let f = def.fields.iter().find(|f| f.name == field)?;
    let scale = match f.unit.map(|u| u.as_str()) {
        Some("Ah") => 3600.0,
        Some("kWh") => 3.6e6,
        _ => 1.0,
    };
    Some(f.resolution * scale)
}

#[derive(Default)]
struct Tally {
    fields: u64,
    agree: u64,
    /// (pgn, field, kind) → count.
    kinds: BTreeMap<(u64, String, &'static str), u64>,
    examples: BTreeMap<(u64, String, &'static str), String>,
}

impl Tally {
    fn disagree(&mut self, pgn: u64, field: &str, kind: &'static str, example: String) {
        let k = (pgn, field.to_string(), kind);
        *self.kinds.entry(k.clone()).or_default() += 1;
        self.examples.entry(k).or_insert(example);
    }
}

fn numbers_agree(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * 1.000_001 + 1e-9 * b.abs().max(1.0)
}

/// Compares one field value; `tol` is the numeric tolerance.
fn values_agree(ours: &Value, theirs: &Value, tol: f64) -> bool {
    match (ours, theirs) {
        (Value::Number(a), Value::Number(b)) => numbers_agree(
            a.as_f64().unwrap_or(f64::NAN),
            b.as_f64().unwrap_or(f64::NAN),
            tol,
        ),
        (Value::Object(a), Value::Object(b)) => {
            a.len() == b.len()
                && a.iter().all(|(k, v)| {
                    b.get(k)
                        .is_some_and(|w| values_agree(v, w, if k == "value" { tol } else { 0.0 }))
                })
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| values_agree(x, y, tol))
        }
        _ => ours == theirs,
    }
}

fn compare_fields(
    t: &mut Tally,
    pgn_no: u64,
    desc: &str,
    ours: &Map<String, Value>,
    theirs: &Map<String, Value>,
    ctx: &str,
) {
    let names: BTreeSet<&String> = ours.keys().chain(theirs.keys()).collect();
    for name in names {
        if name == "list" || name == "list2" {
            let empty = Vec::new();
            let a = ours.get(name).and_then(Value::as_array).unwrap_or(&empty);
            let b = theirs.get(name).and_then(Value::as_array).unwrap_or(&empty);
            let empty_map = Map::new();
            for i in 0..a.len().max(b.len()) {
                let x = a.get(i).and_then(Value::as_object).unwrap_or(&empty_map);
                let y = b.get(i).and_then(Value::as_object).unwrap_or(&empty_map);
                compare_fields(t, pgn_no, desc, x, y, ctx);
            }
            continue;
        }
        t.fields += 1;
        let tol = resolution(pgn_no, desc, name).unwrap_or(0.0);
        match (ours.get(name), theirs.get(name)) {
            (Some(a), Some(b)) if values_agree(a, b, tol) => t.agree += 1,
            (Some(a), Some(b)) => t.disagree(
                pgn_no,
                name,
                "value",
                format!("{ctx}: ours {a} reference {b}"),
            ),
            (Some(a), None) => t.disagree(pgn_no, name, "extra", format!("{ctx}: ours {a}")),
            (None, Some(b)) => t.disagree(pgn_no, name, "missing", format!("{ctx}: reference {b}")),
            (None, None) => {}
        }
    }
}

fn fields_of(m: &Value) -> Map<String, Value> {
    m.get("fields")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

fn compare_file(t: &mut Tally, name: &str) -> (usize, usize) {
    let ours = our_decode(&samples().join(name));
    let theirs = reference(name);
    let clock = clock_of(name);
    let mut j = 0;
    let mut matched = vec![false; ours.len()];
    for (i, r) in theirs.iter().enumerate() {
        // Find the reference message among ours, allowing for small reorderings.
        let k = key_of(r);
        let window = (j..(j + 64).min(ours.len())).find(|&x| key_of(&ours[x]) == k);
        let ctx = format!("{name} message {}", i + 1);
        let pgn_no = k.0;
        let desc = r["description"].as_str().unwrap_or("");
        match window {
            Some(x) => {
                let o = &ours[x];
                matched[x] = true;
                j = x + 1;
                for attr in ["prio", "description"] {
                    t.fields += 1;
                    if o[attr] == r[attr] {
                        t.agree += 1;
                    } else {
                        t.disagree(
                            pgn_no,
                            attr,
                            "value",
                            format!("{ctx}: ours {} reference {}", o[attr], r[attr]),
                        );
                    }
                }
                if clock != Clock::None {
                    t.fields += 1;
                    let (a, b) = (
                        o["timestamp"].as_str().unwrap_or(""),
                        r["timestamp"].as_str().unwrap_or(""),
                    );
                    let same = match clock {
                        Clock::Full => a == b,
                        _ => a.get(11..) == b.get(11..),
                    };
                    if same {
                        t.agree += 1;
                    } else {
                        t.disagree(
                            pgn_no,
                            "timestamp",
                            "value",
                            format!("{ctx}: ours {a} reference {b}"),
                        );
                    }
                }
                compare_fields(t, pgn_no, desc, &fields_of(o), &fields_of(r), &ctx);
            }
            None => {
                let n = fields_of(r).len().max(1) as u64 + 2;
                t.fields += n;
                *t.kinds
                    .entry((pgn_no, "(message)".into(), "missing"))
                    .or_default() += n;
                t.examples
                    .entry((pgn_no, "(message)".into(), "missing"))
                    .or_insert(format!("{ctx}: {r}"));
            }
        }
    }
    // Messages only we produced count against us too.
    for (x, o) in ours.iter().enumerate().filter(|(x, _)| !matched[*x]) {
        let n = fields_of(o).len().max(1) as u64 + 2;
        let pgn_no = key_of(o).0;
        t.fields += n;
        *t.kinds
            .entry((pgn_no, "(message)".into(), "extra"))
            .or_default() += n;
        t.examples
            .entry((pgn_no, "(message)".into(), "extra"))
            .or_insert(format!("{name} our message {}: {o}", x + 1));
    }
    (ours.len(), theirs.len())
}

fn known_text() -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance-known.txt"),
    )
    .expect("tests/conformance-known.txt")
}

/// The files of `tests/conformance-known.txt` allowed below [`PER_FILE`]:
/// `file <name> — reason`.
fn known_files() -> BTreeSet<String> {
    known_text()
        .lines()
        .filter_map(|l| l.strip_prefix("file ")?.split_once(" — "))
        .map(|(name, _reason)| name.trim().to_string())
        .collect()
}

/// The agreement every file must reach, unless its reason is written down.
const PER_FILE: f64 = 99.9;

/// `tests/conformance-known.txt`: `pgn | field | kind — reason`, one per line.
fn known() -> BTreeSet<(u64, String, String)> {
    known_text()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#') && !l.starts_with("file "))
        .filter_map(|l| {
            let (head, _reason) = l.split_once(" — ")?;
            let mut parts = head.splitn(3, '|').map(str::trim);
            Some((
                parts.next()?.parse().ok()?,
                parts.next()?.to_string(),
                parts.next()?.to_string(),
            ))
        })
        .collect()
}

#[test]
fn decodes_agree_with_canboat() {
    let mut names: Vec<String> = std::fs::read_dir(samples().join("decodes"))
        .expect("decodes dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".json.gz").map(str::to_string))
        .collect();
    names.sort();
    assert!(names.len() >= 12, "reference decodes missing: {names:?}");
    let mut total = Tally::default();
    let excused = known_files();
    let mut below = Vec::new();
    for name in &names {
        let mut t = Tally::default();
        let (ours, theirs) = compare_file(&mut t, name);
        let share = 100.0 * t.agree as f64 / t.fields.max(1) as f64;
        println!(
            "{name:32} messages ours {ours:6} reference {theirs:6}  fields {:7}  agree {share:6.2} %",
            t.fields,
        );
        if share < PER_FILE && !excused.contains(name) {
            below.push(format!("{name}: {share:.3} %"));
        }
        total.fields += t.fields;
        total.agree += t.agree;
        for (k, v) in t.kinds {
            *total.kinds.entry(k.clone()).or_default() += v;
            if let Some(e) = t.examples.get(&k) {
                total.examples.entry(k).or_insert(e.clone());
            }
        }
    }
    let share = 100.0 * total.agree as f64 / total.fields as f64;
    println!(
        "ALL: {} of {} fields agree: {share:.3} %",
        total.agree, total.fields
    );
    let known = known();
    let mut unexplained = Vec::new();
    for ((pgn_no, field, kind), n) in &total.kinds {
        let ex = &total.examples[&(*pgn_no, field.clone(), *kind)];
        println!(
            "  {pgn_no} | {field} | {kind}: {n}  e.g. {}",
            ex.chars().take(300).collect::<String>()
        );
        if !known.contains(&(*pgn_no, field.clone(), kind.to_string())) {
            unexplained.push(format!("{pgn_no} | {field} | {kind}"));
        }
    }
    assert!(
        share >= 99.9,
        "only {share:.3} % of fields agree with canboat"
    );
    assert!(
        below.is_empty(),
        "files below {PER_FILE} % agreement without a reason in tests/conformance-known.txt:\n{}",
        below.join("\n")
    );
    assert!(
        unexplained.is_empty(),
        "disagreements not explained in tests/conformance-known.txt:\n{}",
        unexplained.join("\n")
    );
}
