import { Effect, Schema } from "effect";
import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { connectControl, ControlRequestError } from "../../../src/runtime/control-client.ts";
import type { ControlClient } from "../../../src/runtime/control-client.ts";
import { ControlError } from "../../../src/runtime/control-backend.ts";
import { ControlEvent, CONTROL_SUBPROTOCOL, HelloFrame } from "../../../src/runtime/control-protocol.ts";
import type { EventFrame } from "../../../src/runtime/control-protocol.ts";
import { startControlHarness } from "../../support/control-harness.ts";
import type { ControlHarness, ControlHarnessOptions } from "../../support/control-harness.ts";
import { makeInMemoryControlBackend, testChannelSettings } from "../../support/in-memory-control-backend.ts";
import type { InMemoryControlBackend } from "../../support/in-memory-control-backend.ts";

let harness: ControlHarness | undefined;
const clients: Array<ControlClient> = [];

afterEach(async () => {
  for (const client of clients.splice(0)) await client.close().catch(() => {});
  await harness?.close();
  harness = undefined;
});

const start = async (options: Partial<ControlHarnessOptions> & { backend?: InMemoryControlBackend } = {}) => {
  const backend = options.backend ?? makeInMemoryControlBackend();
  harness = await startControlHarness({ ...options, backend });
  const client = await harness.connect();
  clients.push(client);
  return { backend, harness, client };
};

const errorOf = async (promise: Promise<unknown>): Promise<ControlRequestError> => {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ControlRequestError) return error;
    throw error;
  }
  throw new Error("expected the request to fail");
};

/** Collects events until `until` says enough, or fails after `ms`. */
const collectEvents = (client: ControlClient, until: (events: ReadonlyArray<EventFrame>) => boolean, ms = 10_000) =>
  new Promise<ReadonlyArray<EventFrame>>((resolve, reject) => {
    const events: Array<EventFrame> = [];
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`events so far: ${JSON.stringify(events.map((e) => e.event))}`));
    }, ms);
    const stop = client.onEvent((frame) => {
      events.push(frame);
      if (until(events)) {
        clearTimeout(timer);
        stop();
        resolve(events);
      }
    });
  });

const waitFor = async (check: () => boolean, what: string, ms = 10_000) => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe("authentication", () => {
  it("refuses a socket without a token, or with a wrong one, before it opens", async () => {
    const { harness } = await start();
    const bare = new WebSocket(harness.wsUrl);
    bare.on("error", () => {});
    const status = await new Promise<number>((resolve) => bare.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0)));
    expect(status).toBe(401);
    bare.terminate();

    const wrong = await connectControl({ url: harness.wsUrl, token: "not-the-token" }).catch((error: unknown) => error);
    expect(wrong).toBeInstanceOf(ControlRequestError);
    expect((wrong as ControlRequestError).message).toMatch(/401/);
    expect(harness.plane.server.connections()).toBe(1);
  });

  it("accepts the token as a bearer subprotocol, as browsers send it, and selects the protocol version", async () => {
    const { harness } = await start();
    const socket = new WebSocket(harness.wsUrl, [CONTROL_SUBPROTOCOL, `bearer.${harness.token}`]);
    const hello = await new Promise<unknown>((resolve, reject) => {
      socket.once("message", (data) => resolve(JSON.parse(data.toString())));
      socket.once("error", reject);
    });
    expect(socket.protocol).toBe(CONTROL_SUBPROTOCOL);
    expect(Schema.decodeUnknownSync(HelloFrame)(hello).protocol).toBe(1);
    socket.close();
  });

  it("refuses a client that offers only another protocol version", async () => {
    const { harness } = await start();
    const socket = new WebSocket(harness.wsUrl, ["vod-tender.control.v9"], { headers: { authorization: `Bearer ${harness.token}` } });
    socket.on("error", () => {});
    const status = await new Promise<number>((resolve) => socket.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0)));
    expect(status).toBe(400);
    socket.terminate();
  });
});

