import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startRootActor } from "../../../src/actors/root-actor.ts";
import { partitionMachine } from "../../../src/machines/partition.ts";
import { supervisorMachine } from "../../../src/machines/supervisor.ts";
import { quietChannel, quietPolicy, quietSettings } from "../machines/quiet-channel.ts";

const escaped: Array<unknown> = [];
const onEscape = (error: unknown) => void escaped.push(error);
beforeEach(() => {
  escaped.length = 0;
  process.on("uncaughtException", onEscape);
});
afterEach(() => {
  process.off("uncaughtException", onEscape);
});

const settle = () => new Promise<void>((resolve) => setTimeout(resolve, 20));

describe("root actor", () => {
  it("a root that errors reports it to its owner and throws nothing into the process", async () => {
    const errors: Array<unknown> = [];
    const broken = supervisorMachine.provide({
      actors: { partition: partitionMachine.provide({ actors: { channel: quietChannel } }) },
      actions: {
        route: () => {
          throw new Error("routing bug");
        },
      },
    });
    const root = startRootActor({ logic: broken, policy: quietPolicy, partitions: 2, observers: [], onError: (error) => errors.push(error) });
    root.actor.send({ type: "CHANNEL.ADD", name: "alice", settings: quietSettings, paused: false, firstScanDelayMs: 0 });
    await root.ended;
    await settle();
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).message).toBe("routing bug");
    expect(escaped).toEqual([]);
  });

  it("an inspection observer that throws breaks neither the tree nor the process", async () => {
    const logic = supervisorMachine.provide({ actors: { partition: partitionMachine.provide({ actors: { channel: quietChannel } }) } });
    const root = startRootActor({
      logic,
      policy: quietPolicy,
      partitions: 2,
      observers: [{ next: () => { throw new Error("inspector bug"); } }],
      onError: (error) => escaped.push(error),
    });
    root.inspect({ next: () => { throw new Error("late inspector bug"); } });
    root.actor.send({ type: "CHANNEL.ADD", name: "alice", settings: quietSettings, paused: false, firstScanDelayMs: 0 });
    await settle();
    expect(root.channel("alice")?.getSnapshot().status).toBe("active");
    root.actor.send({ type: "SHUTDOWN" });
    await root.ended;
    expect(root.actor.getSnapshot().status).toBe("done");
    expect(escaped).toEqual([]);
  });

  it("finds a channel's actor through its partition", async () => {
    const logic = supervisorMachine.provide({ actors: { partition: partitionMachine.provide({ actors: { channel: quietChannel } }) } });
    const root = startRootActor({ logic, policy: quietPolicy, partitions: 4, observers: [], onError: (error) => escaped.push(error) });
    for (const name of ["alice", "bob", "carol"]) root.actor.send({ type: "CHANNEL.ADD", name, settings: quietSettings, paused: false, firstScanDelayMs: 0 });
    await settle();
    expect(["alice", "bob", "carol"].map((name) => root.channel(name)?.id)).toEqual(["alice", "bob", "carol"]);
    expect(root.channel("dave")).toBeUndefined();
    root.actor.stop();
  });
});
