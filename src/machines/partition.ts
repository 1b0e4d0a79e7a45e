/**
 * A partition of the supervisor: a dynamic supervisor (one_for_one) of the
 * channels whose names hash to it, like one of the DynamicSupervisors of an
 * Elixir PartitionSupervisor. It spawns channels, forwards commands to them,
 * and forgets them when they end — whether they stopped
 * (`xstate.done.actor.<name>`) or crashed (`xstate.error.actor.<name>`,
 * handled here so a broken channel never errors its partition). What to do
 * about a crashed channel is the Supervisor service's call; the partition
 * reports it.
 *
 * Partitions exist because XState copies a machine's map of children on every
 * spawn and stop: one parent of ten thousand channels would make each add and
 * remove cost O(channels). `SHUTDOWN` stops every channel (each stops its own
 * children in order) and the partition ends once the last one is gone.
 */
import type { ChannelSettings } from "../services/channel-settings.ts";
import { assign, enqueueActions, setup, stopChild } from "xstate";
import type { ChannelCommand, ChannelPolicy } from "./channel.ts";
import { channelMachine } from "./channel.ts";

export interface PartitionInput {
  /** Shared by every channel. */
  readonly policy: ChannelPolicy;
}

export interface PartitionContext {
  readonly policy: ChannelPolicy;
  /** Channels spawned and not yet ended. */
  readonly channels: number;
}

/**
 * `CHANNEL.ADD`: spawn a channel (the caller guarantees the name is free).
 * `CHANNEL.SEND`: forward a command to a channel, if it exists.
 * `CHANNEL.KILL`: stop a channel at once. `SHUTDOWN`: stop everything.
 */
export type PartitionEvent =
  | {
      readonly type: "CHANNEL.ADD";
      readonly name: string;
      readonly settings: ChannelSettings;
      readonly paused: boolean;
      readonly firstScanDelayMs: number;
    }
  | { readonly type: "CHANNEL.SEND"; readonly name: string; readonly command: ChannelCommand }
  /** Stops a channel at once, without its orderly stop (its stop took too long). */
  | { readonly type: "CHANNEL.KILL"; readonly name: string }
  | { readonly type: "SHUTDOWN" };

/** What a partition reports; the actor layer turns it into runtime events and registry updates. */
export type ChannelEnd =
  | { readonly kind: "stopped"; readonly channel: string }
  | { readonly kind: "crashed"; readonly channel: string; readonly error: unknown };

// A partition handles the end of its channels through these internal events.
type ChildEnd =
  | { readonly type: `xstate.done.actor.${string}`; readonly actorId: string }
  | { readonly type: `xstate.error.actor.${string}`; readonly actorId: string; readonly error: unknown };

/** The partition machine; bind the `channel` logic (with its actors) and `report` with `provide`. */
export const partitionMachine = setup({
  types: {
    context: {} as PartitionContext,
    events: {} as PartitionEvent | ChildEnd,
    input: {} as PartitionInput,
  },
  actors: {
    channel: channelMachine,
  },
  actions: {
    /** Reports a channel that ended; bound by the actor layer. */
    report: (_args, _report: ChannelEnd) => {},
    forget: enqueueActions(({ context, event, enqueue }) => {
      if (!("actorId" in event)) return;
      enqueue(stopChild(event.actorId));
      enqueue.assign({ channels: Math.max(0, context.channels - 1) });
    }),
  },
  guards: {
    empty: ({ context }) => context.channels === 0,
  },
}).createMachine({
  id: "partition",
  context: ({ input }) => ({ policy: input.policy, channels: 0 }),
  initial: "running",
  states: {
    running: {
      on: {
        "CHANNEL.ADD": {
          actions: enqueueActions(({ context, event, enqueue }) => {
            enqueue.spawnChild("channel", {
              id: event.name,
              input: {
                name: event.name,
                settings: event.settings,
                paused: event.paused,
                policy: context.policy,
                firstScanDelayMs: event.firstScanDelayMs,
              },
            });
            enqueue.assign({ channels: context.channels + 1 });
          }),
        },
        SHUTDOWN: "shuttingDown",
      },
    },
    shuttingDown: {
      entry: enqueueActions(({ enqueue, self }) => {
        for (const child of Object.values(self.getSnapshot().children)) {
          if (child) enqueue.sendTo(child, { type: "STOP" });
        }
      }),
      always: { guard: "empty", target: "stopped" },
    },
    stopped: { type: "final" },
  },
  on: {
    "CHANNEL.SEND": {
      actions: enqueueActions(({ event, enqueue, self }) => {
        const channel = self.getSnapshot().children[event.name];
        if (channel) enqueue.sendTo(channel, event.command);
      }),
    },
    "CHANNEL.KILL": {
      actions: enqueueActions(({ context, event, enqueue, self }) => {
        if (self.getSnapshot().children[event.name] === undefined) return;
        enqueue(stopChild(event.name));
        enqueue.assign({ channels: Math.max(0, context.channels - 1) });
        enqueue({ type: "report", params: { kind: "stopped", channel: event.name } });
      }),
    },
    "xstate.done.actor.*": {
      actions: ["forget", { type: "report", params: ({ event }) => ({ kind: "stopped", channel: event.actorId }) }],
    },
    "xstate.error.actor.*": {
      actions: [
        "forget",
        { type: "report", params: ({ event }) => ({ kind: "crashed", channel: event.actorId, error: "error" in event ? event.error : undefined }) },
      ],
    },
  },
});
