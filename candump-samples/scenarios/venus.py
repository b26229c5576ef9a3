#!/usr/bin/env python3
"""Writes the Venus mapping scenarios of `venus/`: devices on a bus, as candump -l
lines, and what a D-Bus client must read from the gateway, as `#=` lines:

    #= <time> services <name> ...          exactly these device services are on the bus
    #= <time> <service> <path> <value>     GetItems of <service> reads <value> at <path>
                                           (a number, `invalid`, or a "text")

The values are the physical values this script encodes, in Venus units, written out
from docs/venus-services.md; nothing here comes from the gateway's own decoder.

    python3 candump-samples/scenarios/venus.py
"""

import os
import struct

from make import Bus, Node, name, product_info, config_info  # noqa: F401

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "venus")
V = "com.victronenergy."


class Scenario:
    def __init__(self):
        self.bus = Bus()
        self.checks = []

    def services(self, t, *names):
        self.checks.append((t, "services " + " ".join(sorted(names))))

    def expect(self, t, service, path, value):
        if value is None:
            v = "invalid"
        elif isinstance(value, str):
            v = '"%s"' % value
        else:
            v = repr(round(value, 9))
        self.checks.append((t, "%s %s %s" % (service, path, v)))

    def write(self, fname, header):
        os.makedirs(HERE, exist_ok=True)
        with open(os.path.join(HERE, fname), "w") as f:
            for h in header.strip("\n").split("\n"):
                f.write(("# " + h).rstrip() + "\n")
            f.write("#\n")
            for t, c in self.checks:
                f.write("#= %.3f %s\n" % (t, c))
            f.write("#\n")
            for _, _, line in sorted(self.bus.lines):
                f.write(line + "\n")


def tail(n, suffix=None, iface="can0"):
    unique = n & 0x1FFFFF
    instance = (n >> 32) & 0xFF
    s = "socketcan_%s_di%d_uc%d" % (iface, instance, unique)
    return s + ("_" + suffix if suffix else "")


def u16(x):
    return struct.pack("<H", x & 0xFFFF)


def i16(x):
    return struct.pack("<h", x)


def u32(x):
    return struct.pack("<I", x & 0xFFFFFFFF)


def fluid_level(instance, fluid, level_pct, capacity_l):
    return bytes([instance | fluid << 4]) + i16(round(level_pct / 0.004)) + u32(round(capacity_l / 0.1)) + b"\xff"


def temperature(sid, instance, source, celsius):
    return bytes([sid, instance, source]) + u16(round((celsius + 273.15) / 0.01)) + b"\xff\xff\xff"


def battery_status(instance, volts, amps, celsius=None):
    t = u16(0xFFFF) if celsius is None else u16(round((celsius + 273.15) / 0.01))
    a = i16(0x7FFF) if amps is None else i16(round(amps / 0.1))
    return bytes([instance]) + i16(round(volts / 0.01)) + a + t + b"\x00"


def dc_detailed(instance, dc_type, soc, soh, minutes):
    return bytes([0, instance, dc_type, soc, soh]) + u16(minutes) + u16(0xFFFF)


def battery_config(instance, capacity_ah):
    return bytes([instance, 0x00 | 0x0C << 0, 0x01 | 0x02 << 4]) + u16(capacity_ah) + bytes([0x7F, 0x7F, 0x7F])


def gnss_second(node, t, sid, lat, lon, cog, sog, days, secs, alt, sats, hdop, pdop):
    """One second of a GNSS receiver: 129025, 129026 (COG true) and 129029."""
    node.single(t, 2, 129025, struct.pack("<ii", round(lat / 1e-7), round(lon / 1e-7)))
    node.single(t + 0.01, 2, 129026, bytes([sid, 0xFC]) + u16(round(cog / 0.0001)) + u16(round(sog / 0.01)) + b"\xff\xff")
    fix = (bytes([sid]) + u16(days) + u32(round(secs / 0.0001)) + struct.pack("<qqq", round(lat / 1e-16), round(lon / 1e-16), round(alt / 1e-6))
           + bytes([0x10 | 0x00, 0xFC, sats]) + i16(hdop) + i16(pdop) + struct.pack("<i", 4700) + bytes([0]))
    node.fast(t + 0.02, 3, 129029, fix)


