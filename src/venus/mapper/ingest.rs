//! A message's values in: by route, with quirks corrected and implausible values
//! refused, one slot per input and channel.

use super::*;
use crate::pgn::field;
use crate::venus::stage::Incoming;

impl Mapper {
    /// One message, from its source, by its sender's NAME when that is known.
    pub(super) fn ingest(&mut self, m: &Incoming<'_>, outbox: &dyn ServiceSink) {
        let Incoming {
            now,
            source,
            device: name,
            pgn,
            data,
            ..
        } = *m;
        let Some(p) = profile::profile(pgn) else {
            return;
        };
        if name.is_some_and(|n| self.cfg.rules.excluded(n)) {
            return;
        }
        let id = name.map_or(DeviceId::Address(source), DeviceId::Name);
        if !self.devices.contains_key(&id) && self.devices.len() >= MAX_DEVICES {
            self.stats.dropped += 1;
            return;
        }
        if !self.fields.decode(pgn, data) {
            return;
        }
        self.stats.mapped += 1;
        let until = profile::freshness(pgn).map_or(Micros::MAX, |f| now.saturating_add(f));
        let quirk = self.quirk_of(id, pgn);
        let dev = self.devices.entry(id).or_insert_with(|| Dev::new(id, now));
        dev.last_heard = now;
        self.refused.clear();
        let w = Store {
            f: &self.fields,
            until,
            quirk,
            dropped: 0,
            refused: &mut self.refused,
        };
        let mut r = Ingest {
            cfg: &self.cfg,
            dev,
            w,
            name,
            pgn,
            now,
            route: p.route,
            feeds: p.feeds,
        };
        // A route that finds no instance or source to put the values under ends
        // here, as if the message had not come.
        let taken = match p.route {
            Route::Tank => r.tank(),
            Route::Temperature { instance, source } => r.temperature(instance, source),
            Route::Humidity | Route::Pressure => r.humidity_or_pressure(),
            Route::Environment => r.environment(),
            Route::Dc => r.dc(),
            Route::Charger => r.charger(),
            Route::Ac { input } => r.ac(input),
            Route::Gps => r.gps(),
            Route::Engine => r.engine(),
            Route::AcJ1939 { generator, line } => r.ac_j1939(generator, line),
            Route::Inverter => r.inverter(),
            Route::Converter { status } => r.converter(status),
        };
        if taken.is_none() {
            return;
        }
        self.stats.dropped += r.w.dropped;
        self.count_refused(id);
        self.settle(now, id, outbox);
    }

    /// The quirk context of a message of `pgn` from `id`, when a row concerns it.
    pub(super) fn quirk_of(&self, id: DeviceId, pgn: u32) -> Option<QuirkOf> {
        if !quirks::concerns(self.quirks, pgn) {
            return None;
        }
        let DeviceId::Name(n) = id else { return None };
        let model = self
            .known
            .get(&n)
            .and_then(|k| k.identity.product.as_ref())
            .map(|p| p.model_id.as_str())?;
        let quirks = self.quirks;
        let manufacturer = n.manufacturer_code();
        // The factors of this device's rows for this PGN, found once per message.
        let mut factors = [("", 1.0); 4];
        let mut k = 0;
        for q in quirks.iter().filter(|q| q.pgn == pgn) {
            if k < factors.len() {
                if let Some(x) = quirks::factor(quirks, manufacturer, model, pgn, q.field) {
                    factors[k] = (q.field, x);
                    k += 1;
                }
            }
        }
        (k > 0).then_some(QuirkOf { factors, len: k })
    }

