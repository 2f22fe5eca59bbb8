"""The media worker (`callcenter media`, or `python -m callcenter.media.worker`): the Socket.IO
client that takes recording jobs from the core, the aiortc connections of their legs, and the
flush loop that writes each job's packets to its file. The one module of the package that talks
to the core and holds connections; taking packets out of aiortc is `tap`'s, where they go
`slots`'s, the packet format `opus`'s, the file `ogg`'s (docs/protocol.md, "Recording").

A plain asyncio process with aiortc; no eventlet and no Flask (platform notes: aiortc does not mix
with the eventlet server). It connects to the core as a Socket.IO client with a `service`
credential, says `worker_hello`, and then serves jobs:

- `record_start {jobId, callId, legs, file, ...}`: open `<recordingsDir>/<file>` as an Ogg Opus
  file of two mono streams (customer left, agent right) and report `job_update started`;
- `record_signal {jobId, from, kind, payload}`: each leg (participant) sends a send-only offer; the
  worker answers with full SDP (aiortc gathers before answering; Opus is the only audio codec it
  accepts) and receives the leg's audio;
- `record_leg {jobId, userID, channel}`: one more leg may record on `channel` (a transfer's target
  takes the agent's channel, whose earlier leg has closed);
- `record_stop {jobId, at}`: close the leg connections and the file, which ends at `at` (the
  call's end as the core timed it, however late the worker reads the message), report
  `job_update done` with duration, size and sha256.

Flushing. Each leg's Opus packets are placed, undecoded, in the job's 20 ms slots by RTP time
(`SlotPairs`, slots.py). Every `FLUSH_INTERVAL` one task writes, for every job, the slots that
lie more than `LATENCY` in the past, as whole Ogg pages: a slot a leg has no packet for by then
holds silence. The file is thus written progressively, a page at a time, so a worker killed
mid-call leaves a playable file (the core cuts a torn last page off).

Lifecycle. `record_stop` and SIGTERM/SIGINT close files properly (SIGTERM reports them
`partial`). When the connection to the core is lost, the core counts the worker's jobs as ended
and indexes their files as they are: the worker stops writing them at once, and says
`worker_hello` again once python-socketio has reconnected.

aiortc is imported when the first offer arrives, not at import. uvloop is used when installed
(`event_loop_factory`). Video (`video: true`) is not recorded: video tracks are drained and
dropped (audio only, as before).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import socketio
import socketio.exceptions

from callcenter import logs
from callcenter.media.ice import ice_candidate, ice_servers
from callcenter.media.ogg import CHANNELS, OggOpusWriter
from callcenter.media.opus import SAMPLE_RATE, SLOT_SAMPLES
from callcenter.media.recording_file import sha256_of
from callcenter.media.slots import LegPackets, SlotPairs
from callcenter.media.tap import PacketTap

__all__ = ["MediaWorker", "run_worker", "event_loop_factory", "main"]

log = logging.getLogger("callcenter.media")

#: seconds between two flushes of every job's packets to its file
FLUSH_INTERVAL = 0.1
#: how late (seconds) a leg's packet may arrive and still be placed; later ones are dropped. A
#: second: it costs only memory (a second of packets a leg) and what a killed worker loses, and
#: it absorbs the stalls of a busy worker or sender (bench/recording.py), not just network jitter
LATENCY = 1.0
#: seconds to wait for the core's ack of a request
ACK_TIMEOUT = 5.0


@dataclass
class Leg:
    """One participant's send-only connection to the recorder; its `anchor` and counts are
    `LegPackets`' (slots.LegClock), the anchor reset here when a new offer replaces the
    connection."""

    user_id: str
    channel: str
    pc: Any = None
    pending_candidates: list[Any] = field(default_factory=list)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    offers: int = 0  # offers received: one that is not the latest is for a leg already gone
    anchor: int | None = None  # clock position minus RTP position (samples)
    packets: int = 0  # 20 ms packets received
    unfit: int = 0  # packets left out: malformed, or frames that are not 20 ms


@dataclass
class Job:
    """One recording: its legs, its file and the slots between them, on one clock."""

    job_id: str
    call_id: str
    app_id: str
    file: str
    path: Path
    video: bool
    legs: dict[str, Leg]
    writer: OggOpusWriter
    started_at: float  # loop time of record_start: sample 0 of the clock
    slots: SlotPairs = field(default_factory=SlotPairs)
    closing: bool = False

    def slot(self, now: float, nearest: bool = False) -> int:
        """The 20 ms slots of the clock that have ended by loop time `now` (with `nearest`, the
        slot boundary nearest to it: where a recording ends, within 10 ms of its `at`)."""
        samples = int((now - self.started_at) * SAMPLE_RATE)
        return max(0, (samples + (SLOT_SAMPLES // 2 if nearest else 0)) // SLOT_SAMPLES)


class JobError(Exception):
    """A job the worker cannot serve (a bad record_start or offer): reported, not raised on."""


def _user_id_of(token: str) -> str:
    """The `sub` of a credential, read without verifying it (the server verifies)."""
    import jwt

    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise ValueError(f"the token is not a credential: {exc}") from exc
    sub = claims.get("sub")
    if not isinstance(sub, str):
        raise ValueError("the token carries no user id (sub)")
    return sub


class MediaWorker:
    """One worker process's connection to the core and its jobs."""

    def __init__(self, server_url: str, app_id: str, token: str, capacity: int,
                 name: str | None = None, *, user_id: str | None = None,
                 verify_tls: bool = True) -> None:
        self.server_url = server_url
        self.app_id = app_id
        self.token = token
        self.user_id = user_id or _user_id_of(token)
        self.capacity = capacity
        self.name = name
        self.worker_id: str | None = None
        self.recordings_dir: Path | None = None
        self.ice_servers: list[dict[str, Any]] = []  # from the worker_hello ack
        self.jobs: dict[str, Job] = {}
        self.ready = asyncio.Event()
        self._stopping = asyncio.Event()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.sio = socketio.AsyncClient(reconnection=True, reconnection_delay=0.5,
                                        reconnection_delay_max=5, randomization_factor=0.2,
                                        ssl_verify=verify_tls,
                                        logger=False, engineio_logger=False)
        self.sio.on("connect", self._on_connect)
        self.sio.on("disconnect", self._on_disconnect)
        self.sio.on("record_start", self._on_record_start)
        self.sio.on("record_signal", self._on_record_signal)
        self.sio.on("record_leg", self._on_record_leg)
        self.sio.on("record_stop", self._on_record_stop)

    # -- life -----------------------------------------------------------------------------------

    async def run(self) -> None:
        """Connect, serve jobs until SIGTERM/SIGINT (or `stop()`), then close every open job as
        partial and disconnect."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, self.stop)
        await self._connect_first()
        flusher = asyncio.create_task(self._flush_loop())
        try:
            await self._stopping.wait()
        finally:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
            await self.shutdown()

    def stop(self) -> None:
        self._stopping.set()

    async def _connect_first(self) -> None:
        """The first connection; python-socketio reconnects by itself after a loss, but not
        when the first attempt fails, so retry that here."""
        delay = 0.5
        while not self._stopping.is_set():
            try:
                await self.sio.connect(self.server_url, auth=self._auth(),
                                       transports=["websocket"], wait_timeout=10)
                return
            except socketio.exceptions.ConnectionError as exc:
                log.warning("media worker: cannot connect to %s: %s; retrying in %.1f s",
                            self.server_url, exc, delay)
                try:
                    await asyncio.wait_for(self._stopping.wait(), delay)
                except TimeoutError:
                    pass
                delay = min(delay * 2, 5)

    def _auth(self) -> dict[str, str]:
        return {"appId": self.app_id, "userID": self.user_id, "userSig": self.token}

    async def shutdown(self) -> None:
        """Close every open job (reported `done` with `partial: true`), then disconnect."""
        jobs = [job for job in self.jobs.values() if not job.closing]
        if jobs:
            log.info("media worker: stopping, closing %d open recording(s)", len(jobs))
        await asyncio.gather(*(self._finish(job, partial=True) for job in jobs),
                             return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.sio.disconnect()

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _on_connect(self) -> None:
        # the connect handler runs inside python-socketio's packet handling: a request awaited
        # here would wait for its own ack forever, so say hello from a task of its own
        self._spawn(self._hello())

    async def _on_disconnect(self, reason: Any = None) -> None:
        self.ready.clear()
        if self._stopping.is_set():
            return
        jobs = [job for job in self.jobs.values() if not job.closing]
        log.warning("media worker: connection lost (%s); abandoning %d open recording(s)",
                    reason, len(jobs))
        for job in jobs:
            self._spawn(self._abandon(job))

    async def _abandon(self, job: Job) -> None:
        """The core counts a lost worker's jobs as ended (it indexes their files as partial at
        once, from what is on disk): stop writing at once, so the file stays what it indexed."""
        job.closing = True
        self.jobs.pop(job.job_id, None)
        with contextlib.suppress(OSError):
            job.writer.abandon()
        await asyncio.gather(*(self._close_leg(leg) for leg in job.legs.values()),
                             return_exceptions=True)

    async def _hello(self) -> None:
        payload: dict[str, Any] = {"capacity": self.capacity}
        if self.name:
            payload["name"] = self.name
        try:
            ack = await self.sio.call("worker_hello", payload, timeout=ACK_TIMEOUT)
        except Exception as exc:  # noqa: BLE001 - any failure: drop the connection and retry
            log.error("media worker: worker_hello failed: %r", exc)
            ack = None
        if not isinstance(ack, dict) or not ack.get("ok"):
            log.error("media worker: worker_hello refused: %r", ack)
            if isinstance(ack, dict) and (ack.get("error") or {}).get("code") == "FORBIDDEN":
                self.stop()  # not a service credential: retrying cannot help
            else:
                with contextlib.suppress(Exception):
                    await self.sio.disconnect()  # python-socketio does not reconnect then...
                self._spawn(self._reconnect_later())
            return
        self.worker_id = str(ack.get("workerId"))
        self.recordings_dir = Path(str(ack.get("recordingsDir")))
        self.ice_servers = [s for s in ack.get("iceServers") or [] if isinstance(s, dict)]
        log.info("media worker %s (%s) ready: capacity %d, recordings in %s", self.worker_id,
                 self.user_id, self.capacity, self.recordings_dir)
        self.ready.set()

    async def _reconnect_later(self) -> None:
        await asyncio.sleep(2)
        if not self._stopping.is_set() and not self.sio.connected:
            await self._connect_first()

    async def _request(self, event: str, payload: dict[str, Any]) -> dict[str, Any] | None:
        """Send a request and return its ack; None (logged) when it could not be delivered."""
        try:
            ack = await self.sio.call(event, payload, timeout=ACK_TIMEOUT)
        except Exception as exc:  # noqa: BLE001 - disconnected, timed out
            log.warning("media worker: %s %s not delivered: %r", event,
                        payload.get("jobId"), exc)
            return None
        if not isinstance(ack, dict) or not ack.get("ok"):
            log.warning("media worker: %s %s refused: %r", event, payload.get("jobId"), ack)
        return ack if isinstance(ack, dict) else None

    # -- jobs -----------------------------------------------------------------------------------

    async def _on_record_start(self, data: Any) -> None:
        try:
            job = self._open_job(data)
        except (JobError, OSError, KeyError, TypeError, ValueError) as exc:
            job_id = data.get("jobId") if isinstance(data, dict) else None
            log.error("media worker: cannot start job %r: %s", job_id, exc)
            if job_id is not None:
                await self._request("job_update", {"jobId": job_id, "state": "failed",
                                                   "error": str(exc)[:500]})
            return
        if job is None:
            return  # a repeated record_start
        log.info("media worker: job %s for call %s -> %s", job.job_id, job.call_id, job.path)
        await self._request("job_update", {"jobId": job.job_id, "state": "started"})

    def _open_job(self, data: dict[str, Any]) -> Job | None:
        job_id = str(data["jobId"])
        if job_id in self.jobs:
            return None
        if self.recordings_dir is None:
            raise JobError("no recordings directory (worker_hello not answered)")
        root = self.recordings_dir.resolve()
        path = (root / str(data["file"])).resolve()
        if root not in path.parents:
            raise JobError(f"file {data['file']!r} is outside the recordings directory")
        legs: dict[str, Leg] = {}
        for leg in data["legs"]:
            channel = leg["channel"]
            if channel not in ("left", "right"):
                raise JobError(f"unknown channel {channel!r}")
            legs[str(leg["userID"])] = Leg(str(leg["userID"]), channel)
        loop = asyncio.get_running_loop()
        job = Job(job_id=job_id, call_id=str(data.get("callId")), app_id=str(data.get("appId")),
                  file=str(data["file"]), path=path, video=bool(data.get("video")), legs=legs,
                  writer=OggOpusWriter(path), started_at=loop.time() - _age(data.get("at")))
        self.jobs[job_id] = job
        return job

    async def _on_record_leg(self, data: Any) -> None:
        job = self.jobs.get(str(data.get("jobId"))) if isinstance(data, dict) else None
        channel = data.get("channel") if isinstance(data, dict) else None
        if job is None or job.closing or channel not in ("left", "right"):
            log.info("media worker: record_leg for unknown or closed job, or bad channel: %r",
                     data)
            return
        user = str(data.get("userID"))
        if user not in job.legs:
            job.legs[user] = Leg(user, channel)

    async def _on_record_signal(self, data: Any) -> None:
        if not isinstance(data, dict):
            return
        job = self.jobs.get(str(data.get("jobId")))
        if job is None or job.closing:
            log.info("media worker: record_signal for unknown or closed job %r", data.get("jobId"))
            return
        leg = job.legs.get(str(data.get("from")))
        if leg is None:
            log.warning("media worker: record_signal from %r, not a leg of job %s",
                        data.get("from"), job.job_id)
            return
        if data.get("kind") == "offer":
            leg.offers += 1
        offer = leg.offers
        # python-socketio runs every event in a task of its own: the leg's lock (FIFO) keeps an
        # offer and the candidates after it in their order of arrival
        async with leg.lock:
            if job.closing:
                return
            try:
                if data.get("kind") == "offer":
                    await self._on_offer(job, leg, data.get("payload"), offer)
                elif data.get("kind") == "candidate":
                    leg.pending_candidates.append(data.get("payload"))
                    if leg.pc is not None and leg.pc.remoteDescription is not None:
                        await self._flush_candidates(leg)
            except Exception:
                log.exception("media worker: job %s leg %s: %s failed", job.job_id, leg.user_id,
                              data.get("kind"))

    async def _on_offer(self, job: Job, leg: Leg, payload: Any, offer: int) -> None:
        """Answer the leg's `offer`-th offer, unless a newer one came: the participant sends a
        new offer from a new connection (after a reload, or when the leg broke) and has closed
        the one this offer came from, so an answer to it would reach the new connection and
        be taken for the answer to its own offer."""
        from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

        if offer != leg.offers:
            log.info("media worker: job %s leg %s: offer superseded by a newer one",
                     job.job_id, leg.user_id)
            return
        if not isinstance(payload, dict) or not isinstance(payload.get("sdp"), str):
            raise JobError("offer without sdp")
        if leg.pc is not None:  # a new offer replaces the leg's connection
            # not waited for: closing a connection whose relay is down waits for its TURN
            # deallocation to time out (~30 s), and the new one is wanted now
            await self._close_leg(leg, wait=False)
            leg.pending_candidates.clear()  # the old connection's
        pc = RTCPeerConnection(RTCConfiguration(iceServers=ice_servers(self.ice_servers)))
        leg.pc = pc
        leg.anchor = None
        _accept_only_opus(pc)

        @pc.on("track")
        def on_track(track: Any) -> None:
            if track.kind == "audio":
                self._receive_audio(job, leg, pc, track)
            else:  # video is not recorded: drain it so frames do not pile up
                leg.tasks.append(asyncio.ensure_future(self._drain(track)))

        await pc.setRemoteDescription(RTCSessionDescription(sdp=payload["sdp"],
                                                            type=payload.get("type", "offer")))
        await self._flush_candidates(leg)
        # aiortc's setLocalDescription gathers candidates first: the answer carries them all
        await pc.setLocalDescription(await pc.createAnswer())
        desc = pc.localDescription
        if job.closing or leg.pc is not pc or offer != leg.offers:
            return  # a newer offer came while gathering: it replaces this connection
        await self._request("record_signal", {"jobId": job.job_id, "to": leg.user_id,
                                              "kind": "answer",
                                              "payload": {"type": desc.type, "sdp": desc.sdp}})

    @staticmethod
    async def _flush_candidates(leg: Leg) -> None:
        pending, leg.pending_candidates = leg.pending_candidates, []
        for payload in pending:
            await leg.pc.addIceCandidate(ice_candidate(payload))

    def _receive_audio(self, job: Job, leg: Leg, pc: Any, track: Any) -> None:
        """Feed the leg's Opus packets, undecoded, to the job's slots: a `PacketTap` in place of
        aiortc's decoder queue. Should aiortc's internals not allow that, the leg is not
        recorded (its channel is silence) and that is logged: the track only gives decoded
        audio, which this file format does not take."""
        sink = LegPackets(job.slots, leg, job.started_at)
        receiver = next((t.receiver for t in pc.getTransceivers()
                         if t.receiver is not None and t.receiver.track is track), None)
        if PacketTap.install(receiver, sink, asyncio.get_running_loop().time):
            return
        log.error("media worker: job %s leg %s: cannot take Opus packets from this aiortc "
                  "version; the leg is not recorded", job.job_id, leg.user_id)
        leg.tasks.append(asyncio.ensure_future(self._drain(track)))

    @staticmethod
    async def _drain(track: Any) -> None:
        from aiortc.mediastreams import MediaStreamError

        with contextlib.suppress(MediaStreamError, asyncio.CancelledError):
            while True:
                await track.recv()

    async def _on_record_stop(self, data: Any) -> None:
        job = self.jobs.get(str(data.get("jobId"))) if isinstance(data, dict) else None
        if job is None or job.closing:
            log.info("media worker: record_stop for unknown or closed job %r", data)
            return
        await self._finish(job, partial=False, age=_age(data.get("at")))

    async def _close_leg(self, leg: Leg, *, wait: bool = True) -> None:
        """Close the leg's connection; with `wait=False` in the background (its receivers stop
        at the first step, so no more of its packets reach the slots)."""
        pc, leg.pc = leg.pc, None
        for task in leg.tasks:
            task.cancel()
        leg.tasks.clear()
        if pc is not None:
            closing = self._spawn(_close_quietly(pc))
            if wait:
                await closing

    async def _finish(self, job: Job, *, partial: bool, age: float = 0.0) -> None:
        """Close the job's connections and file, report `done` (or `failed`). The recording
        ends `age` seconds ago (when the call ended, if record_stop says)."""
        if job.closing:
            return
        job.closing = True
        loop = asyncio.get_running_loop()
        end = job.slot(loop.time() - age, nearest=True)
        await asyncio.gather(*(self._close_leg(leg) for leg in job.legs.values()),
                             return_exceptions=True)
        payload: dict[str, Any]
        try:
            if end >= job.slots.position:
                job.writer.write(job.slots.take(end))
            else:  # handled late: the flush loop already wrote past the call's end
                log.info("media worker: job %s: stopped %.2f s after its end; file cut back "
                         "from %.2f s to %.2f s", job.job_id, age, job.writer.duration,
                         end * SLOT_SAMPLES / SAMPLE_RATE)
                job.writer.cut(end * SLOT_SAMPLES)
            # fsync and hashing block: in a thread, so other jobs' record_stop are not delayed
            digest = await asyncio.to_thread(_close_and_hash, job.writer)
            payload = {"jobId": job.job_id, "state": "done", "file": job.file,
                       "duration": round(job.writer.duration, 3), "size": job.writer.size,
                       "channels": CHANNELS, "sha256": digest, "partial": partial}
            late = job.slots.dropped * SLOT_SAMPLES / SAMPLE_RATE
            unfit = sum(leg.unfit for leg in job.legs.values())
            log.info("media worker: job %s done: %.2f s, %d bytes%s%s%s", job.job_id,
                     job.writer.duration, job.writer.size, " (partial)" if partial else "",
                     f"; {late:.2f} s of audio came too late and was dropped" if late else "",
                     f"; {unfit} packet(s) not of 20 ms frames left out" if unfit else "")
        except OSError as exc:
            log.error("media worker: job %s: closing %s failed: %s", job.job_id, job.path, exc)
            payload = {"jobId": job.job_id, "state": "failed", "error": str(exc)[:500]}
        finally:
            self.jobs.pop(job.job_id, None)
        if self.sio.connected:
            await self._request("job_update", payload)

    # -- the clock ------------------------------------------------------------------------------

    async def _flush_loop(self) -> None:
        """Every FLUSH_INTERVAL, write every job's slots older than LATENCY to its file."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(FLUSH_INTERVAL)
            now = loop.time()
            for job in list(self.jobs.values()):
                if job.closing:
                    continue
                upto = job.slot(now - LATENCY)
                if upto > job.slots.position:
                    try:
                        job.writer.write(job.slots.take(upto))
                    except OSError as exc:
                        log.error("media worker: job %s: writing failed: %s", job.job_id, exc)
                        self._spawn(self._fail(job, str(exc)))
                        continue

    async def _fail(self, job: Job, error: str) -> None:
        job.closing = True
        await asyncio.gather(*(self._close_leg(leg) for leg in job.legs.values()),
                             return_exceptions=True)
        with contextlib.suppress(OSError):
            job.writer.close()
        self.jobs.pop(job.job_id, None)
        await self._request("job_update", {"jobId": job.job_id, "state": "failed",
                                           "error": error[:500]})


