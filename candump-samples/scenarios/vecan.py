#!/usr/bin/env python3
"""Writes the Victron VE.Can product scenarios of `vecan/`: Victron devices
(manufacturer 358) broadcasting their registers (VREG, PGN 61184 single frame and
126720 fast packet) and standard PGNs, and what a D-Bus client must read, in the
`#=` lines of `venus.py`.

Every register is encoded here from the register facts in
`docs/vecan-products.md`, each cited below by its section there: [payload] and [flows]
of the register protocol, [identity], [state], [chargers], [battery monitors], [link]
(the DVCC link), [BMS], [per product] (the standard PGNs per product);
the standard PGNs from `venus.py`'s encoders. The expected values are written out
from those same facts, never from the gateway's decoder. Which register feeds which
path is the project's reading (docs/vecan-products.md#products-and-their-services, marked inferred there).

    python3 candump-samples/scenarios/vecan.py
"""

import os
import struct

from make import name
from venus import Node, Scenario, V, tail, u16, i16, u32, battery_status, dc_detailed

import venus

venus.HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vecan")

VICTRON = 358
TAG = b"\x66\x99"  # [payload]: manufacturer 358, industry 4, little-endian


def vreg(node, t, reg, value):
    """A register broadcast ([flows]: answers and spontaneous values go to 255): one
    frame on 61184 when it fits (padded to 8 bytes), else a fast packet on 126720."""
    payload = TAG + u16(reg) + value
    if len(payload) <= 8:
        node.single(t, 7, 61184, payload + b"\x00" * (8 - len(payload)))
    else:
        node.fast(t, 7, 126720, payload)


def u8(x):
    return bytes([x & 0xFF])


def s32(x):
    return struct.pack("<i", x)


def text(s):
    return s.encode() + b"\x00"


def identity(node, t, product_id=None, firmware=None, serial=None, model=None):
    """[identity]: 0x0100 sub-id · u16 id · flags; 0x0102 sub-id · u24; 0x010A/0x010B text."""
    if product_id is not None:
        vreg(node, t, 0x0100, u8(0) + u16(product_id) + u8(0xFF))
    if firmware is not None:
        vreg(node, t + 0.01, 0x0102, u8(0) + u32(firmware)[:3])
    if serial is not None:
        vreg(node, t + 0.02, 0x010A, text(serial))
    if model is not None:
        vreg(node, t + 0.03, 0x010B, text(model))


def charger_status(instance, battery, state, enabled):
    """127507 as venus.py's charger scenario sends it."""
    return bytes([instance, battery, state | 0 << 4, enabled | 0 << 2 | 0xF0]) + u16(0xFFFF)


