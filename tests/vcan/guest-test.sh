#!/bin/sh
# The vcan system test, inside the VM. It records; tests/it/vcan_vm.rs judges.
#
# /data holds: tanks.log, battery.log, single-tank.log (candump -L, interface can0),
# checks.txt ("<service> <path>" per line) and conflict.txt (a cansend frame that
# claims our address with a lower NAME), mppt.sh and its data (phase G),
# h-services.json (phase H: Venus services for NMEA 2000-out).
B=unix:path=/tmp/bus
# The link grace leaves time to read every service while vcan0 is down (phase C: a
# dbus-send takes 0.2 s under TCG, more when the host is busy); the withdrawal after
# it is awaited, not slept for.
N2K="n2k-dbus run -i vcan0 --dbus $B --link-grace 12"

names() { dbus-send --bus=$B --print-reply --dest=org.freedesktop.DBus / org.freedesktop.DBus.ListNames > "$1" 2>&1; }
# values <file>: GetItems of every service in checks.txt, one call each, so that a
# service's values are read at one moment (a dbus-send takes 0.2 s under TCG).
values() {
  : > "$1"
  for svc in $(cut -d' ' -f1 /data/checks.txt | uniq); do
    echo "=== $svc" >> "$1"
    dbus-send --bus=$B --print-reply --dest="$svc" / com.victronenergy.BusItem.GetItems >> "$1" 2>&1
  done
}
stop() { kill -TERM "$1" 2>/dev/null; wait "$1"; }
# await <file> <text> <count>: until <text> is in <file> <count> times (60 s at most;
# a file not written yet counts none).
await() {
  i=0
  while n=$(grep -c "$2" "$1" 2>/dev/null); [ "${n:-0}" -lt "$3" ] && [ $i -lt 300 ]; do sleep 0.2; i=$((i + 1)); done
  echo "await '$2' x$3: $((i / 5)) s"
}
step() { echo "step: $*"; }
# await_name <text>: until a name on the bus holds <text> (60 s at most).
await_name() {
  i=0
  while ! dbus-send --bus=$B --print-reply --dest=org.freedesktop.DBus / org.freedesktop.DBus.ListNames 2>/dev/null \
      | grep -q "$1" && [ $i -lt 300 ]; do sleep 0.2; i=$((i + 1)); done
  echo "await name '$1': $((i / 5)) s"
}

dbus-daemon --config-file=/etc/bus.conf --nofork > /out/dbus-daemon.log 2>&1 &
while [ ! -S /tmp/bus ]; do sleep 0.1; done
dbus-monitor --address $B "type='signal',sender='org.freedesktop.DBus',member='NameOwnerChanged'" > /out/owners.txt 2>&1 &
MON=$!

step "A: the daemon starts before vcan0 exists"
$N2K --state-dir /tmp/state --unique-number 1234 --address 100 > /out/run.log 2>&1 &
PID=$!
await /out/run.log "vcan0 does not exist" 1
ip link add dev vcan0 type vcan
sleep 1
# candump ends when its interface is down: it starts once vcan0 is up, before the
# daemon's next try (it waits at least a second between two).
ip link set vcan0 up
candump -L vcan0 > /out/a-bus.log &
DUMP=$!
await /out/run.log "address claimed" 1
sleep 0.5
step "A: requests to us"
cansend vcan0 18EA6420#14F001
cansend vcan0 18EAFF20#00EE00
sleep 2
step "A: canplayer"
canplayer -I /data/tanks.log vcan0=can0 &
P1=$!
canplayer -I /data/battery.log vcan0=can0 &
P2=$!
wait $P1 $P2
sleep 1.5
names /out/a-names.txt
values /out/a-values.txt

step "B: a device claims our address with a lower NAME"
cansend vcan0 "$(cat /data/conflict.txt)"
await /out/run.log "address claimed" 2
sleep 0.5
stop $DUMP
cp /tmp/state/vcan0.state /out/b-state.txt 2>/dev/null

step "C: vcan0 down"
ip link set vcan0 down
sleep 2.5
names /out/c-names-down.txt
values /out/c-values-down.txt
await /out/run.log "every service withdrawn until it returns" 1
sleep 1
names /out/c-names-gone.txt
step "C: vcan0 up again"
ip link set vcan0 up
candump -L vcan0 > /out/c-bus.log &
DUMP=$!
await /out/run.log "address claimed" 3
sleep 0.5
canplayer -I /data/tanks.log vcan0=can0
sleep 1.5
names /out/c-names-back.txt
values /out/c-values-back.txt
stop $DUMP

step "D: SIGTERM"
kill -TERM $PID
wait $PID
echo $? > /out/run.exit
sleep 0.5
names /out/d-names.txt
stop $MON

