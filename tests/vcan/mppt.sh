#!/bin/sh
# A Victron MPPT at address 0x20 on vcan0, as far as its register protocol goes
# (docs/vecan-products.md#special-registers, docs/vecan-products.md#read-and-write-flows): it answers a register request (VREQ) with the value
# broadcast, from /data/mppt-answers.txt ("<register LE hex> <frame>..." per line),
# or with VACK 0x8000 addressed to the asker; it takes a mode write (0x0200) of 1 or
# 4 by broadcasting the new mode, refuses any other mode with VACK 0x8300 and any
# other register with VACK 0x8100.
A=20
candump -L vcan0,1CEF2000:1FFFFF00 | while read -r _ _ frame; do
  id=${frame%%#*}
  data=${frame#*#}
  src=$(echo "$id" | cut -c7-8)
  reg=$(echo "$data" | cut -c9-12)
  case "$data" in
    66990100*)
      frames=$(grep "^$reg " /data/mppt-answers.txt | cut -d' ' -f2-)
      if [ -n "$frames" ]; then
        for f in $frames; do cansend vcan0 "$f"; done
      else
        cansend vcan0 "1CEF${src}${A}#66990200${reg}0080"
      fi ;;
    66990002*)
      v=$(echo "$data" | cut -c9-10)
      case "$v" in
        01|04) cansend vcan0 "1CEFFF${A}#66990002${v}000000" ;;
        *) cansend vcan0 "1CEF${src}${A}#6699020000020083" ;;
      esac ;;
    6699*)
      reg=$(echo "$data" | cut -c5-8)
      cansend vcan0 "1CEF${src}${A}#66990200${reg}0081" ;;
  esac
done
