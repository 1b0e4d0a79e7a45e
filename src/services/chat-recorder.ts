/**
 * ChatRecorder: one channel's chat recording, as the chat actor drives it.
 * `record` joins the channel through the shared connections and sends every
 * message to the sink, attached to the stream/VOD set with `attach` (or to no
 * VOD, for chat logged around the clock). While attached to a live stream,
 * every window in which chat was not received is stored as a gap: a
 * disconnect or RECONNECT (until the channel is joined again), a stream that
 * was live before recording started, and a restart (from the last moment the
 * previous run is known to have recorded, kept in kv).
 *
 * Socket callbacks only enqueue; one fiber per recording applies membership
 * changes and attaches in order and writes the gaps, retrying while the
 * database is away, so the order of events is the order of their rows.
 */
import { Context, Deferred, Duration, Effect, Layer, Option, Queue, Schedule } from "effect";
import type { Scope } from "effect";
import { SqlClient } from "effect/sql/SqlClient";
import type { SqlError } from "effect/sql/SqlError";
import { ChatConnections, type ChatChannelBusyError, type ChatLeaveReason } from "./chat-connections.ts";
import { openStreamVod, type RecordingTarget } from "./chat-reconcile.ts";
import { ChatSink } from "./chat-sink.ts";
import { Metrics } from "./metrics.ts";
import {
  type ChatCoverage,
  type ChatGapReason,
  type ChatGapRow,
  closeChatGap,
  insertChatGap,
  loadChatCoverage,
  openChatGap,
  openChatGapsOf,
  saveChatCoverages,
} from "./repositories/chat-gaps.ts";
import { attributeChatToVod, chatRowOf } from "./repositories/chat.ts";

export type { RecordingTarget } from "./chat-reconcile.ts";

/** What happened to a recording, for the chat actor and the event bus. */
export type RecordingEvent =
  | { readonly _tag: "Joined"; readonly at: Date }
  | { readonly _tag: "Left"; readonly at: Date; readonly reason: ChatLeaveReason }
  | { readonly _tag: "GapOpened"; readonly startedAt: Date; readonly reason: ChatGapReason }
  | { readonly _tag: "GapClosed"; readonly startedAt: Date; readonly endedAt: Date; readonly reason: ChatGapReason }
  /** Twitch refused the channel (suspended, banned): `msgId` is the NOTICE's. */
  | { readonly _tag: "Refused"; readonly msgId: string; readonly text: string };

/** A recording's state now. */
export interface RecordingStatus {
  readonly channel: string;
  readonly joined: boolean;
  readonly target: RecordingTarget | null;
  readonly messages: number;
  /** Receive time of the last message, ms since the epoch. */
  readonly lastMessageAt: number | null;
  readonly gapOpenSince: Date | null;
}

/** One channel being recorded; ends (the channel is left) when the scope given to `record` closes. */
export interface ChannelRecording {
  readonly channel: string;
  /**
   * Attaches the messages received from now on to a live stream's VOD, or to
   * none (`null`: between streams). Attaching a stream also stores the gap
   * before it (stream live before the channel was joined, or since a previous
   * run stopped); detaching closes an open gap at once. For `lateLineMs`
   * after a detach, a line sent before it still goes to the stream it left.
   */
  readonly attach: (target: RecordingTarget | null) => Effect.Effect<void>;
  /** How long after a detach a line sent before it is still given the stream's VOD; the stream is not reconciled before that. */
  readonly lateLineMs: number;
  readonly status: () => RecordingStatus;
  /** Membership changes, gaps and refusals, in order. */
  readonly events: Queue.Dequeue<RecordingEvent>;
  /** Waits until everything enqueued so far (gap rows, coverage) is written. */
  readonly settled: Effect.Effect<void>;
}

