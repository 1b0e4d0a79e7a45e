/**
 * One channel: supervises its `catalog`, `processor` and `chat` children with
 * OTP semantics (see supervision-policy.ts) and routes work between them.
 *
 * States, as the runtime reports them (`channelStateOf`): `starting` →
 * `running` ⇄ `degraded` (a child is restarting, not ready yet, or degraded —
 * a tool is missing) → `stopping` → `stopped`; `paused` (no children run);
 * `failed` (restart intensity exceeded: children stopped, reason kept, tried
 * again after `failedRetryMs`).
 *
 * Inside `active`, each child has a region of its own, so every supervision
 * decision is a state the inspector shows: `up` (running) → `down` (exited;
 * its resources are being released) → `deciding` → `backoff` → `up`, or
 * `stopped` when its restart type says so. Leaving `active` stops the children
 * in reverse start order (chat, processor, catalog); `releaseChildren` then
 * waits, bounded, for their resources to go.
 */
import type { ChannelSettings } from "../services/channel-settings.ts";
import { assign, cancel, enqueueActions, not, raise, setup } from "xstate";
import type { Backoff } from "./backoff.ts";
import { backoffDelay, timerDelay } from "./backoff.ts";
import { catalogMachine } from "./catalog.ts";
import type { ChildName, ChildReport } from "./child-report.ts";
import { CHILD_NAMES } from "./child-report.ts";
import { chatMachine } from "./chat.ts";
import type { ReconcilePolicy } from "./chat.ts";
import { describeError } from "./failure.ts";
import { processorMachine } from "./processor.ts";
import type { ProcessorPolicy, ProcessorSettings } from "./processor.ts";
import { unbound } from "./unbound.ts";
import type { SupervisionPolicy } from "./supervision-policy.ts";

/** Everything a channel needs to know besides its own settings; shared by all channels. */
export interface ChannelPolicy {
  readonly supervision: SupervisionPolicy;
  readonly processor: ProcessorPolicy;
  readonly catalog: { readonly backoff: Backoff };
  readonly chat: { readonly reconnect: Backoff; readonly reconcile: ReconcilePolicy };
}

export interface ChannelInput {
  readonly name: string;
  readonly settings: ChannelSettings;
  readonly paused: boolean;
  readonly policy: ChannelPolicy;
  /** Delay before the catalog's first scan, picked by the actor layer to spread load. */
  readonly firstScanDelayMs: number;
}

/** A child as its channel sees it. */
export type ChildStatus = "starting" | "ready" | "degraded" | "restarting" | "stopped";

/** How a child last exited: a crash, a normal end, or a replacement for new settings. */
export type ChildExit = "crash" | "normal" | "replace";

export interface ChildRecord {
  readonly status: ChildStatus;
  /** Why it is degraded, or why it last crashed. */
  readonly reason: string | null;
  /** Restarts since the channel started. */
  readonly restarts: number;
  /** Restarts within the current window. */
  readonly recent: number;
  /** Wait before its pending restart. */
  readonly backoffMs: number;
  readonly exit: ChildExit | null;
}

export interface ChannelContext {
  readonly name: string;
  readonly settings: ChannelSettings;
  readonly startPaused: boolean;
  readonly policy: ChannelPolicy;
  readonly firstScanDelayMs: number;
  readonly children: Readonly<Record<ChildName, ChildRecord>>;
  /** Restarts of all children within the window (OTP counts them together). */
  readonly recentRestarts: number;
  /** Bumped when the window is reset, so expiries scheduled before are ignored. */
  readonly epoch: number;
  readonly lastError: { readonly actor: string; readonly message: string } | null;
  /** Why the channel is `failed`. */
  readonly failure: string | null;
}

/** Commands from outside (the supervisor, the control channel). */
export type ChannelCommand =
  | { readonly type: "PAUSE" }
  | { readonly type: "RESUME" }
  | { readonly type: "STOP" }
  | { readonly type: "SETTINGS"; readonly settings: ChannelSettings }
  | { readonly type: "SCAN" }
  | { readonly type: "WAKE" }
  | { readonly type: "CANCEL"; readonly vodId: number }
  | { readonly type: "BREAKER.RESET" }
  /** Leave `failed` now instead of waiting. */
  | { readonly type: "RETRY" };