def started(node, t=0.1):
    node.claim(t)


def single_tank():
    s = Scenario()
    n = name(300111, 137, 150, 75)
    tank = Node(s.bus, 10, n, "TLM100", data_pgn=127505)
    started(tank)
    t = 0.5
    while t < 30:
        tank.single(t, 6, 127505, fluid_level(0, 0, 62.5, 200.0))
        t += 2.5
    svc = V + "tank." + tail(n, "fuel0")
    s.services(20, svc)
    for path, v in [("/Level", 62.5), ("/Capacity", 0.2), ("/Remaining", 0.125), ("/FluidType", 0),
                    ("/Status", 0), ("/ProductId", 41312), ("/N2kDataInstance", 0),
                    ("/N2kUniqueNumber", 300111), ("/N2kDeviceInstance", 0),
                    ("/Mgmt/Connection", "NMEA 2000"), ("/ProductName", "Maretron tank sensor")]:
        s.expect(20, svc, path, v)
    s.write("single-tank.log", """A single-tank sender (written for n2k-dbus): a Maretron TLM100 (class 75, function
150) at address 10 sends 127505 every 2.5 s: fuel, instance 0, 62.5 %, 200 L. It answers
no request, so it is identified when its product information does not come.""")


def four_tanks():
    s = Scenario()
    n = name(300222, 229, 150, 75)
    node = Node(s.bus, 11, n, "GST43", data_pgn=127505)
    started(node)
    tanks = [(0, 0, 40.0, 300.0, "fuel0"), (1, 1, 75.5, 120.0, "freshwater1"),
             (2, 1, 10.0, 80.0, "freshwater2"), (3, 5, 33.3, 60.0, "blackwater3")]
    t = 0.5
    while t < 30:
        for k, (inst, fluid, level, cap, _) in enumerate(tanks):
            node.single(t + k * 0.01, 6, 127505, fluid_level(inst, fluid, level, cap))
        t += 2.5
    names = [V + "tank." + tail(n, sfx) for (_, _, _, _, sfx) in tanks]
    s.services(20, *names)
    for svc, (inst, fluid, level, cap, _) in zip(names, tanks):
        s.expect(20, svc, "/Level", level)
        s.expect(20, svc, "/FluidType", fluid)
        s.expect(20, svc, "/Capacity", cap / 1000)
        s.expect(20, svc, "/Remaining", level / 100 * cap / 1000)
        s.expect(20, svc, "/N2kDataInstance", inst)
    s.write("four-tanks.log", """A 4-tank sender (written for n2k-dbus): one node at 11 sends four tanks, two of them
fresh water. Each tank is its own service, named after fluid and instance.""")


def six_temperatures():
    s = Scenario()
    n = name(300333, 144, 130, 75, instance=2)
    node = Node(s.bus, 12, n, "TMP100", data_pgn=130312)
    started(node)
    chans = [(0, 0, 14.25, "sea0", 4), (1, 1, 21.5, "outside1", 4), (2, 3, 45.0, "engineroom2", 2),
             (3, 4, 22.75, "maincabin3", 3), (4, 7, 4.5, "refrigeration4", 1), (5, 13, -18.0, "freezer5", 6)]
    t = 0.5
    sid = 0
    while t < 30:
        for k, (inst, src, c, _, _) in enumerate(chans):
            node.single(t + k * 0.01, 5, 130312, temperature(sid, inst, src, c))
        sid = (sid + 1) % 250
        t += 2.0
    names = [V + "temperature." + tail(n, sfx) for (_, _, _, sfx, _) in chans]
    s.services(20, *names)
    for svc, (inst, src, c, _, ttype) in zip(names, chans):
        s.expect(20, svc, "/Temperature", c)
        s.expect(20, svc, "/TemperatureType", ttype)
        s.expect(20, svc, "/Status", 0)
        s.expect(20, svc, "/N2kDataInstance", inst)
        s.expect(20, svc, "/N2kDeviceInstance", 2)
    s.write("six-temperatures.log", """A 6-channel temperature module (written for n2k-dbus): device instance 2, six
130312 channels with six sources. One service per channel, suffixed with source and
instance; /TemperatureType defaults from the source.""")


