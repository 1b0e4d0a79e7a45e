import { describe, expect, it } from "vitest";
import { SimulatedClock, createActor, fromPromise, setup } from "xstate";
import type { AnyActorRef } from "xstate";
import type { ChannelSettings } from "../../../src/services/channel-settings.ts";
import { breakerMachine } from "../../../src/machines/breaker.ts";
import type { BreakerRestore } from "../../../src/machines/breaker.ts";
import { catalogMachine } from "../../../src/machines/catalog.ts";
import type { ScanInput, ScanResult } from "../../../src/machines/catalog.ts";
import type { ChannelInput, ChannelPolicy, SupervisionReport } from "../../../src/machines/channel.ts";
import { channelMachine, channelStateOf } from "../../../src/machines/channel.ts";
import { chatMachine } from "../../../src/machines/chat.ts";
import type { ChildName } from "../../../src/machines/child-report.ts";
import { processorMachine } from "../../../src/machines/processor.ts";
import type { ToolStatus } from "../../../src/machines/processor.ts";
import type { RestartType } from "../../../src/machines/supervision-policy.ts";
import { settle } from "./machine-harness.ts";
import { quietPolicy, quietSettings } from "./quiet-channel.ts";

const settings: ChannelSettings = quietSettings;

const policy = (restartTypes: Partial<Record<ChildName, RestartType>> = {}, maxRestarts = 3): ChannelPolicy => ({
  ...quietPolicy,
  supervision: {
    ...quietPolicy.supervision,
    maxRestarts,
    restartTypes: { ...quietPolicy.supervision.restartTypes, ...restartTypes },
  },
});

/**
 * A channel whose children run their real machines over work the test
 * controls: `crash(child)` makes the child's next piece of work throw, which is
 * what an unexpected exception in a child looks like to its channel.
 */
const fixture = (
  options: { policy?: ChannelPolicy; paused?: boolean; tools?: Array<ToolStatus>; chat?: typeof chatMachine } = {},
) => {
  const clock = new SimulatedClock();
  const reports: Array<SupervisionReport> = [];
  const released: Array<string> = [];
  const stops: Array<ChildName> = [];
  const starts: Record<ChildName, number> = { catalog: 0, processor: 0, chat: 0 };
  const scans: Array<ScanInput> = [];
  const claims: Array<string> = [];
  const tools = options.tools ?? [];
  // Per child, the parent ref of its long-running work actor, so the test can make it crash.
  const crashers: Partial<Record<ChildName, (error: Error) => void>> = {};
  const lingering = <Output, Input>(child: ChildName) =>
    fromPromise<Output, Input>(({ signal }) => {
      starts[child] += 1;
      return new Promise<Output>((_, reject) => {
        crashers[child] = reject;
        signal.addEventListener("abort", () => stops.push(child));
      });
    });
  const machine = channelMachine.provide({
    actors: {
      // The catalog holds a long first-scan wait; its crash comes from a crashing scan.
      catalog: catalogMachine.provide({
        actors: {
          scan: fromPromise<ScanResult, ScanInput>(async ({ input }) => {
            scans.push(input);
            return { found: 1, added: 1 };
          }),
        },
      }),
      processor: processorMachine.provide({
        actors: {
          breaker: breakerMachine.provide({
            actors: { load: fromPromise<BreakerRestore, { readonly channel: string; readonly cooldownMs: number }>(async () => ({ state: "closed", failures: 0, openRemainingMs: 0 })) },
          }),
          checkTools: fromPromise<ToolStatus, { readonly channel: string }>(async () => tools.shift() ?? { missing: [] }),
          claimNext: lingering("processor"),
        },
      }),
      chat:
        options.chat ??
        chatMachine.provide({
          actors: { watchLive: lingering("chat"), record: fromPromise(() => new Promise<void>(() => {})) },
        }),
      releaseChild: fromPromise(async ({ input }: { input: { channel: string; child: ChildName } }) => {
        released.push(input.child);
      }),
      releaseChildren: fromPromise(async () => {
        released.push("all");
      }),
    },
    actions: { report: (_args, report) => void reports.push(report) },
  });
  const input: ChannelInput = {
    name: "alice",
    settings,
    paused: options.paused ?? false,
    policy: options.policy ?? policy(),
    firstScanDelayMs: 10_000,
  };
  const actor = createActor(machine, { clock, input });
  const errors: Array<unknown> = [];
  actor.subscribe({ error: (error) => errors.push(error) });
  actor.start();
  const child = (name: ChildName) => actor.getSnapshot().children[name] as AnyActorRef | undefined;
  return {
    clock,
    actor,
    reports,
    released,
    stops,
    starts,
    scans,
    claims,
    errors,
    child,
    state: () => channelStateOf(actor.getSnapshot().value),
    crash: (name: ChildName, message = "boom") => crashers[name]?.(new TypeError(message)),
    region: (name: ChildName) => (actor.getSnapshot().value as { active?: Record<string, unknown> }).active?.[name],
  };
};

