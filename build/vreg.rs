//! The register table: `vreg-defs/registers.def` → `$OUT_DIR/vreg_tables.rs`.
//!
//! Each `reg` line is validated: a hexadecimal register given once, a unique id, a
//! known type, a scale only on numbers, a not-available value that fits the type, and
//! a source defined by a `source` line. Errors name the file and line.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use super::{rust_f64, rust_str, tokenize, unquote, Loc, Result};

const TYPES: [(&str, &str, u32); 8] = [
    ("u8", "U8", 8),
    ("u16", "U16", 16),
    ("u32", "U32", 32),
    ("s16", "S16", 16),
    ("s32", "S32", 32),
    ("str", "Text", 0),
    ("raw", "Raw", 0),
    ("s8", "S8", 8),
];

struct Reg {
    register: u16,
    id: String,
    kind: &'static str,
    scale: Option<String>,
    unit: String,
    na: Option<u64>,
    source: String,
    description: String,
}

pub fn compile(path: &Path) -> Result<String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("vreg-defs/registers.def: {e}"))?;
    let mut sources: BTreeMap<String, String> = BTreeMap::new();
    let mut regs: BTreeMap<u16, Reg> = BTreeMap::new();
    let mut ids: BTreeMap<String, Loc> = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let loc = Loc {
            file: "vreg-defs/registers.def".into(),
            line: i + 1,
        };
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let toks = tokenize(line, &loc)?;
        match toks.first().map(String::as_str) {
            Some("source") => {
                let [_, key, citation] = toks.as_slice() else {
                    return Err(format!("{loc}: expected `source <key> \"<citation>\"`"));
                };
                let citation = unquote(citation, &loc, "citation")?;
                if sources.insert(key.clone(), citation).is_some() {
                    return Err(format!("{loc}: source `{key}` defined twice"));
                }
            }
            Some("reg") => {
                let reg = parse_reg(&toks, &loc, &sources)?;
                if let Some(first) = ids.insert(reg.id.clone(), loc.clone()) {
                    return Err(format!("{loc}: id `{}` already used at {first}", reg.id));
                }
                let r = reg.register;
                if regs.insert(r, reg).is_some() {
                    return Err(format!("{loc}: register 0x{r:04X} defined twice"));
                }
            }
            _ => return Err(format!("{loc}: expected `source` or `reg`")),
        }
    }
    Ok(generate(&sources, &regs))
}

fn parse_reg(toks: &[String], loc: &Loc, sources: &BTreeMap<String, String>) -> Result<Reg> {
    let (Some(register), Some(id), Some(kind), Some(description)) =
        (toks.get(1), toks.get(2), toks.get(3), toks.last())
    else {
        return Err(format!(
            "{loc}: expected `reg <0xNNNN> <id> <type> [scale=…] [unit=…] [na=…] src=<key> \"<description>\"`"
        ));
    };
    let register = register
        .strip_prefix("0x")
        .and_then(|h| u16::from_str_radix(h, 16).ok())
        .ok_or_else(|| format!("{loc}: register `{register}` is not 0x and 4 hex digits"))?;
    if !id.chars().all(|c| c.is_ascii_alphanumeric())
        || !id.starts_with(|c: char| c.is_ascii_lowercase())
    {
        return Err(format!("{loc}: id `{id}` is not a camelCase identifier"));
    }
    let &(_, kind, bits) = TYPES
        .iter()
        .find(|(t, _, _)| t == kind)
        .ok_or_else(|| format!("{loc}: unknown type `{kind}` (u8 u16 u32 s8 s16 s32 str raw)"))?;
    let description = unquote(description, loc, "description")?;
    let mut reg = Reg {
        register,
        id: id.clone(),
        kind,
        scale: None,
        unit: String::new(),
        na: None,
        source: String::new(),
        description,
    };
    for tok in &toks[4..toks.len() - 1] {
        let (key, value) = tok
            .split_once('=')
            .ok_or_else(|| format!("{loc}: expected key=value, found `{tok}`"))?;
        match key {
            "scale" => {
                let f: f64 = value
                    .parse()
                    .map_err(|_| format!("{loc}: scale `{value}` is not a number"))?;
                if bits == 0 || !(f.is_finite() && f > 0.0) {
                    return Err(format!(
                        "{loc}: a scale needs a number type and a positive value"
                    ));
                }
                reg.scale = Some(value.to_owned());
            }
            "unit" => reg.unit = value.to_owned(),
            "na" => {
                let n = value
                    .strip_prefix("0x")
                    .and_then(|h| u64::from_str_radix(h, 16).ok())
                    .ok_or_else(|| format!("{loc}: na `{value}` is not hexadecimal"))?;
                if bits == 0 || n >> bits != 0 {
                    return Err(format!("{loc}: na {value} does not fit the type"));
                }
                reg.na = Some(n);
            }
            "src" => {
                if !sources.contains_key(value) {
                    return Err(format!(
                        "{loc}: source `{value}` is not defined by a `source` line above"
                    ));
                }
                reg.source = value.to_owned();
            }
            other => return Err(format!("{loc}: unknown attribute `{other}`")),
        }
    }
    if reg.source.is_empty() {
        return Err(format!(
            "{loc}: every register cites its source (src=<key>)"
        ));
    }
    Ok(reg)
}

fn generate(sources: &BTreeMap<String, String>, regs: &BTreeMap<u16, Reg>) -> String {
    let mut out =
        String::from("// Generated by build.rs from vreg-defs/registers.def. Do not edit.\n\n");
    out.push_str("/// Where the register facts come from, by key.\npub static SOURCES: &[(&str, &str)] = &[\n");
    for (k, v) in sources {
        let _ = writeln!(out, "    ({}, {}),", rust_str(k), rust_str(v));
    }
    out.push_str("];\n\n/// Every known register, by register number.\npub static REGISTERS: &[RegisterDef] = &[\n");
    for r in regs.values() {
        let scale = r.scale.as_deref().map_or("1.0".to_owned(), rust_f64);
        let na = r.na.map_or("None".to_owned(), |n| format!("Some(0x{n:X})"));
        let _ = writeln!(
            out,
            "    RegisterDef {{ register: 0x{:04X}, id: {}, kind: RegKind::{}, scale: {scale}, unit: {}, na: {na}, source: {}, description: {} }},",
            r.register,
            rust_str(&r.id),
            r.kind,
            rust_str(&r.unit),
            rust_str(&r.source),
            rust_str(&r.description)
        );
    }
    out.push_str("];\n");
    out
}