/** Supervision's own events: a restart is due, a restart left the window, intensity was exceeded, a child is being replaced. */
type SupervisionEvent =
  | { readonly type: "RESTART.DUE"; readonly child: ChildName }
  | { readonly type: "RESTART.EXPIRE"; readonly child: ChildName; readonly epoch: number }
  | { readonly type: "ESCALATE"; readonly reason: string }
  | { readonly type: "REPLACE"; readonly child: ChildName };

export type ChannelEvent = ChannelCommand | ChildReport | SupervisionEvent;

/** What the channel reports about supervision; the actor layer turns it into runtime events. */
export type SupervisionReport =
  | { readonly kind: "crash"; readonly child: ChildName; readonly message: string }
  | { readonly kind: "restart"; readonly child: ChildName; readonly attempt: number; readonly backoffMs: number; readonly reason: string }
  | { readonly kind: "escalate"; readonly reason: string; readonly retryInMs: number };

const freshChild = (previous?: ChildRecord): ChildRecord => ({
  status: "starting",
  reason: null,
  restarts: previous?.restarts ?? 0,
  recent: previous?.recent ?? 0,
  backoffMs: 0,
  exit: null,
});

const updateChild = (context: ChannelContext, child: ChildName, change: Partial<ChildRecord>): ChannelContext["children"] => ({
  ...context.children,
  [child]: { ...context.children[child], ...change },
});

const isUp = (record: ChildRecord): boolean => record.status === "starting" || record.status === "ready" || record.status === "degraded";

const processorSettings = (settings: ChannelSettings): ProcessorSettings => ({ download: settings.download, upload: settings.upload });

const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

const childParams = (child: ChildName) => ({ child });