def battery_two_instances():
    s = Scenario()
    n = name(300444, 135, 170, 35)
    node = Node(s.bus, 13, n, "BAT-MON", data_pgn=127508)
    started(node)
    t = 0.5
    while t < 30:
        node.single(t, 6, 127508, battery_status(0, 12.8, -5.2, 25.0))
        node.single(t + 0.01, 6, 127508, battery_status(1, 12.6, None))
        node.fast(t + 0.02, 6, 127506, dc_detailed(0, 0, 87, 98, 600))
        t += 1.5
    node.fast(1.0, 6, 127513, battery_config(0, 200))
    svc = V + "battery." + tail(n)
    s.services(20, svc)
    for path, v in [("/Dc/0/Voltage", 12.8), ("/Dc/0/Current", -5.2), ("/Dc/0/Power", 12.8 * -5.2),
                    ("/Dc/0/Temperature", 25.0), ("/Dc/1/Voltage", 12.6), ("/Soc", 87), ("/Soh", 98),
                    ("/TimeToGo", 36000), ("/InstalledCapacity", 200), ("/Capacity", None),
                    ("/N2kDataInstance", 0), ("/ProductId", None)]:
        s.expect(20, svc, path, v)
    s.write("battery-two-instances.log", """A battery monitor with two DC instances (written for n2k-dbus): house battery
(instance 0: 127508 and 127506 DC type battery) and starter (instance 1: a voltage,
current "not available"). One battery service: /Dc/0 from instance 0, /Dc/1/Voltage
from instance 1.""")


def gps():
    s = Scenario()
    n = name(300555, 229, 145, 60)
    node = Node(s.bus, 14, n, "GPS 24xd", data_pgn=129025)
    started(node)
    lat, lon = 52.3731234, 4.8909876
    t = 0.5
    sid = 0
    while t < 30:
        gnss_second(node, t, sid, lat, lon, 1.5, 2.57, 19700, 43200 + t, 12.5, 9, 80, 150)
        sid = (sid + 1) % 250
        t += 1.0
    svc = V + "gps." + tail(n)
    last = 29.5
    s.services(29.6, svc)
    for path, v in [("/Position/Latitude", round(lat / 1e-7) * 1e-7), ("/Position/Longitude", round(lon / 1e-7) * 1e-7),
                    ("/Course", round(1.5 / 0.0001) * 0.0001 * 180 / 3.141592653589793), ("/Speed", 2.57),
                    ("/Altitude", 12.5), ("/Fix", 1), ("/NrOfSatellites", 9),
                    ("/UtcTime", round((43200 + last) * 1000)), ("/ProductId", 41316)]:
        s.expect(29.6, svc, path, v)
    s.write("gps.log", """A GNSS receiver (written for n2k-dbus): class 60, function 145, sending 129025,
129026 (COG true) and 129029 (GNSS fix, 9 satellites) every second.""")


def three_phase():
    s = Scenario()
    n = name(300666, 1857, 153, 35)
    node = Node(s.bus, 15, n, "AC-3P", data_pgn=127503)
    started(node)
    lines = [(0, 230.1, 10.2, 2300, 0.98), (1, 229.5, 8.1, 1800, 0.95), (2, 231.0, 4.0, 900, 0.9)]
    t = 0.5
    while t < 30:
        payload = bytes([0, 3])
        for line, v, i, p, pf in lines:
            payload += bytes([line | 0 << 2]) + u16(round(v / 0.01)) + u16(round(i / 0.1)) + u16(5000) + u16(0xFFFF) + u32(p) + u32(0) + struct.pack("<b", round(pf / 0.01))
        node.fast(t, 6, 127503, payload)
        t += 1.5
    svc = V + "grid." + tail(n)
    s.services(20, svc)
    for k, (line, v, i, p, pf) in enumerate(lines):
        s.expect(20, svc, "/Ac/L%d/Voltage" % (k + 1), v)
        s.expect(20, svc, "/Ac/L%d/Current" % (k + 1), i)
        s.expect(20, svc, "/Ac/L%d/Power" % (k + 1), p)
        s.expect(20, svc, "/Ac/L%d/PowerFactor" % (k + 1), pf)
    s.expect(20, svc, "/Ac/Power", sum(p for _, _, _, p, _ in lines))
    s.expect(20, svc, "/Ac/Frequency", 50.0)
    s.expect(20, svc, "/NrOfPhases", 3)
    s.write("three-phase-ac.log", """A 3-phase AC meter on shore power (written for n2k-dbus): class 35, function 153
(AC mains), 127503 with three lines in one message. A grid service.""")


