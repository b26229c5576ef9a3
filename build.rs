//! Compiles `pgn-defs/*.def` into static Rust tables (`$OUT_DIR/pgn_tables.rs`), and
//! `vreg-defs/registers.def` into `$OUT_DIR/vreg_tables.rs` (`build/vreg.rs`).
//!
//! The definitions are data; this script is their validator. A malformed definition
//! (unknown attribute, unknown lookup, a repeating set outside the field list, a
//! duplicate identifier, …) fails the build with the file and line that is wrong.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

const DEF_FILES: [&str; 4] = [
    "lookups.def",
    "standard.def",
    "proprietary.def",
    "synthetic.def",
];

const FIELD_KINDS: [(&str, &str); 23] = [
    ("NUMBER", "Number"),
    ("FLOAT", "Float"),
    ("DECIMAL", "Decimal"),
    ("LOOKUP", "Lookup"),
    ("INDIRECT_LOOKUP", "IndirectLookup"),
    ("BITLOOKUP", "BitLookup"),
    ("DYNAMIC_FIELD_KEY", "DynamicFieldKey"),
    ("DYNAMIC_FIELD_LENGTH", "DynamicFieldLength"),
    ("DYNAMIC_FIELD_VALUE", "DynamicFieldValue"),
    ("TIME", "Time"),
    ("DURATION", "Duration"),
    ("DATE", "Date"),
    ("PGN", "Pgn"),
    ("ISO_NAME", "IsoName"),
    ("STRING_FIX", "StringFix"),
    ("STRING_LZ", "StringLz"),
    ("STRING_LAU", "StringLau"),
    ("BINARY", "Binary"),
    ("RESERVED", "Reserved"),
    ("SPARE", "Spare"),
    ("MMSI", "Mmsi"),
    ("VARIABLE", "Variable"),
    ("FIELD_INDEX", "FieldIndex"),
];

type Result<T> = std::result::Result<T, String>;

/// A location in a definition file, for error messages.
#[derive(Clone)]
struct Loc {
    file: String,
    line: usize,
}

impl std::fmt::Display for Loc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

#[derive(Default)]
struct Table {
    kind: String, // lookup | bitlookup | indirect | typelookup
    name: String,
    max: u32,
    rows: Vec<Vec<String>>,
    loc: Option<Loc>,
}

struct Field {
    attrs: BTreeMap<String, String>,
    id: String,
    name: String,
    kind: &'static str,
    loc: Loc,
}

struct Pgn {
    pgn: u32,
    id: String,
    description: String,
    meta: BTreeMap<String, String>,
    repeat: Vec<(u8, u8, u8, u8)>,
    fields: Vec<Field>,
    loc: Loc,
}

fn main() {
    let root =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let dir = root.join("pgn-defs");
    println!("cargo:rerun-if-changed=pgn-defs");
    for f in DEF_FILES {
        println!("cargo:rerun-if-changed=pgn-defs/{f}");
    }
    let code = match compile(&dir) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: invalid PGN definition: {e}");
            std::process::exit(1);
        }
    };
    let out =
        PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("pgn_tables.rs");
    fs::write(out, code).expect("write pgn_tables.rs");

    println!("cargo:rerun-if-changed=vreg-defs/registers.def");
    let code = match vreg::compile(&root.join("vreg-defs/registers.def")) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: invalid register definition: {e}");
            std::process::exit(1);
        }
    };
    let out =
        PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("vreg_tables.rs");
    fs::write(out, code).expect("write vreg_tables.rs");
}

#[path = "build/vreg.rs"]
mod vreg;

fn compile(dir: &Path) -> Result<String> {
    let mut tables: Vec<Table> = Vec::new();
    let mut pgns: Vec<Pgn> = Vec::new();
    for file in DEF_FILES {
        let text =
            fs::read_to_string(dir.join(file)).map_err(|e| format!("pgn-defs/{file}: {e}"))?;
        parse_file(file, &text, &mut tables, &mut pgns)?;
    }
    validate(&tables, &mut pgns)?;
    Ok(generate(&tables, &pgns))
}

