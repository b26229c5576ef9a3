#!/usr/bin/env python3
"""Writes the NMEA 2000 alert scenario of `alerts/` (docs/switching-alerts.md#alert-pgns): an
alarm panel that raises, repeats, clears and raises again alerts about itself, as
candump -l lines. No shared capture carries 126983/126985; every byte here is
encoded from the layout in that document, nothing from the gateway's decoder.

    python3 candump-samples/scenarios/alerts.py
"""

import os

from make import Bus, Node, name

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "alerts")

# An alarm panel: Maretron (137), Safety systems (class 20), function 140 as Dirona's
# alarm enunciator at 24; unique 1460999, device instance 0.
PANEL = name(1460999, 137, 140, 20)
ADDR = 0x30


def header(kind, system, sub, alert_id, occurrence, about=PANEL):
    return (bytes([kind | 1 << 4, system, sub]) + alert_id.to_bytes(2, "little")
            + about.to_bytes(8, "little") + bytes([0, 0, occurrence]))


def alert(h, state):
    # Acknowledge supported (byte 16 bit 4), no acknowledger NAME, trigger auto (1),
    # threshold exceeded (1), priority 1, the state.
    return h + bytes([0x10]) + bytes(8) + bytes([0x11, 1, state])


def lau(s):
    b = s.encode()
    return bytes([len(b) + 2, 1]) + b


def text(h, description, location):
    return h + bytes([0]) + lau(description) + lau(location)


def bilge():
    bus = Bus()
    panel = Node(bus, ADDR, PANEL, "ALM100", serial="1460999")
    panel.claim(0.1)
    panel.product(0.2)
    high_water = header(2, 5, 1, 7, 1)  # alarm, system 5, sub-system 1, id 7
    door = header(5, 5, 2, 8, 1)        # warning, id 8: never a text
    for k in range(30):
        t = 1.0 + k
        if t < 21 or t >= 25:
            panel.fast(t, 2, 126983, alert(high_water, 2))
        elif t < 23:
            panel.fast(t, 2, 126983, alert(high_water, 1))
        if t >= 2:
            panel.fast(t + 0.1, 2, 126983, alert(door, 2))
    # The text 2.5 s after its alert became active, then every 10 s.
    for t in (3.5, 13.5, 26.5):
        panel.fast(t, 6, 126985, text(high_water, "Bilge high water", "Engine Room"))
    lines = sorted(bus.lines)
    with open(os.path.join(HERE, "bilge.log"), "w") as f:
        f.write("""# An alarm panel's alerts (written for n2k-dbus; no shared capture has 126983).
#
# 0x30 claims as a Maretron alarm enunciator (unique 1460999) and sends its 126996
# (model ALM100). Alert 7 (alarm, system 5, sub-system 1, occurrence 1, about the
# panel itself, acknowledge supported) is active from 1 s, every second; its 126985
# text "Bilge high water" / "Engine Room" comes at 3.5 s, then every 10 s. It is
# normal (cleared) from 21 s to 22 s and active again from 25 s to 30 s. Alert 8
# (warning, sub-system 2) is active from 2 s and never has a text.
#
# A Venus gateway raises: "1<TAB>ALM100<TAB>Bilge high water (Engine Room)" at 3.5 s,
# "0<TAB>ALM100<TAB>alert 5/2/8" at 12 s (10 s without a text), and the first again
# at 25 s. Its 126984 acknowledging alert 7 goes to 0x30: the 16 header bytes,
# the gateway's NAME, then 0xFC (acknowledge, reserved bits set).
""")
        for _, _, l in lines:
            f.write(l + "\n")


# A generator controller: class 35, function 151 (AC generator), unique 1461000.
GENSET = name(1461000, 374, 151, 35)
GENSET_ADDR = 0x31


def engine_dynamic(instance, status1=0, status2=0):
    """127489 (canboat's layout): coolant 80 °C, oil 90 °C, 310 kPa, 1200 h, load 40 %."""
    return (bytes([instance]) + (3100).to_bytes(2, "little") + round(363.15 / 0.1).to_bytes(2, "little")
            + round(353.15 / 0.01).to_bytes(2, "little") + (0x7FFF).to_bytes(2, "little")
            + (0x7FFF).to_bytes(2, "little") + (1200 * 3600).to_bytes(4, "little")
            + (0xFFFF).to_bytes(2, "little") + (0xFFFF).to_bytes(2, "little") + b"\xff"
            + status1.to_bytes(2, "little") + status2.to_bytes(2, "little") + bytes([40, 0x7F]))


def genset():
    bus = Bus()
    panel = Node(bus, ADDR, PANEL, "ALM100", serial="1460999")
    gen = Node(bus, GENSET_ADDR, GENSET, "GSC400", serial="1461000")
    for node in (panel, gen):
        node.claim(0.1)
        node.product(0.2)
    exhaust = header(2, 3, 1, 21, 1, about=GENSET)   # alarm about the generator
    service = header(8, 3, 2, 4, 1, about=GENSET)    # caution about it
    for k in range(60):
        t = 0.5 + k * 0.5
        gen.fast(t, 6, 127489, engine_dynamic(0))
    for k in range(30):
        t = 1.0 + k
        if 5 <= t < 15:
            panel.fast(t + 0.2, 2, 126983, alert(exhaust, 2))
        elif t >= 15:
            panel.fast(t + 0.2, 2, 126983, alert(exhaust, 1))
        if 10 <= t < 20:
            panel.fast(t + 0.3, 2, 126983, alert(service, 2))
        elif t >= 20:
            panel.fast(t + 0.3, 2, 126983, alert(service, 1))
    panel.fast(6.5, 6, 126985, text(exhaust, "High exhaust temperature", "Generator"))
    svc = "com.victronenergy.genset.socketcan_can0_di0_uc1461000"
    checks = [(4, '""'), (8, '"n2k:e-3.1.21"'), (12, '"n2k:e-3.1.21"'), (17, '"n2k:i-3.2.4"'), (22, '""')]
    lines = sorted(bus.lines)
    with open(os.path.join(HERE, "genset.log"), "w") as f:
        f.write("""# Alerts about a generator (written for n2k-dbus; no shared capture has 126983).
#
# 0x31 claims as an AC generator controller (class 35, function 151, unique 1461000,
# model GSC400) and sends 127489 for engine 0 every 0.5 s, no status bit set. The
# alarm panel at 0x30 (as in bilge.log) sends alerts whose data source is the
# generator's NAME: alarm 3/1/21 ("High exhaust temperature") active from 5 s to
# 14 s, normal after; caution 3/2/4 active from 10 s to 19 s, normal after.
#
# The generator's genset service shows them as its /Error/0/Id, which Venus turns
# into its own notification: "" (none), the alarm as n2k:e-3.1.21 while active (the
# most severe of the two from 10 s to 14 s), the caution as n2k:i-3.2.4 after, ""
# once both are normal.
#
""")
        for t, v in checks:
            f.write("#= %.3f %s /Error/0/Id %s\n" % (t, svc, v))
        f.write("#\n")
        for _, _, l in lines:
            f.write(l + "\n")


if __name__ == "__main__":
    os.makedirs(HERE, exist_ok=True)
    bilge()
    genset()
