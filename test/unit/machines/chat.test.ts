import { describe, expect, it } from "vitest";
import { SimulatedClock, fromPromise } from "xstate";
import type { AnyActorRef } from "xstate";
import type { ChatMode } from "../../../src/services/channel-settings.ts";
import type { ChatInput, LiveStream, ReconcileInput, RecordInput } from "../../../src/machines/chat.ts";
import { chatMachine } from "../../../src/machines/chat.ts";
import { failure } from "../../../src/machines/failure.ts";
import { settle, underParent } from "./machine-harness.ts";

const stream: LiveStream = { id: "s1", startedAt: "2024-10-15T14:30:00Z", title: "Live Now" };

const input = (mode: ChatMode): ChatInput => ({
  channel: "alice",
  mode,
  reconnect: { baseMs: 1_000, maxMs: 60_000 },
  reconcile: { delayMs: 60_000, retryMs: 30_000, maxAttempts: 3 },
});

/**
 * A live-status feed the test drives, a recorder whose sessions the test ends,
 * and a reconciler that answers from a script.
 */
const fixture = (reconcileScript: Array<boolean | Error | ReturnType<typeof failure>> = []) => {
  const watchers: Array<{ parent: AnyActorRef | undefined; stopped: boolean }> = [];
  const sessions: Array<{ input: RecordInput; end: () => void; fail: (error: unknown) => void; connect: () => void; stopped: boolean }> = [];
  const reconciles: Array<ReconcileInput> = [];
  const errors: Array<string> = [];
  const machine = chatMachine.provide({
    actors: {
      watchLive: fromPromise<void, { readonly channel: string }>(({ self, signal }) => {
        const watcher = { parent: self._parent, stopped: false };
        watchers.push(watcher);
        signal.addEventListener("abort", () => (watcher.stopped = true));
        return new Promise<void>(() => {});
      }),
      record: fromPromise<void, RecordInput>(({ input, self, signal }) => {
        return new Promise<void>((resolve, reject) => {
          const session = {
            input,
            end: () => resolve(),
            fail: reject,
            connect: () => self._parent?.send({ type: "CONNECTED" }),
            stopped: false,
          };
          signal.addEventListener("abort", () => (session.stopped = true));
          sessions.push(session);
        });
      }),
      reconcile: fromPromise<{ readonly matched: boolean }, ReconcileInput>(async ({ input }) => {
        reconciles.push(input);
        const next = reconcileScript.shift() ?? true;
        if (typeof next === "boolean") return { matched: next };
        throw next;
      }),
    },
    actions: { reportError: (_args, { message }) => void errors.push(message) },
  });
  const live = (on: boolean) => watchers.at(-1)?.parent?.send(on ? { type: "LIVE", stream } : { type: "OFFLINE" });
  return { machine, watchers, sessions, reconciles, errors, live };
};

