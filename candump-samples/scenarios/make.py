#!/usr/bin/env python3
"""Writes the scenario logs of this folder: the other nodes of a bus, as candump -l
lines, and what the gateway's core must do, as `#>` expectations (see
tests/it/core_scenarios.rs for the format).

The bus side is scripted here: each scenario says when every node claims, talks and
answers. The expectations are the protocol's consequences, written out per scenario
from the rules in docs (docs/nmea2000.md#address-claim, docs/nmea2000.md#requests-and-acknowledgements, docs/nmea2000.md#discovery; docs/architecture.md#device-lifecycle) and the core's
documented timing (src/core/timing.rs): requests for product or configuration
information at most one a second, NAME requests and probes at most one per 100 ms,
probes after 8 s of silence, two of them 2 s apart, gone 2 s after the second.

    python3 candump-samples/scenarios/make.py
"""

import os

HERE = os.path.dirname(os.path.abspath(__file__))


def name(unique, mfr, function, cls, instance=0, system=0, industry=4, aac=1):
    v = (unique & 0x1FFFFF) | (mfr & 0x7FF) << 21 | (instance & 0xFF) << 32
    v |= (function & 0xFF) << 40 | (cls & 0x7F) << 49 | (system & 0xF) << 56
    v |= (industry & 7) << 60 | aac << 63
    return v


def name_hex(v):
    return "%016X" % v


def payload_hex(b):
    return "".join("%02X" % x for x in b)


def can_id(prio, pgn, src, dst=255):
    pf = (pgn >> 8) & 0xFF
    if pf < 240:
        pgn = (pgn & 0x3FF00) | dst
    return prio << 26 | pgn << 8 | src


GATEWAY_UNIQUE = 1001
GATEWAY = name(GATEWAY_UNIQUE, 2046, 130, 25)


def gw_claim(addr):
    return "TX %08X#%s" % (can_id(6, 60928, addr), payload_hex(GATEWAY.to_bytes(8, "little")))


def gw_request(src, dst, pgn):
    return "TX %08X#%s" % (can_id(6, 59904, src, dst), payload_hex(pgn.to_bytes(3, "little")))


def gw_heartbeat(src, seq):
    return "TX %08X#60EA%02XCFFFFFFFFF" % (can_id(7, 126993, src), seq)


def product_info(model, sw, mv, serial, version=2100, code=1234, cert=1, load=1):
    def s(t):
        b = t.encode()[:32]
        return b + b"\xff" * (32 - len(b))
    return (version.to_bytes(2, "little") + code.to_bytes(2, "little") + s(model) + s(sw)
            + s(mv) + s(serial) + bytes([cert, load]))


def config_info(d1, d2, mfr):
    out = b""
    for t in (d1, d2, mfr):
        b = t.encode()
        out += bytes([len(b) + 2, 1]) + b
    return out


class Bus:
    def __init__(self):
        self.lines = []  # (time, order, text)
        self.expect = []  # (time, order, text)
        self.n = 0

    def frame(self, t, cid, data):
        self.n += 1
        self.lines.append((t, self.n, "(%.6f) can0 %08X#%s" % (t, cid, payload_hex(data))))

    def out(self, t, text):
        self.n += 1
        self.expect.append((t, self.n, "#> %.6f %s" % (t, text)))

    def write(self, fname, header, options, table):
        path = os.path.join(HERE, fname)
        with open(path, "w") as f:
            for h in header.strip("\n").split("\n"):
                f.write(("# " + h).rstrip() + "\n")
            f.write("#\n#@ %s\n#\n" % options)
            f.write("# Expected outputs of the core, in order:\n")
            for _, _, e in sorted(self.expect):
                f.write(e + "\n")
            f.write("# Expected device table at the end:\n")
            for row in table:
                f.write("#= %s\n" % row)
            f.write("#\n")
            for _, _, l in sorted(self.lines):
                f.write(l + "\n")