    /// Counts the values the last message had refused, logging each kind once.
    pub(super) fn count_refused(&mut self, id: DeviceId) {
        for &(input, chan, value) in &self.refused {
            self.stats.implausible += 1;
            let key = (id, input, chan);
            let full = self.implausible.len() >= MAX_IMPLAUSIBLE;
            match self.implausible.get_mut(&key) {
                Some(n) => *n += 1,
                None if !full => {
                    self.implausible.insert(key, 1);
                    let iface = identity::bus_element(&self.cfg.iface);
                    tracing::warn!(
                        device = %identity::name_tail(&iface, id, None),
                        at = %location(input, chan),
                        value,
                        "a value no working sensor reports: shown as invalid, counted on the bus service (logged once)"
                    );
                }
                None => self.stats.dropped += 1,
            }
        }
    }
}

/// The quirk factors that apply to one message.
#[derive(Debug, Clone, Copy)]
pub(super) struct QuirkOf {
    pub(super) factors: [(&'static str, f64); 4],
    pub(super) len: usize,
}

impl QuirkOf {
    pub(super) fn factor(&self, field: &str) -> Option<f64> {
        self.factors[..self.len]
            .iter()
            .find(|q| q.0 == field)
            .map(|q| q.1)
    }
}

/// Storing one message's values: quirks corrected, implausible values refused.
pub(super) struct Store<'a> {
    pub(super) f: &'a Fields,
    pub(super) until: Micros,
    pub(super) quirk: Option<QuirkOf>,
    pub(super) dropped: u64,
    pub(super) refused: &'a mut Vec<(Input, u32, f64)>,
}

impl Store<'_> {
    /// The value of `field` (repetition `item`, 0 outside repeating sets) in Venus
    /// units, corrected where a quirk applies.
    pub(super) fn value(&self, field: &str, item: u16, conv: Conv) -> Option<f64> {
        let n = if item == 0 {
            self.f.get(field)
        } else {
            self.f.get_in(item, field)
        };
        let n = match (n, self.quirk.and_then(|q| q.factor(field))) {
            (Num::Real(x), Some(k)) => Num::Real(x * k),
            (n, _) => n,
        };
        conv.apply(n)
    }

    /// Stores the fields `feeds` read (repetition `item`) on channel `chan`.
    pub(super) fn feeds(&mut self, dev: &mut Dev, feeds: &[profile::Feed], chan: u32, item: u16) {
        for feed in feeds {
            let v = self.value(feed.field, item, feed.conv);
            self.put(dev, feed.input, chan, v);
        }
    }

    /// Stores (or, for `None`, clears) one input; a value outside what a real
    /// device can mean clears it and is counted.
    pub(super) fn put(&mut self, dev: &mut Dev, input: Input, chan: u32, value: Option<f64>) {
        let value = value.filter(|&v| {
            let ok = plausible::range_of(input, chan as u8).is_none_or(|r| r.holds(v));
            if !ok {
                self.refused.push((input, chan, v));
            }
            ok
        });
        put(dev, input, chan, value, self.until, &mut self.dropped);
    }

    /// Keeps an engine's operating hours from going backwards: a smaller total
    /// than one it reported before is refused (dbus-generator counts run time from
    /// it) and the highest stays shown.
    pub(super) fn hours_forward(&mut self, dev: &mut Dev, engine: u8, chan: u32) {
        let Some(h) = Inputs(&dev.slots).get(Input::EngineHours, chan) else {
            return;
        };
        match dev.engine_hours.iter().position(|e| e.0 == engine) {
            Some(k) if h < dev.engine_hours[k].1 => {
                self.refused.push((Input::EngineHours, chan, h));
                let max = dev.engine_hours[k].1;
                put(
                    dev,
                    Input::EngineHours,
                    chan,
                    Some(max),
                    self.until,
                    &mut self.dropped,
                );
            }
            Some(k) => dev.engine_hours[k].1 = h,
            None if dev.engine_hours.len() < 16 => dev.engine_hours.push((engine, h)),
            None => {}
        }
    }