def charger():
    s = Scenario()
    n = name(300777, 1857, 160, 35)
    node = Node(s.bus, 16, n, "CHG-40", data_pgn=127507)
    started(node)
    t = 0.5
    while t < 30:
        node.fast(t, 6, 127507, bytes([0, 1, 0x01 | 0x00 << 4, 0x01 | 0x00 << 2 | 0xF0]) + u16(0xFFFF))
        node.single(t + 0.01, 6, 127508, battery_status(1, 13.9, 20.0, 30.0))
        t += 1.5
    svc = V + "charger." + tail(n)
    s.services(20, svc)
    for path, v in [("/Dc/0/Voltage", 13.9), ("/Dc/0/Current", 20.0), ("/Dc/0/Temperature", 30.0),
                    ("/State", 3), ("/Mode", 1), ("/NrOfOutputs", 1)]:
        s.expect(20, svc, path, v)
    s.write("charger.log", """A battery charger (written for n2k-dbus): class 35, function 160; 127507 (bulk, on)
for battery instance 1, whose output 127508 it also sends. One charger service; the
output is not a battery of its own.""")


def converter_status(sid, conn, state, temp=0, overload=0, low_v=0, ripple=0):
    """127750: connection, operating state, four 2-bit conditions (0 good, 1 warning, 2 error)."""
    return bytes([sid, conn, state, temp | overload << 2 | low_v << 4 | ripple << 6]) + b"\xff" * 4


def dc_voltage_current(sid, conn, volts, amps):
    """127751: connection, voltage (0.1 V), current (int24, 0.01 A)."""
    return bytes([sid, conn]) + u16(round(volts / 0.1)) + struct.pack("<i", round(amps / 0.01))[:3] + b"\xff"