class Node:
    def __init__(self, bus, addr, nm, model, sw="1.0.0", serial="100001", data_pgn=130312,
                 desc=("", ""), mfr_info=""):
        self.bus, self.addr, self.name = bus, addr, nm
        self.model, self.sw, self.serial = model, sw, serial
        self.data_pgn = data_pgn
        self.desc, self.mfr_info = desc, mfr_info
        self.fp_seq = {}

    def claim(self, t, addr=None, nm=None):
        if addr is not None:
            self.addr = addr
        if nm is not None:
            self.name = nm
        self.bus.frame(t, can_id(6, 60928, self.addr), self.name.to_bytes(8, "little"))

    def single(self, t, prio, pgn, data, dst=255):
        self.bus.frame(t, can_id(prio, pgn, self.addr, dst), data)

    def fast(self, t, prio, pgn, payload, dst=255, step=0.001):
        """Sends a fast packet; returns the time of its last frame."""
        seq = self.fp_seq.get(pgn, 0)
        self.fp_seq[pgn] = (seq + 1) & 7
        cid = can_id(prio, pgn, self.addr, dst)
        first = bytes([seq << 5, len(payload)]) + payload[:6]
        frames = [first + b"\xff" * (8 - len(first))]
        rest = payload[6:]
        k = 1
        while rest:
            f = bytes([seq << 5 | k]) + rest[:7]
            frames.append(f + b"\xff" * (8 - len(f)))
            rest = rest[7:]
            k += 1
        for i, f in enumerate(frames):
            self.bus.frame(t + i * step, cid, f)
        return t + (len(frames) - 1) * step

    def product(self, t):
        return self.fast(t, 6, 126996, product_info(self.model, self.sw, "1", self.serial))

    def config(self, t):
        return self.fast(t, 6, 126998, config_info(self.desc[0], self.desc[1], self.mfr_info))

    def heartbeat(self, t, seq, interval_ms=60000):
        self.single(t, 7, 126993, interval_ms.to_bytes(2, "little") + bytes([seq, 0xCF]) + b"\xff" * 4)

    def data(self, t):
        self.single(t, 5, self.data_pgn, bytes([0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08]))

    def talk(self, t0, t1, every=1.0):
        t = t0
        while t < t1 - 1e-9:
            self.data(round(t, 6))
            t += every


def ten_nodes(bus):
    specs = [
        # addr, unique, mfr, function, class, model, data PGN
        (0, 680690, 229, 145, 60, "GPS17x-NMEA2000", 129025),
        (1, 2007045, 229, 160, 80, "GMI 10", 127250),
        (35, 244127, 135, 130, 60, "DST200", 128267),
        (12, 512345, 137, 140, 75, "TLM100", 127505),
        (100, 77001, 1851, 150, 80, "i70s", 130306),
        (40, 33210, 273, 130, 25, "NGW-1-ISO", 129026),
        (72, 4242, 381, 190, 80, "H5000 CPU", 128259),
        (15, 900120, 137, 130, 75, "TMP100", 130312),
        (22, 61234, 1299, 170, 35, "SmartBMV", 127508),
        (50, 1840001, 135, 130, 85, "WS100", 130311),
    ]
    nodes = []
    for i, (addr, uniq, mfr, fn, cls, model, pgn) in enumerate(specs):
        nodes.append(Node(bus, addr, name(uniq, mfr, fn, cls), model, sw="2.%d" % i,
                          serial=str(uniq), data_pgn=pgn,
                          desc=("Nav station" if i % 2 else "", ""),
                          mfr_info="Made by %d" % mfr))
    return nodes


