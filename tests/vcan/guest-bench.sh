#!/bin/sh
# The vcan benchmark, inside the VM: canplayer plays /data/bench.log (about 2,000
# frames/s) onto vcan0 while the daemon runs; candump records every frame with its
# kernel time and dbus-monitor every ItemsChanged with its time. benches/vcan.rs
# turns these into CPU time per second and frame → ItemsChanged latencies.
B=unix:path=/tmp/bus
await() {
  i=0
  while [ "$(grep -c "$2" "$1" 2>/dev/null)" -lt "$3" ] && [ $i -lt 300 ]; do sleep 0.2; i=$((i + 1)); done
}
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

dbus-daemon --config-file=/etc/bus.conf --nofork > /out/dbus-daemon.log 2>&1 &
while [ ! -S /tmp/bus ]; do sleep 0.1; done
ip link add dev vcan0 type vcan
ip link set vcan0 up
n2k-dbus run -i vcan0 --dbus $B --state-dir /tmp/state --unique-number 1234 > /out/run.log 2>&1 &
PID=$!
await /out/run.log "address claimed" 1
dbus-monitor --address $B "type='signal',interface='com.victronenergy.BusItem',member='ItemsChanged'" > /out/items.txt 2>&1 &
MON=$!
candump -L vcan0 > /out/bus.log &
DUMP=$!
sleep 1
echo "$(ticks $PID) $(ticks $DUMP) $(cut -d' ' -f1 /proc/uptime)" > /out/before.txt
canplayer -I /data/bench.log vcan0=can0
echo "$(ticks $PID) $(ticks $DUMP) $(cut -d' ' -f1 /proc/uptime)" > /out/after.txt
grep VmHWM /proc/$PID/status > /out/rss.txt
sleep 1
kill -TERM $MON $DUMP
kill -TERM $PID
wait $PID
echo $? > /out/run.exit
