"""The simulator's two front doors; integration tests of the client run against both.

``tcp`` is HTTP and WebSocket over loopback, as a real venue is reached; ``inprocess`` is the
offline client (lighter_sync.inprocess): the same handlers reached by function calls, no socket.
A test that passes on one and fails on the other has found a transport difference.
"""

TRANSPORTS = ("tcp", "inprocess")
