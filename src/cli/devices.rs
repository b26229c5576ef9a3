//! `n2k-dbus devices`: the device table of a capture or a live bus.

use std::io::{self, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use std::sync::Arc;

use n2k_dbus::can::Micros;
use n2k_dbus::core::{Core, CoreConfig};
use n2k_dbus::dbus::Outbox;
use n2k_dbus::devices::{Device, Heard, Lifecycle};
use n2k_dbus::driver::Driver;
use n2k_dbus::gateway::{Gateway, GatewayConfig};
use n2k_dbus::json::canboat::write_json_str;
use n2k_dbus::shell::{Ended, Shell, Socket, Source, Start, Venus};
use n2k_dbus::time::write_iso_millis;
use n2k_dbus::time::Monotonic;
use n2k_dbus::venus::{MapperConfig, Rules};
use tracing::info;

use super::decode::capture;
use super::DevicesArgs;

pub fn run(a: DevicesArgs) -> anyhow::Result<ExitCode> {
    if let Some(iface) = &a.from.interface {
        let json = a.json;
        return live(iface, &a.from.node, a.from.every, &|out, core, wall| {
            if !json {
                write!(out, "\x1b[H\x1b[2J")?;
            }
            print(out, core, wall, json)
        });
    }
    let path = a
        .from
        .file
        .as_deref()
        .context("a capture file or --interface is needed")?;
    let driver = replay(path, a.from.skip_bad_lines)?;
    let mut out = io::stdout().lock();
    print(
        &mut out,
        driver.gateway().core(),
        &|t| driver.capture_time(t),
        a.json,
    )?;
    Ok(ExitCode::SUCCESS)
}

/// A gateway that publishes nowhere: its outbox is never taken, and stays bounded.
fn gateway(iface: &str, core: CoreConfig) -> Gateway {
    let cfg = GatewayConfig {
        core,
        mapper: MapperConfig {
            iface: iface.to_owned(),
            rules: Rules::default(),
        },
        alerts_out: false,
    };
    Gateway::new(cfg, Arc::new(Outbox::new()))
}

/// A capture through a listen-only gateway on the capture's clock.
pub(super) fn replay(path: &Path, skip_bad_lines: bool) -> anyhow::Result<Driver> {
    let mut reader = capture(path, skip_bad_lines)?;
    let mut driver = Driver::new(gateway("can0", CoreConfig::gateway(0).listen_only()));
    let mut records = 0;
    while let Some(rec) = reader.next_record() {
        driver.feed_record(&rec?);
        records += 1;
    }
    if reader.bad_lines() > 0 {
        eprintln!("n2k-dbus: skipped {} malformed line(s)", reader.bad_lines());
    }
    super::decode::no_frames(records, path)?;
    Ok(driver)
}

/// What a live table shows of the core, on the wall clock.
pub(super) type Show<'a> =
    &'a dyn Fn(&mut io::StdoutLock<'_>, &Core, &dyn Fn(Micros) -> Micros) -> io::Result<()>;