def mppt():
    s = Scenario()
    n = name(40001, VICTRON, 160, 35)
    node = Node(s.bus, 0x20, n, "SmartSolar MPPT VE.Can 150/70")
    node.claim(0.1)
    identity(node, 0.3, firmware=0x0315FF, serial="HQ2132ABCDE", model="SmartSolar MPPT VE.Can 150/70")
    t = 0.5
    while t < 30:
        if abs(t - 15.5) < 1e-9:
            node.claim(15.2, addr=0x21)            # it moves; its identity is not sent again
        vreg(node, t, 0xEDBB, u16(4567))           # [chargers] PV voltage, 0.01 V
        vreg(node, t + 0.01, 0xEDBD, u16(52))      # [chargers] PV current, 0.1 A
        vreg(node, t + 0.02, 0xEDBC, u32(23748))   # [chargers] PV power, 0.01 W
        vreg(node, t + 0.03, 0xEDD5, u16(1352))    # [chargers] charger voltage, 0.01 V
        vreg(node, t + 0.04, 0xEDD7, i16(169))     # [chargers] charger current, s16 0.1 A
        vreg(node, t + 0.05, 0x0201, u8(3))        # [state] device state: bulk
        vreg(node, t + 0.06, 0xEDDA, u8(0))        # [chargers] error code
        vreg(node, t + 0.07, 0xEDB3, u8(2))        # [chargers] MPP mode: tracking
        vreg(node, t + 0.08, 0xEDDC, u32(12345))   # [chargers] user yield, 0.01 kWh
        vreg(node, t + 0.09, 0xEDDD, u32(23456))   # [chargers] system yield, 0.01 kWh
        vreg(node, t + 0.10, 0xEDD3, u32(123))     # [chargers] yield today, 0.01 kWh
        vreg(node, t + 0.11, 0xEDD2, u32(412))     # [chargers] max power today, W
        vreg(node, t + 0.12, 0x0200, u8(1))        # [state] device mode
        # The standard PGNs it also sends ([per product]): its battery side, and 127507,
        # which alone would make a generic charger service.
        node.single(t + 0.2, 6, 127508, battery_status(0, 13.50, 16.8))
        node.fast(t + 0.3, 6, 127507, charger_status(0, 0, 1, 1))
        t += 1.0
    svc = V + "solarcharger." + tail(n)
    s.services(20, svc)
    for path, v in [("/Pv/V", 45.67), ("/Pv/I", 5.2), ("/Yield/Power", 237.48),
                    ("/Dc/0/Voltage", 13.52), ("/Dc/0/Current", 16.9), ("/State", 3),
                    ("/ErrorCode", 0), ("/MppOperationMode", 2), ("/Yield/User", 123.45),
                    ("/Yield/System", 234.56), ("/History/Daily/0/Yield", 1.23),
                    ("/History/Daily/0/MaxPower", 412), ("/Mode", 1),
                    ("/ProductName", "SmartSolar MPPT VE.Can 150/70"), ("/ProductId", None),
                    ("/FirmwareVersion", 0x0315FF), ("/Serial", "HQ2132ABCDE"),
                    ("/N2kUniqueNumber", 40001), ("/Mgmt/Connection", "VE.Can"),
                    ("/Devices/0/Nad", 0x21), ("/Devices/0/Gateway", "socketcan:can0"),
                    ("/Link/ChargeCurrent", None)]:
        s.expect(20, svc, path, v)
    s.write("mppt.log", """A SmartSolar MPPT VE.Can (written for n2k-dbus from docs/vecan-products.md): NAME
manufacturer 358, class 35, function 160, at 0x20. It broadcasts its firmware, serial and
model name (0x0102, 0x010A, 0x010B; the model on 126720 as a fast packet) and every
second its PV side, battery side, state, yields and mode as registers, plus 127508 and
127507. No product id: the ids of VE.Can MPPTs are not in the shared sources, so it is
recognised by its model name. One solarcharger service, no charger; the battery side
shows the registers (13.52 V, 16.9 A), which come before 127508 (13.50 V, 16.8 A). At
15.2 s it moves to 0x21: the same service, its identity kept, /Devices/0/Nad 33.""")


def skylla():
    s = Scenario()
    n = name(15639, VICTRON, 160, 35)
    node = Node(s.bus, 166, n, "Skylla-i 24/100 (3)")
    node.claim(0.1)
    identity(node, 0.3, product_id=262, firmware=0x000207, model="Skylla-i 24/100 (3)")
    outputs = [(0, 26.42, 0.0), (1, 27.42, 0.0), (2, 24.42, 2.3)]
    t = 0.5
    while t < 30:
        for k, (i, v, a) in enumerate(outputs):
            node.single(t + k * 0.01, 6, 127508, battery_status(i, v, a))
        vreg(node, t + 0.05, 0xEDDE, u8(3))        # [chargers] number of outputs
        vreg(node, t + 0.06, 0x0203, u16(40))      # [state] AC input limit, 0.1 A
        vreg(node, t + 0.07, 0x0201, u8(6))        # [state] device state: storage
        vreg(node, t + 0.08, 0x0200, u8(1))        # [state] device mode
        vreg(node, t + 0.09, 0xEDDA, u8(0))        # [chargers] error code
        vreg(node, t + 0.10, 0xEDD8, u8(0))        # [chargers] relay open
        vreg(node, t + 0.11, 0xEDF0, u16(1000))    # [chargers] max charge current, 0.1 A
        t += 1.0
    svc = V + "charger." + tail(n)
    s.services(20, svc)
    for path, v in [("/Dc/0/Voltage", 26.42), ("/Dc/1/Voltage", 27.42), ("/Dc/2/Voltage", 24.42),
                    ("/Dc/0/Current", 0.0), ("/Dc/1/Current", 0.0), ("/Dc/2/Current", 2.3),
                    ("/NrOfOutputs", 3), ("/Ac/In/CurrentLimit", 4.0), ("/State", 6), ("/Mode", 1),
                    ("/ErrorCode", 0), ("/Relay/0/State", 0), ("/Settings/ChargeCurrentLimit", 100.0),
                    ("/ProductId", 262), ("/FirmwareVersion", 519),
                    ("/ProductName", "Skylla-i 24/100 (3)"), ("/Devices/0/ProductId", 262)]:
        s.expect(20, svc, path, v)
    s.write("skylla.log", """A Skylla-i 24/100 (3) (written for n2k-dbus from docs/vecan-products.md and
skylla-charger.json): product id 262, firmware 0x000207; three outputs in 127508 instances
0-2 with the dump's voltages and currents, and its registers every second. One charger
service with /Dc/0..2.""")