def converters():
    s = Scenario()
    # (unique, function, address, model, [(t0, pgn, payload)]) – each repeated every 1.5 s.
    dcdc_n = name(301201, 1857, 163, 35)
    inv_n = name(301202, 1857, 162, 35)
    chg_n = name(301203, 1857, 160, 35)
    meter_n = name(301204, 137, 140, 35)
    late_n = name(301205, 137, 140, 35)
    dcdc = Node(s.bus, 30, dcdc_n, "DCDC-30", data_pgn=127750)
    inv = Node(s.bus, 31, inv_n, "INV-3000", data_pgn=127750)
    chg = Node(s.bus, 32, chg_n, "CHG-20", data_pgn=127750)
    meter = Node(s.bus, 33, meter_n, "DCM-1", data_pgn=127751)
    late = Node(s.bus, 34, late_n, "DCM-2", data_pgn=127751)
    for node in (dcdc, inv, chg, meter, late):
        started(node)
    t = 0.5
    sid = 0
    while t < 30:
        dcdc.single(t, 6, 127751, dc_voltage_current(sid, 0, 13.6, 12.34))
        dcdc.single(t + 0.01, 6, 127750, converter_status(sid, 0, 3, temp=1))
        inv.single(t, 6, 127750, converter_status(sid, 1, 9, overload=2))
        inv.single(t + 0.01, 6, 127751, dc_voltage_current(sid, 1, 24.5, -40.25))
        # Its AC output (instance 1, one line measured) before the 127509 that names
        # it: instance 1, AC 1, DC 1 (no 127508: its 127751 shows), inverting, enabled.
        inv.fast(t + 0.02, 6, 127504, bytes([1, 1, 0]) + u16(round(230.0 / 0.01)) + u16(round(4.2 / 0.1))
                 + u16(round(50.0 / 0.01)) + u16(0xFFFF) + u32(900) + u32(0xFFFFFFFF) + b"\x7f")
        inv.fast(t + 0.03, 6, 127509, bytes([1, 1, 1, 0 | 1 << 4]))  # fast packet (canboat)
        chg.single(t, 6, 127750, converter_status(sid, 0, 5))
        chg.single(t + 0.01, 6, 127751, dc_voltage_current(sid, 0, 13.5, 3.2))
        meter.single(t, 6, 127751, dc_voltage_current(sid, 2, 12.8, 5.5))
        # Its voltage and current first; its status from 2 s on.
        late.single(t, 6, 127751, dc_voltage_current(sid, 0, 27.2, 8.0))
        if t >= 2:
            late.single(t + 0.01, 6, 127750, converter_status(sid, 0, 5, low_v=2))
        t += 1.5
        sid = (sid + 1) % 250
    svc = {
        "dcdc": V + "dcdc." + tail(dcdc_n),
        "inv": V + "inverter." + tail(inv_n),
        "chg": V + "charger." + tail(chg_n),
        "meter": V + "dcsource." + tail(meter_n),
        "late": V + "dcdc." + tail(late_n),
    }
    # The meter waits 5 s for a status that would make it a converter.
    s.services(3, svc["dcdc"], svc["inv"], svc["chg"], svc["late"])
    s.services(20, *svc.values())
    for key, path, v in [
        ("dcdc", "/Dc/0/Voltage", 13.6), ("dcdc", "/Dc/0/Current", 12.34), ("dcdc", "/Dc/0/Power", 13.6 * 12.34),
        ("dcdc", "/State", 3), ("dcdc", "/Alarms/HighTemperature", 1), ("dcdc", "/Alarms/Overload", 0),
        ("dcdc", "/Alarms/LowVoltage", 0), ("dcdc", "/Alarms/Ripple", 0),
        ("inv", "/State", 9), ("inv", "/Mode", 2), ("inv", "/Dc/0/Voltage", 24.5), ("inv", "/Dc/0/Current", -40.25),
        ("inv", "/Dc/0/Power", 24.5 * -40.25), ("inv", "/Alarms/Overload", 2), ("inv", "/Alarms/HighTemperature", 0),
        ("inv", "/Ac/Out/L1/V", 230.0), ("inv", "/Ac/Out/L1/I", 4.2), ("inv", "/Ac/Out/L1/P", 900),
        ("inv", "/Ac/Out/L1/F", 50.0),
        ("chg", "/State", 5), ("chg", "/Dc/0/Voltage", 13.5), ("chg", "/Dc/0/Current", 3.2), ("chg", "/NrOfOutputs", 1),
        ("chg", "/Alarms/LowVoltage", 0), ("chg", "/Mode", None),
        ("meter", "/Dc/0/Voltage", 12.8), ("meter", "/Dc/0/Current", 5.5), ("meter", "/Dc/0/Power", 12.8 * 5.5),
        ("meter", "/Dc/0/Temperature", None),
        ("late", "/State", 5), ("late", "/Dc/0/Voltage", 27.2), ("late", "/Alarms/LowVoltage", 2),
    ]:
        s.expect(20, svc[key], path, v)
    s.write("converters.log", """Converters (written for n2k-dbus; no shared capture carries 127750 or 127751): a DC-DC
converter (35/163), an inverter (35/162) and a charger (35/160) sending 127750 and
127751, a meter of another function sending only 127751 (a DC source, 5 s after its
first reading), and one of that function whose 127750 follows its 127751 by 1.5 s (a
DC-DC converter, never a DC source). Every 1.5 s. The inverter also sends 127509
(inverting, enabled) naming its AC output 1, whose 127504 (230 V, 4.2 A, 900 W) comes just
before it: the inverter shows that line, and no acload service appears for it.""")