def power_up():
    bus = Bus()
    nodes = ten_nodes(bus)
    end = 25.0
    bus.out(0.0, gw_request(254, 255, 60928))
    for i, n in enumerate(nodes):
        t = round(0.2 + 0.04 * i, 6)
        n.claim(t)
        bus.out(t, "appeared %s at %d" % (name_hex(n.name), n.addr))
        n.talk(t + 0.1, end)
    # Address 100 is taken (the i70s): the gateway claims the next free one.
    bus.out(1.0, gw_claim(101))
    bus.out(1.25, "own-address 101")
    bus.out(1.25, gw_heartbeat(101, 0))
    # Product information, one request a second, in the order the NAMEs became known;
    # then configuration information in the same order.
    t = 1.25
    for kind in (126996, 126998):
        for n in nodes:
            bus.out(t, gw_request(101, n.addr, kind))
            if kind == 126996:
                done = n.product(round(t + 0.01, 6))
                bus.out(round(done, 6), "identified %s" % name_hex(n.name))
            else:
                done = n.config(round(t + 0.01, 6))
                bus.out(round(done, 6), "identity-updated %s" % name_hex(n.name))
            t += 1.0
    table = sorted("%s %d identified %s" % (name_hex(n.name), n.addr, n.model) for n in nodes)
    bus.write("power-up.log", """
Power-up of a 10-node bus, the gateway among them (written for n2k-dbus).

The gateway starts first (0.0 s) and asks every node for its claim; nobody is on yet.
Ten nodes power up between 0.2 and 0.56 s and claim their addresses; each sends one
data PGN a second from then on. One of them (an i70s display) takes address 100, the
gateway's preferred address, so at the end of its 1 s scan the gateway claims 101,
holds it 250 ms unchallenged and sends its first heartbeat. It then asks each node
for product information (126996), one request a second in the order the NAMEs
became known, and after those for configuration information (126998). Every node
answers 10 ms after the request with a 20-frame (126996) or short (126998) fast
packet; product information makes a device identified.
""", "unique=%d address=100 start=0 end=%g" % (GATEWAY_UNIQUE, end), table)


def gw_fast(t, prio, pgn, src, payload, seq, dst=255):
    """The frames of a fast packet the gateway sends, as expected TX lines."""
    cid = can_id(prio, pgn, src, dst)
    first = bytes([seq << 5, len(payload)]) + payload[:6]
    frames = [first + b"\xff" * (8 - len(first))]
    rest = payload[6:]
    k = 1
    while rest:
        f = bytes([seq << 5 | k]) + rest[:7]
        frames.append(f + b"\xff" * (8 - len(f)))
        rest = rest[7:]
        k += 1
    return ["TX %08X#%s" % (cid, payload_hex(f)) for f in frames]


def join(bus, nodes, addr=100, t=1.25, heartbeat_seq=0):
    """The gateway's claim at the end of its scan, then product and configuration
    requests, one a second, in the order given; every node answers 10 ms later.
    Returns the time of each node's last answer frame, by address."""
    last = {}
    bus.out(0.0, gw_request(254, 255, 60928))
    bus.out(1.0, gw_claim(addr))
    bus.out(1.25, "own-address %d" % addr)
    bus.out(1.25, gw_heartbeat(addr, heartbeat_seq))
    for kind in (126996, 126998):
        for n in nodes:
            bus.out(t, gw_request(addr, n.addr, kind))
            if kind == 126996:
                done = n.product(round(t + 0.01, 6))
                bus.out(round(done, 6), "identified %s" % name_hex(n.name))
            else:
                done = n.config(round(t + 0.01, 6))
                bus.out(round(done, 6), "identity-updated %s" % name_hex(n.name))
            last[n.addr] = round(done, 6)
            t += 1.0
    return last


def row(n, state="identified", addr=None):
    a = n.addr if addr is None else addr
    return "%s %s %s %s" % (name_hex(n.name), a, state, n.model)


OPTIONS = "unique=%d address=100 start=0 end=%g"


def tank_sender_at_10(bus, end):
    """A tank sender that claims 10 at 0.3 s and sends a level a second from 0.4 s."""
    a = Node(bus, 10, name(300111, 137, 140, 75), "TLM100", data_pgn=127505)
    a.claim(0.3)
    bus.out(0.3, "appeared %s at 10" % name_hex(a.name))
    a.talk(0.4, end)
    return a