const channelSetup = setup({
  types: {
    context: {} as ChannelContext,
    events: {} as ChannelEvent,
    input: {} as ChannelInput,
  },
  actors: {
    catalog: catalogMachine,
    processor: processorMachine,
    chat: chatMachine,
    /** Waits (bounded) for an exited child's fibers, subprocesses and sockets to be gone. */
    releaseChild: unbound<void, { readonly channel: string; readonly child: ChildName }>("channel.releaseChild"),
    /** The same for every child, in reverse start order. */
    releaseChildren: unbound<void, { readonly channel: string }>("channel.releaseChildren"),
  },
  actions: {
    /** Reports a supervision decision; bound by the actor layer. */
    report: (_args, _report: SupervisionReport) => {},
    resetChildren: assign({
      children: ({ context }) => ({
        catalog: freshChild(context.children.catalog),
        processor: freshChild(context.children.processor),
        chat: freshChild(context.children.chat),
      }),
    }),
    markAllStopped: assign({
      children: ({ context }) => ({
        catalog: { ...context.children.catalog, status: "stopped" as const },
        processor: { ...context.children.processor, status: "stopped" as const },
        chat: { ...context.children.chat, status: "stopped" as const },
      }),
    }),
    childStarting: assign({ children: ({ context }, { child }: { readonly child: ChildName }) => updateChild(context, child, { status: "starting", exit: null, reason: null }) }),
    childStopped: assign({ children: ({ context }, { child }: { readonly child: ChildName }) => updateChild(context, child, { status: "stopped" }) }),
    childExited: assign(({ context }, params: { readonly child: ChildName; readonly exit: ChildExit; readonly error?: unknown }) => {
      if (params.exit !== "crash") return { children: updateChild(context, params.child, { status: "restarting", exit: params.exit }) };
      const message = describeError(params.error);
      return {
        children: updateChild(context, params.child, { status: "restarting", exit: params.exit, reason: message }),
        lastError: { actor: params.child, message },
      };
    }),
    recordRestart: enqueueActions(({ context, enqueue }, { child }: { readonly child: ChildName }) => {
      const record = context.children[child];
      const recent = record.recent + 1;
      enqueue.assign({
        recentRestarts: context.recentRestarts + 1,
        children: updateChild(context, child, {
          restarts: record.restarts + 1,
          recent,
          backoffMs: backoffDelay(context.policy.supervision.restartBackoff, recent),
        }),
      });
      enqueue.raise(
        { type: "RESTART.EXPIRE", child, epoch: context.epoch },
        { delay: timerDelay(context.policy.supervision.restartWindowMs) },
      );
    }),
    escalate: enqueueActions(({ context, enqueue }, { child }: { readonly child: ChildName }) => {
      const { maxRestarts, restartWindowMs } = context.policy.supervision;
      const last = context.children[child].reason ?? "unknown error";
      const reason = `restart intensity exceeded: more than ${maxRestarts} restarts within ${Math.round(restartWindowMs / 1000)}s (last: ${child} ${last})`;
      enqueue.raise({ type: "ESCALATE", reason });
    }),
    /** Forwards a command to a child that is running; one that is not picks up the change when it starts. */
    forward: enqueueActions(({ context, event, enqueue }) => {
      const up = (child: ChildName) => isUp(context.children[child]);
      switch (event.type) {
        case "SCAN":
          if (up("catalog")) enqueue.sendTo("catalog", { type: "SCAN" });
          break;
        case "WAKE":
        case "CANCEL":
        case "BREAKER.RESET":
          if (up("processor")) enqueue.sendTo("processor", event);
          break;
        case "CATALOG.SCANNED":
          if (up("processor")) enqueue.sendTo("processor", { type: "WAKE" });
          break;
        case "SETTINGS": {
          const next = event.settings;
          const previous = context.settings;
          if (!sameJson(next.catalog, previous.catalog) && up("catalog")) enqueue.sendTo("catalog", { type: "SETTINGS", settings: next.catalog });
          if (!sameJson(processorSettings(next), processorSettings(previous)) && up("processor")) {
            enqueue.sendTo("processor", { type: "SETTINGS", settings: processorSettings(next) });
          }
          // A new chat mode changes what the recorder is; it restarts (not counted as a failure).
          if (next.chat !== previous.chat && up("chat")) enqueue.raise({ type: "REPLACE", child: "chat" });
          break;
        }
      }
    }),
    applySettings: assign({ settings: ({ context, event }) => (event.type === "SETTINGS" ? event.settings : context.settings) }),
    resetWindow: assign({
      epoch: ({ context }) => context.epoch + 1,
      recentRestarts: 0,
      failure: null,
      children: ({ context }) => ({
        catalog: { ...context.children.catalog, recent: 0 },
        processor: { ...context.children.processor, recent: 0 },
        chat: { ...context.children.chat, recent: 0 },
      }),
    }),
  },
  guards: {
    isChild: ({ event }, { child }: { readonly child: ChildName }) => "child" in event && event.child === child,
    replacing: ({ context }, { child }: { readonly child: ChildName }) => context.children[child].exit === "replace",
    noRestart: ({ context }, { child }: { readonly child: ChildName }) => {
      const type = context.policy.supervision.restartTypes[child];
      return type === "temporary" || (type === "transient" && context.children[child].exit === "normal");
    },
    intensityExceeded: ({ context }) => context.recentRestarts + 1 > context.policy.supervision.maxRestarts,
    allUp: ({ context }) => CHILD_NAMES.every((child) => context.children[child].status === "ready" || context.children[child].status === "stopped"),
    troubled: ({ context }) => CHILD_NAMES.some((child) => context.children[child].status === "degraded" || context.children[child].status === "restarting"),
    startsPaused: ({ context }) => context.startPaused,
  },
  delays: {
    failedRetry: ({ context }) => timerDelay(context.policy.supervision.failedRetryMs),
  },
});

const exitParams = (child: ChildName, exit: ChildExit) => ({ child, exit });