def going_silent():
    s = Scenario()
    n = name(300888, 137, 150, 75)
    tank = Node(s.bus, 17, n, "TLM100", data_pgn=127505)
    started(tank)
    t = 0.5
    while t < 11:
        tank.single(t, 6, 127505, fluid_level(1, 1, 55.0, 100.0))
        t += 2.5
    # The last frame goes at 10.5 s; a display keeps the bus (and the clock) going.
    d = name(300999, 229, 130, 120)
    disp = Node(s.bus, 20, d, "GMI 20")
    disp.claim(0.2)
    for k in range(60):
        disp.heartbeat(0.3 + k * 0.5, k % 250, interval_ms=500)
    svc = V + "tank." + tail(n, "freshwater1")
    s.services(12, svc)
    s.expect(12, svc, "/Level", 55.0)
    s.expect(12, svc, "/Status", 0)
    # 7.5 s after the last level the value is stale; the device is still on the bus.
    s.services(18.5, svc)
    s.expect(18.5, svc, "/Level", None)
    s.expect(18.5, svc, "/Remaining", None)
    s.expect(18.5, svc, "/Status", 4)
    # Probed from 8 s of silence, twice, gone 2 s after the second: service withdrawn.
    s.services(25)
    s.write("going-silent.log", """A device going silent (written for n2k-dbus): a tank sender's last level is at 10.5 s.
Its values turn invalid 7.5 s later (three 2.5 s intervals); it does not answer the
liveness probes, is gone, and its service is withdrawn.""")


def address_change():
    s = Scenario()
    n = name(301111, 137, 150, 75)
    tank = Node(s.bus, 18, n, "TLM100", data_pgn=127505)
    started(tank)
    t = 0.5
    while t < 15:
        tank.single(t, 6, 127505, fluid_level(0, 0, 20.0, 100.0))
        t += 2.5
    tank.claim(15.2, addr=19)
    t = 15.5
    while t < 30:
        tank.single(t, 6, 127505, fluid_level(0, 0, 21.0, 100.0))
        t += 2.5
    svc = V + "tank." + tail(n, "fuel0")
    s.services(14, svc)
    s.expect(14, svc, "/Level", 20.0)
    s.services(29, svc)
    s.expect(29, svc, "/Level", 21.0)
    s.write("address-change.log", """A device that changes address (written for n2k-dbus): a tank sender at 18 claims 19
at 15.2 s and goes on from there with a new level. Same NAME, same service: it is
never withdrawn or published again.""")