def claim_lost():
    bus = Bus()
    end = 8.0
    a = tank_sender_at_10(bus, end)
    b = Node(bus, 100, name(1, 1, 130, 25), "Fixed GW", data_pgn=129026)
    join(bus, [a])
    # A node with a lower NAME claims the gateway's address: the gateway loses it,
    # says so, and claims the next free address; the newcomer is asked in turn.
    b.claim(5.0)
    bus.out(5.0, "own-address -")
    bus.out(5.0, gw_claim(101))
    bus.out(5.0, "appeared %s at 100" % name_hex(b.name))
    b.talk(5.1, end)
    bus.out(5.25, "own-address 101")
    bus.out(5.25, gw_heartbeat(101, 1))
    bus.out(5.25, gw_request(101, 100, 126996))
    done = b.product(5.26)
    bus.out(round(done, 6), "identified %s" % name_hex(b.name))
    bus.out(6.25, gw_request(101, 100, 126998))
    done = b.config(6.26)
    bus.out(round(done, 6), "identity-updated %s" % name_hex(b.name))
    bus.write("claim-lost.log", """
An address conflict the gateway loses (written for n2k-dbus).

The gateway (NAME C0328200FFC003E9) holds address 100 from 1.25 s. At 5.0 s a node
with a lower NAME (manufacturer code 1) claims 100. The lower NAME wins: the gateway
reports it has no address, claims 101 at once, owns it 250 ms later (heartbeat
sequence 1), and then asks the newcomer for its product and configuration
information.
""", OPTIONS % (GATEWAY_UNIQUE, end), sorted([row(a), row(b)]))


def claim_won():
    bus = Bus()
    end = 8.0
    a = tank_sender_at_10(bus, end)
    c = Node(bus, 100, name(5000, 229, 160, 80), "GMI 20", data_pgn=127250)
    join(bus, [a])
    # A node with a higher NAME claims the gateway's address: the gateway defends it
    # with its claim, the node moves to 101.
    c.claim(4.0)
    bus.out(4.0, gw_claim(100))
    bus.out(4.0, "appeared %s at -" % name_hex(c.name))
    c.claim(4.002, addr=101)
    bus.out(4.002, "moved %s from - to 101" % name_hex(c.name))
    c.talk(4.1, end)
    bus.out(4.002, gw_request(100, 101, 126996))
    done = c.product(4.012)
    bus.out(round(done, 6), "identified %s" % name_hex(c.name))
    bus.out(5.002, gw_request(100, 101, 126998))
    done = c.config(5.012)
    bus.out(round(done, 6), "identity-updated %s" % name_hex(c.name))
    bus.write("claim-won.log", """
An address conflict the gateway wins (written for n2k-dbus).

The gateway holds address 100 from 1.25 s. At 4.0 s a display with a higher NAME
claims 100. The gateway keeps its address and says so with its claim; the display
moves to 101 2 ms later and is then asked for its product and configuration
information like any newcomer.
""", OPTIONS % (GATEWAY_UNIQUE, end), sorted([row(a), row(c)]))


def device_moves():
    bus = Bus()
    a = Node(bus, 10, name(300111, 137, 140, 75), "TLM100", data_pgn=127505)
    d = Node(bus, 30, name(244127, 135, 130, 60), "DST200", data_pgn=128267)
    end = 9.0
    a.claim(0.3)
    d.claim(0.35)
    bus.out(0.3, "appeared %s at 10" % name_hex(a.name))
    bus.out(0.35, "appeared %s at 30" % name_hex(d.name))
    a.talk(0.4, end)
    d.talk(0.45, 5.9)
    join(bus, [a, d])
    # The depth sounder claims address 31 (after a commanded address, say) and goes on
    # from there. Same device, new address: the gateway follows it and asks again
    # for its information, which has not changed (no identity event).
    d.claim(6.0, addr=31)
    bus.out(6.0, "moved %s from 30 to 31" % name_hex(d.name))
    d.talk(6.1, end)
    bus.out(6.0, gw_request(100, 31, 126996))
    d.product(6.01)
    bus.out(7.0, gw_request(100, 31, 126998))
    d.config(7.01)
    bus.write("device-moves.log", """
A device moving to a new address (written for n2k-dbus).

A depth sounder at 30 claims address 31 at 6.0 s and sends from there on. The table
moves its NAME, the device stays the same (one "moved" event, no gone/appeared),
and the gateway asks it again for its product and configuration information, as
the discovery practice asks after an address change.
""", OPTIONS % (GATEWAY_UNIQUE, end), sorted([row(a), row(d)]))