def _age(at: Any) -> float:
    """How long ago the server's timestamp `at` (epoch seconds, in record_start/record_stop when
    the core sends it) was, if plausible (0-10 s); else 0: the message's arrival counts. It makes a
    recording cover the call exactly even when a busy worker handles the message late; the clocks
    of the core's and the worker's machines are assumed in step (NTP)."""
    if isinstance(at, int | float) and not isinstance(at, bool):
        age = time.time() - float(at)
        if 0.0 <= age <= 10.0:
            return age
    return 0.0


async def _close_quietly(pc: Any) -> None:
    with contextlib.suppress(Exception):
        await pc.close()


def _accept_only_opus(pc: Any) -> None:
    """Make the connection's audio transceiver accept Opus only, before the offer is applied
    (aiortc takes the offer's first m=audio for a transceiver that has no mid yet): the file
    stores packets as they come, and it is an Opus file. Browsers always offer Opus."""
    from aiortc import RTCRtpReceiver

    opus = [codec for codec in RTCRtpReceiver.getCapabilities("audio").codecs
            if codec.mimeType.lower() == "audio/opus"]
    pc.addTransceiver("audio", direction="recvonly").setCodecPreferences(opus)


def _close_and_hash(writer: OggOpusWriter) -> str:
    writer.close()
    return sha256_of(writer.path)


