#!/usr/bin/env python3
"""Writes the scenario logs of this folder: the other nodes of a bus, as candump -l
lines, and what the gateway's core must do, as `#>` expectations (see
tests/core_scenarios.rs for the format).

The bus side is scripted here: each scenario says when every node claims, talks and
answers. The expectations are the protocol's consequences, written out per scenario
from the rules in docs (nmea2000.md §5, §6, §9; design.md §4) and the core's
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


if __name__ == "__main__":
    power_up()
