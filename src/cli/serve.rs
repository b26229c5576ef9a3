//! `n2k-dbus serve`: Venus services from a JSON file onto a D-Bus bus, held until
//! interrupted — other processes' services for NMEA 2000-out to export, without a
//! GX. The file is the format of gui-v2's mock services (the service dumps):
//! `{ "<service name>": { "<path>": <value>, … }, … }`, `null` for an invalid value.
//! Writes (`SetValue`) are stored and announced with `ItemsChanged`, as a Venus
//! driver does.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use n2k_dbus::dbus::{
    Bus, BusLost, Item, ItemTree, Service, ServiceOptions, ServiceSpec, Value, WriteRule,
};

use super::{bus_gone, signals};

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// JSON file: `{ "<service>": { "<path>": <value>, … }, … }`.
    pub file: PathBuf,
    /// The bus to publish on: system, session or a D-Bus address.
    #[arg(long, default_value = "system")]
    pub dbus: Bus,
}

pub fn run(a: ServeArgs) -> anyhow::Result<ExitCode> {
    let specs = read(&a.file)?;
    let rt = n2k_dbus::shell::runtime()?;
    rt.block_on(async {
        let signals = signals()?;
        let lost = BusLost::default();
        let options = ServiceOptions {
            lost: lost.clone(),
            ..ServiceOptions::default()
        };
        let mut services = Vec::new();
        for spec in specs {
            let name = spec.name.clone();
            let s = Service::publish(&a.dbus, spec, options.clone())
                .await
                .with_context(|| format!("cannot publish {name}"))?;
            services.push(s);
        }
        println!(
            "serving {} service(s) from {}; interrupt to withdraw them",
            services.len(),
            a.file.display()
        );
        tokio::select! {
            _ = signals.wait() => {}
            service = lost.wait() => return Err(bus_gone(&service)),
        }
        for s in services {
            s.withdraw().await;
        }
        Ok(ExitCode::SUCCESS)
    })
}

/// The services of `path`, every value checked.
fn read(path: &std::path::Path) -> anyhow::Result<Vec<ServiceSpec>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{}: not JSON", path.display()))?;
    let services = json
        .as_object()
        .with_context(|| format!("{}: expected an object of services", path.display()))?;
    let mut specs = Vec::new();
    for (name, paths) in services {
        let paths = paths
            .as_object()
            .with_context(|| format!("{}: {name}: expected an object of paths", path.display()))?;
        let mut tree = ItemTree::new();
        for (p, v) in paths {
            let value = value(v).with_context(|| {
                format!("{}: {name} {p}: unsupported value {v}", path.display())
            })?;
            tree.insert(p.as_str(), writable(value))
                .map_err(|e| anyhow::anyhow!("{}: {name} {p}: {e}", path.display()))?;
        }
        specs.push(ServiceSpec::new(name.as_str(), tree));
    }
    Ok(specs)
}

/// An item a client may write as a driver's setting or a test's change: of its
/// value's type (an invalid one takes any number).
fn writable(value: Value) -> Item {
    let rule = match value {
        Value::Int(_) => WriteRule::Integer,
        Value::Text(_) => WriteRule::Text { max_chars: 256 },
        _ => WriteRule::Real,
    };
    Item::new(value).writable(rule)
}

fn value(v: &serde_json::Value) -> Option<Value> {
    use serde_json::Value as J;
    Some(match v {
        J::Null => Value::Invalid,
        J::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i),
            None => Value::Real(n.as_f64()?),
        },
        J::String(s) => Value::Text(s.clone()),
        J::Array(a) if a.is_empty() => Value::EmptyList,
        J::Bool(b) => Value::Int(i64::from(*b)),
        _ => return None,
    })
}