def lynx_shunt():
    s = Scenario()
    n = name(70101, VICTRON, 170, 35)
    node = Node(s.bus, 0x30, n, "Lynx Shunt 1000A VE.Can")
    node.claim(0.1)
    identity(node, 0.3, product_id=321, firmware=0x0112FF)
    t = 0.5
    while t < 30:
        node.single(t, 6, 127508, battery_status(0, 26.61, -12.3, 21.5))
        node.fast(t + 0.01, 6, 127506, dc_detailed(0, 0, 87, 100, 600))
        vreg(node, t + 0.02, 0x0FFF, u16(8765))    # [battery monitors] SoC, 0.01 %
        vreg(node, t + 0.03, 0x0FFE, u16(540))     # [battery monitors] time to go, minutes
        vreg(node, t + 0.04, 0x0FFC, s32(-985))    # [battery monitors] consumed Ah, 0.1 Ah
        vreg(node, t + 0.05, 0x1000, u16(800))     # [battery monitors] capacity, Ah
        vreg(node, t + 0.06, 0x0300, s32(-3456))   # [battery monitors] deepest discharge, 0.1 Ah
        vreg(node, t + 0.07, 0x0303, s32(42))      # [battery monitors] charge cycles
        vreg(node, t + 0.08, 0x031E, u16(0x0001))  # [battery monitors] alarm reason: bit 0 low voltage
        t += 1.0
    svc = V + "battery." + tail(n)
    s.services(20, svc)
    for path, v in [("/Dc/0/Voltage", 26.61), ("/Dc/0/Current", -12.3), ("/Dc/0/Temperature", 21.5),
                    ("/Soc", 87.65), ("/TimeToGo", 32400), ("/ConsumedAmphours", -98.5),
                    ("/Capacity", 800), ("/History/DeepestDischarge", -345.6),
                    ("/History/ChargeCycles", 42), ("/Alarms/LowVoltage", 2),
                    ("/Alarms/HighVoltage", 0), ("/ProductId", 321), ("/FirmwareVersion", 0x0112FF),
                    ("/ProductName", "Lynx Shunt VE.Can")]:
        s.expect(20, svc, path, v)
    s.write("lynx-shunt.log", """A Lynx Shunt VE.Can (written for n2k-dbus from docs/vecan-products.md): product id
321, no model name (the table's name shows). 127508 and 127506 every second, and its
monitor registers: SoC 87.65 % (the register, more precise than 127506's 87 %), time to
go, consumed Ah, capacity, history and the low-voltage alarm bit. A battery service
without the BMS limits (/Info/*), which a plain monitor must not publish (tests/it/vecan_products.rs
checks they are absent).""")


