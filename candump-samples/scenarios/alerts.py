#!/usr/bin/env python3
"""Writes the NMEA 2000 alert scenario of `alerts/` (switching-alerts.md §4): an
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


def header(kind, system, sub, alert_id, occurrence):
    return (bytes([kind | 1 << 4, system, sub]) + alert_id.to_bytes(2, "little")
            + PANEL.to_bytes(8, "little") + bytes([0, 0, occurrence]))


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


if __name__ == "__main__":
    os.makedirs(HERE, exist_ok=True)
    bilge()