step "E: listen-only"
candump -L vcan0 > /out/e-bus.log &
DUMP=$!
sleep 0.5
$N2K --listen-only --state-dir /tmp/state-listen --unique-number 1235 > /out/listen.log 2>&1 &
PID=$!
await /out/listen.log "interface up" 1
sleep 0.5
cansend vcan0 18EAFF20#00EE00
cansend vcan0 18EA0B20#14F001
canplayer -I /data/single-tank.log vcan0=can0
sleep 1.5
names /out/e-names.txt
stop $PID
echo $? > /out/listen.exit
sleep 0.5
stop $DUMP
step "F: the system clock set a year forwards, then back, while the daemon runs"
# A tank sender that keeps sending, paced by sleep (canplayer paces by the wall
# clock, which this phase sets).
claim=$(sed -n 1p /data/single-tank.log | cut -d' ' -f3)
level=$(sed -n 2p /data/single-tank.log | cut -d' ' -f3)
rss() { grep VmRSS "/proc/$1/status" > "$2"; }
dbus-monitor --address $B "type='signal',sender='org.freedesktop.DBus',member='NameOwnerChanged'" > /out/f-owners.txt 2>&1 &
MON=$!
candump -L vcan0 > /out/f-bus.log &
DUMP=$!
sleep 0.5
$N2K --state-dir /tmp/state-f --unique-number 1236 --address 110 > /out/f-run.log 2>&1 &
PID=$!
await /out/f-run.log "address claimed" 1
cansend vcan0 "$claim"
( while true; do cansend vcan0 "$level"; sleep 1; done ) &
SENDER=$!
await_name com.victronenergy.tank
# Warmed up (the memory baseline): ten of the sender's levels through the daemon.
await /out/f-bus.log "$level" 10
names /out/f-names-before.txt
rss $PID /out/f-rss-before.txt
now=$(date +%s); date -s "@$((now + 31536000))" > /dev/null
step "F: $(date)"
await /out/f-run.log "clock stepped by +" 1
sleep 2
rss $PID /out/f-rss-stepped.txt
now=$(date +%s); date -s "@$((now - 31536000))" > /dev/null
step "F: $(date)"
await /out/f-run.log "clock stepped by -" 1
# Our heartbeat (126993 from 110): one at the claim, the next a period later.
await /out/f-bus.log "1DF0116E#" 2
sleep 1
names /out/f-names-after.txt
rss $PID /out/f-rss-after.txt
kill $SENDER 2>/dev/null
stop $PID
echo $? > /out/f-run.exit
sleep 0.5
stop $DUMP
stop $MON
step "G: a Victron MPPT answers our register requests and writes"
candump -L vcan0 > /out/g-bus.log &
DUMP=$!
sleep 0.5
$N2K --state-dir /tmp/state-g --unique-number 1237 --address 120 > /out/g-run.log 2>&1 &
PID=$!
await /out/g-run.log "address claimed" 1
n2k-dbus registers -i vcan0 --listen-only --state-dir /tmp/state-r --unique-number 1238 --every 1 > /out/g-registers.txt 2>/out/g-registers.err &
REGS=$!
sh /data/mppt.sh &
sleep 1
cansend vcan0 "$(cat /data/mppt-claim.txt)"
SVC=com.victronenergy.solarcharger.socketcan_vcan0_di0_uc40001
i=0
while ! dbus-send --bus=$B --print-reply --dest=$SVC /ProductName com.victronenergy.BusItem.GetValue > /dev/null 2>&1 && [ $i -lt 300 ]; do
  sleep 0.2; i=$((i + 1))
done
echo "G: the service after $((i / 5)) s"
dbus-send --bus=$B --print-reply --dest=$SVC /Mode com.victronenergy.BusItem.SetValue variant:int32:4 > /out/g-set-4.txt 2>&1
dbus-send --bus=$B --print-reply --dest=$SVC /Mode com.victronenergy.BusItem.SetValue variant:int32:7 > /out/g-set-7.txt 2>&1
sleep 3
dbus-send --bus=$B --print-reply --dest=$SVC / com.victronenergy.BusItem.GetItems > /out/g-items.txt 2>&1
kill -INT $REGS
wait $REGS
stop $PID
pkill -f "vcan0,1CEF2000" 2>/dev/null
sleep 0.5
stop $DUMP
step "H: NMEA 2000-out: two Venus services of another process go out as virtual devices"
candump -L vcan0 > /out/h-bus.log &
DUMP=$!
n2k-dbus serve /data/h-services.json --dbus $B > /out/h-serve.log 2>&1 &
SERVE=$!
await /out/h-serve.log "serving" 1
$N2K --state-dir /tmp/state-h --unique-number 1239 --address 130 --n2k-out > /out/h-run.log 2>&1 &
PID=$!
await /out/h-run.log "address claimed" 1
sleep 3
# A display at 0x21 asks the virtual node at address 0 for its product information.
cansend vcan0 18EA0021#14F001
sleep 4
stop $PID
echo $? > /out/h-run.exit
stop $SERVE
sleep 0.5
stop $DUMP
step "done"
