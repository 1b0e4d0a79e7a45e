/**
 * The root of the actor tree. It owns a fixed set of partitions (see
 * partition.ts) and routes every channel command to the partition its name
 * hashes to; the partitions own the channels. To the rest of the runtime this
 * is one dynamic supervisor of channels: Supervisor → partition → channel →
 * catalog / processor / chat.
 *
 * A partition that crashes (a bug in its own logic) is replaced at once and
 * reported, so the Supervisor service can start its channels again; the root
 * itself never sees an unhandled error from below. `SHUTDOWN` stops every
 * partition, each stopping its channels, and the root ends when the last
 * partition has.
 */
import { enqueueActions, setup, stopChild } from "xstate";
import type { ChannelPolicy } from "./channel.ts";
import { partitionMachine } from "./partition.ts";
import type { PartitionEvent } from "./partition.ts";

export interface SupervisorInput {
  /** Shared by every channel. */
  readonly policy: ChannelPolicy;
  /** How many partitions share the channels. */
  readonly partitions: number;
}

export interface SupervisorContext {
  readonly policy: ChannelPolicy;
  readonly partitions: number;
  /** Partitions that have not ended yet (they end only on shutdown). */
  readonly live: number;
}

/** The events of the root: the partitions' own, routed by channel name. */
export type SupervisorEvent = PartitionEvent;

/** What the root reports; the actor layer restarts the channels of a crashed partition. */
export type SupervisorReport = { readonly kind: "partitionCrashed"; readonly partition: string; readonly error: unknown };

type PartitionEnd =
  | { readonly type: `xstate.done.actor.${string}`; readonly actorId: string }
  | { readonly type: `xstate.error.actor.${string}`; readonly actorId: string; readonly error: unknown };

/** The id of the partition a channel belongs to (FNV-1a of its name). */
export const partitionOf = (name: string, partitions: number): string => {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    hash ^= name.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return `p${(hash >>> 0) % Math.max(1, partitions)}`;
};

const partitionIds = (count: number): ReadonlyArray<string> => Array.from({ length: Math.max(1, count) }, (_, i) => `p${i}`);

/** The root machine; bind the `partition` logic (and below) and `report` with `provide`. */
export const supervisorMachine = setup({
  types: {
    context: {} as SupervisorContext,
    events: {} as SupervisorEvent | PartitionEnd,
    input: {} as SupervisorInput,
  },
  actors: {
    partition: partitionMachine,
  },
  actions: {
    /** Reports a partition that crashed; bound by the actor layer. */
    report: (_args, _report: SupervisorReport) => {},
    forget: enqueueActions(({ context, event, enqueue }) => {
      if (!("actorId" in event)) return;
      enqueue(stopChild(event.actorId));
      enqueue.assign({ live: Math.max(0, context.live - 1) });
    }),
    route: enqueueActions(({ context, event, enqueue }) => {
      if (!("name" in event)) return;
      enqueue.sendTo(partitionOf(event.name, context.partitions), event);
    }),
  },
  guards: {
    allEnded: ({ context }) => context.live === 0,
  },
}).createMachine({
  id: "supervisor",
  context: ({ input }) => ({ policy: input.policy, partitions: Math.max(1, input.partitions), live: Math.max(1, input.partitions) }),
  entry: enqueueActions(({ context, enqueue }) => {
    for (const id of partitionIds(context.partitions)) enqueue.spawnChild("partition", { id, input: { policy: context.policy } });
  }),
  initial: "running",
  states: {
    running: {
      on: {
        "CHANNEL.ADD": { actions: "route" },
        "CHANNEL.SEND": { actions: "route" },
        "CHANNEL.KILL": { actions: "route" },
        SHUTDOWN: "shuttingDown",
        // A crashed partition is replaced at once; the service restarts its channels.
        "xstate.error.actor.*": {
          actions: enqueueActions(({ context, event, enqueue }) => {
            if (!("actorId" in event)) return;
            enqueue(stopChild(event.actorId));
            enqueue.spawnChild("partition", { id: event.actorId, input: { policy: context.policy } });
            enqueue({ type: "report", params: { kind: "partitionCrashed", partition: event.actorId, error: "error" in event ? event.error : undefined } });
          }),
        },
      },
    },
    shuttingDown: {
      entry: enqueueActions(({ context, enqueue }) => {
        for (const id of partitionIds(context.partitions)) enqueue.sendTo(id, { type: "SHUTDOWN" });
      }),
      always: { guard: "allEnded", target: "stopped" },
      on: {
        // Shutting down, a crashed partition counts as ended.
        "xstate.error.actor.*": { actions: "forget" },
      },
    },
    stopped: { type: "final" },
  },
  on: {
    "xstate.done.actor.*": { actions: "forget" },
  },
});