def unplugged():
    bus = Bus()
    e = Node(bus, 10, name(300111, 137, 140, 75), "TLM100", data_pgn=127505)
    f = Node(bus, 11, name(2007045, 229, 160, 80), "GMI 10")
    end = 150.0
    e.claim(0.3)
    f.claim(0.35)
    bus.out(0.3, "appeared %s at 10" % name_hex(e.name))
    bus.out(0.35, "appeared %s at 11" % name_hex(f.name))
    # E sends every second and is unplugged after its frame at 9.4 s.
    e.talk(0.4, 9.5)
    # F sends nothing but its heartbeat, every 60 s.
    heartbeats = [0.5, 60.5, 120.5]
    for i, h in enumerate(heartbeats):
        f.heartbeat(h, i)
    answered = join(bus, [e, f])
    # E: probed 8 s after its last frame and 2 s later; gone 2 s after that, 12 s
    # after its last frame.
    bus.out(17.4, gw_request(100, 10, 60928))
    bus.out(19.4, gw_request(100, 10, 60928))
    bus.out(21.4, "gone %s" % name_hex(e.name))
    # F: probed after every 8 s of silence, answers each probe with its claim 5 ms
    # later, and is never gone.
    last = answered[11]  # its configuration information
    while True:
        due = round(last + 8.0, 6)
        hb = [h for h in heartbeats if last < h < due]
        if hb:
            last = hb[0]
            continue
        if due > end:
            break
        bus.out(due, gw_request(100, 11, 60928))
        f.claim(round(due + 0.005, 6))
        last = round(due + 0.005, 6)
    bus.out(61.25, gw_heartbeat(100, 1))
    bus.out(121.25, gw_heartbeat(100, 2))
    bus.write("unplugged.log", """
A device unplugged, and one that only sends heartbeats (written for n2k-dbus).

E, a tank sender, sends a frame a second and is unplugged after its frame at 9.4 s.
F, a display, sends nothing but its heartbeat (every 60 s). A device silent for 8 s
is asked for its claim (an addressed request for 60928), again 2 s later, and is
gone 2 s after the second request: E is gone at 21.4 s, 12 s after its last frame.
F answers every probe with its claim and is never gone in 150 s.
""", OPTIONS % (GATEWAY_UNIQUE, end), sorted([row(e, "gone", "-"), row(f)]))


def same_name():
    bus = Bus()
    nm = name(77001, 1851, 150, 80)
    g1 = Node(bus, 20, nm, "i70s", data_pgn=130306)
    g2 = Node(bus, 21, nm, "i70s", data_pgn=130306)
    end = 6.0
    g1.claim(0.3)
    bus.out(0.3, "appeared %s at 20" % name_hex(nm))
    g2.claim(0.35)
    bus.out(0.35, "moved %s from 20 to 21" % name_hex(nm))
    g1.talk(0.4, end)
    g2.talk(0.45, end)
    # The frame from 20 at 0.4 s may have left before the claim at 21: it is counted
    # as the device's. The one at 1.4 s cannot have: two nodes share the NAME.
    bus.out(1.4, "duplicate-name %s at 20 and 21" % name_hex(nm))
    join(bus, [g2])
    bus.write("same-name.log", """
The same NAME twice (written for n2k-dbus).

Two displays cloned from one configuration claim with the same NAME, one at 20 and
one at 21 50 ms later. The table first takes it for a move; when the node at 20
still sends a second later, it reports the duplicate and counts both addresses as
that NAME's (the bus service raises its alarm from this event). Requests go to the
address of the last claim.
""", OPTIONS % (GATEWAY_UNIQUE, end), [row(g2)])


