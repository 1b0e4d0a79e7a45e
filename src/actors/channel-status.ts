/**
 * A channel's status, read from its actors' snapshots: its state, each
 * child's state and supervision record, the breaker, the download in flight,
 * the chat rate, restarts, the last error, and the whole subtree. Reading is
 * synchronous and touches nothing but snapshots.
 */
import type { ActorRefFrom, AnyActorRef } from "xstate";
import type { ChannelSettings, ChannelSource } from "../services/channel-settings.ts";
import type { ChannelState, ChildStatus, channelMachine } from "../machines/channel.ts";
import { channelStateOf } from "../machines/channel.ts";
import type { ChildName } from "../machines/child-report.ts";
import { CHILD_NAMES } from "../machines/child-report.ts";
import type { DownloadProgress, downloadMachine } from "../machines/download.ts";
import type { BreakerView, processorMachine } from "../machines/processor.ts";
import type { chatMachine } from "../machines/chat.ts";
import type { ChannelEntry, LastError } from "./channel-registry.ts";
import { stateString } from "./inspection.ts";

/** One actor of a channel's subtree. */
export interface ActorNode {
  /** Its name under its parent: "catalog", "breaker", "scan", ... */
  readonly actor: string;
  /** XState's id of this instance; a restarted actor gets a new one (matches `ActorInspected.sessionId`). */
  readonly sessionId: string;
  /** Its state (machines), or its status (other actors: "active", ...). */
  readonly state: string;
  readonly children: ReadonlyArray<ActorNode>;
}

/** A child of a channel. */
export interface ChildView {
  /** The child's own state while it runs, null while it does not. */
  readonly state: string | null;
  /** What its channel makes of it. */
  readonly status: ChildStatus;
  readonly restarts: number;
  /** Why it is degraded, or why it last crashed. */
  readonly reason: string | null;
}

/** The download in flight. */
export interface DownloadView {
  readonly vodId: number;
  readonly twitchVodId: string;
  readonly title: string;
  /** queued, preparing, downloading, verifying, uploading, backoff. */
  readonly state: string;
  readonly attempt: number;
  readonly progress: DownloadProgress | null;
}

/** One channel, as the runtime sees it now. */
export interface ChannelStatus {
  readonly name: string;
  readonly source: ChannelSource | null;
  /** Whether it was asked to be paused. */
  readonly paused: boolean;
  readonly state: ChannelState;
  /** Why it is `failed`, or what degrades it. */
  readonly reason: string | null;
  readonly settings: ChannelSettings;
  readonly children: Readonly<Record<ChildName, ChildView>>;
  /** The processor's breaker, while the processor runs. */
  readonly breaker: BreakerView | null;
  readonly download: DownloadView | null;
  /** Chat messages per minute, while chat is recorded. */
  readonly chatRate: number | null;
  /** Child restarts since the channel started. */
  readonly restarts: number;
  /** Child restarts within the current intensity window. */
  readonly recentRestarts: number;
  readonly lastError: LastError | null;
  /** The channel's actor and everything below it. */
  readonly tree: ActorNode;
}

type ChannelRef = ActorRefFrom<typeof channelMachine>;
type ProcessorRef = ActorRefFrom<typeof processorMachine>;
type DownloadRef = ActorRefFrom<typeof downloadMachine>;
type ChatRef = ActorRefFrom<typeof chatMachine>;

interface AnySnapshot {
  readonly status: string;
  readonly value?: unknown;
  readonly children?: Record<string, AnyActorRef | undefined>;
}

const nodeOf = (ref: AnyActorRef, name: string): ActorNode => {
  const snapshot = ref.getSnapshot() as AnySnapshot;
  const children = Object.entries(snapshot.children ?? {}).flatMap(([id, child]) =>
    child === undefined ? [] : [nodeOf(child, typeof child.src === "string" ? child.src : id)],
  );
  return { actor: name, sessionId: ref.sessionId, state: "value" in snapshot ? stateString(snapshot.value) : snapshot.status, children };
};

/** The status of `entry`, whose channel actor is `ref` (undefined while it has none, e.g. after a crash). */
export const channelStatus = (entry: ChannelEntry, ref: AnyActorRef | undefined): ChannelStatus => {
  const channel = ref as ChannelRef | undefined;
  const snapshot = channel?.getSnapshot();
  const context = snapshot?.context;
  const state: ChannelState = snapshot === undefined ? "stopped" : channelStateOf(snapshot.value);
  const childRef = (name: ChildName): AnyActorRef | undefined => snapshot?.children[name] as AnyActorRef | undefined;

  const children = Object.fromEntries(
    CHILD_NAMES.map((name) => {
      const record = context?.children[name];
      const running = childRef(name);
      const view: ChildView = {
        state: running === undefined ? null : stateString((running.getSnapshot() as AnySnapshot).value),
        status: record?.status ?? "stopped",
        restarts: record?.restarts ?? 0,
        reason: record?.reason ?? null,
      };
      return [name, view];
    }),
  ) as Record<ChildName, ChildView>;

  const processor = childRef("processor") as ProcessorRef | undefined;
  const processorSnapshot = processor?.getSnapshot();
  const download = processorSnapshot?.children.download as DownloadRef | undefined;
  const downloadSnapshot = download?.getSnapshot();
  const chat = childRef("chat") as ChatRef | undefined;

  const degradedReason = CHILD_NAMES.map((name) => children[name]).find((child) => child.status === "degraded")?.reason ?? null;
  return {
    name: entry.name,
    source: entry.source,
    paused: entry.paused,
    state,
    reason: state === "failed" ? (context?.failure ?? null) : state === "degraded" ? degradedReason : null,
    settings: entry.settings,
    children,
    breaker: processorSnapshot?.context.breaker ?? null,
    download:
      downloadSnapshot === undefined || downloadSnapshot.status !== "active"
        ? null
        : {
            vodId: downloadSnapshot.context.job.vodId,
            twitchVodId: downloadSnapshot.context.job.twitchVodId,
            title: downloadSnapshot.context.job.title,
            state: stateString(downloadSnapshot.value),
            attempt: downloadSnapshot.context.attempt,
            progress: downloadSnapshot.context.progress,
          },
    chatRate: chat?.getSnapshot().context.ratePerMinute ?? null,
    restarts: CHILD_NAMES.reduce((sum, name) => sum + children[name].restarts, 0),
    recentRestarts: context?.recentRestarts ?? 0,
    lastError: entry.lastError,
    tree: ref === undefined ? { actor: "channel", sessionId: "", state, children: [] } : nodeOf(ref, "channel"),
  };
};