describe("chat", () => {
  it("goes live, connects, records, reconnects after the connection ends, and reconciles after the stream", async () => {
    const clock = new SimulatedClock();
    const f = fixture();
    const run = underParent(f.machine, input("auto"), clock);
    expect(run.received).toContainEqual({ type: "CHILD.READY", child: "chat" });
    expect(run.value()).toEqual({ watching: "offline" });
    expect(f.watchers).toHaveLength(1);

    f.live(true);
    expect(run.value()).toEqual({ watching: { live: { session: "connecting" } } });
    expect(f.sessions[0]!.input.stream).toEqual(stream);
    f.sessions[0]!.connect();
    expect(run.value()).toEqual({ watching: { live: { session: "recording" } } });
    run.send({ type: "RATE", perMinute: 42 });
    expect(run.context().ratePerMinute).toBe(42);

    f.sessions[0]!.end();
    await settle();
    expect(run.value()).toEqual({ watching: { live: "reconnecting" } });
    clock.increment(1_000);
    expect(f.sessions).toHaveLength(2);
    f.sessions[1]!.connect();
    expect(run.value()).toEqual({ watching: { live: { session: "recording" } } });

    f.live(false);
    expect(run.value()).toEqual({ watching: "reconcileWait" });
    expect(f.sessions[1]!.stopped).toBe(true);
    clock.increment(59_999);
    await settle();
    expect(f.reconciles).toHaveLength(0);
    clock.increment(1);
    await settle();
    expect(f.reconciles).toEqual([{ channel: "alice", stream, attempt: 1 }]);
    expect(run.value()).toEqual({ watching: "offline" });
    run.stop();
  });

  it("backs off longer while connecting keeps failing, and a crash errors it", async () => {
    const clock = new SimulatedClock();
    const f = fixture();
    const run = underParent(f.machine, input("auto"), clock);
    f.live(true);
    f.sessions[0]!.fail(failure("retryable", "irc refused"));
    await settle();
    expect(run.value()).toEqual({ watching: { live: "reconnecting" } });
    clock.increment(1_000);
    f.sessions[1]!.fail(failure("retryable", "irc refused"));
    await settle();
    clock.increment(1_999);
    expect(f.sessions).toHaveLength(2);
    clock.increment(1);
    expect(f.sessions).toHaveLength(3);
    expect(run.context().lastError).toBe("irc refused");

    f.sessions[2]!.fail(new TypeError("undefined is not a function"));
    await settle();
    expect(run.error()).toBeInstanceOf(TypeError);
    // Its subscription went with it.
    expect(f.watchers[0]!.stopped).toBe(true);
    run.stop();
  });

  it("keeps looking for the VOD, then gives up and says so", async () => {
    const clock = new SimulatedClock();
    const f = fixture([false, failure("retryable", "Helix 503"), false]);
    const run = underParent(f.machine, input("auto"), clock);
    f.live(true);
    f.live(false);
    clock.increment(60_000);
    await settle();
    clock.increment(30_000);
    await settle();
    clock.increment(30_000);
    await settle();
    expect(f.reconciles.map((call) => call.attempt)).toEqual([1, 2, 3]);
    expect(run.value()).toEqual({ watching: "offline" });
    expect(f.errors).toEqual(["no VOD found for stream s1; its chat stays on the placeholder"]);
    run.stop();
  });

  it("a new stream during reconciliation goes live again", async () => {
    const clock = new SimulatedClock();
    const f = fixture();
    const run = underParent(f.machine, input("auto"), clock);
    f.live(true);
    f.live(false);
    f.live(true);
    expect(run.value()).toEqual({ watching: { live: { session: "connecting" } } });
    expect(f.errors).toHaveLength(1);
    run.stop();
  });

  it("mode always records while offline; mode off does nothing", async () => {
    const clock = new SimulatedClock();
    const always = fixture();
    const run = underParent(always.machine, input("always"), clock);
    expect(run.value()).toEqual({ watching: { live: { session: "connecting" } } });
    expect(always.sessions[0]!.input.stream).toBeNull();
    always.live(false);
    expect(run.value()).toEqual({ watching: { live: { session: "connecting" } } });
    // Streams come and go under the one recording; a reconnect while live still records around the clock.
    always.live(true);
    always.sessions[0]!.end();
    await settle();
    clock.increment(1_000);
    expect(always.sessions).toHaveLength(2);
    expect(always.sessions[1]!.input.stream).toBeNull();
    expect(run.context().stream).toEqual(stream);
    always.live(false);
    expect(always.reconciles).toHaveLength(0);
    expect(run.value()).toEqual({ watching: { live: { session: "connecting" } } });
    run.stop();

    const off = fixture();
    const quiet = underParent(off.machine, input("off"), clock);
    expect(quiet.value()).toBe("off");
    expect(quiet.received).toContainEqual({ type: "CHILD.READY", child: "chat" });
    expect(off.watchers).toHaveLength(0);
    quiet.stop();
  });
});