/// Splits a line into tokens; `"…"` is one token (with `\"` and `\\` escapes).
fn tokenize(line: &str, loc: &Loc) -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '"' {
            chars.next();
            let mut s = String::from("\"");
            loop {
                match chars.next() {
                    Some('\\') => match chars.next() {
                        Some(e) => s.push(e),
                        None => return Err(format!("{loc}: unterminated escape")),
                    },
                    Some('"') => break,
                    Some(ch) => s.push(ch),
                    None => return Err(format!("{loc}: unterminated string")),
                }
            }
            out.push(s);
        } else {
            // A bare token; `key="value with spaces"` keeps its spaces, loses its quotes.
            let mut s = String::new();
            while let Some(&ch) = chars.peek() {
                if ch.is_whitespace() {
                    break;
                }
                chars.next();
                if ch == '"' {
                    loop {
                        match chars.next() {
                            Some('"') => break,
                            Some(c) => s.push(c),
                            None => return Err(format!("{loc}: unterminated string")),
                        }
                    }
                } else {
                    s.push(ch);
                }
            }
            out.push(s);
        }
    }
    Ok(out)
}

fn unquote(tok: &str, loc: &Loc, what: &str) -> Result<String> {
    tok.strip_prefix('"')
        .map(str::to_string)
        .ok_or_else(|| format!("{loc}: expected a quoted {what}, found `{tok}`"))
}

fn parse_num<T: std::str::FromStr>(s: &str, loc: &Loc, what: &str) -> Result<T> {
    s.parse()
        .map_err(|_| format!("{loc}: {what} `{s}` is not a valid number"))
}

fn parse_file(file: &str, text: &str, tables: &mut Vec<Table>, pgns: &mut Vec<Pgn>) -> Result<()> {
    enum Cur {
        None,
        Table,
        Pgn,
    }
    let mut cur = Cur::None;
    for (i, raw) in text.lines().enumerate() {
        let loc = Loc {
            file: format!("pgn-defs/{file}"),
            line: i + 1,
        };
        let line = raw.trim_end();
        if line.trim_start().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let indented = line.starts_with(' ');
        let toks = tokenize(line, &loc)?;
        if !indented {
            match toks[0].as_str() {
                "lookup" | "bitlookup" | "indirect" | "typelookup" => {
                    if toks.len() != 3 {
                        return Err(format!("{loc}: expected `{} NAME max=N`", toks[0]));
                    }
                    let max = toks[2]
                        .strip_prefix("max=")
                        .ok_or_else(|| format!("{loc}: expected max=N"))?;
                    tables.push(Table {
                        kind: toks[0].clone(),
                        name: toks[1].clone(),
                        max: parse_num(max, &loc, "max")?,
                        rows: Vec::new(),
                        loc: Some(loc.clone()),
                    });
                    cur = Cur::Table;
                }
                "pgn" => {
                    if toks.len() != 4 {
                        return Err(format!("{loc}: expected `pgn NUMBER id \"Description\"`"));
                    }
                    pgns.push(Pgn {
                        pgn: parse_num(&toks[1], &loc, "PGN")?,
                        id: toks[2].clone(),
                        description: unquote(&toks[3], &loc, "description")?,
                        meta: BTreeMap::new(),
                        repeat: Vec::new(),
                        fields: Vec::new(),
                        loc: loc.clone(),
                    });
                    cur = Cur::Pgn;
                }
                other => return Err(format!("{loc}: unknown definition `{other}`")),
            }
            continue;
        }
        match cur {
            Cur::None => return Err(format!("{loc}: indented line outside a definition")),
            Cur::Table => {
                let t = tables
                    .last_mut()
                    .ok_or_else(|| format!("{loc}: no table"))?;
                t.rows.push(toks);
                let _ = &t.loc;
            }
            Cur::Pgn => {
                let p = pgns.last_mut().ok_or_else(|| format!("{loc}: no pgn"))?;
                parse_pgn_line(p, toks, loc)?;
            }
        }
    }
    Ok(())
}