describe("bad input is answered and the connection stays usable", () => {
  it("answers malformed JSON, non-objects and a missing id", async () => {
    const { client } = await start();
    expect(await client.sendRaw("{not json")).toMatchObject({ id: null, error: { code: "bad_json" } });
    expect(await client.sendRaw("[1,2]")).toMatchObject({ id: null, error: { code: "bad_request" } });
    expect(await client.sendRaw(JSON.stringify({ command: "channels.list" }))).toMatchObject({
      id: null,
      error: { code: "bad_request", message: expect.stringMatching(/^id: /) },
    });
    expect((await client.request("channels.list")).channels).toEqual([]);
  });

  it("names an unknown command and echoes the id", async () => {
    const { client } = await start();
    const reply = await client.sendRaw(JSON.stringify({ id: "x1", command: "channels.explode" }), "x1");
    expect(reply).toMatchObject({ id: "x1", error: { code: "unknown_command", message: expect.stringContaining('"channels.explode"') } });
    expect((await client.request("channels.list")).channels).toEqual([]);
  });

  it("names the field with the wrong type", async () => {
    const { client } = await start();
    const wrongType = await errorOf(client.request("channels.add", { name: 42 as unknown as string }));
    expect(wrongType.code).toBe("invalid_params");
    expect(wrongType.message).toMatch(/^params\.name: expected a Twitch login .*got 42/);
    const typo = await errorOf(client.request("channels.add", { name: "abc", settings: { chta: "always" } as never }));
    expect(typo.message).toMatch(/params\.settings\.chta: unknown key "chta" \(did you mean "chat"\?\)/);
    const badValue = await errorOf(client.request("vods.prioritize", { id: 1, priority: "high" as unknown as number }));
    expect(badValue.message).toMatch(/params\.priority: .*got "high"/);
    expect((await client.request("channels.list")).channels).toEqual([]);
  });

  it("refuses a frame over the limit with frame_too_large and keeps the connection", async () => {
    const { client } = await start({ limits: { maxFrameBytes: 1024, hardFrameBytes: 64 * 1024 } });
    const big = JSON.stringify({ id: 1, command: "chat.search", params: { query: "x".repeat(2000) } });
    expect(await client.sendRaw(big)).toMatchObject({ id: null, error: { code: "frame_too_large", message: expect.stringMatching(/over the limit of 1024 bytes/) } });
    expect((await client.request("channels.list")).channels).toEqual([]);
  });

  it("closes a connection that sends a frame over the hard limit, and serves the next one", async () => {
    const { client, harness } = await start({ limits: { maxFrameBytes: 1024, hardFrameBytes: 8 * 1024 } });
    client.socket.send("x".repeat(16 * 1024));
    expect((await client.closed).code).toBe(1009);
    const next = await harness.connect();
    clients.push(next);
    expect((await next.request("channels.list")).channels).toEqual([]);
  });

  it("answers a flood with rate_limited, serves the burst, and recovers", async () => {
    const { client } = await start({ limits: { requestsPerSecond: 50, burst: 20, floodCloseAfter: 10_000 } });
    const replies = await Promise.all(Array.from({ length: 100 }, () => client.request("channels.list").then(() => "ok", (e: ControlRequestError) => e.code)));
    const ok = replies.filter((r) => r === "ok").length;
    expect(ok).toBeGreaterThanOrEqual(20);
    expect(ok).toBeLessThan(100);
    expect(replies.filter((r) => r === "rate_limited").length).toBe(100 - ok);
    await new Promise((r) => setTimeout(r, 200));
    expect((await client.request("channels.list")).channels).toEqual([]);
  });

  it("closes a connection that keeps flooding after being told", async () => {
    const { client, harness } = await start({ limits: { requestsPerSecond: 1, burst: 5, floodCloseAfter: 50 } });
    for (let i = 0; i < 200; i++) client.socket.send(JSON.stringify({ id: i, command: "channels.list" }));
    expect((await client.closed).code).toBe(4029);
    const next = await harness.connect();
    clients.push(next);
    expect((await next.request("channels.list")).channels).toEqual([]);
  });
});