/** What a child's `up` state does when the child ends: go `down`, remembering how it ended. */
const onChildExit = (child: ChildName) =>
  ({
    onDone: { target: "down", actions: { type: "childExited", params: exitParams(child, "normal") } },
    onError: {
      target: "down",
      actions: [
        { type: "childExited", params: ({ event }: { readonly event: { readonly error: unknown } }) => ({ child, exit: "crash" as const, error: event.error }) },
        { type: "report", params: ({ event }: { readonly event: { readonly error: unknown } }) => ({ kind: "crash" as const, child, message: describeError(event.error) }) },
      ],
    },
  }) as const;

/** `up` for every child but its invoke: starting bookkeeping, and replacement for new settings. */
const upState = (child: ChildName) =>
  ({
    entry: { type: "childStarting", params: childParams(child) },
    on: {
      REPLACE: { guard: { type: "isChild", params: childParams(child) }, target: "down", actions: { type: "childExited", params: exitParams(child, "replace") } },
    },
  }) as const;

/**
 * The supervision states of one child's region after it exited: release its
 * resources, decide (replace, leave stopped, escalate, or restart after a
 * backoff), wait.
 */
const afterExit = (child: ChildName) =>
  channelSetup.createStateConfig({
    states: {
      down: {
        invoke: {
          src: "releaseChild",
          input: ({ context }) => ({ channel: context.name, child }),
          onDone: "deciding",
          onError: "deciding",
        },
      },
      deciding: {
        always: [
          { guard: { type: "replacing", params: childParams(child) }, target: "up" },
          { guard: { type: "noRestart", params: childParams(child) }, target: "stopped" },
          { guard: "intensityExceeded", target: "stopped", actions: { type: "escalate", params: childParams(child) } },
          {
            target: "backoff",
            actions: [
              { type: "recordRestart", params: childParams(child) },
              {
                type: "report",
                params: ({ context }) => {
                  const record = context.children[child];
                  const reason = record.exit === "normal" ? "exited" : `crashed: ${record.reason ?? "unknown error"}`;
                  return { kind: "restart", child, attempt: context.recentRestarts, backoffMs: record.backoffMs, reason };
                },
              },
            ],
          },
        ],
      },
      backoff: {
        entry: raise({ type: "RESTART.DUE", child }, { id: `restart.${child}`, delay: ({ context }) => context.children[child].backoffMs }),
        exit: cancel(`restart.${child}`),
        on: { "RESTART.DUE": { guard: { type: "isChild", params: childParams(child) }, target: "up" } },
      },
      stopped: { entry: { type: "childStopped", params: childParams(child) } },
    },
  }).states;