    /// Refuses a line's real power that its voltage and current cannot give.
    pub(super) fn power_fits(&mut self, dev: &mut Dev, chan: u32) {
        let inp = Inputs(&dev.slots);
        let (Some(p), Some(v), Some(i)) = (
            inp.get(Input::AcPower, chan),
            inp.get(Input::AcVoltage, chan),
            inp.get(Input::AcCurrent, chan),
        ) else {
            return;
        };
        if !plausible::power_fits(p, v, i) {
            self.refused.push((Input::AcPower, chan, p));
            put(
                dev,
                Input::AcPower,
                chan,
                None,
                self.until,
                &mut self.dropped,
            );
        }
    }
}

/// Stores (or, for `None`, clears) one input.
pub(super) fn put(
    dev: &mut Dev,
    input: Input,
    chan: u32,
    value: Option<f64>,
    until: Micros,
    dropped: &mut u64,
) {
    let at = dev
        .slots
        .iter()
        .position(|s| s.input == input && s.chan == chan);
    match (at, value) {
        (Some(i), Some(v)) => {
            dev.slots[i].value = v;
            dev.slots[i].until = until;
        }
        (Some(i), None) => {
            dev.slots.swap_remove(i);
        }
        (None, Some(v)) if dev.slots.len() < MAX_SLOTS => dev.slots.push(Slot {
            input,
            chan,
            value: v,
            until,
        }),
        (None, Some(_)) => *dropped += 1,
        (None, None) => {}
    }
}

/// Whether channel `chan` holds a value of any of `inputs`.
pub(super) fn carries(dev: &Dev, chan: u32, inputs: &[Input]) -> bool {
    dev.slots
        .iter()
        .any(|s| s.chan == chan && inputs.contains(&s.input))
}

/// One message on its way in: the mapper's settings, its device, its values and
/// when it came. Each route has its handler; one that finds nothing to put the
/// values under answers `None`.
struct Ingest<'a, 's> {
    cfg: &'a MapperConfig,
    dev: &'a mut Dev,
    w: Store<'s>,
    name: Option<Name>,
    pgn: u32,
    now: Micros,
    route: Route,
    feeds: &'static [profile::Feed],
}

impl Ingest<'_, '_> {
    /// Makes sure channel `chan` has its temperature-family sensor service.
    fn sensor(&mut self, chan: u32, instanced: bool) {
        ensure_sensor(
            self.cfg,
            self.dev,
            chan,
            instanced,
            self.now,
            &mut self.w.dropped,
        );
    }

    /// A field's code (an instance, a source, a fluid type) as a byte.
    fn code(&self, id: &str) -> Option<u8> {
        self.w.f.get(id).code().and_then(|c| u8::try_from(c).ok())
    }

    /// A tank level (127505): one service per fluid and instance.
    fn tank(&mut self) -> Option<()> {
        let fluid = self.code(field::TYPE).unwrap_or(15);
        let instance = self.code(field::INSTANCE);
        let (chan, instanced) = channel_of(self.dev, Kind::Tank, fluid, instance);
        self.w.feeds(self.dev, self.feeds, chan, 0);
        if !existing(self.dev, Kind::Tank, chan, instanced)
            && carries(self.dev, chan, &[Input::Level, Input::TankCapacity])
        {
            let suffix = profile::tank_suffix(fluid, (chan >> 8) as u8);
            let data_instance = Some((chan >> 8) as u8);
            ensure(
                self.cfg,
                self.dev,
                Kind::Tank,
                chan,
                Some(suffix),
                data_instance,
                instanced,
                self.now,
                &mut self.w.dropped,
            );
        }
        Some(())
    }

    /// A temperature of a named source (130311, 130312, 130316), with or without an
    /// instance.
    fn temperature(&mut self, instance: bool, source: &str) -> Option<()> {
        // Without a source the message names no sensor (all fields "not
        // available", as some devices send).
        let s = self.code(source)?;
        let i = if instance {
            self.code(field::INSTANCE)
        } else {
            None
        };
        let (chan, instanced) = channel_of(self.dev, Kind::Temperature, s, i);
        self.w.feeds(self.dev, self.feeds, chan, 0);
        self.sensor(chan, instanced);
        Some(())
    }