describe("channels through the socket", () => {
  it("adds, lists, pauses, resumes, updates and removes, writing each mutation to the audit log", async () => {
    const { client, backend } = await start();
    const added = await client.request("channels.add", { name: "#SomeStreamer", settings: { chat: "always" } });
    expect(added.channel).toMatchObject({ name: "somestreamer", source: "control", state: "running", settings: { chat: "always" } });
    expect((await client.request("channels.list")).channels.map((c) => c.name)).toEqual(["somestreamer"]);
    expect(backend.persistedRows.get("somestreamer")).toMatchObject({ source: "control" });

    expect((await client.request("channels.pause", { name: "somestreamer" })).channel.state).toBe("paused");
    expect((await client.request("channels.resume", { name: "somestreamer" })).channel.state).toBe("running");
    const updated = await client.request("channels.update", { name: "somestreamer", settings: { catalog: { interval: "30m" }, priority: 3 } });
    expect(updated.channel.settings).toMatchObject({ chat: "always", priority: 3, catalog: { intervalMs: 30 * 60_000 } });
    expect(await client.request("channels.remove", { name: "somestreamer" })).toEqual({ removed: "somestreamer" });
    expect((await client.request("channels.list")).channels).toEqual([]);
    expect(backend.persistedRows.has("somestreamer")).toBe(false);

    expect(backend.auditLog.map((a) => [a.action, a.channel, a.result])).toEqual([
      ["channels.add", "somestreamer", "ok"],
      ["channels.pause", "somestreamer", "ok"],
      ["channels.resume", "somestreamer", "ok"],
      ["channels.update", "somestreamer", "ok"],
      ["channels.remove", "somestreamer", "ok"],
    ]);
    expect(backend.auditLog[0]?.actor).toMatch(/^test-client from 127\.0\.0\.1$/);
  });

  it("reports conflict, not_found and the owner of a file channel, and audits the refusals", async () => {
    const backend = makeInMemoryControlBackend();
    const { client } = await start({
      backend,
      channelsFile: "/etc/vod-tender/channels.yaml",
      configured: () => Effect.succeed({ channels: [{ name: "filechan", source: "file", paused: false, settings: testChannelSettings }], defaults: testChannelSettings }),
    });
    // The start reconcile brought up the file channel.
    expect((await client.request("channels.list")).channels.map((c) => [c.name, c.source])).toEqual([["filechan", "file"]]);
    const conflict = await errorOf(client.request("channels.add", { name: "filechan" }));
    expect(conflict.code).toBe("conflict");
    const owned = await errorOf(client.request("channels.remove", { name: "filechan" }));
    expect(owned.code).toBe("forbidden");
    expect(owned.message).toMatch(/channels file \(\/etc\/vod-tender\/channels\.yaml\).*edit/);
    expect((await errorOf(client.request("channels.remove", { name: "nobody" }))).code).toBe("not_found");
    expect((await client.request("channels.list")).channels).toHaveLength(1);
    expect(backend.auditLog.filter((a) => a.action !== "config.reload").map((a) => [a.action, a.result, a.error?.split(":")[0]])).toEqual([
      ["channels.add", "error", "conflict"],
      ["channels.remove", "error", "forbidden"],
      ["channels.remove", "error", "not_found"],
    ]);
  });

  it("counts open connections in vodtender_control_connections", async () => {
    const { harness } = await start();
    const second = await harness.connect();
    const gauge = async () => (await harness.metrics.controlConnections.get()).values[0]?.value;
    expect(await gauge()).toBe(2);
    await second.close();
    await waitFor(() => harness.plane.server.connections() === 1, "the server to see the close");
    expect(await gauge()).toBe(1);
  });
});