def lynx_bms():
    s = Scenario()
    n = name(80202, VICTRON, 170, 35)
    node = Node(s.bus, 0x31, n, "Lynx Smart BMS 500 NG")
    node.claim(0.1)
    identity(node, 0.3, product_id=41959, firmware=0x0113FF, model="Lynx Smart BMS 500 NG")
    t = 0.5
    while t < 30:
        # [BMS] IO 2-bit fields (0 n/a, 1 yes, 2 no): contactor closed, allowed to
        # charge, allowed to discharge. Charging is disallowed from 10 s on.
        charge = 1 if t < 10 else 2
        io = 1 | charge << 2 | 1 << 4
        node.single(t, 6, 127508, battery_status(0, 27.20, 35.0))
        vreg(node, t + 0.01, 0x2108, u16(io))
        vreg(node, t + 0.02, 0x2001, u16(2840))    # [link] charge voltage, 0.01 V
        vreg(node, t + 0.03, 0x2015, u16(2000))    # [link] charge current limit, 0.1 A
        vreg(node, t + 0.04, 0x2017, u16(4000))    # [link] discharge current limit, 0.1 A
        vreg(node, t + 0.05, 0x201B, u16(2200))    # [link] discharge voltage limit, 0.01 V
        vreg(node, t + 0.06, 0x0FFF, u16(8977))    # [battery monitors] SoC
        vreg(node, t + 0.07, 0x2102, u8(9))        # [BMS] BMS state (dump: 9 Running)
        vreg(node, t + 0.08, 0x0385, u16(331) + u16(336))  # [BMS] min/max cell voltage
        vreg(node, t + 0.09, 0x2107, u16(0x0055))  # [BMS] warnings/alarms: all four "ok"
        t += 1.0
    svc = V + "battery." + tail(n)
    s.services(8, svc)
    s.expect(8, svc, "/Io/AllowToCharge", 1)
    s.expect(8, svc, "/Io/AllowToDischarge", 1)
    s.services(20, svc)
    for path, v in [("/Io/AllowToCharge", 0), ("/Io/AllowToDischarge", 1),
                    ("/Info/MaxChargeVoltage", 28.4), ("/Info/MaxChargeCurrent", 200.0),
                    ("/Info/MaxDischargeCurrent", 400.0), ("/Info/BatteryLowVoltage", 22.0),
                    ("/Soc", 89.77), ("/State", 9), ("/System/MinCellVoltage", 3.31),
                    ("/System/MaxCellVoltage", 3.36), ("/Alarms/LowCellVoltage", 0),
                    ("/Alarms/HighCurrent", 0), ("/Dc/0/Voltage", 27.2), ("/ProductId", 41959),
                    ("/ProductName", "Lynx Smart BMS 500 NG")]:
        s.expect(20, svc, path, v)
    s.write("lynx-bms.log", """A Lynx Smart BMS NG (written for n2k-dbus from docs/vecan-products.md and
lynxbms.json): product id 41959; its DVCC limits as link registers, IO, SoC, state, cell
extremes and alarms every second. Allowed to charge until 10 s, then not: /Io/AllowToCharge
follows.""")


def multi_rs():
    s = Scenario()
    n = name(90303, VICTRON, 153, 35)
    node = Node(s.bus, 0x40, n, "Multi RS Solar")
    node.claim(0.1)
    identity(node, 0.3, product_id=42050, firmware=0x0122FF, model="Multi RS Solar 48V/6000VA/100A")

    def ac(line, v, i, f, p):
        return bytes([line | 0 << 2]) + u16(round(v / 0.01)) + u16(round(i / 0.1)) + u16(round(f / 0.01)) + u16(0xFFFF) + u32(p) + u32(0) + struct.pack("<b", 100)

    t = 0.5
    while t < 30:
        node.single(t, 6, 127508, battery_status(0, 53.04, -0.3))
        node.fast(t + 0.01, 6, 127503, bytes([0, 1]) + ac(0, 230.1, 4.2, 50.01, 950))
        node.fast(t + 0.03, 6, 127504, bytes([0, 1]) + ac(0, 231.2, 3.9, 50.0, 880))
        vreg(node, t + 0.05, 0x0201, u8(9))        # [state] state: inverting
        vreg(node, t + 0.06, 0x0200, u8(3))        # [state] mode
        vreg(node, t + 0.07, 0x0204, u8(0))        # [state] active AC input: AC-in 1
        vreg(node, t + 0.08, 0x0210, u16(160))     # [state] AC-in 1 limit, 0.1 A
        t += 1.0
    svc = V + "multi." + tail(n)
    s.services(20, svc)
    for path, v in [("/Dc/0/Voltage", 53.04), ("/Dc/0/Current", -0.3),
                    ("/Ac/In/1/L1/V", 230.1), ("/Ac/In/1/L1/I", 4.2), ("/Ac/In/1/L1/F", 50.01),
                    ("/Ac/In/1/L1/P", 950), ("/Ac/Out/L1/V", 231.2), ("/Ac/Out/L1/I", 3.9),
                    ("/Ac/Out/L1/F", 50.0), ("/Ac/Out/L1/P", 880), ("/State", 9), ("/Mode", 3),
                    ("/Ac/ActiveIn/ActiveInput", 0), ("/Ac/In/1/CurrentLimit", 16.0),
                    ("/ProductId", 42050), ("/ProductName", "Multi RS Solar 48V/6000VA/100A")]:
        s.expect(20, svc, path, v)
    s.write("multi-rs.log", """A Multi RS (written for n2k-dbus from docs/vecan-products.md): product id 42050; DC in
127508, AC input and output in 127503/127504 (one line each; which PGNs a Multi RS sends
is not public, these are the standard ones), state, mode, active input and the AC-in 1
limit as registers. One multi service.""")


