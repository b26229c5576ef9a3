//! A message's values in: by route, with quirks corrected and implausible values
//! refused, one slot per input and channel.

use super::*;

impl Mapper {
    /// One message from `source`, sent by `name` when its NAME is known.
    pub fn on_message(
        &mut self,
        now: Micros,
        source: u8,
        name: Option<Name>,
        pgn: u32,
        data: &[u8],
        outbox: &dyn ServiceSink,
    ) {
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
        let dev = self.devices.entry(id).or_insert_with(|| Dev {
            id,
            first_heard: now,
            last_heard: now,
            slots: Vec::new(),
            services: Vec::new(),
            dc: Vec::new(),
            dc_since: None,
            battery_config: Vec::new(),
            chargers: Vec::new(),
            gps_since: None,
            gps: None,
            alert_error: None,
            engine_hours: Vec::new(),
        });
        dev.last_heard = now;
        let f = &self.fields;
        let code = |id: &str| f.get(id).code().and_then(|c| u8::try_from(c).ok());
        let mut w = Store {
            f,
            until,
            quirk,
            dropped: 0,
            refused: &mut self.refused,
        };
        w.refused.clear();
        match p.route {
            Route::Tank => {
                let fluid = code("type").unwrap_or(15);
                let instance = code("instance");
                let (chan, instanced) = channel_of(dev, Kind::Tank, fluid, instance);
                w.feeds(dev, p.feeds, chan, 0);
                if !existing(dev, Kind::Tank, chan, instanced)
                    && carries(dev, chan, &[Input::Level, Input::TankCapacity])
                {
                    let suffix = profile::tank_suffix(fluid, (chan >> 8) as u8);
                    let data_instance = Some((chan >> 8) as u8);
                    ensure(
                        &self.cfg,
                        dev,
                        Kind::Tank,
                        chan,
                        Some(suffix),
                        data_instance,
                        instanced,
                        now,
                        &mut w.dropped,
                    );
                }
            }
            Route::Temperature { instance, source } => {
                // Without a source the message names no sensor (all fields "not
                // available", as some devices send).
                let Some(s) = code(source) else { return };
                let i = if instance { code("instance") } else { None };
                let (chan, instanced) = channel_of(dev, Kind::Temperature, s, i);
                w.feeds(dev, p.feeds, chan, 0);
                ensure_sensor(&self.cfg, dev, chan, instanced, now, &mut w.dropped);
            }
            Route::Humidity | Route::Pressure => {
                let own = if p.route == Route::Humidity {
                    profile::HUMIDITY_SOURCE
                } else {
                    if code("source") != Some(0) {
                        return; // only atmospheric pressure has a Venus home
                    }
                    profile::PRESSURE_SOURCE
                };
                let (instance, instanced) = match code("instance") {
                    Some(i) => (i, true),
                    None => (default_instance(dev), false),
                };
                let chan = sensor_of_instance(dev, instance).unwrap_or(sensor_chan(instance, own));
                w.feeds(dev, p.feeds, chan, 0);
                ensure_sensor(&self.cfg, dev, chan, instanced, now, &mut w.dropped);
            }
            Route::Environment => {
                for (source, field, pressure) in [
                    (0u8, "waterTemperature", false),
                    (1, "outsideAmbientAirTemperature", true),
                ] {
                    let (chan, _) = channel_of(dev, Kind::Temperature, source, None);
                    let t = w.value(field, 0, Conv::Celsius);
                    w.put(dev, Input::TemperatureOutsideWater, chan, t);
                    if pressure {
                        let hpa = w.value("atmosphericPressure", 0, Conv::Times(0.01));
                        w.put(dev, Input::PressureEnvironment, chan, hpa);
                    }
                    ensure_sensor(&self.cfg, dev, chan, false, now, &mut w.dropped);
                }
            }
            Route::Dc => {
                let Some(i) = code("instance") else { return };
                if !dev.dc.iter().any(|&(x, _)| x == i) && dev.dc.len() < 16 {
                    dev.dc.push((i, None));
                }
                dev.dc_since.get_or_insert(now);
                if pgn == 127513
                    && !dev.battery_config.contains(&i)
                    && dev.battery_config.len() < 16
                {
                    dev.battery_config.push(i);
                }
                w.feeds(dev, p.feeds, u32::from(i), 0);
            }
            Route::Charger => {
                let Some(i) = code("instance") else { return };
                if !dev.chargers.contains(&i) && dev.chargers.len() < 16 {
                    dev.chargers.push(i);
                }
                w.feeds(dev, p.feeds, u32::from(i), 0);
                let first = Some(dev.chargers[0]);
                ensure(
                    &self.cfg,
                    dev,
                    Kind::Charger,
                    0,
                    None,
                    first,
                    true,
                    now,
                    &mut w.dropped,
                );
            }
            Route::Ac { input } => {
                let Some(i) = code("instance") else { return };
                let base = ac_chan(input, i, 0);
                for item in 1..=f.items() {
                    let Some(line) = f.get_in(item, "line").code().filter(|&l| l < 3) else {
                        continue;
                    };
                    let chan = base | line as u32;
                    w.feeds(dev, p.feeds, chan, item);
                    w.power_fits(dev, chan);
                }
                let kind = ac_kind(&self.cfg.rules, name, input);
                if !input && inverter_output(dev, i) {
                    // The inverter service shows its output (docs/venus-services.md#inverters-and-converters); a meter decided before the 127509 came goes.
                    dev.services
                        .retain(|s| s.published || s.kind != kind || s.chan != base);
                } else {
                    // An inverter's output waits for the 127509 that may name it.
                    let settled = input || !is_inverter(name);
                    let suffix = || format!("ac_{}{i}", if input { "in" } else { "out" });
                    ensure_meter(
                        &self.cfg,
                        dev,
                        kind,
                        (base, settled),
                        suffix,
                        Some(i),
                        now,
                        &mut w.dropped,
                    );
                }
            }
            Route::Gps => {
                dev.gps_since.get_or_insert(now);
                w.feeds(dev, p.feeds, 0, 0);
            }
            Route::Engine => {
                let Some(i) = code("instance") else { return };
                let chan = render::engine_chan(i);
                w.feeds(dev, p.feeds, chan, 0);
                w.hours_forward(dev, i, chan);
                if is_generator(&self.cfg.rules, name) {
                    if !existing(dev, Kind::Genset, chan, true) {
                        let suffix = dev
                            .services
                            .iter()
                            .any(|s| s.kind == Kind::Genset)
                            .then(|| format!("engine{i}"));
                        ensure(
                            &self.cfg,
                            dev,
                            Kind::Genset,
                            chan,
                            suffix,
                            Some(i),
                            true,
                            now,
                            &mut w.dropped,
                        );
                        if let Some(s) = dev.services.iter_mut().find(|s| s.chan == chan) {
                            s.engine = Some(i);
                        }
                    }
                } else if pgn == 127489 {
                    // A propulsion engine: Venus has no engine service; its
                    // temperatures are temperature sensors (docs/venus-services.md#engines-and-gensets).
                    for (field, conv, source) in [
                        ("temperature", Conv::Celsius, profile::ENGINE_COOLANT_SOURCE),
                        ("oilTemperature", Conv::Celsius, profile::ENGINE_OIL_SOURCE),
                    ] {
                        let chan = sensor_chan(i, source);
                        let t = w.value(field, 0, conv);
                        w.put(dev, Input::Temperature, chan, t);
                        ensure_sensor(&self.cfg, dev, chan, true, now, &mut w.dropped);
                    }
                }
            }
            Route::AcJ1939 { generator, line } => {
                let base = render::j1939_chan(0);
                let chan = render::j1939_chan(line);
                w.feeds(dev, p.feeds, chan, 0);
                if line < 3 {
                    w.power_fits(dev, chan);
                }
                let kind = j1939_kind(&self.cfg.rules, name, generator);
                let suffix = || "j1939".to_owned();
                ensure_meter(
                    &self.cfg,
                    dev,
                    kind,
                    (base, true),
                    suffix,
                    None,
                    now,
                    &mut w.dropped,
                );
            }
            Route::Inverter => {
                let Some(i) = code("instance") else { return };
                w.feeds(dev, p.feeds, u32::from(i), 0);
                ensure_inverter(&self.cfg, dev, i, now, &mut w.dropped);
            }
            Route::Converter { status } => {
                let Some(c) = code("connectionNumber") else {
                    return;
                };
                w.feeds(dev, p.feeds, render::converter_chan(c), 0);
                let kind = converter_kind(&self.cfg.rules, name, status);
                ensure_converter(&self.cfg, dev, kind, c, now, &mut w.dropped);
            }
        }
        self.stats.dropped += w.dropped;
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
