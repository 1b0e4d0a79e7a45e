/**
 * LiveStatus: which watched channels are live. One poller asks Helix's
 * `/streams` for every watched channel (up to 100 per request, through the
 * shared Helix client the caller passes in as `fetchStreams`) every
 * `intervalMs`, publishes the changes (online, title/category updated,
 * offline) to each channel's subscribers, and keeps the sessions in the
 * `streams` table. A failed poll changes nothing: a channel is never declared
 * offline because Helix could not be asked.
 */
import { Context, Duration, Effect, Latch, Layer, Queue, Result, Semaphore } from "effect";
import type { Scope } from "effect";
import { SqlClient } from "effect/sql/SqlClient";
import type { HelixStream } from "./helix-types.ts";
import {
  closeOpenStreamsOf,
  closeStaleStreams,
  closeStream,
  recordStreamSighting,
} from "./repositories/streams.ts";

/** What LiveStatus reads of `/helix/streams`' answer for a live channel: the part of `HelixStream` it uses. */
export type LiveStreamInfo = Pick<
  HelixStream,
  "id" | "userId" | "userLogin" | "userName" | "gameId" | "gameName" | "title" | "viewerCount" | "startedAt"
>;

/** A live session as LiveStatus publishes it. */
export interface LiveStream {
  readonly streamId: string;
  readonly channel: string;
  readonly userId: string;
  readonly displayName: string;
  readonly title: string;
  readonly gameId: string;
  readonly gameName: string;
  readonly viewerCount: number;
  readonly startedAt: Date;
}

/** A change of one channel's live state. */
export type LiveChange =
  /** The channel went live (or was live when first polled, or when a subscriber arrived). */
  | { readonly _tag: "Online"; readonly channel: string; readonly stream: LiveStream; readonly at: Date }
  /** Title or category changed during the session. */
  | { readonly _tag: "Updated"; readonly channel: string; readonly stream: LiveStream; readonly previous: LiveStream; readonly at: Date }
  /** The session ended; `stream` is its last sighting, `endedAt` the time it was last seen live. */
  | { readonly _tag: "Offline"; readonly channel: string; readonly stream: LiveStream; readonly endedAt: Date; readonly at: Date };

/** Options of the poller. */
export interface LiveStatusOptions {
  /** The Helix call: live streams among `logins` (at most 100 per request is the client's business). */
  readonly fetchStreams: (logins: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<LiveStreamInfo>, unknown>;
  /** `CHAT_AUTO_POLL_INTERVAL`; default 30 s. */
  readonly intervalMs?: number;
  /**
   * Polls a channel must be missing from before it counts as offline; default 2
   * (Helix drops a live stream from one answer now and then).
   */
  readonly offlineAfterMisses?: number;
  /** An open session not seen for this long is closed (the process was away when it ended). Default 10 min. */
  readonly staleAfterMs?: number;
  /** Wait after `watch` before an early poll, so many watches share one. Default 500 ms. */
  readonly watchDebounceMs?: number;
}

/** Outcome of the last poll. */
export interface LivePollReport {
  readonly at: Date;
  readonly ok: boolean;
  readonly live: number;
  readonly watched: number;
  readonly error?: string;
}

/** The live-status interface. */
export interface LiveStatusService {
  /** Adds a channel (login) to the polled set; an early poll follows shortly. */
  readonly watch: (channel: string) => Effect.Effect<void>;
  readonly unwatch: (channel: string) => Effect.Effect<void>;
  /** The channel's session as of the last poll, or undefined when offline or unknown. */
  readonly current: (channel: string) => LiveStream | undefined;
  /**
   * Changes of one channel until the scope closes. A subscriber to a channel
   * that is live gets an `Online` for it first.
   */
  readonly subscribe: (channel: string) => Effect.Effect<Queue.Dequeue<LiveChange>, never, Scope.Scope>;
  /** Polls now (and waits for it); the regular schedule carries on. */
  readonly pollNow: Effect.Effect<LivePollReport>;
  readonly lastPoll: () => LivePollReport | undefined;
}

/** The process's live-status poller. */
export class LiveStatus extends Context.Service<LiveStatus, LiveStatusService>()("vod-tender/services/LiveStatus") {
  /** A poller running for the layer's lifetime. */
  static readonly layer = (options: LiveStatusOptions): Layer.Layer<LiveStatus, never, SqlClient> => Layer.effect(LiveStatus, makeLiveStatus(options));
}

const toLive = (info: LiveStreamInfo): LiveStream => ({
  streamId: info.id,
  channel: info.userLogin.toLowerCase(),
  userId: info.userId,
  displayName: info.userName,
  title: info.title,
  gameId: info.gameId,
  gameName: info.gameName,
  viewerCount: info.viewerCount,
  startedAt: new Date(info.startedAt),
});

interface ChannelState {
  stream: LiveStream | undefined;
  lastSeen: Date | undefined;
  misses: number;
}

/** Builds the poller in the current scope. */
export const makeLiveStatus = (options: LiveStatusOptions): Effect.Effect<LiveStatusService, never, SqlClient | Scope.Scope> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient;
    const interval = Duration.millis(options.intervalMs ?? 30_000);
    const missesToOffline = Math.max(1, options.offlineAfterMisses ?? 2);
    const staleAfterMs = options.staleAfterMs ?? 10 * 60_000;
    const debounce = Duration.millis(options.watchDebounceMs ?? 500);
    const watched = new Map<string, ChannelState>();
    const subscribers = new Map<string, Set<Queue.Queue<LiveChange>>>();
    const early = Latch.makeUnsafe(false);
    const pollLock = yield* Semaphore.make(1);
    let report: LivePollReport | undefined;