def instance_change():
    bus = Bus()
    h = Node(bus, 40, name(512345, 137, 140, 75), "TLM100", data_pgn=127505)
    i = Node(bus, 50, name(2007045, 229, 160, 80), "GMI 10", data_pgn=127250)
    end = 8.0
    h.claim(0.25)
    i.claim(0.3)
    bus.out(0.25, "appeared %s at 40" % name_hex(h.name))
    bus.out(0.3, "appeared %s at 50" % name_hex(i.name))
    h.talk(0.35, end)
    i.talk(0.4, end)
    join(bus, [h, i])
    # The display commands the tank sender's device instance lower to 1 (126208
    # Command on 60928, field 3); the sender acknowledges and claims its new NAME.
    i.fast(5.0, 3, 126208, bytes([0x01, 0x00, 0xEE, 0x00, 0xF8, 0x01, 0x03, 0x01]), dst=40)
    h.fast(5.01, 3, 126208, bytes([0x02, 0x00, 0xEE, 0x00, 0x00, 0x01, 0xF0]), dst=50)
    old = h.name
    h.claim(5.02, nm=old | 1 << 32)
    bus.out(5.02, "gone %s" % name_hex(old))
    bus.out(5.02, "instance-changed %s to %s" % (name_hex(old), name_hex(h.name)))
    bus.out(5.02, "appeared %s at 40" % name_hex(h.name))
    # One information request a second: the last went out at 4.25 s.
    bus.out(5.25, gw_request(100, 40, 126996))
    done = h.product(5.26)
    bus.out(round(done, 6), "identified %s" % name_hex(h.name))
    bus.out(6.25, gw_request(100, 40, 126998))
    done = h.config(6.26)
    bus.out(round(done, 6), "identity-updated %s" % name_hex(h.name))
    old_row = "%s - gone TLM100" % name_hex(old)
    bus.write("instance-change.log", """
A device instance changed by a 126208 command (written for n2k-dbus).

At 5.0 s a display sends the tank sender at 40 a group function Command on PGN
60928 setting Device Instance Lower (field 3) to 1. The sender acknowledges and
claims again with its new NAME (device instance 1). The NAME is the device: the old
one is gone, the new one appears at the same address and is identified afresh.
""", OPTIONS % (GATEWAY_UNIQUE, end), sorted([old_row, row(h), row(i)]))


GW_TRANSMIT = [59392, 59904, 60160, 60416, 60928, 126464, 126993, 126996, 126998]
GW_RECEIVE = [59392, 59904, 60160, 60416, 60928, 65240, 126208, 126464, 126993, 126996,
              126998, 127503, 127504, 127505, 127506, 127507, 127508, 127513, 129025,
              129026, 129029, 130311, 130312, 130313, 130314, 130316]


def answers():
    bus = Bus()
    j = Node(bus, 7, name(2007045, 229, 160, 80), "GMI 10", data_pgn=127250)
    end = 6.0
    j.claim(0.3)
    bus.out(0.3, "appeared %s at 7" % name_hex(j.name))
    j.talk(0.4, end)
    join(bus, [j])
    claim = gw_claim(100)
    req = lambda t, dst, pgn: j.single(t, 6, 59904, pgn.to_bytes(3, "little"), dst=dst)
    req(3.0, 255, 60928)
    bus.out(3.0, claim)
    j.claim(3.005)
    req(3.1, 100, 60928)
    bus.out(3.1, claim)
    req(3.2, 100, 126996)
    ours = product_info("n2k-dbus", "0.1.0", "Venus OS D-Bus gateway", "1001",
                        version=2100, code=0, cert=0xFF, load=0)
    for line in gw_fast(3.2, 6, 126996, 100, ours, 0):
        bus.out(3.2, line)
    req(3.3, 100, 126464)
    for seq, (fn, pgns) in enumerate([(0, GW_TRANSMIT), (1, GW_RECEIVE)]):
        lst = bytes([fn]) + b"".join(p.to_bytes(3, "little") for p in pgns)
        for line in gw_fast(3.3, 6, 126464, 100, lst, seq):
            bus.out(3.3, line)
    req(3.4, 100, 126998)
    cfg = config_info("", "", "n2k-dbus NMEA 2000 to Venus OS D-Bus gateway")
    for line in gw_fast(3.4, 6, 126998, 100, cfg, 0):
        bus.out(3.4, line)
    # A PGN the gateway does not send: addressed, a NAK; to everyone, silence.
    req(3.5, 100, 130312)
    bus.out(3.5, "TX %08X#01FFFFFFFF08FD01" % can_id(6, 59392, 100, 7))
    req(3.6, 255, 130312)
    req(3.7, 100, 126993)
    bus.out(3.7, "TX %08X#60EAFFCFFFFFFFFF" % can_id(7, 126993, 100))
    # A node without an address asks everyone for their claims.
    bus.frame(3.8, can_id(6, 59904, 254, 255), bytes([0x00, 0xEE, 0x00]))
    bus.out(3.8, claim)
    j.claim(3.805)
    # The display commands the gateway to address 120 (65240 by BAM): it moves.
    cmd = GATEWAY.to_bytes(8, "little") + bytes([120])
    j.single(4.0, 7, 60416, bytes([0x20, 9, 0, 2, 0xFF, 0xD8, 0xFE, 0x00]))
    j.single(4.05, 7, 60160, bytes([1]) + cmd[:7])
    j.single(4.1, 7, 60160, bytes([2]) + cmd[7:] + b"\xff" * 5)
    bus.out(4.1, gw_claim(120))
    bus.out(4.35, "own-address 120")
    bus.out(4.35, gw_heartbeat(120, 1))
    bus.write("answers.log", """
The gateway answering requests (written for n2k-dbus).

A display asks the gateway, once it holds address 100, for its claim (to everyone,
then addressed), its product information (126996, 134 bytes in 20 frames), its PGN
lists (126464: the transmit list, then the receive list), its configuration
information (126998), a PGN it does not send (130312: a NAK when addressed, nothing
when broadcast) and its heartbeat (on demand: sequence 255). A node without an
address asks everyone for their claims. Finally the display commands the gateway to
address 120 (ISO Commanded Address by BAM): the gateway claims 120 and owns it
250 ms later.
""", (OPTIONS % (GATEWAY_UNIQUE, end)) + " software=0.1.0", [row(j)])


