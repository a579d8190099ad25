#!/usr/bin/env python3
"""Opens COUNT keep-alive connections to HOST:PORT, sends one GET on each and reads its answer,
then holds them all open and idle until stdin closes (or HOLD seconds pass). Prints
`open N` once all are established and answered, `failed N` for the ones that were not.

Usage: idle_conns.py HOST PORT COUNT [HOLD]
The caller raises the open-file limit (ulimit -n) first.
"""
import selectors
import socket
import sys
import time

host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
hold = float(sys.argv[4]) if len(sys.argv) > 4 else 120.0
request = f"GET /api/public/health HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
selector = selectors.DefaultSelector()
sockets, failed, answered = [], 0, 0
for _ in range(count):
    s = socket.socket()
    s.setblocking(False)
    try:
        s.connect_ex((host, port))
    except OSError:
        failed += 1
        continue
    sockets.append(s)
    selector.register(s, selectors.EVENT_WRITE, b"")
    # keep the accept queue moving: service what is ready every 200 connections
    if len(sockets) % 200 == 0:
        time.sleep(0.01)

deadline = time.time() + 60
pending = len(sockets)
while pending and time.time() < deadline:
    for key, events in selector.select(timeout=1):
        s = key.fileobj
        if events & selectors.EVENT_WRITE:
            try:
                s.send(request)
                selector.modify(s, selectors.EVENT_READ, b"")
            except OSError:
                selector.unregister(s)
                failed += 1
                pending -= 1
        elif events & selectors.EVENT_READ:
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            buffered = key.data + data
            if not data:
                selector.unregister(s)
                failed += 1
                pending -= 1
            elif b"\r\n\r\n" in buffered and buffered.startswith(b"HTTP/1.1 200"):
                selector.unregister(s)
                answered += 1
                pending -= 1
            else:
                selector.modify(s, selectors.EVENT_READ, buffered)
failed += pending
print(f"open {answered}", flush=True)
print(f"failed {failed}", flush=True)
end = time.time() + hold
try:
    while time.time() < end:
        if sys.stdin.readline() == "":
            break
except KeyboardInterrupt:
    pass