fn parse_pgn_line(p: &mut Pgn, toks: Vec<String>, loc: Loc) -> Result<()> {
    match toks[0].as_str() {
        "transport" | "length" | "minlength" | "priority" | "interval" | "incomplete" => {
            if toks.len() != 2 {
                return Err(format!("{loc}: `{}` takes one value", toks[0]));
            }
            p.meta.insert(toks[0].clone(), toks[1].clone());
        }
        "fallback" => {
            p.meta.insert("fallback".into(), String::new());
        }
        "repeat" => {
            let n: u8 = parse_num(
                toks.get(1).map(String::as_str).unwrap_or(""),
                &loc,
                "repeat set",
            )?;
            let mut vals = [0u8; 3];
            for (k, key) in ["start=", "size=", "count="].iter().enumerate() {
                let v = toks
                    .get(k + 2)
                    .and_then(|t| t.strip_prefix(key))
                    .ok_or_else(|| format!("{loc}: expected `repeat N start=A size=B count=C`"))?;
                vals[k] = parse_num(v, &loc, key)?;
            }
            p.repeat.push((n, vals[0], vals[1], vals[2]));
        }
        "field" => {
            if toks.len() < 5 {
                return Err(format!("{loc}: expected `field id \"Name\" TYPE attrs…`"));
            }
            let kind = FIELD_KINDS
                .iter()
                .find(|(k, _)| *k == toks[3])
                .map(|(_, v)| *v)
                .ok_or_else(|| format!("{loc}: unknown field type `{}`", toks[3]))?;
            let mut attrs = BTreeMap::new();
            for t in &toks[4..] {
                let (k, v) = t.split_once('=').unwrap_or((t.as_str(), ""));
                if attrs.insert(k.to_string(), v.to_string()).is_some() {
                    return Err(format!("{loc}: attribute `{k}` given twice"));
                }
            }
            p.fields.push(Field {
                attrs,
                id: toks[1].clone(),
                name: unquote(&toks[2], &loc, "field name")?,
                kind,
                loc,
            });
        }
        other => return Err(format!("{loc}: unknown PGN attribute `{other}`")),
    }
    Ok(())
}

const FIELD_ATTRS: [&str; 20] = [
    "bits",
    "signed",
    "res",
    "offset",
    "unit",
    "key",
    "match",
    "lookup",
    "bitlookup",
    "indirect",
    "typelookup",
    "na",
    "oor",
    "rsv",
    "min",
    "max",
    "if",
    "lenfield",
    "lenoverhead",
    "",
];

