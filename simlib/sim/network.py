"""Flow-level networks: NICs whose concurrent flows share bandwidth max-min fairly.

Every node has a full-duplex NIC: an egress link and an ingress link, each of the node's
bandwidth. A message from ``a`` to ``b`` waits the per-message latency, then flows through
``a``'s egress and ``b``'s ingress. Whenever a flow starts or ends, all rates are re-shared
max-min fairly (progressive filling, Bertsekas & Gallager, "Data Networks", 6.5.2): no flow can
go faster without slowing one that is no faster. With equal flows this is B / flows.

:class:`Network` does this for any set of flows (collectives, small parameter-server rounds).
:class:`ServerTier` is the same rule specialised, exactly, to one direction of a parameter-server
star where every message is split evenly over all k server shards: every active message then
gets ``min(B_w, k B_s / n)`` for n active messages, so one virtual clock serves them all
(processor sharing) and a start or end costs O(log n) instead of O(flows).
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import defaultdict
from collections.abc import Hashable, Mapping, Sequence
from functools import partial

import simpy

__all__ = ["Network", "ServerTier", "max_min_rates"]

# A flow is complete when less than this fraction of its bytes is left (float rounding).
_DONE_FRACTION = 1e-9


def max_min_rates(
    flow_links: Sequence[Sequence[Hashable]], capacity: Mapping[Hashable, float]
) -> list[float]:
    """Max-min fair rates of flows over links (progressive filling).

    Repeatedly take the link whose remaining capacity divided by its unfixed flows is least,
    give each of those flows that share, and take it from their other links.

    Args:
        flow_links: for each flow, the links it crosses.
        capacity: bytes/s of every link named.

    Returns:
        Each flow's rate, in the order given.

    Example:
        >>> max_min_rates([("a",), ("a", "b"), ("b",)], {"a": 2.0, "b": 10.0})
        [1.0, 1.0, 9.0]
    """
    left = {}
    users: dict[Hashable, list[int]] = defaultdict(list)
    for f, links in enumerate(flow_links):
        for link in links:
            users[link].append(f)
            left[link] = capacity[link]
    count = {link: len(fs) for link, fs in users.items()}
    rates: list[float | None] = [None] * len(flow_links)
    while count:
        link = min(count, key=lambda k: left[k] / count[k])
        share = max(left[link] / count[link], 0.0)
        for f in users[link]:
            if rates[f] is None:
                rates[f] = share
                for other in flow_links[f]:
                    left[other] -= share
                    count[other] -= 1
                    if count[other] == 0:
                        del count[other]
    return [math.inf if r is None else r for r in rates]


class _Flow:
    __slots__ = ("src", "dst", "nbytes", "delivered", "rate", "done", "meta", "send_s", "start_s")

    def __init__(self, src, dst, nbytes, done, meta, send_s):
        self.src, self.dst, self.nbytes, self.done = src, dst, nbytes, done
        self.meta, self.send_s = meta, send_s
        self.delivered, self.rate, self.start_s = 0.0, 0.0, send_s


class Network:
    """Nodes with full-duplex NICs; messages as flows re-shared max-min fairly on every change.

    Args:
        env: the SimPy environment.
        bandwidth_bytes_per_s: each node's NIC bandwidth (per direction), indexed by node.
        latency_s: seconds each message waits before its bytes flow.
        messages: a ``TableBuilder(Message)`` to record each message into, or None.

    ``send`` returns an event that succeeds when the last byte has arrived.
    """

    def __init__(
        self,
        env: simpy.Environment,
        bandwidth_bytes_per_s: Sequence[float],
        latency_s: float = 0.0,
        messages=None,
    ):
        self.env, self.latency_s, self.messages = env, latency_s, messages
        self.capacity = {}
        for node, b in enumerate(bandwidth_bytes_per_s):
            self.capacity[("out", node)] = self.capacity[("in", node)] = float(b)
        self.active: list[_Flow] = []
        self._t = 0.0
        self._token = 0
        self._due: _Flow | None = None
        self._flush_pending = False

    def send(
        self, src: int, dst: int, nbytes: float, kind: int = 2, step: int = -1, collective: int = -1
    ) -> simpy.Event:
        """Send ``nbytes`` from node ``src`` to node ``dst``; the event fires on arrival."""
        done = self.env.event()
        flow = _Flow(src, dst, float(nbytes), done, (kind, step, collective), self.env.now)
        if self.latency_s > 0:
            self.env.timeout(self.latency_s).callbacks.append(lambda _: self._start(flow))
        else:
            self._start(flow)
        return done

    def _start(self, flow: _Flow) -> None:
        flow.start_s = self.env.now
        free = math.isinf(self.capacity[("out", flow.src)]) and math.isinf(
            self.capacity[("in", flow.dst)]
        )
        if flow.nbytes <= 0 or free:
            flow.delivered = flow.nbytes
            self._finish(flow)
            return
        self._advance()
        self.active.append(flow)
        if not self._flush_pending:  # re-share once for all flows starting at this instant
            self._flush_pending = True
            self.env.timeout(0).callbacks.append(self._flush)

    def _advance(self) -> None:
        dt = self.env.now - self._t
        if dt > 0:
            for f in self.active:
                f.delivered += f.rate * dt
        self._t = self.env.now

    def _flush(self, _event=None) -> None:
        self._flush_pending = False
        self._advance()
        self._reshare()

    def _on_timer(self, token: int, _event) -> None:
        if token != self._token:
            return  # rates changed since this timer was set
        self._advance()
        due = self._due  # the flow this timer was set for is done, whatever rounding left over

        def done(f: _Flow) -> bool:
            return f is due or f.nbytes - f.delivered <= _DONE_FRACTION * f.nbytes

        finished = [f for f in self.active if done(f)]
        self.active = [f for f in self.active if not done(f)]
        for f in finished:
            self._finish(f)
        self._reshare()

    def _reshare(self) -> None:
        self._token += 1
        if not self.active:
            return
        links = [(("out", f.src), ("in", f.dst)) for f in self.active]
        for f, rate in zip(self.active, max_min_rates(links, self.capacity), strict=True):
            f.rate = rate
        waits = [(f.nbytes - f.delivered) / f.rate if f.rate > 0 else math.inf for f in self.active]
        wait = min(waits)
        if math.isinf(wait):  # pragma: no cover - every flow has a finite-capacity link > 0
            raise RuntimeError("no active flow can make progress")
        self._due = self.active[waits.index(wait)]
        self.env.timeout(max(wait, 0.0)).callbacks.append(partial(self._on_timer, self._token))

    def _finish(self, flow: _Flow) -> None:
        if self.messages is not None:
            kind, step, collective = flow.meta
            self.messages.rows.append(
                (
                    flow.src,
                    flow.dst,
                    kind,
                    step,
                    collective,
                    flow.nbytes,
                    flow.delivered,
                    flow.send_s,
                    flow.start_s,
                    self.env.now,
                )
            )
        flow.done.succeed()


class ServerTier:
    """One direction of a parameter-server star: messages split evenly over all k servers.

    Every active message has k sub-flows, one per server shard, so every server link carries one
    sub-flow of each and every worker link k sub-flows of its own message. Max-min fairness then
    gives each message ``min(B_w, k B_s / n)`` bytes/s for n active messages (Paleo; the
    per-flow share of REFERENCES.md), the same for all; a virtual clock ``V`` (bytes each active
    message has received) finishes message i when ``V`` reaches its start value plus its bytes.

    Args:
        env: the SimPy environment.
        worker_bandwidth_bytes_per_s: B_w.
        server_bandwidth_bytes_per_s: B_s, each server's NIC.
        servers: k.

    ``transfer(nbytes, latency_s)`` returns an event whose value is the bytes received.
    """

    def __init__(
        self,
        env: simpy.Environment,
        worker_bandwidth_bytes_per_s: float,
        server_bandwidth_bytes_per_s: float,
        servers: int,
    ):
        self.env = env
        self.cap_message = float(worker_bandwidth_bytes_per_s)
        self.cap_total = servers * float(server_bandwidth_bytes_per_s)
        self.free = math.isinf(self.cap_message) and math.isinf(self.cap_total)
        self.heap: list[tuple[float, int, float, simpy.Event]] = []
        self._seq = itertools.count()
        self._v = self._t = self._rate = 0.0
        self._timer: simpy.Event | None = None
        self._timer_at = math.nan
        self._begin = self._on_latency  # bound once: callbacks are appended per message
        self._fire = self._on_timer

    def transfer(self, nbytes: float, latency_s: float = 0.0) -> simpy.Event:
        """Send a message of ``nbytes`` (split over the servers): it waits ``latency_s``, then
        flows. The event fires when all of it has arrived, with the bytes received as value."""
        done = simpy.Event(self.env)
        if latency_s > 0:
            self.env.timeout(latency_s, (nbytes, done)).callbacks.append(self._begin)
        else:
            self._start((nbytes, done))
        return done

    def _start(self, message: tuple[float, simpy.Event]) -> None:
        nbytes, done = message
        if nbytes <= 0 or self.free:
            done.succeed(float(nbytes))
            return
        now, heap = self.env.now, self.heap
        v = self._v + self._rate * (now - self._t)
        self._v, self._t = v, now
        heapq.heappush(heap, (v + nbytes, next(self._seq), v, done))
        rate = self.cap_total / len(heap)
        self._rate = rate if rate < self.cap_message else self.cap_message
        self._schedule(now, v)

    def _on_latency(self, timer: simpy.Event) -> None:
        self._start(timer.value)

    def _schedule(self, now: float, v: float) -> None:
        """Set a timer for the head message's finish, unless the one set already is right."""
        heap = self.heap
        if not heap:
            self._timer, self._timer_at = None, math.nan
            return
        wait = heap[0][0] - v
        at = now + (wait if wait > 0.0 else 0.0) / self._rate
        if at != self._timer_at:
            self._timer_at = at
            self._timer = timer = self.env.timeout(at - now)
            timer.callbacks.append(self._fire)

    def _on_timer(self, timer: simpy.Event) -> None:
        if timer is not self._timer:
            return  # rates changed since this timer was set
        now, heap = self.env.now, self.heap
        v = self._v + self._rate * (now - self._t)
        if v < heap[0][0]:
            v = heap[0][0]  # the head is due now: no rounding left over
        self._v, self._t = v, now
        while heap:
            end, _, start, done = heap[0]
            if end - v > _DONE_FRACTION * (end - start):
                break
            heapq.heappop(heap)
            done.succeed(v - start)
        if heap:
            rate = self.cap_total / len(heap)
            self._rate = rate if rate < self.cap_message else self.cap_message
        else:  # idle: restart the clock at 0, which keeps V small and its rounding too
            self._v = self._rate = 0.0
        self._timer_at = math.nan
        self._schedule(now, self._v)
