// The reference for bench/contact_center.py: callcenter's call-setup message pattern on Node
// socket.io v4, so that one load generator can drive both servers with the same client.
//
// Same wire as callcenter (docs/protocol.md) for what the benchmark uses: the auth object
// {appId, userID, userSig} with an HS256 credential (checked here too), `hello`, the agent's
// `agent_status`, the customer's `enqueue`, `accept` and `hangup`, and the same events in the same
// order: queue_update, offer + agent_update, user_accept + user_enter + agent_update, user_leave +
// call_end + agent_update (wrap_up) + agent_update (waiting), and queue_stats to every agent at
// most once a second while the numbers change. One queue, longest-idle by a scan of the agents
// (as callcenter does), FIFO, wrap-up 0. Nothing else of callcenter (rate limits, plugins,
// request validation, timers) is here: it is a floor, not a port.
//
//   BENCH_SECRET=... BENCH_APP=bench PORT=5100 node server.js
"use strict";

const crypto = require("node:crypto");
const http = require("node:http");
const { Server } = require("socket.io");

const SECRET = process.env.BENCH_SECRET || "";
const APP = process.env.BENCH_APP || "bench";
const PORT = Number(process.env.PORT || 5100);
const QUEUE = "q";

function b64url(buf) {
  return buf.toString("base64").replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
}

function verify(token) {
  const parts = typeof token === "string" ? token.split(".") : [];
  if (parts.length !== 3) return null;
  const mac = b64url(crypto.createHmac("sha256", SECRET).update(parts[0] + "." + parts[1]).digest());
  const a = Buffer.from(mac);
  const b = Buffer.from(parts[2]);
  if (a.length !== b.length || !crypto.timingSafeEqual(a, b)) return null;
  let claims;
  try {
    claims = JSON.parse(Buffer.from(parts[1], "base64url").toString());
  } catch {
    return null;
  }
  if (!claims || claims.app !== APP || typeof claims.sub !== "string") return null;
  if (typeof claims.exp !== "number" || claims.exp < Date.now() / 1000) return null;
  return claims;
}

const now = () => Date.now() / 1000;
const sockets = new Map(); // user id -> socket
const agents = new Map(); // agent id -> agent
const calls = new Map(); // call id -> call
const waiting = []; // call ids in FIFO order
let lastStats = "";

function snapshot(a) {
  return {
    agentId: a.id, name: a.id, status: a.status, reason: a.reason, state: a.state,
    since: a.since, queues: [QUEUE], skills: {}, answered: a.answered,
    talkTime: Math.round(a.talkTime * 1000) / 1000, missedInRow: 0, lastCallEnd: a.lastCallEnd,
    callId: a.callId, connected: a.connected,
    wrapUpUntil: a.state === "wrap_up" ? a.wrapUpUntil : null,
  };
}

function emitTo(user, event, payload) {
  const s = sockets.get(user);
  if (s) s.emit(event, payload);
}

function setState(a, state, callId) {
  a.state = state;
  a.since = now();
  a.callId = callId;
  emitTo(a.id, "agent_update", { agent: snapshot(a) });
}

function canTake(a) {
  return a.connected && a.status === "available" && a.state === "waiting";
}

function dispatch() {
  while (waiting.length) {
    const call = calls.get(waiting[0]);
    let best = null;
    for (const a of agents.values()) {
      if (!canTake(a)) continue;
      const idle = a.lastCallEnd ?? a.loggedInAt;
      if (best === null || idle < best.idle || (idle === best.idle && a.id < best.agent.id)) {
        best = { agent: a, idle };
      }
    }
    if (best === null) return;
    waiting.shift();
    const a = best.agent;
    call.agent = a.id;
    call.offeredAt = now();
    emitTo(a.id, "offer", {
      callId: call.id, queue: QUEUE, type: call.type,
      customer: { userID: call.customer, name: "", topic: "", language: "", pageUrl: "",
                  attributes: call.attributes, verified: {} },
      waited: Math.round((now() - call.joinedAt) * 1000) / 1000, position: 1, ringTimeout: 60,
    });
    setState(a, "ringing", call.id);
  }
}

function stats() {
  let available = 0;
  for (const a of agents.values()) if (canTake(a)) available += 1;
  const oldest = waiting.length ? calls.get(waiting[0]).joinedAt : null;
  return { name: QUEUE, waiting: waiting.length,
           longestWait: oldest === null ? 0 : Math.round(now() - oldest),
           agentsAvailable: available };
}

const httpServer = http.createServer((req, res) => {
  if (req.url === "/healthz") {
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end('{"ok":true}');
    return;
  }
  res.writeHead(404);
  res.end();
});
// BENCH_PING_INTERVAL_MS / BENCH_PING_TIMEOUT_MS: the heartbeat of ours ([signaling]
// ping_interval 5 s, ping_timeout 5 s) instead of socket.io's defaults (25 s, 20 s), to see
// what the heartbeat alone costs each server. Unset: socket.io's defaults.
const ping = {
  ...(process.env.BENCH_PING_INTERVAL_MS && { pingInterval: +process.env.BENCH_PING_INTERVAL_MS }),
  ...(process.env.BENCH_PING_TIMEOUT_MS && { pingTimeout: +process.env.BENCH_PING_TIMEOUT_MS }),
};
const io = new Server(httpServer, { transports: ["websocket"], perMessageDeflate: false,
                                    cors: { origin: "*" }, ...ping });

