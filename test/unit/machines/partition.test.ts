import { describe, expect, it } from "vitest";
import { SimulatedClock, createActor, setup } from "xstate";
import type { AnyActorRef } from "xstate";
import { channelMachine, channelStateOf } from "../../../src/machines/channel.ts";
import type { ChannelEnd } from "../../../src/machines/partition.ts";
import { partitionMachine } from "../../../src/machines/partition.ts";
import { settle } from "./machine-harness.ts";
import { quietChannel, quietPolicy, quietSettings } from "./quiet-channel.ts";

const add = (name: string, paused = false) =>
  ({ type: "CHANNEL.ADD", name, settings: quietSettings, paused, firstScanDelayMs: 0 }) as const;

const start = (channel: typeof channelMachine = quietChannel) => {
  const reports: Array<ChannelEnd> = [];
  const errors: Array<unknown> = [];
  const root = createActor(
    partitionMachine.provide({ actors: { channel }, actions: { report: (_args, report) => void reports.push(report) } }),
    { clock: new SimulatedClock(), input: { policy: quietPolicy } },
  );
  root.subscribe({ error: (error) => errors.push(error) });
  root.start();
  const channelRef = (name: string) => root.getSnapshot().children[name] as AnyActorRef | undefined;
  const stateOf = (name: string) => channelStateOf(channelRef(name)?.getSnapshot().value);
  return { root, reports, errors, channelRef, stateOf };
};

describe("partition", () => {
  it("spawns one channel per name and forwards commands to it", async () => {
    const s = start();
    s.root.send(add("alice"));
    s.root.send(add("bob", true));
    await settle();
    expect(s.stateOf("alice")).toBe("running");
    expect(s.stateOf("bob")).toBe("paused");
    expect(s.root.getSnapshot().context.channels).toBe(2);

    s.root.send({ type: "CHANNEL.SEND", name: "alice", command: { type: "PAUSE" } });
    s.root.send({ type: "CHANNEL.SEND", name: "bob", command: { type: "RESUME" } });
    s.root.send({ type: "CHANNEL.SEND", name: "nobody", command: { type: "PAUSE" } });
    await settle();
    expect(s.stateOf("alice")).toBe("paused");
    expect(s.stateOf("bob")).toBe("running");
    expect(s.errors).toEqual([]);
    s.root.stop();
  });

  it("forgets a channel that stopped, so its name can be used again", async () => {
    const s = start();
    s.root.send(add("alice"));
    await settle();
    const first = s.channelRef("alice");
    s.root.send({ type: "CHANNEL.SEND", name: "alice", command: { type: "STOP" } });
    await settle();
    expect(s.channelRef("alice")).toBeUndefined();
    expect(s.reports).toEqual([{ kind: "stopped", channel: "alice" }]);
    expect(s.root.getSnapshot().context.channels).toBe(0);

    s.root.send(add("alice"));
    await settle();
    expect(s.channelRef("alice")).toBeDefined();
    expect(s.channelRef("alice")).not.toBe(first);
    expect(s.stateOf("alice")).toBe("running");
    s.root.stop();
  });

  it("survives a channel that crashes: reports it, forgets it, and the others keep running", async () => {
    // A channel whose own logic throws on command: what a bug in a channel machine looks like.
    const brittle = setup({ types: { events: {} as { type: "EXPLODE" } | { type: "STOP" } } }).createMachine({
      initial: "alive",
      states: { alive: { on: { EXPLODE: { actions: () => { throw new Error("channel bug"); } }, STOP: "gone" } }, gone: { type: "final" } },
    });
    const s = start(brittle as unknown as typeof channelMachine);
    s.root.send(add("alice"));
    s.root.send(add("bob"));
    await settle();
    s.root.send({ type: "CHANNEL.SEND", name: "alice", command: { type: "EXPLODE" } as never });
    await settle();
    expect(s.reports).toHaveLength(1);
    expect(s.reports[0]).toMatchObject({ kind: "crashed", channel: "alice" });
    expect((s.reports[0] as { error: Error }).error.message).toBe("channel bug");
    expect(s.channelRef("alice")).toBeUndefined();
    expect(s.channelRef("bob")?.getSnapshot().status).toBe("active");
    expect(s.root.getSnapshot().status).toBe("active");
    expect(s.errors).toEqual([]);
    s.root.stop();
  });

  it("kills a channel at once when told to", async () => {
    const s = start();
    s.root.send(add("alice"));
    await settle();
    const alice = s.channelRef("alice")!;
    s.root.send({ type: "CHANNEL.KILL", name: "alice" });
    expect(s.channelRef("alice")).toBeUndefined();
    expect(alice.getSnapshot().status).toBe("stopped");
    expect(s.reports).toEqual([{ kind: "stopped", channel: "alice" }]);
    s.root.send({ type: "CHANNEL.KILL", name: "alice" });
    expect(s.reports).toHaveLength(1);
    s.root.stop();
  });

  it("shuts down: every channel stops its children, then the partition is done", async () => {
    const s = start();
    for (const name of ["a", "b", "c"]) s.root.send(add(name));
    await settle();
    const refs = ["a", "b", "c"].map((name) => s.channelRef(name)!);
    s.root.send({ type: "SHUTDOWN" });
    expect(refs.map((ref) => channelStateOf(ref.getSnapshot().value))).toEqual(["stopping", "stopping", "stopping"]);
    await settle();
    expect(refs.map((ref) => ref.getSnapshot().status)).toEqual(["done", "done", "done"]);
    expect(s.root.getSnapshot().status).toBe("done");
    expect(s.reports.map((report) => report.kind)).toEqual(["stopped", "stopped", "stopped"]);
  });
});
