"""Recording jobs: which media worker records which call, and the index of finished recordings.

Workers are processes of their own (``callcenter media``) that announce a capacity; a recorded
call's job goes to the least-loaded one when the call is answered and is stopped when it ends.
A worker that disappears mid-call leaves its file partial: the core cuts it after its last whole
Ogg page and indexes it as partial, and the call itself goes on. Plain Python apart from the
JSON Lines index (the file's repair, duration and hashing are
``callcenter.media.recording_file``'s, beside the format the worker writes); the adapter delivers
``Outcome.to_workers`` messages.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from callcenter.domain.calls import Outcome

# The recording file, beside the format the worker writes: the only module of the media package
# the core imports (standard library only; the server process must not load aiortc).
from callcenter.media.recording_file import (
    CHANNELS,
    SUFFIX,
    duration_of,
    media_type,
    repair,
    sha256_of,
)

log = logging.getLogger("callcenter.history.recordings")


@dataclass
class Worker:
    id: str
    capacity: int
    name: str
    # The app whose calls it may record: that of its service credential, or None for a worker
    # the server's config declares shared (a credential signed with `shared_worker_secret`).
    app_id: str | None
    jobs: set[str] = field(default_factory=set)

    def serves(self, app_id: str) -> bool:
        return self.app_id is None or self.app_id == app_id

    @property
    def load(self) -> float:
        return len(self.jobs) / self.capacity


@dataclass
class Job:
    id: str
    app_id: str
    call_id: str
    worker_id: str
    legs: dict[str, str]  # user id -> channel
    file: str
    video: bool
    state: str = "pending"  # pending, started, stopping, done, failed
    created_at: float = field(default_factory=time.time)


class Recorder:
    """Jobs and workers of one core server, and the recordings index on disk."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.workers: dict[str, Worker] = {}
        self.jobs: dict[str, Job] = {}
        self.by_call: dict[tuple[str, str], str] = {}
        self.index: dict[tuple[str, str], dict[str, Any]] = {}
        # When the index file was last read or written (another process may write it).
        self._index_stamp: int | None = None
        self._load_index()

    # -- as plain data: shared by processes on one store (callcenter.server.cluster) ----------

    def to_state(self) -> dict[str, Any]:
        """The workers and their jobs, JSON-ready."""
        return {"workers": [{**asdict(w), "jobs": sorted(w.jobs)} for w in self.workers.values()],
                "jobs": [asdict(job) for job in self.jobs.values()]}

    def load_state(self, state: dict[str, Any]) -> None:
        self.workers = {w["id"]: Worker(**{**w, "jobs": set(w["jobs"])})
                        for w in state.get("workers", [])}
        self.jobs = {j["id"]: Job(**j) for j in state.get("jobs", [])}
        self.by_call = {(job.app_id, job.call_id): job.id for job in self.jobs.values()}

    # -- the index -------------------------------------------------------------------------

    @property
    def index_path(self) -> Path:
        return self.directory / "index.jsonl"

    def _stamp(self) -> int | None:
        try:
            return self.index_path.stat().st_mtime_ns
        except FileNotFoundError:
            return None

    def _fresh_index(self) -> None:
        """Read the index again if another process wrote it since (processes that share the
        recordings folder write it one step at a time, holding their common lock)."""
        if self._stamp() != self._index_stamp:
            self.index = {}
            self._load_index()

    def _load_index(self) -> None:
        self._index_stamp = self._stamp()
        if not self.index_path.exists():
            return
        for line in self.index_path.read_text().splitlines():
            try:
                record = json.loads(line)
                self.index[(record["app"], record["callId"])] = record
            except (ValueError, KeyError):
                log.warning("skipping a broken line of %s", self.index_path)

    def _write_index(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = self.index_path.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(r) + "\n" for r in self.index.values()))
        tmp.replace(self.index_path)
        self._index_stamp = self._stamp()

    def record(self, app_id: str, call_id: str) -> dict[str, Any] | None:
        self._fresh_index()
        return self.index.get((app_id, call_id))

    def path_of(self, record: dict[str, Any]) -> Path:
        return self.directory / record["file"]

    @staticmethod
    def media_type(path: Path) -> str:
        """The Content-Type of a recording's file (Ogg Opus; WAV for files recorded before)."""
        return media_type(path)

    def expire(self, retention_days: int, now: float | None = None) -> int:
        """Delete recordings older than the retention period; return how many."""
        if retention_days <= 0:
            return 0
        limit = (now or time.time()) - retention_days * 86400
        self._fresh_index()
        old = [k for k, r in self.index.items() if r["createdAt"] < limit]
        for key in old:
            record = self.index.pop(key)
            self.path_of(record).unlink(missing_ok=True)
        if old:
            self._write_index()
        return len(old)

    # -- workers ---------------------------------------------------------------------------

    def add_worker(self, capacity: int, name: str, app_id: str | None) -> Worker:
        """A worker for ``app_id``'s calls only, or for every app's when ``app_id`` is None."""
        worker = Worker(secrets.token_hex(6), capacity, name, app_id)
        self.workers[worker.id] = worker
        return worker

    def worker_gone(self, worker_id: str) -> list[dict[str, Any]]:
        """The worker's connection dropped: its files are what was written, indexed partial."""
        worker = self.workers.pop(worker_id, None)
        if worker is None:
            return []
        finished = []
        for job_id in sorted(worker.jobs):
            job = self.jobs.get(job_id)
            if job is not None and job.state in ("started", "stopping", "pending"):
                record = self._index_partial(job, "the media worker went away")
                if record is not None:
                    finished.append(record)
        return finished

    # -- jobs ------------------------------------------------------------------------------

    def start(self, app_id: str, call_id: str, legs: dict[str, str], video: bool,
              out: Outcome) -> Job | None:
        """Give the call to the least-loaded worker of its app with room; None if there is
        none. A worker never sees another app's calls: its job names the legs it may signal."""
        free = [w for w in self.workers.values()
                if w.serves(app_id) and len(w.jobs) < w.capacity]
        if not free:
            return None
        worker = min(free, key=lambda w: (w.load, w.id))
        day = time.strftime("%Y/%m/%d")
        job = Job(secrets.token_hex(8), app_id, call_id, worker.id, dict(legs),
                  f"{app_id}/{day}/{call_id}{SUFFIX}", video)
        self.jobs[job.id] = job
        self.by_call[(app_id, call_id)] = job.id
        worker.jobs.add(job.id)
        out.to_workers.append((worker.id, "record_start", {
            # `at` lets a busy worker place the start exactly, however late it reads this.
            "jobId": job.id, "callId": call_id, "appId": app_id, "video": video,
            "at": time.time(),
            "legs": [{"userID": u, "channel": c} for u, c in legs.items()], "file": job.file}))
        for user in legs:
            out.notify(user, "record_start", {"callId": call_id, "jobId": job.id,
                                              "video": video})
        return job

    def stop(self, app_id: str, call_id: str, out: Outcome) -> None:
        job = self.job_for_call(app_id, call_id)
        if job is not None and job.state in ("pending", "started"):
            job.state = "stopping"
            out.to_workers.append((job.worker_id, "record_stop",
                                   {"jobId": job.id, "at": time.time()}))

    def add_leg(self, app_id: str, call_id: str, user: str, channel: str,
                out: Outcome) -> bool:
        """``user`` records on ``channel`` from now on, beside the legs already there (a
        transfer's target takes the agent's channel); False without a recording going on."""
        job = self.job_for_call(app_id, call_id)
        if job is None or job.state not in ("pending", "started"):
            return False
        job.legs[user] = channel
        out.to_workers.append((job.worker_id, "record_leg",
                               {"jobId": job.id, "userID": user, "channel": channel}))
        out.notify(user, "record_start", {"callId": call_id, "jobId": job.id,
                                          "video": job.video})
        return True

    def job_for_call(self, app_id: str, call_id: str) -> Job | None:
        job_id = self.by_call.get((app_id, call_id))
        return self.jobs.get(job_id) if job_id else None

    def update(self, worker_id: str, job_id: str, state: str,
               report: dict[str, Any]) -> dict[str, Any] | None:
        """A worker reports on its job; returns the index record once the file is closed."""
        job = self.jobs.get(job_id)
        if job is None or job.worker_id != worker_id:
            raise KeyError(job_id)
        if state == "started":
            job.state = "started" if job.state == "pending" else job.state
            return None
        worker = self.workers.get(worker_id)
        if worker is not None:
            worker.jobs.discard(job_id)
        if state == "failed":
            job.state = "failed"
            log.warning("recording of call %s failed: %s", job.call_id, report.get("error"))
            return self._index_partial(job, str(report.get("error") or "failed"))
        job.state = "done"
        path = self.directory / job.file
        if not path.exists():
            return None
        return self._make_record(job, path, partial=bool(report.get("partial")))

    def _index_partial(self, job: Job, why: str) -> dict[str, Any] | None:
        job.state = "done"
        path = self.directory / job.file
        if not path.exists():
            return None
        repair(path)
        return self._make_record(job, path, partial=True, note=why)

    def _make_record(self, job: Job, path: Path, partial: bool,
                     note: str | None = None) -> dict[str, Any]:
        size = path.stat().st_size
        self._fresh_index()
        record = {
            "callId": job.call_id, "app": job.app_id, "file": job.file,
            "duration": round(duration_of(path), 3),
            "size": size, "channels": CHANNELS, "sha256": sha256_of(path),
            "partial": partial, "createdAt": job.created_at, "legs": job.legs,
            **({"note": note} if note else {}),
        }
        self.index[(job.app_id, job.call_id)] = record
        self._write_index()
        self.by_call.pop((job.app_id, job.call_id), None)
        self.jobs.pop(job.id, None)
        return record