fn validate(tables: &[Table], pgns: &mut [Pgn]) -> Result<()> {
    let mut names = HashMap::new();
    for t in tables {
        let loc = t.loc.clone().map(|l| l.to_string()).unwrap_or_default();
        if names.insert((t.kind.clone(), t.name.clone()), ()).is_some() {
            return Err(format!("{loc}: table {} defined twice", t.name));
        }
        for r in &t.rows {
            let need = match t.kind.as_str() {
                "indirect" => 3,
                "typelookup" => 4,
                _ => 2,
            };
            if r.len() < need {
                return Err(format!(
                    "{loc}: table {} has a short row `{}`",
                    t.name,
                    r.join(" ")
                ));
            }
        }
    }
    let has = |kind: &str, name: &str| names.contains_key(&(kind.to_string(), name.to_string()));
    for t in tables.iter().filter(|t| t.kind == "typelookup") {
        for r in &t.rows {
            for a in &r[3..] {
                if let Some(l) = a.strip_prefix("lookup=") {
                    if !has("lookup", l) {
                        return Err(format!("table {}: unknown lookup {l}", t.name));
                    }
                }
            }
        }
    }
    let mut ids = HashSet::new();
    for p in pgns.iter() {
        let loc = &p.loc;
        if !ids.insert(p.id.clone()) {
            return Err(format!("{loc}: PGN id {} is not unique", p.id));
        }
        if p.pgn > 0xFF_FFFF {
            return Err(format!("{loc}: PGN {} is larger than 24 bits", p.pgn));
        }
        match p.meta.get("transport").map(String::as_str) {
            Some("single" | "fast" | "iso" | "mixed") => {}
            other => {
                return Err(format!(
                    "{loc}: transport must be single, fast, iso or mixed, not {other:?}"
                ))
            }
        }
        let n = p.fields.len();
        for &(set, start, size, count) in &p.repeat {
            if !(1..=2).contains(&set)
                || start == 0
                || usize::from(start) + usize::from(size) - 1 > n
                || usize::from(count) > n
            {
                return Err(format!(
                    "{loc}: repeat set {set} lies outside the {n} fields"
                ));
            }
        }
        let mut field_ids = HashSet::new();
        for f in &p.fields {
            let loc = &f.loc;
            if !field_ids.insert(f.id.clone()) {
                return Err(format!(
                    "{loc}: field id {} is not unique in PGN {}",
                    f.id, p.pgn
                ));
            }
            for k in f.attrs.keys() {
                if !FIELD_ATTRS.contains(&k.as_str()) || k.is_empty() {
                    return Err(format!("{loc}: unknown field attribute `{k}`"));
                }
            }
            match f.attrs.get("bits").map(String::as_str) {
                Some("var") => {}
                Some(b) => {
                    let bits: u16 = parse_num(b, loc, "bits")?;
                    if bits == 0 || bits > 8 * 1785 {
                        return Err(format!("{loc}: bits={bits} out of range"));
                    }
                    if matches!(
                        f.kind,
                        "Number"
                            | "Lookup"
                            | "IndirectLookup"
                            | "BitLookup"
                            | "FieldIndex"
                            | "Time"
                            | "Duration"
                            | "Date"
                            | "Mmsi"
                            | "DynamicFieldKey"
                            | "DynamicFieldLength"
                    ) && bits > 64
                    {
                        return Err(format!("{loc}: a numeric field cannot have {bits} bits"));
                    }
                }
                None => return Err(format!("{loc}: field has no bits= attribute")),
            }
            for (attr, kind) in [
                ("lookup", "lookup"),
                ("bitlookup", "bitlookup"),
                ("typelookup", "typelookup"),
            ] {
                if let Some(l) = f.attrs.get(attr) {
                    if !has(kind, l) {
                        return Err(format!("{loc}: unknown {attr} table `{l}`"));
                    }
                }
            }
            if let Some(l) = f.attrs.get("indirect") {
                let (name, order) = l
                    .split_once('@')
                    .ok_or_else(|| format!("{loc}: indirect=NAME@ORDER expected"))?;
                let order: usize = parse_num(order, loc, "indirect field order")?;
                if !has("indirect", name) || order == 0 || order > n {
                    return Err(format!("{loc}: bad indirect lookup `{l}`"));
                }
            }
            for a in ["res", "min", "max"] {
                if let Some(v) = f.attrs.get(a) {
                    parse_num::<f64>(v, loc, a)?;
                }
            }
            for a in ["na", "oor", "rsv", "match"] {
                if let Some(v) = f.attrs.get(a) {
                    parse_num::<u64>(v, loc, a)?;
                }
            }
            if let Some(v) = f.attrs.get("offset") {
                parse_num::<i64>(v, loc, "offset")?;
            }
            if let Some(v) = f.attrs.get("if") {
                if v != "PGNIsProprietary" {
                    return Err(format!("{loc}: unknown condition `{v}`"));
                }
            }
            if f.kind == "Lookup" && !f.attrs.contains_key("lookup") {
                return Err(format!("{loc}: LOOKUP field without lookup="));
            }
        }
    }
    Ok(())
}

fn rust_str(s: &str) -> String {
    format!("{s:?}")
}

fn rust_f64(s: &str) -> String {
    let v: f64 = s.parse().unwrap_or(0.0);
    format!("{v:?}_f64")
}