    /// Humidity (130313), or atmospheric pressure (130314: the only pressure with a
    /// Venus home).
    fn humidity_or_pressure(&mut self) -> Option<()> {
        let own = if self.route == Route::Humidity {
            profile::HUMIDITY_SOURCE
        } else {
            if self.code(field::SOURCE) != Some(0) {
                return None; // only atmospheric pressure has a Venus home
            }
            profile::PRESSURE_SOURCE
        };
        let (instance, instanced) = match self.code(field::INSTANCE) {
            Some(i) => (i, true),
            None => (default_instance(self.dev), false),
        };
        let chan = sensor_of_instance(self.dev, instance).unwrap_or(sensor_chan(instance, own));
        self.w.feeds(self.dev, self.feeds, chan, 0);
        self.sensor(chan, instanced);
        Some(())
    }

    /// The old environmental parameters (130310): water and outside air.
    fn environment(&mut self) -> Option<()> {
        for (source, field, pressure) in [
            (0u8, field::WATER_TEMPERATURE, false),
            (1, field::OUTSIDE_AMBIENT_AIR_TEMPERATURE, true),
        ] {
            let (chan, _) = channel_of(self.dev, Kind::Temperature, source, None);
            let t = self.w.value(field, 0, Conv::Celsius);
            self.w
                .put(self.dev, Input::TemperatureOutsideWater, chan, t);
            if pressure {
                let hpa = self
                    .w
                    .value(field::ATMOSPHERIC_PRESSURE, 0, Conv::Times(0.01));
                self.w.put(self.dev, Input::PressureEnvironment, chan, hpa);
            }
            self.sensor(chan, false);
        }
        Some(())
    }

    /// A DC instance's values (127506, 127508, 127513 battery configuration).
    fn dc(&mut self) -> Option<()> {
        let i = self.code(field::INSTANCE)?;
        if !self.dev.dc.iter().any(|&(x, _)| x == i) && self.dev.dc.len() < 16 {
            self.dev.dc.push((i, None));
        }
        self.dev.dc_since.get_or_insert(self.now);
        if self.pgn == 127513
            && !self.dev.battery_config.contains(&i)
            && self.dev.battery_config.len() < 16
        {
            self.dev.battery_config.push(i);
        }
        self.w.feeds(self.dev, self.feeds, u32::from(i), 0);
        Some(())
    }

    /// A charger's status (127507): one charger service for all of a device's
    /// instances.
    fn charger(&mut self) -> Option<()> {
        let i = self.code(field::INSTANCE)?;
        if !self.dev.chargers.contains(&i) && self.dev.chargers.len() < 16 {
            self.dev.chargers.push(i);
        }
        self.w.feeds(self.dev, self.feeds, u32::from(i), 0);
        let first = Some(self.dev.chargers[0]);
        ensure(
            self.cfg,
            self.dev,
            Kind::Charger,
            0,
            None,
            first,
            true,
            self.now,
            &mut self.w.dropped,
        );
        Some(())
    }

    /// AC input or output per line (127503/127504): a meter, or an inverter's output.
    fn ac(&mut self, input: bool) -> Option<()> {
        let i = self.code(field::INSTANCE)?;
        let base = ac_chan(input, i, 0);
        for item in 1..=self.w.f.items() {
            let Some(line) = self.w.f.get_in(item, field::LINE).code().filter(|&l| l < 3) else {
                continue;
            };
            let chan = base | line as u32;
            self.w.feeds(self.dev, self.feeds, chan, item);
            self.w.power_fits(self.dev, chan);
        }
        let kind = ac_kind(&self.cfg.rules, self.name, input);
        if !input && inverter_output(self.dev, i) {
            // The inverter service shows its output (docs/venus-services.md#inverters-and-converters); a meter decided before the 127509 came goes.
            self.dev
                .services
                .retain(|s| s.published || s.kind != kind || s.chan != base);
        } else {
            // An inverter's output waits for the 127509 that may self.name it.
            let settled = input || !is_inverter(self.name);
            let suffix = || format!("ac_{}{i}", if input { "in" } else { "out" });
            ensure_meter(
                self.cfg,
                self.dev,
                kind,
                (base, settled),
                suffix,
                Some(i),
                self.now,
                &mut self.w.dropped,
            );
        }
        Some(())
    }