def vebus_interface():
    s = Scenario()
    unique = 123456
    inv = Node(s.bus, 0x50, name(unique, VICTRON, 153, 35), "VE.Bus to NMEA2000")
    acin = Node(s.bus, 0x51, name(unique, VICTRON, 154, 35), "VE.Bus to NMEA2000")
    inv.claim(0.1)
    acin.claim(0.15)

    def j1939_ac(volts, hz, amps):
        # 65014 (canboat): line-line V (n/a), line-neutral V (1 V), frequency
        # (1/128 Hz), current (1 A).
        return u16(0xFFFF) + u16(volts) + u16(round(hz * 128)) + u16(amps)

    def j1939_power(watts):
        # 65013: real and apparent power, s32 with offset -2e9 W (n/a: apparent).
        return u32(watts + 2000000000) + u32(0xFFFFFFFF)

    t = 0.5
    while t < 30:
        inv.single(t, 6, 127508, battery_status(0, 26.80, -5.0, 25.0))
        inv.fast(t + 0.01, 6, 127506, dc_detailed(0, 0, 76, 100, 0xFFFF))
        # 127509: instances 0, state 1 "AC passthru", inverter enabled.
        inv.fast(t + 0.02, 6, 127509, bytes([0, 0, 0, 1 | 1 << 4 | 0xC0]))
        inv.single(t + 0.03, 3, 65014, j1939_ac(230, 50.0, 4))
        inv.single(t + 0.04, 3, 65013, j1939_power(920))
        acin.single(t + 0.05, 3, 65014, j1939_ac(231, 50.0, 5))
        acin.single(t + 0.06, 3, 65013, j1939_power(1100))
        t += 1.5
    svc = V + "multi." + tail(name(unique, VICTRON, 153, 35))
    s.services(20, svc)
    for path, v in [("/Dc/0/Voltage", 26.8), ("/Dc/0/Current", -5.0), ("/Dc/0/Temperature", 25.0),
                    ("/Soc", 76), ("/State", 8), ("/Ac/Out/L1/V", 230), ("/Ac/Out/L1/I", 4),
                    ("/Ac/Out/L1/F", 50.0), ("/Ac/Out/L1/P", 920), ("/Ac/In/1/L1/V", 231),
                    ("/Ac/In/1/L1/I", 5), ("/Ac/In/1/L1/F", 50.0), ("/Ac/In/1/L1/P", 1100),
                    ("/Devices/0/Nad", 0x50), ("/ProductId", None), ("/Mgmt/Connection", "VE.Can")]:
        s.expect(20, svc, path, v)
    s.write("vebus-interface.log", """A VE.Bus-to-NMEA 2000 interface (written for n2k-dbus from docs/vecan-products.md#vebus-systems):
two addresses with one unique number, function 153 "Inverter" (127508, 127506, 127509,
and J1939 65014/65013 for AC out) and 154 "AC Input monitor" (65014/65013 for AC in).
It names no product: after the 10 s a Victron device has to show its product id or
model, the functions tell. One multi service, its AC input from the second address; no
battery service from its 127508.""")


if __name__ == "__main__":
    mppt()
    skylla()
    lynx_shunt()
    lynx_bms()
    multi_rs()
    vebus_interface()
