#!/usr/bin/env python3
"""Dumps links and addresses and asks for one refused and one done address change over
rtnetlink; saves each datagram the kernel answers into the folder given (see capture.sh)."""
import socket, struct, os, sys
out = sys.argv[1]
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
s.bind((0, 0))
seq = [100]
n = [0]
def save(name, data):
    open(os.path.join(out, name), "wb").write(data)
def req(typ, flags, payload):
    seq[0] += 1
    hdr = struct.pack("=IHHII", 16 + len(payload), typ, flags, seq[0], 0)
    s.send(hdr + payload)
def recv_all(name, dump=True):
    i = 0
    while True:
        d = s.recv(65536)
        save(f"{name}_{i}", d); i += 1
        if not dump: return
        if struct.unpack_from("=H", d, 4)[0] in (3, 2):  # DONE / ERROR
            return
        # a datagram with NLMSG_DONE at its end
        off = 0; done = False
        while off + 16 <= len(d):
            ln, t = struct.unpack_from("=IH", d, off)
            if t in (2, 3): done = True
            off += (ln + 3) & ~3
        if done: return
NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP = 1, 4, 0x300
RTM_GETLINK, RTM_GETADDR, RTM_DELADDR, RTM_NEWADDR = 18, 22, 21, 20
req(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, struct.pack("=BxHiII", 0, 0, 0, 0, 0))
recv_all("link_dump")
req(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, struct.pack("=BBBBI", 0, 0, 0, 0, 0))
recv_all("addr_dump")
lo = socket.if_nametoindex("lo")
def rta(t, v):
    return struct.pack("=HH", 4 + len(v), t) + v + b"\0" * ((-len(v)) % 4)
# delete an address that is not there: an error ack (EADDRNOTAVAIL)
req(RTM_DELADDR, NLM_F_REQUEST | NLM_F_ACK, struct.pack("=BBBBI", 2, 32, 0, 0, lo) + rta(2, socket.inet_aton("192.0.2.250")))
recv_all("ack_eaddrnotavail", dump=False)
req(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | 0x400 | 0x200, struct.pack("=BBBBI", 2, 32, 0, 0, lo) + rta(2, socket.inet_aton("192.0.2.251")) + rta(1, socket.inet_aton("192.0.2.251")))
recv_all("ack_ok", dump=False)