/** Options of the recorder. */
export interface ChatRecorderOptions {
  /**
   * How often the recorded-until marks of live streams are saved, all channels
   * in one statement (bounds a restart gap's precision). Default 5 s.
   */
  readonly heartbeatMs?: number;
  /** A gap shorter than this at a stream's start is not stored. Default 1 s. */
  readonly gapToleranceMs?: number;
  /**
   * After a stream is detached, lines read within this long that Twitch sent
   * before the detach are still attached to it: they were in flight (in the
   * socket, or held back while the sink was full) when the stream was seen to
   * end. Default 15 s, the longest the sink holds a connection back.
   */
  readonly lateLineMs?: number;
}

/** The recorder interface. */
export interface ChatRecorderService {
  /** Starts recording `channel` (login); fails when it is already being recorded. */
  readonly record: (channel: string) => Effect.Effect<ChannelRecording, ChatChannelBusyError, Scope.Scope>;
  /** The VOD a live stream's chat goes to: its archive if known, else a placeholder keyed by the stream id. */
  readonly beginStream: (
    channel: string,
    stream: { readonly streamId: string; readonly title: string; readonly startedAt: Date },
  ) => Effect.Effect<RecordingTarget, SqlError>;
}

/** The process's chat recorder. */
export class ChatRecorder extends Context.Service<ChatRecorder, ChatRecorderService>()("vod-tender/services/ChatRecorder") {
  /** Records through `ChatConnections` into `ChatSink`; uses `Metrics` when provided. */
  static readonly layer = (options?: ChatRecorderOptions): Layer.Layer<ChatRecorder, never, ChatConnections | ChatSink | SqlClient> =>
    Layer.effect(ChatRecorder, makeChatRecorder(options ?? {}));
}

// 250 ms doubling, never more than 5 s apart.
const exponentialCapped = Schedule.min([Schedule.exponential("250 millis"), Schedule.spaced("5 seconds")]);

type Work =
  | { readonly _tag: "Joined"; readonly at: number }
  | { readonly _tag: "Left"; readonly at: number; readonly reason: ChatLeaveReason }
  | { readonly _tag: "Attach"; readonly target: RecordingTarget | null; readonly at: number }
  | { readonly _tag: "Mark"; readonly done: Deferred.Deferred<void> };

interface OpenGap {
  id: number | undefined;
  readonly startedAt: number;
  readonly reason: ChatGapReason;
}