def boat():
    """Two minutes of a boat for `n2k-dbus demo`: values move as on a real bus."""
    import math
    s = Scenario()
    end = 120.0
    tank_n = name(400101, 229, 150, 75)
    tanks = Node(s.bus, 11, tank_n, "GST43", data_pgn=127505)
    temp_n = name(400102, 144, 130, 75, instance=1)
    temps = Node(s.bus, 12, temp_n, "TMP100", data_pgn=130312)
    bat_n = name(400103, 135, 170, 35)
    bat = Node(s.bus, 13, bat_n, "BMV-712", data_pgn=127508)
    gps_n = name(400104, 229, 145, 60)
    gnss = Node(s.bus, 14, gps_n, "GPS 24xd", data_pgn=129025)
    grid_n = name(400105, 1857, 153, 35)
    grid = Node(s.bus, 15, grid_n, "AC-1P", data_pgn=127503)
    chg_n = name(400106, 1857, 160, 35)
    chg = Node(s.bus, 16, chg_n, "CHG-40", data_pgn=127507)
    for k, node in enumerate([tanks, temps, bat, gnss, grid, chg]):
        started(node, 0.1 + k * 0.01)
        node.product(0.2 + k * 0.05)

    def fuel(t):
        return 62.0 - 0.05 * t

    def water(t):
        return 80.0 - 0.1 * t

    def amps(t):
        return 12.0 + 6.0 * math.sin(t / 9.0)

    def volts(t):
        return 13.2 + 0.01 * amps(t)

    def soc(t):
        return 80 + int(t / 20)

    def sea(t):
        return 14.0 + 0.5 * math.sin(t / 30.0)

    def cabin(t):
        return 21.0 + 0.02 * t

    def position(t):
        return 52.3731 + 0.00002 * t, 4.8909 + 0.00003 * t

    def watts(t):
        return 1200 + 40 * (int(t) % 15)

    tank_list = [(0, 0, 300.0, fuel, "fuel0"), (1, 1, 200.0, water, "freshwater1"),
                 (2, 5, 80.0, lambda t: 20.0 + 0.05 * t, "blackwater2")]
    t = 0.5
    while t < end:
        for k, (inst, fluid, cap, level, _) in enumerate(tank_list):
            tanks.single(t + k * 0.01, 6, 127505, fluid_level(inst, fluid, level(t), cap))
        t += 2.5
    temp_list = [(0, 0, sea, "sea0"), (1, 4, cabin, "maincabin1"), (2, 7, lambda t: 4.0, "refrigeration2")]
    t, sid = 0.7, 0
    while t < end:
        for k, (inst, src, c, _) in enumerate(temp_list):
            temps.single(t + k * 0.01, 5, 130312, temperature(sid, inst, src, c(t)))
        sid = (sid + 1) % 250
        t += 2.0
    t = 0.9
    while t < end:
        bat.single(t, 6, 127508, battery_status(0, volts(t), amps(t), 24.0))
        bat.fast(t + 0.01, 6, 127506, dc_detailed(0, 0, soc(t), 99, 0xFFFF))
        chg.fast(t + 0.3, 6, 127507, bytes([0, 1, 0x02 | 0x00 << 4, 0x01 | 0x00 << 2 | 0xF0]) + u16(0xFFFF))
        chg.single(t + 0.31, 6, 127508, battery_status(1, 14.2, 25.0, 31.0))
        t += 1.0
    bat.fast(1.0, 6, 127513, battery_config(0, 400))
    t, sid = 0.3, 0
    while t < end:
        lat, lon = position(t)
        gnss_second(gnss, t, sid, lat, lon, 0.98, 2.3, 20400, 36000 + t, 3.0, 11, 70, 130)
        sid = (sid + 1) % 250
        t += 1.0
    t = 0.6
    while t < end:
        w = watts(t)
        payload = bytes([0, 1]) + bytes([0]) + u16(round(230.0 / 0.01)) + u16(round(w / 230.0 / 0.1)) + u16(5000) + u16(0xFFFF) + u32(w) + u32(0) + struct.pack("<b", 97)
        grid.fast(t, 6, 127503, payload)
        t += 1.5
    last = end - 0.5
    svcs = ([V + "tank." + tail(tank_n, x[4]) for x in tank_list] + [V + "temperature." + tail(temp_n, x[3]) for x in temp_list]
            + [V + "battery." + tail(bat_n), V + "gps." + tail(gps_n), V + "grid." + tail(grid_n), V + "charger." + tail(chg_n)])
    s.services(last, *svcs)
    last_tank = max(x for x in [0.5 + 2.5 * k for k in range(100)] if x < end)
    for inst, fluid, cap, level, sfx in tank_list:
        s.expect(last, V + "tank." + tail(tank_n, sfx), "/Level", round(level(last_tank) / 0.004) * 0.004)
    last_bat = max(x for x in [0.9 + k for k in range(200)] if x < end)
    s.expect(last, V + "battery." + tail(bat_n), "/Soc", soc(last_bat))
    s.expect(last, V + "battery." + tail(bat_n), "/Dc/0/Voltage", round(volts(last_bat) / 0.01) * 0.01)
    s.expect(last, V + "battery." + tail(bat_n), "/InstalledCapacity", 400)
    s.expect(last, V + "charger." + tail(chg_n), "/Dc/0/Current", 25.0)
    s.expect(last, V + "gps." + tail(gps_n), "/NrOfSatellites", 11)
    s.write("demo-boat.log", """Two minutes of a boat (written for n2k-dbus, played by `n2k-dbus demo`): a 3-tank
sender, a 3-channel temperature module, a battery monitor, a GNSS receiver, a shore
power meter and a charger, each with its claim and product information; levels fall,
the current swings, the boat moves.""")


if __name__ == "__main__":
    single_tank()
    four_tanks()
    six_temperatures()
    battery_two_instances()
    gps()
    three_phase()
    charger()
    converters()
    going_silent()
    address_change()
    boat()
