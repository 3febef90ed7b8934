# ltpeer.py: a python3-libtorrent peer for appnet's interop tests.
#
#   /usr/bin/python3 ltpeer.py get|seed TORRENT DIR LISTEN_IP:PORT TIMEOUT [PEER_IP:PORT ...]
#
# "get" downloads into DIR and exits 0 once it seeds, printing the seconds
# it took; "seed" seeds from DIR until killed. TCP only (uTP off), no DHT,
# LSD, UPnP or NAT-PMP, several connections per IP allowed, as
# /work/shared/INTEROP.md recommends.
import sys
import time

import libtorrent as lt

mode, torrent, savedir, listen, timeout = sys.argv[1:6]
peers = sys.argv[6:]
ip = listen.rsplit(":", 1)[0]
s = lt.session({
    "listen_interfaces": listen,
    "outgoing_interfaces": ip,
    "enable_dht": False,
    "enable_lsd": False,
    "enable_upnp": False,
    "enable_natpmp": False,
    "enable_outgoing_utp": False,
    "enable_incoming_utp": False,
    "allow_multiple_connections_per_ip": True,
    "announce_to_all_trackers": True,
    "alert_mask": lt.alert.category_t.error_notification,
})
params = lt.add_torrent_params()
params.ti = lt.torrent_info(torrent)
params.save_path = savedir
if mode == "seed":
    params.flags |= lt.torrent_flags.seed_mode
h = s.add_torrent(params)
for p in peers:
    host, port = p.rsplit(":", 1)
    h.connect_peer((host, int(port)))
start = time.time()
deadline = start + float(timeout)
print("started", flush=True)
while time.time() < deadline:
    st = h.status()
    if mode == "get" and st.is_seeding:
        print("done %.3f" % (time.time() - start), flush=True)
        sys.exit(0)
    for a in s.pop_alerts():
        print("alert", a.message(), flush=True)
    time.sleep(0.02)
print("timeout: state %s progress %.3f peers %d" % (h.status().state, h.status().progress, h.status().num_peers), flush=True)
sys.exit(1)