/// Joins `iface` as `node` says and calls `show` every `every` seconds until Ctrl-C.
pub(super) fn live(
    iface: &str,
    node: &super::NodeArgs,
    every: u64,
    show: Show<'_>,
) -> anyhow::Result<ExitCode> {
    let (cfg, state_path, state) = node.identity(iface);
    let rt = n2k_dbus::shell::runtime()?;
    rt.block_on(async move {
        let signals = super::signals()?;
        let clock = Monotonic::new();
        let socket = Socket::open(iface, clock)
            .with_context(|| format!("cannot open CAN interface {iface}"))?;
        info!(interface = iface, name = %cfg.name, listen_only = cfg.listen_only, "joining the bus");
        let name = iface.to_owned();
        let make = Box::new(move |start: Start<'_>| {
            let mut cfg = cfg.clone();
            if let Some(address) = start.claimed {
                cfg.preferred_address = address;
            }
            let mut d = Driver::new(gateway(&name, cfg));
            d.advance(start.now);
            d
        });
        let mut shell = Shell::new(Source::Socket(socket), Venus::none(iface), make)
            .keep(state, state_path);
        let mut tick = tokio::time::interval(Duration::from_secs(every.max(1)));
        loop {
            let stop = async {
                tokio::select! {
                    _ = signals.wait() => true,
                    _ = tick.tick() => false,
                }
            };
            if shell.run(stop).await? != Ended::Stopped(false) {
                break;
            }
            if let Some(d) = shell.driver() {
                let mut out = io::stdout().lock();
                show(&mut out, d.gateway().core(), &|t| clock.wall(t))?;
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}

fn state_name(l: Lifecycle) -> &'static str {
    match l {
        Lifecycle::Named => "named",
        Lifecycle::Identified => "identified",
        Lifecycle::Gone => "gone",
    }
}

fn time(t: Micros) -> String {
    let mut s = String::new();
    write_iso_millis(&mut s, t);
    s
}

/// The devices by address (gone ones last), then the addresses heard without a NAME.
fn sorted(core: &Core) -> (Vec<&Device>, Vec<(u8, &Heard)>) {
    let mut devices: Vec<&Device> = core.registry().iter().collect();
    devices.sort_by_key(|d| (!d.online(), d.address.unwrap_or(255), d.name));
    (devices, core.registry().heard_iter().collect())
}

/// The table; `wall` turns the gateway's time into the time a person reads.
fn print(
    out: &mut impl Write,
    core: &Core,
    wall: &dyn Fn(Micros) -> Micros,
    json: bool,
) -> io::Result<()> {
    let (devices, heard) = sorted(core);
    if json {
        for d in devices {
            writeln!(out, "{}", device_json(d, wall))?;
        }
        for (a, h) in heard {
            writeln!(out, "{}", heard_json(a, h, wall))?;
        }
        return Ok(());
    }
    let mut rows = vec![[
        "ADDR",
        "NAME",
        "MANUFACTURER",
        "CLASS / FUNCTION",
        "DI",
        "SI",
        "UNIQUE",
        "MODEL",
        "SOFTWARE",
        "MODEL VER",
        "SERIAL",
        "LEVEL",
        "INSTALLATION",
        "STATE",
        "LAST HEARD",
    ]
    .map(String::from)];
    rows.extend(devices.into_iter().map(|d| row(d, wall)));
    for (a, h) in heard {
        let mut r: [String; 15] = Default::default();
        r[0] = a.to_string();
        r[1] = "(no NAME yet)".into();
        r[13] = "heard".into();
        r[14] = time(wall(h.last_heard));
        rows.push(r);
    }
    columns(out, &rows)
}

/// One device's row of the table.
fn row(d: &Device, wall: &dyn Fn(Micros) -> Micros) -> [String; 15] {
    let n = d.name;
    let p = d.product.as_ref();
    let c = d.config.as_ref();
    let install = c
        .map(|c| {
            [&c.installation_description1, &c.installation_description2]
                .iter()
                .filter(|s| !s.is_empty())
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" / ")
        })
        .unwrap_or_default();
    [
        d.address.map_or("-".into(), |a| a.to_string()),
        n.to_string(),
        format!(
            "{} ({})",
            n.manufacturer_name().unwrap_or("?"),
            n.manufacturer_code()
        ),
        format!(
            "{} / {}",
            n.class_name().unwrap_or("?"),
            n.function_name()
                .map_or_else(|| n.device_function().to_string(), str::to_owned)
        ),
        n.device_instance().to_string(),
        n.system_instance().to_string(),
        n.unique_number().to_string(),
        p.map_or(String::new(), |p| p.model_id.clone()),
        p.map_or(String::new(), |p| p.software_version.clone()),
        p.map_or(String::new(), |p| p.model_version.clone()),
        p.map_or(String::new(), |p| p.serial.clone()),
        p.and_then(|p| p.certification_level)
            .map_or(String::new(), |l| match l {
                0 => "A".into(),
                1 => "B".into(),
                l => l.to_string(),
            }),
        install,
        state_name(d.lifecycle).into(),
        time(wall(d.last_heard)),
    ]
}

/// The rows in columns as wide as their widest cell, two spaces apart.
fn columns(out: &mut impl Write, rows: &[[String; 15]]) -> io::Result<()> {
    let mut width = [0usize; 15];
    for r in rows {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    for r in rows {
        let mut line = String::new();
        for (i, (c, w)) in r.iter().zip(width).enumerate() {
            if i > 0 {
                line += "  ";
            }
            line += c;
            line.extend(std::iter::repeat_n(' ', w - c.chars().count()));
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

struct Obj(String);

impl Obj {
    fn new() -> Obj {
        Obj("{".into())
    }
    fn key(&mut self, k: &str) {
        if self.0.len() > 1 {
            self.0.push(',');
        }
        write_json_str(&mut self.0, k);
        self.0.push(':');
    }
    fn num(&mut self, k: &str, v: Option<impl std::fmt::Display>) -> &mut Self {
        self.key(k);
        match v {
            Some(v) => self.0 += &v.to_string(),
            None => self.0 += "null",
        }
        self
    }
    fn str(&mut self, k: &str, v: Option<&str>) -> &mut Self {
        self.key(k);
        match v {
            Some(v) => write_json_str(&mut self.0, v),
            None => self.0 += "null",
        }
        self
    }
    fn done(&mut self) -> String {
        self.0.push('}');
        std::mem::take(&mut self.0)
    }
}

fn device_json(d: &Device, wall: &dyn Fn(Micros) -> Micros) -> String {
    let n = d.name;
    let p = d.product.as_ref();
    let c = d.config.as_ref();
    let name = n.to_string();
    Obj::new()
        .num("address", d.address)
        .str("name", Some(&name))
        .num("unique_number", Some(n.unique_number()))
        .num("manufacturer_code", Some(n.manufacturer_code()))
        .str("manufacturer", n.manufacturer_name())
        .num("device_instance", Some(n.device_instance()))
        .num("device_instance_lower", Some(n.device_instance_lower()))
        .num("device_instance_upper", Some(n.device_instance_upper()))
        .num("system_instance", Some(n.system_instance()))
        .num("device_function", Some(n.device_function()))
        .str("function", n.function_name())
        .num("device_class", Some(n.device_class()))
        .str("class", n.class_name())
        .num("industry_group", Some(n.industry_group()))
        .str("model_id", p.map(|p| p.model_id.as_str()))
        .str("software_version", p.map(|p| p.software_version.as_str()))
        .str("model_version", p.map(|p| p.model_version.as_str()))
        .str("serial", p.map(|p| p.serial.as_str()))
        .num("product_code", p.and_then(|p| p.product_code))
        .num("nmea2000_version", p.and_then(|p| p.nmea2000_version))
        .num("certification_level", p.and_then(|p| p.certification_level))
        .num("load_equivalency", p.and_then(|p| p.load_equivalency))
        .str(
            "installation_description1",
            c.map(|c| c.installation_description1.as_str()),
        )
        .str(
            "installation_description2",
            c.map(|c| c.installation_description2.as_str()),
        )
        .str(
            "manufacturer_information",
            c.map(|c| c.manufacturer_information.as_str()),
        )
        .num("heartbeat_interval_ms", d.heartbeat_interval)
        .str("state", Some(state_name(d.lifecycle)))
        .num("online", Some(d.online()))
        .str("last_heard", Some(&time(wall(d.last_heard))))
        .done()
}

fn heard_json(address: u8, h: &Heard, wall: &dyn Fn(Micros) -> Micros) -> String {
    Obj::new()
        .num("address", Some(address))
        .str("name", None)
        .str("state", Some("heard"))
        .num("online", Some(true))
        .num("frames", Some(h.frames))
        .str("last_heard", Some(&time(wall(h.last_heard))))
        .done()
}