describe("VODs, breaker, chat and reload commands", () => {
  it("reaches the backend and returns results that match the protocol", async () => {
    const backend = makeInMemoryControlBackend();
    const { client } = await start({ backend });
    await client.request("channels.add", { name: "vodchan" });
    backend.vodRows.push(
      { id: 7, channel: "vodchan", twitchVodId: "v7", title: "first", date: "2024-01-01T00:00:00Z", durationSeconds: 60, priority: 0, processed: true, downloadState: "done", progress: 100, processingError: null, youtubeUrl: null },
      { id: 8, channel: "vodchan", twitchVodId: "v8", title: "second", date: "2024-01-02T00:00:00Z", durationSeconds: 60, priority: 0, processed: false, downloadState: "downloading", progress: 40, processingError: null, youtubeUrl: null },
    );
    backend.chatRows.push({ channel: "vodchan", vodId: 7, msgId: "m1", username: "viewer", displayName: "Viewer", message: "hello Kappa", at: "2024-01-01T00:00:05Z", offsetSeconds: 5 });

    expect(await client.request("vods.list", { channel: "vodchan", limit: 1, offset: 1 })).toMatchObject({ vods: [{ id: 8 }], total: 2 });
    expect((await client.request("vods.reprocess", { id: 7 })).vod).toMatchObject({ id: 7, processed: false });
    expect((await client.request("vods.prioritize", { id: 8, priority: 5 })).vod.priority).toBe(5);
    expect(await client.request("vods.cancel", { id: 8 })).toEqual({ cancelled: true });
    expect(await client.request("vods.scan", {})).toEqual({ channels: ["vodchan"] });
    expect(await client.request("vods.catalog", { channel: "vodchan" })).toEqual({ channel: "vodchan", requested: true });
    expect(backend.calls.filter((c) => c.method === "catalog")).toEqual([{ method: "catalog", target: "vodchan" }]);
    expect(await client.request("breaker.reset", { channel: "vodchan" })).toEqual({ ok: true });
    expect((await client.request("chat.search", { query: "kappa" })).messages.map((m) => m.msgId)).toEqual(["m1"]);
    expect((await errorOf(client.request("vods.reprocess", { id: 99 }))).code).toBe("not_found");
    expect(await client.request("config.reload")).toMatchObject({ ok: true, added: [], removed: [] });
    expect(backend.auditLog.map((a) => `${a.action}:${a.result}`)).toEqual([
      "channels.add:ok",
      "vods.reprocess:ok",
      "vods.prioritize:ok",
      "vods.cancel:ok",
      "vods.scan:ok",
      "vods.catalog:ok",
      "breaker.reset:ok",
      "vods.reprocess:error",
      "config.reload:ok",
    ]);
    expect(backend.auditLog.find((a) => a.action === "vods.prioritize")).toMatchObject({ target: "8", params: { id: 8, priority: 5 } });
  });

  it("turns a backend defect into an internal error and keeps serving", async () => {
    const backend = makeInMemoryControlBackend();
    const broken = { ...backend, vods: { ...backend.vods, list: () => Effect.die(new Error("boom")) } };
    const { client, harness } = await start({ backend: broken as InMemoryControlBackend });
    const error = await errorOf(client.request("vods.list", {}));
    expect(error.code).toBe("internal");
    expect(error.message).not.toMatch(/boom/);
    expect(harness.logs.some((l) => l.message === "control command failed unexpectedly" && String(l.annotations["cause"]).includes("boom"))).toBe(true);
    expect((await client.request("channels.list")).channels).toEqual([]);
  });
});

