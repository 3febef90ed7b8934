#!/bin/sh
# Compare examples/dns/authserver with NSD under dnsperf, alternating in one
# run on the same zone (the issue's performance check). Run from the module
# root:  sh dns/testdata/dnsperf.sh [ROUNDS] [SECONDS] [NSD_SERVERS]
# Needs dnsperf and nsd (Debian packages dnsperf, nsd). Loopback only; the
# servers are stopped by their PIDs at the end.
set -eu
rounds=${1:-3}
secs=${2:-10}
nsdcount=${3:-1}
# Two ports picked at random; set NSD_PORT and OUR_PORT to choose.
nsdport=${NSD_PORT:-$(shuf -i 20000-40000 -n 1)}
ourport=${OUR_PORT:-$(shuf -i 40001-60000 -n 1)}
dir=$(mktemp -d)
trap 'kill $nsdpid $ourpid 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
cp dns/testdata/networkutopia.com.zone "$dir/"
cat > "$dir/queries.txt" <<Q
www.networkutopia.com A
networkutopia.com MX
mail.networkutopia.com A
networkutopia.com NS
web.networkutopia.com A
nothere.networkutopia.com A
dns1.networkutopia.com AAAA
networkutopia.com SOA
Q
cat > "$dir/nsd.conf" <<C
server:
  ip-address: 127.0.0.1@$nsdport
  port: $nsdport
  username: ""
  chroot: ""
  zonesdir: "$dir"
  database: ""
  zonelistfile: "$dir/zone.list"
  xfrdfile: "$dir/xfrd.state"
  xfrdir: "$dir"
  pidfile: "$dir/nsd.pid"
  logfile: "$dir/nsd.log"
  server-count: $nsdcount
  rrl-ratelimit: 0
remote-control:
  control-enable: no
zone:
  name: networkutopia.com
  zonefile: networkutopia.com.zone
C
go build -o "$dir/authserver" ./examples/dns/authserver
nsd -d -c "$dir/nsd.conf" & nsdpid=$!
"$dir/authserver" -addr 127.0.0.1:$ourport -zone "$dir/networkutopia.com.zone" 2>/dev/null & ourpid=$!
sleep 1
for i in $(seq "$rounds"); do
  for who in nsd:$nsdport appnet:$ourport; do
    q=$(dnsperf -s 127.0.0.1 -p "${who#*:}" -d "$dir/queries.txt" -l "$secs" -c 1 -q 100 2>&1 |
      awk '/Queries per second/ {print $4}')
    echo "round $i ${who%%:*} $q"
  done
done