fn table_ident(kind: &str, name: &str) -> String {
    let prefix = match kind {
        "lookup" => "LOOKUP",
        "bitlookup" => "BITS",
        "indirect" => "INDIRECT",
        _ => "TYPES",
    };
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("{prefix}_{clean}")
}

/// The place of each lookup table among the tables of its kind (by identifier):
/// fields name their tables by that index, not by a pointer.
fn table_places(tables: &[Table]) -> HashMap<String, usize> {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    let mut places = HashMap::new();
    for t in tables {
        let n = counts.entry(t.kind.as_str()).or_insert(0);
        places.insert(table_ident(&t.kind, &t.name), *n);
        *n += 1;
    }
    places
}

fn lookup_expr(attrs: &BTreeMap<String, String>, places: &HashMap<String, usize>) -> String {
    let place = |kind: &str, name: &str| {
        places
            .get(&table_ident(kind, name))
            .copied()
            .unwrap_or(usize::MAX)
    };
    if let Some(l) = attrs.get("lookup") {
        format!("Lookup::Plain(TableRef::new({}))", place("lookup", l))
    } else if let Some(l) = attrs.get("bitlookup") {
        format!("Lookup::Bits(TableRef::new({}))", place("bitlookup", l))
    } else if let Some(l) = attrs.get("indirect") {
        let (name, order) = l.split_once('@').unwrap_or((l, "0"));
        format!(
            "Lookup::Indirect(TableRef::new({}), {order})",
            place("indirect", name)
        )
    } else if let Some(l) = attrs.get("typelookup") {
        format!("Lookup::Types(TableRef::new({}))", place("typelookup", l))
    } else {
        "Lookup::None".into()
    }
}

/// The texts of the field definitions, in one string: each is a range of it.
#[derive(Default)]
struct Texts {
    all: String,
    at: HashMap<String, usize>,
}

impl Texts {
    /// `Str::new(at, len)` of `text`, added the first time.
    fn expr(&mut self, text: &str) -> String {
        let at = match self.at.get(text) {
            Some(&at) => at,
            None => {
                let at = self.all.len();
                self.all.push_str(text);
                self.at.insert(text.to_owned(), at);
                at
            }
        };
        format!("Str::new({at}, {})", text.len())
    }
}

fn opt(v: Option<&String>, f: impl Fn(&str) -> String) -> String {
    match v {
        Some(v) => format!("Some({})", f(v)),
        None => "None".into(),
    }
}