def run_worker(server_url: str, app_id: str, token: str, capacity: int,
               name: str | None = None, *, user_id: str | None = None,
               verify_tls: bool = True) -> None:
    """Run a media worker until SIGTERM/SIGINT (blocking). `user_id` defaults to the credential's
    own (`sub`)."""
    async def main() -> None:
        await MediaWorker(server_url, app_id, token, capacity, name, user_id=user_id,
                          verify_tls=verify_tls).run()

    with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
        runner.run(main())


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop when uvloop is installed (`pip install callcenter[media]` brings it): its
    datagram handling and scheduling are cheaper, which is most of what a worker does; None
    (asyncio's own loop) otherwise, or with CALLCENTER_MEDIA_LOOP=asyncio."""
    if os.environ.get("CALLCENTER_MEDIA_LOOP", "").lower() == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def main(argv: list[str] | None = None) -> None:
    """`python -m callcenter.media.worker --server URL --app ID --token SIG [--capacity N]`
    (the same as `callcenter media`)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m callcenter.media.worker")
    parser.add_argument("--server", required=True)
    parser.add_argument("--app", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--capacity", type=int, default=150)
    parser.add_argument("--name", default=None)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    logs.configure(args.log_level)
    run_worker(args.server, args.app, args.token, args.capacity, args.name)


if __name__ == "__main__":
    main()