describe("subscriptions", () => {
  it("delivers the transitions of a hot-added channel, filtered by channel and topic", async () => {
    const { client, harness } = await start();
    const other = await harness.connect();
    clients.push(other);
    const sub = await client.request("subscribe", { topics: ["transition"], channels: ["#HotOne"] });
    expect(sub).toMatchObject({ topics: ["transition"], channels: ["hotone"] });
    const otherSub = await other.request("subscribe", { topics: ["channel"] });

    const seen = collectEvents(client, (events) => events.some((e) => e.event.topic === "transition" && e.event.actor === "channel" && e.event.to === "running"));
    const otherSeen = collectEvents(other, (events) => events.some((e) => e.event.channel === "hotone"));
    await other.request("channels.add", { name: "decoy" });
    await client.request("channels.add", { name: "hotone" });
    const events = await seen;
    for (const frame of events) {
      expect(frame.subscription).toBe(sub.subscription);
      expect(frame.event).toMatchObject({ topic: "transition", channel: "hotone" });
      Schema.decodeUnknownSync(ControlEvent)(frame.event);
    }
    expect((await otherSeen).map((e) => [e.subscription, e.event.topic, e.event.channel])).toEqual([
      [otherSub.subscription, "channel", "decoy"],
      [otherSub.subscription, "channel", "hotone"],
    ]);
  });

  it("stops delivering after unsubscribe, and says when a subscription does not exist", async () => {
    const { client, backend } = await start();
    const { subscription } = await client.request("subscribe", {});
    let count = 0;
    client.onEvent(() => count++);
    backend.emit({ topic: "chat_rate", channel: "x", at: new Date().toISOString(), perMinute: 12 });
    await waitFor(() => count === 1, "the first event");
    expect(await client.request("unsubscribe", { subscription })).toEqual({ ok: true });
    backend.emit({ topic: "chat_rate", channel: "x", at: new Date().toISOString(), perMinute: 13 });
    // A request after the emit proves the server has processed it: replies and events share one ordered socket.
    await client.request("channels.list");
    expect(count).toBe(1);
    expect((await errorOf(client.request("unsubscribe", { subscription }))).code).toBe("not_found");
  });

  it("drops a consumer that stops reading instead of buffering without bound", async () => {
    const { client, harness, backend } = await start({ limits: { maxBufferedBytes: 256 * 1024 } });
    await client.request("subscribe", { topics: ["error"] });
    client.socket.pause();
    const message = "x".repeat(4096);
    const droppedLogged = () => harness.logs.some((l) => /does not read its events fast enough/.test(l.message));
    // Far more than the limit plus every socket buffer on the way (kernel buffers hold megabytes on loopback).
    for (let round = 0; round < 400 && !droppedLogged(); round++) {
      for (let i = 0; i < 100; i++) backend.emit({ topic: "error", channel: "x", at: new Date().toISOString(), message });
      await new Promise((r) => setImmediate(r));
    }
    expect(droppedLogged()).toBe(true);
    await waitFor(() => harness.plane.server.connections() === 0, "the slow consumer to be cut off");
    client.socket.resume();
    const next = await harness.connect();
    clients.push(next);
    expect((await next.request("channels.list")).channels).toEqual([]);
  });
});

describe("heartbeat", () => {
  it("terminates a peer that stops answering pings, and keeps one that answers", async () => {
    const { harness, client } = await start({ limits: { heartbeatMs: 200 } });
    const silent = new WebSocket(harness.wsUrl, [CONTROL_SUBPROTOCOL], { headers: { authorization: `Bearer ${harness.token}` }, autoPong: false });
    await new Promise((resolve) => silent.once("message", resolve));
    const closed = new Promise<number>((resolve) => silent.once("close", (code) => resolve(code)));
    expect(await closed).toBe(1006);
    // The answering client saw at least as many heartbeats and is still served.
    expect((await client.request("channels.list")).channels).toEqual([]);
  });
});

describe("backend errors", () => {
  it("passes a backend's typed error through with its code", async () => {
    const backend = makeInMemoryControlBackend();
    backend.failNextAdd("flaky", new ControlError({ code: "unavailable", message: "the supervisor is shutting down" }));
    const { client } = await start({ backend });
    const error = await errorOf(client.request("channels.add", { name: "flaky" }));
    expect([error.code, error.message]).toEqual(["unavailable", "the supervisor is shutting down"]);
  });
});
