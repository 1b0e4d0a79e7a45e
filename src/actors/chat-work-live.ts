/**
 * The chat's work, done for real: `ChatWork` bound to `LiveStatus` (one Helix
 * poller for every channel), `ChatRecorder` (the shared tmi.js pool feeding
 * the batched `ChatSink`) and the placeholder reconciliation of
 * `chat-reconcile.ts`.
 *
 * - Mode `auto`: one recording per stream. `record` joins the channel, opens
 *   the stream's VOD (its archive when the catalog has it, else a placeholder)
 *   and attaches the chat to it until the machine stops it (the stream ended,
 *   or the channel is going); the machine then calls `reconcile`, one look
 *   each time, on its own timer, so a VOD that is slow to appear never holds
 *   up the next stream.
 * - Mode `always` (`stream` null): one recording around the clock that follows
 *   the live status itself: attached on `Online`, detached on `Offline`, and
 *   each ended stream reconciled beside it (in the recording's scope, on the
 *   supervisor's reconcile policy).
 * - A look moves the chat once the sink has stored all it was given; when the
 *   archive is not in `vods` yet it asks Helix for the channel's newest
 *   archives itself, since the catalog may scan only every few hours.
 * - The connection pool rejoins after network trouble on its own (the recorder
 *   stores the gap), so a recording ends only when it fails: the channel was
 *   refused, or its VOD could not be opened.
 * - A channel is polled while anyone here follows it: registrations with
 *   `LiveStatus` are counted, so a recording and the status watcher of the same
 *   channel do not unwatch each other.
 */
import { Clock, Context, Duration, Effect, Exit, Layer, Option, Queue, Result, Scope } from "effect";
import type { SqlClient } from "effect/sql/SqlClient";
import type { SqlError } from "effect/sql/SqlError";
import type { LiveStream, ReconcilePolicy } from "../machines/chat.ts";
import { resolveChannelUser } from "../services/catalog-scan.ts";
import type { ChannelRecording } from "../services/chat-recorder.ts";
import { ChatRecorder } from "../services/chat-recorder.ts";
import { moveStreamChat } from "../services/chat-reconcile.ts";
import { ChatSink } from "../services/chat-sink.ts";
import { Helix } from "../services/helix.ts";
import type { LiveChange as StatusChange, LiveStream as StatusStream } from "../services/live-status.ts";
import { LiveStatus } from "../services/live-status.ts";
import { upsertCatalogVods } from "../services/repositories/vods-upsert.ts";
import { SupervisorOptions } from "../services/supervisor.ts";
import type { LiveChange, RecordingEvents } from "./chat-work.ts";
import { ChatWork } from "./chat-work.ts";
import { WorkError, permanent, retryable } from "./work-error.ts";

/** Tuning of the live chat work. */
export interface ChatWorkOptions {
  /** How often a recording's rate (messages in the last minute) is measured and reported. */
  readonly rateIntervalMs: number;
  /**
   * How long `record` waits for an earlier recording of the same channel to
   * let go of it (a restarted actor can start before its predecessor's
   * teardown finished) before failing to be retried.
   */
  readonly busyWaitMs: number;
  /** How long a look waits for the sink to store what it holds (its journal replayed) before trying later. */
  readonly drainTimeoutMs: number;
  /** Newest archives asked of Helix when a finished stream's VOD is not in `vods` yet. */
  readonly archiveLookups: number;
}

/** Defaults for production. */
export const defaultChatWorkOptions: ChatWorkOptions = {
  rateIntervalMs: 15_000,
  busyWaitMs: 5_000,
  drainTimeoutMs: 30_000,
  archiveLookups: 20,
};

/** The live chat work's tuning; provide it to override the defaults (tests shorten the rate interval). */
export const ChatWorkOptions = Context.Reference<ChatWorkOptions>("vod-tender/actors/ChatWorkOptions", {
  defaultValue: () => defaultChatWorkOptions,
});

/**
 * The chat machine's reconcile policy (`SupervisorOptions.policy.chat.reconcile`)
 * from `VOD_RECONCILE_DELAY` and `VOD_RECONCILE_WINDOW`: the first look after
 * `delayMs`, then one every `retryMs` (30 s, as the Go original) as long as
 * the look falls within `windowMs` of the stream's end; always at least one.
 */