/** Builds the recorder; its periodic coverage writer lives in the current scope. */
export const makeChatRecorder = (
  options: ChatRecorderOptions,
): Effect.Effect<ChatRecorderService, never, ChatConnections | ChatSink | SqlClient | Scope.Scope> =>
  Effect.gen(function* () {
    const connections = yield* ChatConnections;
    const sink = yield* ChatSink;
    const sql = yield* SqlClient;
    const metrics = Option.getOrUndefined(yield* Effect.serviceOption(Metrics));
    const heartbeat = Duration.millis(options.heartbeatMs ?? 5_000);
    const tolerance = options.gapToleranceMs ?? 1_000;
    const lateLineMs = options.lateLineMs ?? 15_000;
    // Coverage marks are collected here and written together, not one query per channel.
    const pendingCoverage = new Map<string, ChatCoverage>();
    const heartbeats = new Set<() => void>();

    // Bookkeeping writes must land: retried until the database takes them.
    const write = <A>(effect: Effect.Effect<A, SqlError, SqlClient>): Effect.Effect<A> =>
      effect.pipe(
        Effect.provideService(SqlClient, sql),
        Effect.tapError((e) => Effect.logWarning("chat recorder: database write failed; retrying", e.message)),
        Effect.retry({ schedule: exponentialCapped }),
        Effect.orDie,
      );

    const record = (name: string) =>
      Effect.gen(function* () {
        const channel = name.toLowerCase();
        const work = yield* Queue.unbounded<Work>();
        const events = yield* Queue.unbounded<RecordingEvent>();
        const recordingScope = yield* Effect.scope;
        const emit = (event: RecordingEvent) => Queue.offerUnsafe(events, event);
        const enqueue = (item: Work) => Queue.offerUnsafe(work, item);

        // Read by the socket callback for every message.
        let target: RecordingTarget | null = null;
        let detached: { readonly from: RecordingTarget; readonly at: number } | null = null;
        let messages = 0;
        let lastMessageAt: number | null = null;
        // Owned by the worker fiber.
        let joined = false;
        let joinedSince = 0;
        let attached: RecordingTarget | null = null;
        let gap: OpenGap | undefined;
        let coverage: ChatCoverage | undefined;
        let leftovers: ChatGapRow[] = [];

        const scopeOf = (t: RecordingTarget) => ({ channel, streamId: t.streamId, vodId: t.vodId });

        const openGap = (startedAt: number, reason: ChatGapReason) =>
          Effect.gen(function* () {
            if (attached === null || gap !== undefined) return;
            const g: OpenGap = { id: undefined, startedAt, reason };
            gap = g;
            g.id = yield* write(openChatGap(scopeOf(attached), new Date(startedAt), reason));
            metrics?.chatGaps.inc({ channel });
            emit({ _tag: "GapOpened", startedAt: new Date(startedAt), reason });
          });

        const closeGap = (endedAt: number) =>
          Effect.gen(function* () {
            const g = gap;
            if (g === undefined) return;
            gap = undefined;
            if (g.id !== undefined) yield* write(closeChatGap(g.id, new Date(endedAt)));
            emit({ _tag: "GapClosed", startedAt: new Date(g.startedAt), endedAt: new Date(Math.max(endedAt, g.startedAt)), reason: g.reason });
          });

        const saveCoverage = (t: RecordingTarget, at: number) =>
          Effect.sync(() => {
            coverage = { streamId: t.streamId, at: new Date(at) };
            pendingCoverage.set(channel, coverage);
          });

        // The window before this stream's chat started flowing to us.
        const startGap = (t: RecordingTarget, now: number) =>
          Effect.gen(function* () {
            const leftover = leftovers.find((g) => g.stream_id === t.streamId);
            if (leftover !== undefined) {
              // A previous run stopped while this stream's chat was down: its gap goes on.
              leftovers = leftovers.filter((g) => g !== leftover);
              gap = { id: leftover.id, startedAt: leftover.started_at.getTime(), reason: leftover.reason };
              if (joined) yield* closeGap(joinedSince);
              return;
            }
            const restarted = coverage?.streamId === t.streamId;
            const from = restarted && coverage !== undefined ? coverage.at.getTime() : t.startedAt.getTime();
            const reason: ChatGapReason = restarted ? "restart" : "late-join";
            if (joined) {
              if (joinedSince - from > tolerance) {
                yield* write(insertChatGap(scopeOf(t), new Date(from), new Date(joinedSince), reason));
                metrics?.chatGaps.inc({ channel });
                emit({ _tag: "GapOpened", startedAt: new Date(from), reason });
                emit({ _tag: "GapClosed", startedAt: new Date(from), endedAt: new Date(joinedSince), reason });
              }
              // Chat logged before the stream was seen live belongs to it. From the
              // stream's start (not the join): a line sent just after Twitch joined
              // us can carry a time before this process saw the join confirmed.
              yield* sink.drain.pipe(
                Effect.andThen(write(attributeChatToVod(channel, t, new Date(from), new Date(now)))),
                Effect.forkIn(recordingScope),
              );
            } else if (now - from > tolerance) {
              yield* openGap(from, reason);
            } else {
              yield* openGap(now, "disconnect");
            }
          });

        const step = (item: Work): Effect.Effect<void> =>
          Effect.gen(function* () {
            switch (item._tag) {
              case "Joined": {
                joined = true;
                joinedSince = item.at;
                emit({ _tag: "Joined", at: new Date(item.at) });
                yield* closeGap(item.at);
                return;
              }
              case "Left": {
                if (!joined) return;
                joined = false;
                emit({ _tag: "Left", at: new Date(item.at), reason: item.reason });
                if (attached === null) return;
                yield* saveCoverage(attached, item.at);
                // Stopping the process is not a gap yet: the next run measures it from the coverage.
                if (item.reason !== "shutdown") yield* openGap(item.at, item.reason === "reconnect" ? "reconnect" : "disconnect");
                return;
              }
              case "Attach": {
                const previous = attached;
                const next = item.target;
                if (previous !== null && (next === null || next.streamId !== previous.streamId)) {
                  yield* closeGap(item.at);
                  if (joined) yield* saveCoverage(previous, item.at);
                }
                attached = next;
                if (next !== null && (previous === null || previous.streamId !== next.streamId)) yield* startGap(next, item.at);
                return;
              }
              case "Mark":
                yield* Deferred.succeed(item.done, undefined);
                return;
            }
          });

        const worker = Effect.gen(function* () {
          const [open, saved] = yield* write(Effect.all([openChatGapsOf(channel), loadChatCoverage(channel)]));
          leftovers = [...open];
          coverage = saved;
          for (;;) yield* step(yield* Queue.take(work));
        });
        yield* Effect.forkScoped(worker);
        const beat = () => {
          if (joined && attached !== null) pendingCoverage.set(channel, (coverage = { streamId: attached.streamId, at: new Date() }));
        };
        heartbeats.add(beat);
        yield* Effect.addFinalizer(() => Effect.sync(() => heartbeats.delete(beat)));

        const settled = Effect.gen(function* () {
          const done = yield* Deferred.make<void>();
          enqueue({ _tag: "Mark", done });
          yield* Deferred.await(done);
        });

        // Leaving on close runs before the wait below (finalizers run in reverse).
        yield* Effect.addFinalizer(() =>
          Effect.gen(function* () {
            if (joined && attached !== null) enqueue({ _tag: "Left", at: Date.now(), reason: "shutdown" });
            yield* settled.pipe(Effect.timeout(Duration.seconds(10)), Effect.ignore);
          }),
        );

        const lateTargetOf = (m: { readonly sentAt: number; readonly receivedAt: number }): RecordingTarget | null =>
          detached !== null && m.sentAt <= detached.at && m.receivedAt - detached.at <= lateLineMs ? detached.from : null;

        yield* connections.join(channel, {
          onMessage: (m) => {
            sink.offer(chatRowOf(m, target ?? lateTargetOf(m)));
            messages++;
            lastMessageAt = m.receivedAt;
          },
          onJoined: (at) => enqueue({ _tag: "Joined", at }),
          onLeft: (at, reason) => enqueue({ _tag: "Left", at, reason }),
          onNotice: (msgId, text) => {
            if (msgId === "msg_channel_suspended" || msgId === "msg_banned" || msgId === "msg_channel_blocked") emit({ _tag: "Refused", msgId, text });
          },
        });

        return {
          channel,
          attach: (next) =>
            Effect.sync(() => {
              const at = Date.now();
              // Detaching twice keeps the stream first left; attaching forgets it.
              if (next !== null) detached = null;
              else if (target !== null) detached = { from: target, at };
              target = next;
              enqueue({ _tag: "Attach", target: next, at });
            }),
          lateLineMs,
          status: () => ({
            channel,
            joined,
            target,
            messages,
            lastMessageAt,
            gapOpenSince: gap === undefined ? null : new Date(gap.startedAt),
          }),
          events,
          settled,
        } satisfies ChannelRecording;
      });

    const flushCoverage = Effect.suspend(() => {
      if (pendingCoverage.size === 0) return Effect.void;
      const entries = [...pendingCoverage].map(([channel, coverage]) => ({ channel, coverage }));
      pendingCoverage.clear();
      return write(saveChatCoverages(entries));
    });
    yield* Effect.forkScoped(
      Effect.forever(
        Effect.sleep(heartbeat).pipe(
          Effect.andThen(Effect.sync(() => heartbeats.forEach((beat) => beat()))),
          Effect.andThen(flushCoverage),
        ),
      ),
    );
    // The last marks (recordings stopped at shutdown) are written before the recorder goes.
    yield* Effect.addFinalizer(() => flushCoverage);

    const beginStream: ChatRecorderService["beginStream"] = (channel, stream) =>
      openStreamVod(channel.toLowerCase(), stream).pipe(Effect.provideService(SqlClient, sql));

    return { record, beginStream } satisfies ChatRecorderService;
  });