describe("channel", () => {
  it("starts its children and is running once all are ready", async () => {
    const f = fixture();
    expect(f.state()).toBe("starting");
    await settle();
    expect(f.state()).toBe("running");
    expect(f.starts).toEqual({ catalog: 0, processor: 1, chat: 1 });
    expect(f.child("catalog")).toBeDefined();
    f.actor.stop();
  });

  it("is degraded while the processor misses a tool, with the reason, and running once it is back", async () => {
    const f = fixture({ tools: [{ missing: [{ tool: "yt-dlp", reason: "not found on PATH" }] }] });
    await settle();
    expect(f.state()).toBe("degraded");
    expect(f.actor.getSnapshot().context.children.processor).toMatchObject({ status: "degraded", reason: "yt-dlp: not found on PATH" });
    f.clock.increment(60_000);
    await settle();
    expect(f.state()).toBe("running");
  });

  it("restarts only the child that crashed, after its backoff; its siblings keep running", async () => {
    const f = fixture();
    await settle();
    const catalog = f.child("catalog");
    const processor = f.child("processor");
    const chatBefore = f.child("chat");

    f.crash("chat", "socket exploded");
    await settle();
    expect(f.state()).toBe("degraded");
    expect(f.region("chat")).toBe("backoff");
    expect(f.released).toEqual(["chat"]);
    expect(f.reports).toEqual([
      { kind: "crash", child: "chat", message: "socket exploded" },
      { kind: "restart", child: "chat", attempt: 1, backoffMs: 500, reason: "crashed: socket exploded" },
    ]);
    expect(f.actor.getSnapshot().context.lastError).toEqual({ actor: "chat", message: "socket exploded" });

    f.clock.increment(499);
    expect(f.child("chat")).toBeUndefined();
    f.clock.increment(1);
    await settle();
    expect(f.child("chat")).toBeDefined();
    expect(f.child("chat")).not.toBe(chatBefore);
    expect(f.starts.chat).toBe(2);
    expect(f.state()).toBe("running");
    // Untouched siblings: same actors, never restarted.
    expect(f.child("catalog")).toBe(catalog);
    expect(f.child("processor")).toBe(processor);
    expect(f.starts.processor).toBe(1);
    expect(f.actor.getSnapshot().context.children.chat.restarts).toBe(1);
    expect(f.errors).toEqual([]);
  });

  it("doubles the backoff of a child that keeps crashing", async () => {
    const f = fixture({ policy: policy({}, 10) });
    await settle();
    for (const expected of [500, 1_000, 2_000, 4_000, 8_000, 8_000]) {
      f.crash("processor");
      await settle();
      const report = f.reports.filter((entry) => entry.kind === "restart").at(-1);
      expect(report).toMatchObject({ child: "processor", backoffMs: expected });
      f.clock.increment(expected);
      await settle();
    }
    expect(f.state()).toBe("running");
  });

  it("escalates past the restart intensity: failed with the reason, children stopped, retried later", async () => {
    const f = fixture({ policy: policy({}, 3) });
    await settle();
    for (let i = 0; i < 3; i++) {
      f.crash("chat", `crash ${i + 1}`);
      await settle();
      f.clock.increment(f.actor.getSnapshot().context.children.chat.backoffMs);
      await settle();
    }
    expect(f.state()).toBe("running");
    f.crash("chat", "crash 4");
    await settle();
    expect(f.state()).toBe("failed");
    const context = f.actor.getSnapshot().context;
    expect(context.failure).toBe("restart intensity exceeded: more than 3 restarts within 60s (last: chat crash 4)");
    expect(f.reports.at(-1)).toEqual({ kind: "escalate", reason: context.failure, retryInMs: 300_000 });
    expect(f.child("catalog")).toBeUndefined();
    expect(f.child("processor")).toBeUndefined();
    expect(f.child("chat")).toBeUndefined();
    expect(f.released.at(-1)).toBe("all");

    f.clock.increment(300_000);
    await settle();
    expect(f.state()).toBe("running");
    expect(f.actor.getSnapshot().context.recentRestarts).toBe(0);
    expect(f.errors).toEqual([]);
  });

  it("forgets restarts older than the window", async () => {
    const f = fixture({ policy: policy({}, 2) });
    await settle();
    for (let i = 0; i < 6; i++) {
      f.crash("processor");
      await settle();
      f.clock.increment(61_000);
      await settle();
    }
    expect(f.state()).toBe("running");
    expect(f.actor.getSnapshot().context.children.processor.restarts).toBe(6);
  });

  it("leaves a temporary child stopped and restarts nothing", async () => {
    const f = fixture({ policy: policy({ chat: "temporary" }) });
    await settle();
    f.crash("chat");
    await settle();
    expect(f.region("chat")).toBe("stopped");
    f.clock.increment(60_000);
    await settle();
    expect(f.starts.chat).toBe(1);
    expect(f.reports.filter((entry) => entry.kind === "restart")).toEqual([]);
    expect(f.state()).toBe("running");
  });

  it("restarts a transient child after a crash but not after a normal exit", async () => {
    // A chat that ends normally when told to: stands in for any child that can finish.
    const finishing = setup({ types: { events: {} as { type: "FINISH" } } }).createMachine({
      entry: ({ self }) => self._parent?.send({ type: "CHILD.READY", child: "chat" }),
      initial: "working",
      states: { working: { on: { FINISH: "finished" } }, finished: { type: "final" } },
    });
    const f = fixture({ policy: policy({ chat: "transient" }) });
    await settle();
    f.crash("chat");
    await settle();
    f.clock.increment(500);
    await settle();
    expect(f.starts.chat).toBe(2);

    const normal = fixture({ policy: policy({ chat: "transient" }), chat: finishing as unknown as typeof chatMachine });
    await settle();
    normal.child("chat")!.send({ type: "FINISH" });
    await settle();
    expect(normal.region("chat")).toBe("stopped");
    expect(normal.released).toEqual(["chat"]);
    normal.clock.increment(60_000);
    await settle();
    expect(normal.reports).toEqual([]);
    expect(normal.state()).toBe("running");
  });

  it("pauses (children stopped and released) and resumes with fresh children", async () => {
    const f = fixture();
    await settle();
    f.actor.send({ type: "PAUSE" });
    expect(f.state()).toBe("paused");
    expect(f.child("processor")).toBeUndefined();
    await settle();
    expect(f.released).toEqual(["all"]);
    f.actor.send({ type: "RESUME" });
    await settle();
    expect(f.state()).toBe("running");
    expect(f.starts).toMatchObject({ processor: 2, chat: 2 });
  });

  it("can start paused", async () => {
    const f = fixture({ paused: true });
    await settle();
    expect(f.state()).toBe("paused");
    expect(f.starts).toEqual({ catalog: 0, processor: 0, chat: 0 });
  });

  it("stops its children in reverse start order, releases them, and ends stopped", async () => {
    const f = fixture();
    await settle();
    f.actor.send({ type: "STOP" });
    expect(f.state()).toBe("stopping");
    // chat's and processor's long-running work saw their stop in that order.
    expect(f.stops).toEqual(["chat", "processor"]);
    await settle();
    expect(f.state()).toBe("stopped");
    expect(f.actor.getSnapshot().status).toBe("done");
    expect(f.released).toEqual(["all"]);
  });

  it("applies settings: changed children get them, unchanged ones are not touched, a new chat mode replaces chat without counting", async () => {
    const f = fixture();
    await settle();
    const catalog = f.child("catalog");
    const processor = f.child("processor");
    f.actor.send({ type: "SETTINGS", settings: { ...settings, catalog: { ...settings.catalog, intervalMs: 60_000 } } });
    await settle();
    expect(f.child("catalog")).toBe(catalog);
    expect(f.child("catalog")!.getSnapshot().context.settings.intervalMs).toBe(60_000);
    expect(f.child("processor")).toBe(processor);
    expect(f.starts.chat).toBe(1);

    f.actor.send({ type: "SETTINGS", settings: { ...settings, catalog: { ...settings.catalog, intervalMs: 60_000 }, chat: "always" } });
    await settle();
    expect(f.starts.chat).toBe(2);
    expect(f.child("catalog")).toBe(catalog);
    expect(f.child("processor")).toBe(processor);
    expect(f.child("chat")!.getSnapshot().context.mode).toBe("always");
    expect(f.reports).toEqual([]);
    expect(f.actor.getSnapshot().context.recentRestarts).toBe(0);
    expect(f.state()).toBe("running");
  });

  it("routes a scan request to the catalog and a finished scan to the processor", async () => {
    const f = fixture();
    await settle();
    f.actor.send({ type: "SCAN" });
    await settle();
    expect(f.scans).toHaveLength(1);
    // The processor's claim is parked (lingering); a scan wakes it once the claim returns.
    expect(f.child("processor")!.getSnapshot().context.wake).toBe(true);
  });
});