def passive():
    bus = Bus()
    k = Node(bus, 10, name(300111, 137, 140, 75), "TLM100", data_pgn=127505)
    l = Node(bus, 11, name(4242, 381, 190, 80), "H5000 CPU")
    m = Node(bus, 12, name(2007045, 229, 160, 80), "GMI 10", data_pgn=127250)
    n = Node(bus, 33, 0, "", data_pgn=130312)
    end = 60.0
    k.claim(0.3)
    l.claim(0.4)
    m.claim(0.5)
    for x in (k, l, m):
        bus.out({10: 0.3, 11: 0.4, 12: 0.5}[x.addr], "appeared %s at %d" % (name_hex(x.name), x.addr))
    # K: data every second, heartbeat every 10 s, unplugged at 20 s.
    k.talk(0.35, 19.5)
    for s, t in enumerate([0.6, 10.6]):
        k.heartbeat(t, s, 10000)
    # L: nothing but its heartbeat, every 5 s.
    for s, t in enumerate(range(0, 60, 5)):
        l.heartbeat(t + 0.7, s, 5000)
    m.talk(0.55, end)
    # N never claims (it joined before the capture and nobody asks).
    n.talk(2.0, end, every=2.0)
    # The display asks K for its product and configuration information: the gateway
    # learns them from the answers.
    m.single(1.0, 6, 59904, (126996).to_bytes(3, "little"), dst=10)
    done = k.product(1.01)
    bus.out(round(done, 6), "identified %s" % name_hex(k.name))
    m.single(2.0, 6, 59904, (126998).to_bytes(3, "little"), dst=10)
    done = k.config(2.01)
    bus.out(round(done, 6), "identity-updated %s" % name_hex(k.name))
    # L and M never send product information: identified 5 s after their claims.
    bus.out(5.4, "identified %s" % name_hex(l.name))
    bus.out(5.5, "identified %s" % name_hex(m.name))
    # K's last frame is at 19.35 s; it announced a 10 s heartbeat: gone 20 s later.
    bus.out(39.35, "gone %s" % name_hex(k.name))
    bus.write("listen-only.log", """
Listen-only (written for n2k-dbus): not one frame transmitted.

K (a tank sender) sends data every second and a heartbeat every 10 s, and is
unplugged at 19.5 s. L sends nothing but its heartbeat (every 5 s). M, a display,
asks K for its product and configuration information; the gateway learns them from
K's answers. Devices whose product information nobody asks for are identified 5 s
after their claim. Without probes, liveness comes from the announced heartbeat
interval: K is gone two intervals (20 s) after its last frame; L never is. N sends
data without ever claiming (nobody asks it): it stays an address without a NAME.
""", "listen-only start=0 end=%g" % end, sorted([row(k, "gone", "-"),
                                                   "%s 11 identified" % name_hex(l.name),
                                                   "%s 12 identified" % name_hex(m.name)]))


if __name__ == "__main__":
    power_up()
    claim_lost()
    claim_won()
    device_moves()
    unplugged()
    same_name()
    instance_change()
    answers()
    passive()