export const chatReconcilePolicy = (options: { readonly delayMs: number; readonly windowMs: number; readonly retryMs?: number }): ReconcilePolicy => {
  const retryMs = Math.max(1, options.retryMs ?? 30_000);
  return {
    delayMs: options.delayMs,
    retryMs,
    maxAttempts: Math.max(1, Math.floor((options.windowMs - options.delayMs) / retryMs) + 1),
  };
};

const toStream = (stream: StatusStream): LiveStream => ({
  id: stream.streamId,
  startedAt: stream.startedAt.toISOString(),
  title: stream.title,
});

const toChange = (change: StatusChange): LiveChange => (change._tag === "Offline" ? { live: false } : { live: true, stream: toStream(change.stream) });

const fromSql =
  (what: string) =>
  (error: SqlError): WorkError =>
    retryable(`${what}: ${error.message}`);

/**
 * `ChatWork` over the chat services, the Helix client (archive lookups) and
 * the database. The reconcile policy of mode `always` is the supervisor's
 * (`SupervisorOptions.policy.chat.reconcile`), the one the machine uses in
 * mode `auto`.
 */
export const chatWorkLive: Layer.Layer<ChatWork, never, LiveStatus | ChatRecorder | ChatSink | Helix | SqlClient> = Layer.effect(
  ChatWork,
  Effect.gen(function* () {
    const live = yield* LiveStatus;
    const recorder = yield* ChatRecorder;
    const sink = yield* ChatSink;
    const helix = yield* Helix;
    const options = yield* ChatWorkOptions;
    const policy = (yield* SupervisorOptions).policy.chat.reconcile;
    const context = yield* Effect.context<Helix | SqlClient>();
    const followers = new Map<string, number>();

    // The channel's live changes until the scope closes; it stays polled while anyone follows it.
    const follow = (channel: string) =>
      Effect.acquireRelease(
        Effect.suspend(() => {
          const count = followers.get(channel) ?? 0;
          followers.set(channel, count + 1);
          return count === 0 ? live.watch(channel) : Effect.void;
        }),
        () =>
          Effect.suspend(() => {
            const count = (followers.get(channel) ?? 1) - 1;
            if (count > 0) {
              followers.set(channel, count);
              return Effect.void;
            }
            followers.delete(channel);
            return live.unwatch(channel);
          }),
      ).pipe(Effect.andThen(live.subscribe(channel)));

    // Each attempt gets its own scope, so a refused attempt leaves nothing behind in the recording's.
    const acquireRecording = (channel: string) =>
      Effect.gen(function* () {
        const outer = yield* Effect.scope;
        const deadline = (yield* Clock.currentTimeMillis) + options.busyWaitMs;
        for (;;) {
          const attempt = yield* Scope.fork(outer);
          const result = yield* recorder.record(channel).pipe(Scope.provide(attempt), Effect.result);
          if (Result.isSuccess(result)) return result.success;
          yield* Scope.close(attempt, Exit.void);
          if ((yield* Clock.currentTimeMillis) >= deadline) {
            return yield* retryable(`chat of ${channel} is still held by an earlier recording: ${result.failure.message}`);
          }
          yield* Effect.sleep(Duration.millis(100));
        }
      });

    // Membership news for the machine; a refusal (suspended, banned) ends the recording.
    const relayEvents = (channel: string, recording: ChannelRecording, events: RecordingEvents) =>
      Effect.gen(function* () {
        for (;;) {
          const event = yield* Queue.take(recording.events);
          if (event._tag === "Joined") events.connected();
          else if (event._tag === "Refused") return yield* permanent(`Twitch refused to join ${channel}: ${event.text}`);
        }
      });

    // Messages in the last minute, extrapolated while the recording is younger than that.
    const reportRate = (recording: ChannelRecording, events: RecordingEvents) =>
      Effect.gen(function* () {
        const samples = [{ at: yield* Clock.currentTimeMillis, count: recording.status().messages }];
        for (;;) {
          yield* Effect.sleep(Duration.millis(options.rateIntervalMs));
          const now = { at: yield* Clock.currentTimeMillis, count: recording.status().messages };
          while (samples.length > 1 && samples[1]!.at <= now.at - 60_000) samples.shift();
          const base = samples[0]!;
          events.rate(Math.round(((now.count - base.count) * 60_000) / Math.max(1, now.at - base.at)));
          samples.push(now);
        }
      });

    const openVod = (channel: string, stream: LiveStream) =>
      recorder
        .beginStream(channel, { streamId: stream.id, title: stream.title, startedAt: new Date(stream.startedAt) })
        .pipe(Effect.mapError(fromSql(`cannot open the VOD of stream ${stream.id}`)));

    // The channel's newest archives into `vods`, as the catalog would write them.
    const fetchArchives = (channel: string) =>
      Effect.gen(function* () {
        const user = yield* resolveChannelUser(channel).pipe(Effect.mapError((error) => new WorkError({ message: error.message, retryable: error.retryable })));
        const page = yield* helix
          .getVideos({ userId: user.id, type: "archive", first: options.archiveLookups })
          .pipe(Effect.mapError((error) => retryable(`Helix: ${error.message || error._tag}`)));
        yield* upsertCatalogVods(channel, user.id, page.data).pipe(Effect.mapError(fromSql("cannot store the archives")));
      });

    // One look for a finished stream's VOD; true once its chat is on it (or was never on a placeholder).
    const look = (channel: string, streamId: string) =>
      Effect.gen(function* () {
        const drained = yield* sink.drain.pipe(Effect.timeoutOption(Duration.millis(options.drainTimeoutMs)));
        if (Option.isNone(drained)) return yield* retryable("the stream's chat is not all stored yet (is the database away?)");
        const move = moveStreamChat(channel, streamId).pipe(Effect.mapError(fromSql("cannot move the stream's chat")));
        let outcome = yield* move;
        if (outcome === undefined) {
          yield* fetchArchives(channel);
          outcome = yield* move;
        }
        if (outcome?._tag === "Reconciled") yield* Effect.logInfo("chat reconciled with its VOD", { channel, streamId, ...outcome });
        return outcome !== undefined;
      }).pipe(Effect.provide(context));

    // Mode `always`: the ended stream's looks, on the machine's policy, beside the recording.
    // Not before the recording stops giving late lines the stream's VOD: one that came
    // after the move would be left on the deleted placeholder.
    const reconcileLater = (channel: string, streamId: string, recording: ChannelRecording) =>
      Effect.gen(function* () {
        yield* Effect.sleep(Duration.millis(Math.max(policy.delayMs, recording.lateLineMs)));
        for (let attempt = 1; ; attempt++) {
          const matched = yield* look(channel, streamId).pipe(
            Effect.catch((error) => Effect.as(Effect.logWarning("chat reconciliation attempt failed", { channel, streamId, error: error.message }), false)),
          );
          if (matched) return;
          if (attempt >= policy.maxAttempts) {
            return yield* Effect.logWarning("no VOD found for the stream; its chat stays on the placeholder", { channel, streamId });
          }
          yield* Effect.sleep(Duration.millis(policy.retryMs));
        }
      });

    // Mode `always`: the recording attaches each stream as it comes and goes.
    const followStreams = (channel: string, recording: ChannelRecording) =>
      Effect.gen(function* () {
        const changes = yield* follow(channel);
        for (;;) {
          const change = yield* Queue.take(changes);
          if (change._tag === "Online") {
            yield* recording.attach(yield* openVod(channel, toStream(change.stream)));
          } else if (change._tag === "Offline") {
            yield* recording.attach(null);
            yield* Effect.forkScoped(reconcileLater(channel, change.stream.streamId, recording));
          }
        }
      });

    return ChatWork.of({
      watchLive: (channel, onChange) =>
        Effect.gen(function* () {
          const changes = yield* follow(channel);
          yield* Effect.forkScoped(Effect.forever(Effect.map(Queue.take(changes), (change) => onChange(toChange(change)))));
        }),
      record: (channel, stream, events) =>
        Effect.gen(function* () {
          // No detach on close: the recording keeps its stream until it leaves (the
          // recorder counts the stop as a shutdown, not a gap), so chat received
          // while leaving a live channel (removal, mode switch) stays with the stream.
          const recording = yield* acquireRecording(channel);
          const attached = stream === null ? followStreams(channel, recording) : Effect.flatMap(openVod(channel, stream), recording.attach);
          yield* Effect.all([relayEvents(channel, recording, events), reportRate(recording, events), Effect.andThen(attached, Effect.never)], {
            concurrency: "unbounded",
            discard: true,
          });
        }),
      reconcile: (channel, stream) => Effect.map(look(channel, stream.id), (matched) => ({ matched })),
    });
  }),
);