fn generate(tables: &[Table], pgns: &[Pgn]) -> String {
    let mut o = String::new();
    o.push_str("// Generated by build.rs from pgn-defs/*.def. Do not edit.\n\n");
    let places = table_places(tables);
    let mut texts = Texts::default();
    for (kind, ty, all) in [
        ("lookup", "LookupTable", "PLAIN"),
        ("bitlookup", "BitLookupTable", "BITS"),
        ("indirect", "IndirectLookupTable", "INDIRECT"),
        ("typelookup", "TypeLookupTable", "TYPES"),
    ] {
        let _ = writeln!(o, "pub static {all}: &[&{ty}] = &[");
        for t in tables.iter().filter(|t| t.kind == kind) {
            let _ = writeln!(o, "    &{},", table_ident(&t.kind, &t.name));
        }
        o.push_str("];\n");
    }
    for t in tables {
        let ident = table_ident(&t.kind, &t.name);
        match t.kind.as_str() {
            "lookup" | "bitlookup" => {
                let ty = if t.kind == "lookup" {
                    "LookupTable"
                } else {
                    "BitLookupTable"
                };
                let mut rows: Vec<(u32, String)> = t
                    .rows
                    .iter()
                    .map(|r| {
                        (
                            r[0].parse().unwrap_or(u32::MAX),
                            r[1].trim_start_matches('"').to_string(),
                        )
                    })
                    .collect();
                rows.sort_by_key(|r| r.0);
                rows.dedup_by_key(|r| r.0);
                let _ = writeln!(
                    o,
                    "pub static {ident}: {ty} = {ty} {{ name: {}, max: {}, entries: &[",
                    rust_str(&t.name),
                    t.max
                );
                for (v, n) in rows {
                    let _ = writeln!(o, "    ({v}, {}),", rust_str(&n));
                }
                o.push_str("]};\n");
            }
            "indirect" => {
                let mut rows: Vec<(u32, u32, String)> = t
                    .rows
                    .iter()
                    .map(|r| {
                        (
                            r[0].parse().unwrap_or(u32::MAX),
                            r[1].parse().unwrap_or(u32::MAX),
                            r[2].trim_start_matches('"').to_string(),
                        )
                    })
                    .collect();
                rows.sort_by_key(|r| (r.0, r.1));
                rows.dedup_by_key(|r| (r.0, r.1));
                let _ = writeln!(o, "pub static {ident}: IndirectLookupTable = IndirectLookupTable {{ name: {}, max: {}, entries: &[", rust_str(&t.name), t.max);
                for (a, b, n) in rows {
                    let _ = writeln!(o, "    ({a}, {b}, {}),", rust_str(&n));
                }
                o.push_str("]};\n");
            }
            _ => {
                let mut rows: Vec<&Vec<String>> = t.rows.iter().collect();
                rows.sort_by_key(|r| r[0].parse::<u32>().unwrap_or(u32::MAX));
                rows.dedup_by_key(|r| r[0].parse::<u32>().unwrap_or(u32::MAX));
                let _ = writeln!(o, "pub static {ident}: TypeLookupTable = TypeLookupTable {{ name: {}, max: {}, entries: &[", rust_str(&t.name), t.max);
                for r in rows {
                    let kind = FIELD_KINDS
                        .iter()
                        .find(|(k, _)| *k == r[2])
                        .map(|(_, v)| *v)
                        .unwrap_or("Binary");
                    let attrs: BTreeMap<String, String> = r[3..]
                        .iter()
                        .map(|a| {
                            let (k, v) = a.split_once('=').unwrap_or((a.as_str(), ""));
                            (k.to_string(), v.to_string())
                        })
                        .collect();
                    let unit = match attrs.get("unit") {
                        Some(u) => format!("Some({})", texts.expr(u)),
                        None => "None".into(),
                    };
                    let _ = writeln!(
                        o,
                        "    ({}, TypedValue {{ name: {}, kind: FieldKind::{kind}, bits: {}, signed: {}, resolution: {}, unit: {}, lookup: {} }}),",
                        r[0],
                        texts.expr(r[1].trim_start_matches('"')),
                        attrs.get("bits").map(String::as_str).unwrap_or("0"),
                        attrs.contains_key("signed"),
                        rust_f64(attrs.get("res").map(String::as_str).unwrap_or("1")),
                        unit,
                        lookup_expr(&attrs, &places),
                    );
                }
                o.push_str("]};\n");
            }
        }
    }

    // PGN definitions, ordered by PGN; variants of one PGN keep their file order.
    let mut order: Vec<usize> = (0..pgns.len()).collect();
    order.sort_by_key(|&i| pgns[i].pgn);
    o.push_str("\n/// Every PGN definition, sorted by PGN.\npub static PGNS: &[PgnDef] = &[\n");
    for i in order {
        let p = &pgns[i];
        let transport = match p.meta.get("transport").map(String::as_str) {
            Some("fast") => "Fast",
            Some("iso") => "Iso",
            Some("mixed") => "Mixed",
            _ => "Single",
        };
        let mut repeat = ["None".to_string(), "None".to_string()];
        for &(set, start, size, count) in &p.repeat {
            repeat[usize::from(set) - 1] =
                format!("Some(RepeatSet {{ start: {start}, size: {size}, count: {count} }})");
        }
        let _ = writeln!(
            o,
            "PgnDef {{ pgn: {}, id: {}, description: {}, transport: Transport::{transport}, length: {}, min_length: {}, priority: {}, interval: {}, fallback: {}, complete: {}, has_match: {}, repeat: [{}, {}], fields: &[",
            p.pgn,
            rust_str(&p.id),
            rust_str(&p.description),
            opt(p.meta.get("length"), |v| v.to_string()),
            opt(p.meta.get("minlength"), |v| v.to_string()),
            opt(p.meta.get("priority"), |v| v.to_string()),
            opt(p.meta.get("interval"), |v| v.to_string()),
            p.meta.contains_key("fallback"),
            !p.meta.contains_key("incomplete"),
            p.fields.iter().any(|f| f.attrs.contains_key("match")),
            repeat[0],
            repeat[1],
        );
        for f in &p.fields {
            let a = &f.attrs;
            let bits = match a.get("bits").map(String::as_str) {
                Some("var") | None => "None".to_string(),
                Some(b) => format!("Some({b})"),
            };
            let (id, name) = (texts.expr(&f.id), texts.expr(&f.name));
            let unit = match a.get("unit") {
                Some(u) => format!("Some({})", texts.expr(u)),
                None => "None".into(),
            };
            let _ = writeln!(
                o,
                "  FieldDef {{ id: {}, name: {}, kind: FieldKind::{}, bits: {bits}, signed: {}, resolution: {}, offset: {}, unit: {}, key: {}, match_value: {}, lookup: {}, na: {}, oor: {}, reserved: {}, min: {}, max: {}, condition: {}, len_field: {}, len_overhead: {} }},",
                id,
                name,
                f.kind,
                a.contains_key("signed"),
                rust_f64(a.get("res").map(String::as_str).unwrap_or("1")),
                a.get("offset").map(String::as_str).unwrap_or("0"),
                unit,
                a.contains_key("key"),
                opt(a.get("match"), |v| v.to_string()),
                lookup_expr(a, &places),
                opt(a.get("na"), |v| v.to_string()),
                opt(a.get("oor"), |v| v.to_string()),
                opt(a.get("rsv"), |v| v.to_string()),
                opt(a.get("min"), rust_f64),
                opt(a.get("max"), rust_f64),
                opt(a.get("if"), |_| "Condition::PgnIsProprietary".to_string()),
                opt(a.get("lenfield"), |v| v.to_string()),
                a.get("lenoverhead").map(String::as_str).unwrap_or("0"),
            );
        }
        o.push_str("]},\n");
    }
    o.push_str("];\n");
    let _ = writeln!(
        o,
        "\n/// The texts of the field definitions, each a range of this.\npub static TEXT: &str = {};",
        rust_str(&texts.all)
    );
    field_ids(&mut o, pgns);
    o
}