    const publish = (change: LiveChange) => {
      const queues = subscribers.get(change.channel);
      if (queues === undefined) return;
      for (const q of queues) Queue.offerUnsafe(q, change);
    };

    const store = <A, E>(effect: Effect.Effect<A, E, SqlClient>) =>
      effect.pipe(
        Effect.provideService(SqlClient, sql),
        Effect.catchCause((cause) => Effect.logWarning("live status: cannot record the session", cause)),
      );

    const poll = Effect.gen(function* () {
      const at = new Date();
      const logins = [...watched.keys()];
      if (logins.length === 0) {
        report = { at, ok: true, live: 0, watched: 0 };
        return report;
      }
      const fetched = yield* options.fetchStreams(logins).pipe(Effect.result);
      if (Result.isFailure(fetched)) {
        const failure: unknown = fetched.failure;
        const error = failure instanceof Error ? failure.message : typeof failure === "object" && failure !== null && "message" in failure ? String(failure.message) : String(failure);
        yield* Effect.logWarning("live status poll failed; state kept", { error });
        report = { at, ok: false, live: [...watched.values()].filter((s) => s.stream !== undefined).length, watched: logins.length, error };
        return report;
      }
      const live = new Map<string, LiveStream>();
      for (const info of fetched.success) {
        const stream = toLive(info);
        if (watched.has(stream.channel)) live.set(stream.channel, stream);
      }
      const offlineNow: string[] = [];
      for (const [channel, state] of watched) {
        const now = live.get(channel);
        const before = state.stream;
        if (now !== undefined) {
          state.misses = 0;
          state.lastSeen = at;
          if (before !== undefined && before.streamId !== now.streamId) {
            // Ended and started again between two polls.
            yield* store(closeStream(channel, before.streamId, at));
            publish({ _tag: "Offline", channel, stream: before, endedAt: at, at });
          }
          yield* store(
            recordStreamSighting(
              channel,
              { streamId: now.streamId, startedAt: now.startedAt, title: now.title, gameId: now.gameId, gameName: now.gameName, viewerCount: now.viewerCount },
              at,
            ),
          );
          state.stream = now;
          if (before === undefined || before.streamId !== now.streamId) publish({ _tag: "Online", channel, stream: now, at });
          else if (before.title !== now.title || before.gameId !== now.gameId || before.gameName !== now.gameName) {
            publish({ _tag: "Updated", channel, stream: now, previous: before, at });
          }
        } else if (before !== undefined) {
          state.misses++;
          if (state.misses >= missesToOffline) {
            const endedAt = state.lastSeen ?? at;
            yield* store(closeStream(channel, before.streamId, endedAt));
            state.stream = undefined;
            state.misses = 0;
            publish({ _tag: "Offline", channel, stream: before, endedAt, at });
          }
        } else {
          offlineNow.push(channel);
        }
      }
      // Sessions left open by a previous run: ended for channels seen offline,
      // and any session not seen for a while whoever watches it.
      yield* store(closeOpenStreamsOf(offlineNow));
      const keep = [...live.values()].map((s) => ({ channel: s.channel, streamId: s.streamId }));
      yield* store(closeStaleStreams(new Date(at.getTime() - staleAfterMs), { except: keep }));
      report = { at, ok: true, live: live.size, watched: logins.length };
      return report;
    });

    const pollOnce = pollLock.withPermits(1)(poll);

    // Nothing is watched at start; `watch` opens `early`, so new channels are
    // polled after a short debounce instead of a whole interval.
    const loop = Effect.gen(function* () {
      for (;;) {
        yield* Effect.raceFirst(Effect.sleep(interval), early.await.pipe(Effect.andThen(Effect.sleep(debounce))));
        early.closeUnsafe();
        yield* pollOnce;
      }
    });
    yield* Effect.forkScoped(loop);

    const watch = (channel: string) =>
      Effect.sync(() => {
        const name = channel.toLowerCase();
        if (watched.has(name)) return;
        watched.set(name, { stream: undefined, lastSeen: undefined, misses: 0 });
        early.openUnsafe();
      });

    const unwatch = (channel: string) =>
      Effect.sync(() => {
        watched.delete(channel.toLowerCase());
      });

    const subscribe = (channel: string) =>
      Effect.acquireRelease(
        Effect.gen(function* () {
          const name = channel.toLowerCase();
          const queue = yield* Queue.unbounded<LiveChange>();
          let set = subscribers.get(name);
          if (set === undefined) {
            set = new Set();
            subscribers.set(name, set);
          }
          set.add(queue);
          const stream = watched.get(name)?.stream;
          if (stream !== undefined) Queue.offerUnsafe(queue, { _tag: "Online", channel: name, stream, at: new Date() });
          return queue;
        }),
        (queue) =>
          Effect.gen(function* () {
            const set = subscribers.get(channel.toLowerCase());
            set?.delete(queue);
            if (set?.size === 0) subscribers.delete(channel.toLowerCase());
            yield* Queue.shutdown(queue);
          }),
      ).pipe(Effect.map((queue): Queue.Dequeue<LiveChange> => queue));

    return {
      watch,
      unwatch,
      current: (channel) => watched.get(channel.toLowerCase())?.stream,
      subscribe,
      pollNow: pollOnce,
      lastPoll: () => report,
    } satisfies LiveStatusService;
  });
