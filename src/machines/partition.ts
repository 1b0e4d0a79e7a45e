/**
 * The root of the actor tree: one `channel` child per channel, spawned and
 * stopped on demand (a dynamic supervisor, one_for_one). Channels are isolated:
 * the root only spawns them, forwards commands to them, and forgets them when
 * they end — whether they stopped (`xstate.done.actor.<name>`) or crashed
 * (`xstate.error.actor.<name>`, handled here so a broken channel never errors
 * the root). What to do about a crashed channel is the Supervisor service's
 * call; the root reports it.
 *
 * `SHUTDOWN` stops every channel (each stops its own children in order) and
 * the root ends once the last one is gone.
 */
import type { ChannelSettings } from "../services/channel-settings.ts";
import { assign, enqueueActions, setup, stopChild } from "xstate";
import type { ChannelCommand, ChannelPolicy } from "./channel.ts";
import { channelMachine } from "./channel.ts";

export interface SupervisorInput {
  /** Shared by every channel. */
  readonly policy: ChannelPolicy;
}

export interface SupervisorContext {
  readonly policy: ChannelPolicy;
  /** Channels spawned and not yet ended. */
  readonly channels: number;
}

/**
 * `CHANNEL.ADD`: spawn a channel (the caller guarantees the name is free).
 * `CHANNEL.SEND`: forward a command to a channel, if it exists. `SHUTDOWN`:
 * stop everything.
 */
export type SupervisorEvent =
  | {
      readonly type: "CHANNEL.ADD";
      readonly name: string;
      readonly settings: ChannelSettings;
      readonly paused: boolean;
      readonly firstScanDelayMs: number;
    }
  | { readonly type: "CHANNEL.SEND"; readonly name: string; readonly command: ChannelCommand }
  | { readonly type: "SHUTDOWN" };

/** What the root reports; the actor layer turns it into runtime events and registry updates. */
export type SupervisorReport =
  | { readonly kind: "stopped"; readonly channel: string }
  | { readonly kind: "crashed"; readonly channel: string; readonly error: unknown };

// The root handles the end of its children through these internal events.
type ChildEnd =
  | { readonly type: `xstate.done.actor.${string}`; readonly actorId: string }
  | { readonly type: `xstate.error.actor.${string}`; readonly actorId: string; readonly error: unknown };

/** The supervisor machine; bind the `channel` logic (with its actors) and `report` with `provide`. */
export const supervisorMachine = setup({
  types: {
    context: {} as SupervisorContext,
    events: {} as SupervisorEvent | ChildEnd,
    input: {} as SupervisorInput,
  },
  actors: {
    channel: channelMachine,
  },
  actions: {
    /** Reports a channel that ended; bound by the actor layer. */
    report: (_args, _report: SupervisorReport) => {},
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
  id: "supervisor",
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
