import { describe, expect, it } from "vitest";
import { SimulatedClock, createActor, setup } from "xstate";
import type { AnyActorRef } from "xstate";
import { channelStateOf } from "../../../src/machines/channel.ts";
import type { ChannelEnd } from "../../../src/machines/partition.ts";
import { partitionMachine } from "../../../src/machines/partition.ts";
import type { SupervisorReport } from "../../../src/machines/supervisor.ts";
import { partitionOf, supervisorMachine } from "../../../src/machines/supervisor.ts";
import { settle } from "./machine-harness.ts";
import { quietChannel, quietPolicy, quietSettings } from "./quiet-channel.ts";

const add = (name: string) => ({ type: "CHANNEL.ADD", name, settings: quietSettings, paused: false, firstScanDelayMs: 0 }) as const;

const start = (partition: typeof partitionMachine, partitions = 4) => {
  const reports: Array<SupervisorReport> = [];
  const errors: Array<unknown> = [];
  const root = createActor(
    supervisorMachine.provide({ actors: { partition }, actions: { report: (_args, report) => void reports.push(report) } }),
    { clock: new SimulatedClock(), input: { policy: quietPolicy, partitions } },
  );
  root.subscribe({ error: (error) => errors.push(error) });
  root.start();
  const partitionRef = (id: string) => root.getSnapshot().children[id] as AnyActorRef | undefined;
  const channelRef = (name: string) =>
    partitionRef(partitionOf(name, partitions))?.getSnapshot().children[name] as AnyActorRef | undefined;
  return { root, reports, errors, partitionRef, channelRef };
};

describe("supervisor", () => {
  it("hashes names to partitions stably and spreads them", () => {
    expect(partitionOf("alice", 64)).toBe(partitionOf("alice", 64));
    const used = new Set(Array.from({ length: 1_000 }, (_, i) => partitionOf(`ch${i}`, 64)));
    expect(used.size).toBe(64);
    expect(partitionOf("alice", 1)).toBe("p0");
  });

  it("routes channel commands to the partition of the channel's name", async () => {
    const ends: Array<ChannelEnd> = [];
    const s = start(partitionMachine.provide({ actors: { channel: quietChannel }, actions: { report: (_args, end) => void ends.push(end) } }));
    for (const name of ["alice", "bob", "carol", "dave", "erin"]) s.root.send(add(name));
    await settle();
    for (const name of ["alice", "bob", "carol", "dave", "erin"]) {
      expect(channelStateOf(s.channelRef(name)?.getSnapshot().value)).toBe("running");
    }
    s.root.send({ type: "CHANNEL.SEND", name: "carol", command: { type: "PAUSE" } });
    expect(channelStateOf(s.channelRef("carol")?.getSnapshot().value)).toBe("paused");
    s.root.send({ type: "CHANNEL.SEND", name: "carol", command: { type: "STOP" } });
    await settle();
    expect(s.channelRef("carol")).toBeUndefined();
    expect(ends).toEqual([{ kind: "stopped", channel: "carol" }]);
    s.root.stop();
  });

  it("replaces a partition that crashes and reports it; other partitions keep their channels", async () => {
    // A partition whose own logic throws on a command: what a bug in it looks like.
    const brittle = setup({ types: { events: {} as { type: "CHANNEL.SEND" } | { type: "SHUTDOWN" } } }).createMachine({
      initial: "alive",
      states: {
        alive: { on: { "CHANNEL.SEND": { actions: () => { throw new Error("partition bug"); } }, SHUTDOWN: "gone" } },
        gone: { type: "final" },
      },
    });
    const s = start(brittle as unknown as typeof partitionMachine);
    const victim = partitionOf("alice", 4);
    const before = s.partitionRef(victim);
    const others = ["p0", "p1", "p2", "p3"].filter((id) => id !== victim).map((id) => s.partitionRef(id));
    s.root.send({ type: "CHANNEL.SEND", name: "alice", command: { type: "WAKE" } });
    await settle();
    expect(s.reports).toHaveLength(1);
    expect(s.reports[0]).toMatchObject({ kind: "partitionCrashed", partition: victim });
    expect(s.partitionRef(victim)).toBeDefined();
    expect(s.partitionRef(victim)).not.toBe(before);
    expect(["p0", "p1", "p2", "p3"].filter((id) => id !== victim).map((id) => s.partitionRef(id))).toEqual(others);
    expect(s.root.getSnapshot().status).toBe("active");
    expect(s.errors).toEqual([]);

    s.root.send({ type: "SHUTDOWN" });
    await settle();
    expect(s.root.getSnapshot().status).toBe("done");
  });

  it("shuts down every partition and their channels, then is done", async () => {
    const s = start(partitionMachine.provide({ actors: { channel: quietChannel } }), 3);
    for (const name of ["a", "b", "c", "d"]) s.root.send(add(name));
    await settle();
    const channels = ["a", "b", "c", "d"].map((name) => s.channelRef(name)!);
    s.root.send({ type: "SHUTDOWN" });
    await settle();
    expect(channels.map((ref) => ref.getSnapshot().status)).toEqual(["done", "done", "done", "done"]);
    expect(s.root.getSnapshot().status).toBe("done");
  });
});