    /// A position, course or speed (129025, 129026, 129029): a GNSS receiver once
    /// decided.
    fn gps(&mut self) -> Option<()> {
        self.dev.gps_since.get_or_insert(self.now);
        self.w.feeds(self.dev, self.feeds, 0, 0);
        Some(())
    }

    /// Engine parameters (127488, 127489): a genset's engine, or a propulsion engine's
    /// temperatures.
    fn engine(&mut self) -> Option<()> {
        let i = self.code(field::INSTANCE)?;
        let chan = render::engine_chan(i);
        self.w.feeds(self.dev, self.feeds, chan, 0);
        self.w.hours_forward(self.dev, i, chan);
        if is_generator(&self.cfg.rules, self.name) {
            if !existing(self.dev, Kind::Genset, chan, true) {
                let suffix = self
                    .dev
                    .services
                    .iter()
                    .any(|s| s.kind == Kind::Genset)
                    .then(|| format!("engine{i}"));
                ensure(
                    self.cfg,
                    self.dev,
                    Kind::Genset,
                    chan,
                    suffix,
                    Some(i),
                    true,
                    self.now,
                    &mut self.w.dropped,
                );
                if let Some(s) = self.dev.services.iter_mut().find(|s| s.chan == chan) {
                    s.engine = Some(i);
                }
            }
        } else if self.pgn == 127489 {
            // A propulsion engine: Venus has no engine service; its
            // temperatures are temperature sensors (docs/venus-services.md#engines-and-gensets).
            for (field, conv, source) in [
                (
                    field::TEMPERATURE,
                    Conv::Celsius,
                    profile::ENGINE_COOLANT_SOURCE,
                ),
                (
                    field::OIL_TEMPERATURE,
                    Conv::Celsius,
                    profile::ENGINE_OIL_SOURCE,
                ),
            ] {
                let chan = sensor_chan(i, source);
                let t = self.w.value(field, 0, conv);
                self.w.put(self.dev, Input::Temperature, chan, t);
                self.sensor(chan, true);
            }
        }
        Some(())
    }

    /// J1939 AC (65005–65027, generator or utility, per line): a meter.
    fn ac_j1939(&mut self, generator: bool, line: u8) -> Option<()> {
        let base = render::j1939_chan(0);
        let chan = render::j1939_chan(line);
        self.w.feeds(self.dev, self.feeds, chan, 0);
        if line < 3 {
            self.w.power_fits(self.dev, chan);
        }
        let kind = j1939_kind(&self.cfg.rules, self.name, generator);
        let suffix = || "j1939".to_owned();
        ensure_meter(
            self.cfg,
            self.dev,
            kind,
            (base, true),
            suffix,
            None,
            self.now,
            &mut self.w.dropped,
        );
        Some(())
    }

    /// An inverter's status (127509).
    fn inverter(&mut self) -> Option<()> {
        let i = self.code(field::INSTANCE)?;
        self.w.feeds(self.dev, self.feeds, u32::from(i), 0);
        ensure_inverter(self.cfg, self.dev, i, self.now, &mut self.w.dropped);
        Some(())
    }

    /// A DC-DC converter's status (127750) or values (127751), by connection number.
    fn converter(&mut self, status: bool) -> Option<()> {
        let c = self.code(field::CONNECTION_NUMBER)?;
        self.w
            .feeds(self.dev, self.feeds, render::converter_chan(c), 0);
        let kind = converter_kind(&self.cfg.rules, self.name, status);
        ensure_converter(self.cfg, self.dev, kind, c, self.now, &mut self.w.dropped);
        Some(())
    }
}