io.use((socket, next) => {
  const auth = socket.handshake.auth || {};
  const claims = auth.appId === APP ? verify(auth.userSig) : null;
  if (!claims || claims.sub !== auth.userID) {
    const err = new Error("the credential is not valid");
    err.data = { code: "AUTH_INVALID", message: "the credential is not valid" };
    return next(err);
  }
  socket.data.user = claims.sub;
  socket.data.role = claims.role;
  next();
});

io.on("connection", (socket) => {
  const user = socket.data.user;
  const role = socket.data.role;
  const old = sockets.get(user);
  if (old) old.disconnect(true);
  sockets.set(user, socket);
  let agent = null;
  if (role === "agent") {
    agent = agents.get(user);
    if (!agent) {
      agent = { id: user, status: "offline", reason: "", state: "waiting", since: now(),
                answered: 0, talkTime: 0, lastCallEnd: null, loggedInAt: now(), callId: null,
                connected: true, wrapUpUntil: null };
      agents.set(user, agent);
    }
    agent.connected = true;
    if (agent.status === "offline") {
      agent.status = "break";
      agent.reason = "login";
      agent.loggedInAt = now();
    }
    emitTo(user, "agent_update", { agent: snapshot(agent) });
  }

  socket.on("hello", (payload, ack) => {
    ack({ ok: true, userID: user, appId: APP, role, iceServers: [],
          limits: { groupMax: 4, maxTimeout: 600, defaultTimeout: 30 }, missedCalls: [] });
  });

  socket.on("agent_status", (payload, ack) => {
    if (!agent) return ack({ ok: false, error: { code: "FORBIDDEN", message: "agents only" } });
    agent.status = payload.status;
    agent.reason = payload.status === "break" ? payload.reason || "break" : "";
    emitTo(user, "agent_update", { agent: snapshot(agent) });
    if (agent.status === "available") dispatch();
    ack({ ok: true, agent: snapshot(agent) });
  });

  socket.on("enqueue", (payload, ack) => {
    if (role !== "customer") {
      return ack({ ok: false, error: { code: "FORBIDDEN", message: "customers only" } });
    }
    const id = b64url(crypto.randomBytes(12));
    const call = { id, customer: user, type: payload.type, attributes: payload.attributes || {},
                   joinedAt: now(), agent: null, answeredAt: null };
    calls.set(id, call);
    waiting.push(id);
    ack({ ok: true, callId: id, queue: QUEUE, position: waiting.length, estimatedWait: 0,
          recorded: false });
    // As callcenter: the ack first, then queue_update and the offer.
    setImmediate(() => {
      emitTo(user, "queue_update", { callId: id, position: waiting.length, estimatedWait: 0 });
      dispatch();
    });
  });

  socket.on("accept", (payload, ack) => {
    const call = calls.get(payload && payload.callId);
    if (!call) return ack({ ok: false, error: { code: "CALL_NOT_FOUND", message: "no call" } });
    if (call.agent !== user || call.answeredAt !== null) {
      return ack({ ok: false, error: { code: "NOT_INVITED", message: "not invited" } });
    }
    call.answeredAt = now();
    emitTo(call.customer, "user_accept", { callId: call.id, userID: user });
    emitTo(call.customer, "user_enter", { callId: call.id, userID: user });
    agent.answered += 1;
    setState(agent, "in_call", call.id);
    ack({ ok: true, callId: call.id, type: call.type, participants: [call.customer] });
  });

  socket.on("hangup", (payload, ack) => {
    const call = calls.get(payload && payload.callId);
    if (!call) return ack({ ok: false, error: { code: "CALL_NOT_FOUND", message: "no call" } });
    calls.delete(call.id);
    const i = waiting.indexOf(call.id);
    if (i >= 0) waiting.splice(i, 1);
    const other = user === call.customer ? call.agent : call.customer;
    if (other && call.answeredAt !== null) {
      emitTo(other, "user_leave", { callId: call.id, userID: user, reason: "hangup" });
      emitTo(other, "call_end", { callId: call.id, reason: "hangup" });
      const a = agents.get(call.agent);
      a.talkTime += now() - call.answeredAt;
      a.lastCallEnd = now();
      a.wrapUpUntil = a.lastCallEnd;
      setState(a, "wrap_up", call.id);
      // wrap_up = 0: the agent waits again on the next turn of the loop, as with a timer.
      setTimeout(() => {
        if (a.state === "wrap_up" && a.callId === call.id) {
          setState(a, "waiting", null);
          dispatch();
        }
      }, 0);
    }
    ack({ ok: true });
  });

  socket.on("disconnect", () => {
    if (sockets.get(user) === socket) sockets.delete(user);
    if (agent) agent.connected = false;
  });
});

// As callcenter does: to every connected agent, 50 at a time, 5 ms apart.
const EMIT_SLICE = 50;
const EMIT_PAUSE_MS = 5;
setInterval(() => {
  const s = stats();
  const key = JSON.stringify(s);
  if (key === lastStats) return;
  lastStats = key;
  const payload = { queues: [s] };
  const to = [];
  for (const a of agents.values()) if (a.connected) to.push(a.id);
  const slice = (k) => {
    for (const id of to.slice(k, k + EMIT_SLICE)) emitTo(id, "queue_stats", payload);
    if (k + EMIT_SLICE < to.length) setTimeout(slice, EMIT_PAUSE_MS, k + EMIT_SLICE);
  };
  slice(0);
}, 1000);

httpServer.listen(PORT, "127.0.0.1", () => {
  console.log(`node reference listening on http://127.0.0.1:${PORT}`);
});
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => process.exit(0));