/// One constant per field id of any definition (`waterTemperature` →
/// `WATER_TEMPERATURE`) and per definition id, so that code naming a field or a
/// definition fails to build when no definition has it.
fn field_ids(o: &mut String, pgns: &[Pgn]) {
    let fields = pgns.iter().flat_map(|p| &p.fields).map(|f| f.id.as_str());
    constants(o, "field", "Field ids of the definitions.", fields);
    let defs = pgns.iter().map(|p| p.id.as_str());
    constants(
        o,
        "def",
        "Ids of the definitions (a PGN's variants told apart).",
        defs,
    );
}

/// `pub mod <module>` with a constant per id, named in upper snake case.
fn constants<'a>(o: &mut String, module: &str, doc: &str, ids: impl Iterator<Item = &'a str>) {
    let mut consts: BTreeMap<String, &str> = BTreeMap::new();
    for id in ids {
        let mut c = String::new();
        for (i, ch) in id.chars().enumerate() {
            if ch.is_ascii_uppercase() && i > 0 {
                c.push('_');
            }
            c.push(ch.to_ascii_uppercase());
        }
        if !c.starts_with(|c: char| c.is_ascii_alphabetic()) {
            c.insert(0, '_');
        }
        // Ids that differ only in case share a constant name: keep the first.
        consts.entry(c).or_insert(id);
    }
    let _ = writeln!(o, "\n/// {doc}\npub mod {module} {{");
    for (c, id) in consts {
        let _ = writeln!(o, "    pub const {c}: &str = {};", rust_str(id));
    }
    o.push_str("}\n");
}
