//! What canboat's reference decodes say about each source address of a capture:
//! its NAME (first 60928) and product information (126996).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use flate2::read::GzDecoder;
use n2k_dbus::network::{Name, NameFields};
use serde_json::Value;

/// Milliseconds since 1970 of a reference decode's `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn millis(ts: &str) -> i64 {
    let n = |a: usize, b: usize| ts[a..b].parse::<i64>().expect("timestamp");
    let (y, m, d) = (n(0, 4), n(5, 7), n(8, 10));
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400_000 + n(11, 13) * 3_600_000 + n(14, 16) * 60_000 + n(17, 19) * 1000 + n(20, 23)
}

/// Every message of the reference decode of `file`: source, PGN, timestamp, fields.
pub fn messages(file: &str) -> Vec<(u64, u64, String, Value)> {
    let gz = File::open(samples().join(format!("decodes/{file}.json.gz"))).expect("decode");
    let mut out = Vec::new();
    for line in BufReader::new(GzDecoder::new(gz)).lines() {
        let v: Value = serde_json::from_str(&line.expect("line")).expect("json");
        let (Some(src), Some(pgn), Some(ts)) = (
            v["src"].as_u64(),
            v["pgn"].as_u64(),
            v["timestamp"].as_str(),
        ) else {
            continue; // the version header
        };
        out.push((src, pgn, ts.to_owned(), v["fields"].clone()));
    }
    out
}

pub fn samples() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/candump-samples"))
}

/// What the reference decode says about each source address.
#[derive(Default, Debug)]
pub struct Expected {
    pub name: Option<Name>,
    pub named_at: Option<String>,
    pub product: Option<(String, String, String)>,
}

pub fn num(f: &Value, k: &str) -> u64 {
    match &f[k] {
        Value::Object(o) => o["value"].as_u64(),
        v => v.as_u64(),
    }
    .unwrap_or_else(|| panic!("field {k} in {f}"))
}

pub fn reference(file: &str) -> (BTreeMap<u8, Expected>, Option<String>) {
    reference_in(&format!("decodes/{file}.json.gz"))
}

/// [`reference`] of the decode at `rel` in the samples.
pub fn reference_in(rel: &str) -> (BTreeMap<u8, Expected>, Option<String>) {
    let gz = File::open(samples().join(rel)).expect("decode");
    let mut out: BTreeMap<u8, Expected> = BTreeMap::new();
    let mut last_time = None;
    for line in BufReader::new(GzDecoder::new(gz)).lines() {
        let v: Value = serde_json::from_str(&line.expect("line")).expect("json");
        let Some(src) = v["src"].as_u64() else {
            continue;
        };
        let e = out.entry(src as u8).or_default();
        last_time = v["timestamp"].as_str().map(str::to_owned);
        let f = &v["fields"];
        match v["pgn"].as_u64() {
            Some(60928) if e.name.is_none() => {
                e.name = Some(Name::from_fields(NameFields {
                    unique_number: num(f, "Unique Number") as u32,
                    manufacturer_code: num(f, "Manufacturer Code") as u16,
                    device_instance: (num(f, "Device Instance Lower")
                        | (num(f, "Device Instance Upper") << 3))
                        as u8,
                    device_function: num(f, "Device Function") as u8,
                    device_class: num(f, "Device Class") as u8,
                    system_instance: num(f, "System Instance") as u8,
                    industry_group: num(f, "Industry Group") as u8,
                    arbitrary_address_capable: num(f, "Arbitrary address capable") == 1,
                }));
                e.named_at = last_time.clone();
            }
            Some(126996) => {
                let s = |k: &str| f[k].as_str().unwrap_or("").to_owned();
                e.product = Some((
                    s("Model ID"),
                    s("Software Version Code"),
                    s("Model Serial Code"),
                ));
            }
            _ => {}
        }
    }
    (out, last_time)
}
