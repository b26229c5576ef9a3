//! `n2k-dbus registers`: every register each Victron device has shown on a bus,
//! named and scaled from the register table.

use std::io::{self, Write};
use std::process::ExitCode;

use n2k_dbus::can::Micros;

use n2k_dbus::core::Core;
use n2k_dbus::time::write_iso_millis;
use n2k_dbus::vreg::registers::{self, RegValue};

use super::RegistersArgs;

pub fn run(a: RegistersArgs) -> anyhow::Result<ExitCode> {
    if let Some(iface) = &a.from.interface {
        let device = a.device.clone();
        return super::devices::live(iface, &a.from.node, a.from.every, &|out, core, wall| {
            write!(out, "{}", table(core, device.as_deref(), wall))?;
            out.flush()
        });
    }
    let Some(file) = &a.from.file else {
        anyhow::bail!("a capture file or --interface is needed");
    };
    let driver = super::devices::replay(file, a.from.skip_bad_lines)?;
    let core = driver.gateway().core();
    let mut out = io::stdout().lock();
    let text = table(core, a.device.as_deref(), &|t| driver.capture_time(t));
    if let Err(e) = out.write_all(text.as_bytes()) {
        if e.kind() != io::ErrorKind::BrokenPipe {
            return Err(e.into());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One line per register of every node (or of `device`: an address or a NAME in
/// 16 hex digits), by address and register.
fn table(core: &Core, device: Option<&str>, time: &dyn Fn(Micros) -> Micros) -> String {
    let mut s = String::from(
        "ADDR  NAME              REGISTER  ID                         VALUE                 SEEN\n",
    );
    let mut rows = 0;
    for address in 0..=252u8 {
        let name = core.table().name_at(address);
        let name_text = name.map_or_else(|| "-".to_owned(), |n| n.to_string());
        if let Some(d) = device {
            let matches =
                d.parse::<u8>().ok() == Some(address) || d.eq_ignore_ascii_case(&name_text);
            if !matches {
                continue;
            }
        }
        for (register, bytes, at) in core.vreg().registers(address) {
            let (id, value) = match registers::lookup(register) {
                Some(def) => (def.id, shown(def.decode(bytes), def.unit)),
                None => ("?", hex(bytes)),
            };
            let mut seen = String::new();
            write_iso_millis(&mut seen, time(at));
            s.push_str(&format!(
                "{address:<5} {name_text:<17} 0x{register:04X}    {id:<26} {value:<21} {seen}\n"
            ));
            rows += 1;
        }
    }
    if rows == 0 {
        s.push_str("(no VE.Can register seen)\n");
    }
    s
}

fn shown(v: RegValue, unit: &str) -> String {
    match v {
        RegValue::Number(n) if unit.is_empty() => format!("{n}"),
        RegValue::Number(n) => format!("{} {unit}", round(n)),
        RegValue::Text(t) => format!("{t:?}"),
        RegValue::NotAvailable => "n/a".to_owned(),
        RegValue::Bytes(b) => hex(&b),
    }
}

/// At most six significant decimals: the scaling's float error is not shown.
fn round(n: f64) -> f64 {
    (n * 1e6).round() / 1e6
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}