/** The channel machine; bind `releaseChild`, `releaseChildren` and the children's actors with `provide`. */
export const channelMachine = channelSetup.createMachine({
  id: "channel",
  context: ({ input }) => ({
    name: input.name,
    settings: input.settings,
    startPaused: input.paused,
    policy: input.policy,
    firstScanDelayMs: input.firstScanDelayMs,
    children: { catalog: freshChild(), processor: freshChild(), chat: freshChild() },
    recentRestarts: 0,
    epoch: 0,
    lastError: null,
    failure: null,
  }),
  initial: "init",
  states: {
    init: { always: [{ guard: "startsPaused", target: "paused" }, { target: "active" }] },
    active: {
      type: "parallel",
      entry: "resetChildren",
      states: {
        health: {
          initial: "starting",
          states: {
            starting: { always: [{ guard: "allUp", target: "running" }, { guard: "troubled", target: "degraded" }] },
            running: { always: { guard: not("allUp"), target: "degraded" } },
            degraded: { always: { guard: "allUp", target: "running" } },
          },
        },
        catalog: {
          initial: "up",
          states: {
            up: {
              ...upState("catalog"),
              invoke: {
                id: "catalog",
                src: "catalog",
                input: ({ context }) => ({
                  channel: context.name,
                  settings: context.settings.catalog,
                  backoff: context.policy.catalog.backoff,
                  firstScanDelayMs: context.firstScanDelayMs,
                }),
                ...onChildExit("catalog"),
              },
            },
            ...afterExit("catalog"),
          },
        },
        processor: {
          initial: "up",
          states: {
            up: {
              ...upState("processor"),
              invoke: {
                id: "processor",
                src: "processor",
                input: ({ context }) => ({
                  channel: context.name,
                  settings: processorSettings(context.settings),
                  policy: context.policy.processor,
                }),
                ...onChildExit("processor"),
              },
            },
            ...afterExit("processor"),
          },
        },
        chat: {
          initial: "up",
          states: {
            up: {
              ...upState("chat"),
              invoke: {
                id: "chat",
                src: "chat",
                input: ({ context }) => ({
                  channel: context.name,
                  mode: context.settings.chat,
                  reconnect: context.policy.chat.reconnect,
                  reconcile: context.policy.chat.reconcile,
                }),
                ...onChildExit("chat"),
              },
            },
            ...afterExit("chat"),
          },
        },
      },
      on: {
        "CHILD.READY": { actions: assign({ children: ({ context, event }) => updateChild(context, event.child, { status: "ready", reason: null }) }) },
        "CHILD.DEGRADED": { actions: assign({ children: ({ context, event }) => updateChild(context, event.child, { status: "degraded", reason: event.reason }) }) },
        "CATALOG.SCANNED": { actions: "forward" },
        SCAN: { actions: "forward" },
        WAKE: { actions: "forward" },
        CANCEL: { actions: "forward" },
        "BREAKER.RESET": { actions: "forward" },
        SETTINGS: { actions: ["forward", "applySettings"] },
        ESCALATE: {
          target: "failed",
          actions: [
            assign({ failure: ({ event }) => event.reason }),
            { type: "report", params: ({ context, event }) => ({ kind: "escalate", reason: event.reason, retryInMs: context.policy.supervision.failedRetryMs }) },
          ],
        },
        PAUSE: "paused",
        STOP: "stopping",
      },
    },
    paused: {
      entry: "markAllStopped",
      invoke: { src: "releaseChildren", input: ({ context }) => ({ channel: context.name }) },
      on: {
        RESUME: "active",
        STOP: "stopping",
        SETTINGS: { actions: "applySettings" },
      },
    },
    failed: {
      entry: "markAllStopped",
      invoke: { src: "releaseChildren", input: ({ context }) => ({ channel: context.name }) },
      after: { failedRetry: "active" },
      exit: "resetWindow",
      on: {
        RETRY: "active",
        RESUME: "active",
        PAUSE: "paused",
        STOP: "stopping",
        SETTINGS: { actions: "applySettings" },
      },
    },
    stopping: {
      entry: "markAllStopped",
      invoke: {
        src: "releaseChildren",
        input: ({ context }) => ({ channel: context.name }),
        onDone: "stopped",
        onError: "stopped",
      },
    },
    stopped: { type: "final" },
  },
  on: {
    "RESTART.EXPIRE": {
      guard: ({ context, event }) => event.epoch === context.epoch,
      actions: assign({
        recentRestarts: ({ context }) => Math.max(0, context.recentRestarts - 1),
        children: ({ context, event }) => updateChild(context, event.child, { recent: Math.max(0, context.children[event.child].recent - 1) }),
      }),
    },
  },
});

/** A channel's state as the runtime reports it. */
export type ChannelState = "starting" | "running" | "degraded" | "paused" | "stopping" | "stopped" | "failed";

/** The reported state of a channel from its snapshot's value. */
export const channelStateOf = (value: unknown): ChannelState => {
  if (typeof value === "string") {
    switch (value) {
      case "paused":
      case "stopping":
      case "stopped":
      case "failed":
        return value;
      default:
        return "starting";
    }
  }
  if (typeof value === "object" && value !== null && "active" in value) {
    const health = (value as { active: { health?: unknown } }).active.health;
    if (health === "running" || health === "degraded") return health;
  }
  return "starting";
};
