/**
 * ChatSink: where every recorded chat row goes. Rows are buffered and written
 * in batches (at most `flushIntervalMs` after the oldest arrived, or as soon as
 * `batchSize` are waiting), idempotently on the message id. When the database
 * cannot take a batch, it goes to the on-disk journal instead, and so does
 * everything after it until the journal has been replayed, which keeps rows in
 * the order they were received. Closing the sink (its layer's scope) writes
 * out the buffer, to the database or the journal.
 *
 * Memory is bounded: above `highWaterRows` `offer` reports pressure (chat
 * connections then stop reading their sockets until `whenWritable`); when
 * held back they fall behind Twitch (`readOnBehindMs`) they are let go and
 * the buffer takes what they read, up to `maxBufferedRows`; past that,
 * batches go to the journal so that reading keeps up.
 * Rows are split by channel over `writers` lanes, each with one INSERT in
 * flight, so a channel's rows keep their order. Every `searchMergeRows` rows
 * stored, a fiber of its own merges the search index's pending list
 * (`chat-search-upkeep.ts`), which would otherwise stall a batch INSERT.
 */
import { Cause, Context, Deferred, Duration, Effect, Fiber, Latch, Layer, Option, Result, Semaphore } from "effect";
import type { Scope } from "effect";
import { SqlClient } from "effect/sql/SqlClient";
import { SqlError } from "effect/sql/SqlError";
import { appendFile } from "node:fs/promises";
import { join } from "node:path";
import { chatPartitionName, ensureChatPartitionsCovering, listChatPartitions } from "./chat-partitions.ts";
import { type ChatJournal, ChatJournalError, makeChatJournal } from "./chat-journal.ts";
import { mergeChatSearchPending } from "./chat-search-upkeep.ts";
import { Metrics } from "./metrics.ts";
import { type ChatRow, insertChatRows } from "./repositories/chat.ts";

/**
 * Rows per INSERT by default. Each batch pays a round trip, a plan and a
 * commit; in the chat benchmark (1,000 channels, 21,000 msg/s offered on two
 * cores) 2,000-row batches stored 17-19k msg/s where 500-row ones stored
 * 9-14k, the database waiting between statements. A batch still waits at
 * most `flushIntervalMs` (250 ms) when traffic is light.
 */
export const defaultChatBatchRows = 2_000;

/** Options of the sink. */
export interface ChatSinkOptions {
  /** Journal folder, normally `$DATA_DIR/chat-journal`. */
  readonly journalDirectory: string;
  /** Rows per INSERT; a batch is written as soon as this many wait. Default `defaultChatBatchRows`. */
  readonly batchSize?: number;
  /**
   * Batches written at once, default 2 (one database backend each). Rows are
   * split by channel, so a channel's rows, and the deletions among them, are
   * always written in the order they came.
   */
  readonly writers?: number;
  /** Longest a row waits in memory before its batch is written. Default 250 ms. */
  readonly flushIntervalMs?: number;
  /** Above this many buffered rows `offer` returns false (pressure). Default 20,000. */
  readonly highWaterRows?: number;
  /**
   * Most rows held in memory. Producers let go after falling behind are held
   * back again here, and batches go to the journal once the buffer is within
   * half of `highWaterRows` of it, whatever the database does. Default 100,000.
   */
  readonly maxBufferedRows?: number;
  /**
   * Producers held back (above the high-water mark, or let go and paused
   * again within a second, again and again) while they fell this much further
   * behind Twitch, by the rows' `tmi-sent-ts`, are let go: they read on and
   * the buffer takes their rows, up to `maxBufferedRows`, until it is back at
   * its low-water mark. A chat socket read slower than chat arrives falls
   * behind, and once Twitch's PINGs (or the client's PONGs) wait about ten
   * seconds in its backlog the connection is dropped. The rows still go to the
   * database: when it was only slow for a while it catches up, and only a
   * buffer near `maxBufferedRows` sends batches to the journal, which costs
   * more per row (written, read back and parsed again). Default 2 s: what
   * piled up at the sender meanwhile comes in at once, and leaves the
   * buffer room to wait out a slow spell.
   */
  readonly readOnBehindMs?: number;
  /** Producers held back this long are let go whatever the rows' times say. Default 15 s. */
  readonly readOnAfterMs?: number;
  /** Store the raw IRC line of each message. Default false. */
  readonly keepRaw?: boolean;
  /** A batch INSERT slower than this counts as the database being away. Default 15 s. */
  readonly insertTimeoutMs?: number;
  /** First and longest wait between attempts to replay the journal. Defaults 250 ms and 5 s. */
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
  /**
   * Rows stored between merges of the search index's pending list, done from
   * a connection of their own (`chat-search-upkeep.ts`) so that no batch
   * INSERT has to. Default 20,000; 0 leaves it to the INSERTs and autovacuum.
   */
  readonly searchMergeRows?: number;
  /** Called after each committed batch with the commit time; for metrics and benchmarks. Must not throw. */
  readonly onCommit?: (rows: ReadonlyArray<ChatRow>, committedAt: number) => void;
}

/** Counters of one sink since it started. */
export interface ChatSinkStats {
  /** Rows waiting in memory. */
  readonly buffered: number;
  /** Rows waiting in the journal on disk. */
  readonly journalRows: number;
  /** `direct` while batches go to the database, `journal` while they go to disk. */
  readonly mode: "direct" | "journal";
  readonly offered: number;
  /** Rows new to the database (duplicates not counted). */
  readonly stored: number;
  /** Rows the database already had (replays, duplicate deliveries). */
  readonly duplicates: number;
  /** Rows written to the journal. */
  readonly journaled: number;
  /** Rows the database refused for their content, kept in `rejected.ndjson` beside the journal. */
  readonly rejected: number;
  /** Rows offered after the sink closed (a wiring bug; logged). */
  readonly dropped: number;
}

/** Lets a producer that cannot wait inside Effect (a socket callback) follow the sink's pressure. */
export interface ChatFlowControl {
  /** True while the sink wants producers to pause. */
  readonly saturated: () => boolean;
  /** Resolves once the buffer has room again (at once when it has). */
  readonly whenWritable: () => Promise<void>;
}

/** The sink's interface. */
export interface ChatSinkService extends ChatFlowControl {
  /**
   * Takes a row, synchronously. Never drops it; returns false when the buffer
   * is above its high-water mark, asking the caller to pause reading.
   */
  readonly offer: (row: ChatRow) => boolean;
  /** Takes rows, waiting while the buffer is above its high-water mark. */
  readonly offerAll: (rows: ReadonlyArray<ChatRow>) => Effect.Effect<void>;
  /** Waits until every row offered before the call is in the database or the journal. */
  readonly flush: Effect.Effect<void>;
  /** Waits until every row offered before the call is in the database (the journal replayed). */
  readonly drain: Effect.Effect<void>;
  readonly stats: () => ChatSinkStats;
}

/** The chat sink of the process. */
export class ChatSink extends Context.Service<ChatSink, ChatSinkService>()("vod-tender/services/ChatSink") {
  /** A sink writing through `SqlClient`, journaling under `options.journalDirectory`. Uses `Metrics` when provided. */
  static readonly layer = (options: ChatSinkOptions): Layer.Layer<ChatSink, ChatJournalError, SqlClient> =>
    Layer.effect(ChatSink, makeChatSink(options));
}

/** True when a failure means "the database is not taking writes now" rather than "this data is bad". */
const isUnavailable = (cause: Cause.Cause<unknown>): boolean => {
  const error = Cause.squash(cause);
  if (Cause.isTimeoutError(error)) return true;
  if (error instanceof SqlError) {
    const tag = error.reason._tag;
    return error.isRetryable || tag === "ConnectionError" || tag === "AuthenticationError" || isConnectionText(error);
  }
  return false;
};

// The driver reports a connection closed under a running query as an
// unclassified error; its message is the only sign.
const isConnectionText = (error: SqlError): boolean =>
  /connection|terminat|ECONNRE|EPIPE|socket|shutdown|closed/i.test(`${error.message} ${String(error.reason.cause)}`);

/** Rows of the channels one writer owns. */
interface Lane {
  buffer: ChatRow[];
  offered: number;
  /** Rows taken from `buffer` and now in the database or the journal, in offer order. */
  durable: number;
  readonly wake: Latch.Latch;
}

const monthKey = (ms: number): number => {
  const d = new Date(ms);
  return d.getUTCFullYear() * 12 + d.getUTCMonth();
};

const monthOfKey = (key: number): Date => new Date(Date.UTC(Math.floor(key / 12), key % 12, 1));

/** Builds a sink in the current scope (its writer and replay fibers live there). */
export const makeChatSink = (options: ChatSinkOptions): Effect.Effect<ChatSinkService, ChatJournalError, SqlClient | Scope.Scope> =>
  Effect.gen(function* () {
    const sql = yield* SqlClient;
    const metrics = Option.getOrUndefined(yield* Effect.serviceOption(Metrics));
    const batchSize = options.batchSize ?? defaultChatBatchRows;
    const flushIntervalMs = options.flushIntervalMs ?? 250;
    const highWater = options.highWaterRows ?? 20_000;
    const lowWater = Math.floor(highWater / 2);
    const maxBuffered = Math.max(options.maxBufferedRows ?? 100_000, highWater);
    // Batches go to the journal a little below the bound, so that producers
    // read on while the journal brings the buffer down, and held back only
    // when even that falls behind.
    const spillAt = Math.max(highWater, maxBuffered - (highWater - lowWater));
    const readOnAfterMs = options.readOnAfterMs ?? 15_000;
    const readOnBehindMs = options.readOnBehindMs ?? 2_000;
    // How far behind Twitch the newest offered row arrived (receive minus
    // send time; a constant clock offset cancels out below), and how far
    // behind the row that began the current spell of pressure was.
    let latestLag = 0;
    let spellStartLag = 0;
    // Start of the current spell of pressure; 0 when there is none. A spell
    // outlasts short reliefs: a reader let go at the low-water mark that fills
    // the buffer again within `pressureGraceMs` is still behind (its backlog
    // waits in the socket, where it holds up Twitch's PINGs), so only a relief
    // that lasts ends the spell.
    let saturatedSince = 0;
    // When the buffer last fell to its low-water mark during a spell; 0 while saturated.
    let relievedAt = 0;
    const pressureGraceMs = 1_000;
    // Producers let go after falling behind: held back again only at
    // `maxBuffered`, until the buffer is back at its low-water mark.
    // `letGoUnlogged` has the writer log it.
    let readingOn = false;
    let letGoUnlogged = false;
    const keepRaw = options.keepRaw ?? false;
    const insertTimeout = Duration.millis(options.insertTimeoutMs ?? 15_000);
    const retryMin = options.retryMinMs ?? 250;
    const retryMax = options.retryMaxMs ?? 5_000;
    const rejectedPath = join(options.journalDirectory, "rejected.ndjson");

    const journal: ChatJournal = yield* makeChatJournal({ directory: options.journalDirectory });

    const writers = Math.max(1, Math.floor(options.writers ?? 2));
    // One lane per writer: its buffer, how many rows it was given and how many are safe.
    const lanes: Lane[] = Array.from({ length: writers }, () => ({ buffer: [], offered: 0, durable: 0, wake: Latch.makeUnsafe(false) }));
    const laneOfChannel = new Map<string, Lane>();
    const laneOf = (channel: string): Lane => {
      let lane = laneOfChannel.get(channel);
      if (lane === undefined) {
        let h = 0;
        for (let i = 0; i < channel.length; i++) h = (Math.imul(h, 31) + channel.charCodeAt(i)) | 0;
        lane = lanes[Math.abs(h) % writers] as Lane;
        laneOfChannel.set(channel, lane);
      }
      return lane;
    };
    let buffered = 0;
    let closed = false;
    let closing = false;
    let urgent = 0;
    let mode: "direct" | "journal" = journal.rows() > 0 ? "journal" : "direct";
    const counters = { offered: 0, stored: 0, duplicates: 0, journaled: 0, rejected: 0, dropped: 0 };
    const replayWake = Latch.makeUnsafe(mode === "journal");
    const modeLock = yield* Semaphore.make(1);
    let writableWaiters: Array<() => void> = [];
    let flushWaiters: Array<{ readonly targets: ReadonlyArray<number>; readonly done: Deferred.Deferred<void> }> = [];
    let drainWaiters: Array<Deferred.Deferred<void>> = [];
    const knownMonths = new Set<number>();
    const searchMergeRows = Math.max(0, options.searchMergeRows ?? 20_000);
    // Months written since the last merge of their search index, and how many rows.
    const unmergedMonths = new Set<number>();
    let unmergedRows = 0;
    const mergeWake = Latch.makeUnsafe(false);

    const updateJournalGauge = () => metrics?.chatJournalDepth.set(journal.rows());
    updateJournalGauge();

    const wakeProducers = () => {
      if (writableWaiters.length === 0) return;
      const waiters = writableWaiters;
      writableWaiters = [];
      for (const resolve of waiters) resolve();
    };

    const releaseWritable = () => {
      if (buffered <= lowWater) {
        if (saturatedSince !== 0 && relievedAt === 0) relievedAt = Date.now();
        readingOn = false;
        wakeProducers();
      } else if (readingOn && buffered < spillAt) wakeProducers();
    };

    const progressed = () => {
      if (flushWaiters.length === 0) return;
      const still: typeof flushWaiters = [];
      for (const w of flushWaiters) {
        if (w.targets.every((target, i) => (lanes[i] as Lane).durable >= target)) Deferred.doneUnsafe(w.done, Effect.void);
        else still.push(w);
      }
      flushWaiters = still;
    };

    const drained = () => {
      const waiters = drainWaiters;
      drainWaiters = [];
      for (const d of waiters) Deferred.doneUnsafe(d, Effect.void);
    };

    const offer = (row: ChatRow): boolean => {
      if (closed) {
        counters.dropped++;
        return false;
      }
      const lane = laneOf(row.channel);
      lane.buffer.push(row);
      lane.offered++;
      buffered++;
      counters.offered++;
      latestLag = row.receivedAt - row.sentAt;
      if (lane.buffer.length === 1 || lane.buffer.length >= batchSize) lane.wake.openUnsafe();
      if (buffered < highWater) return true;
      const now = Date.now();
      if (saturatedSince === 0 || (relievedAt !== 0 && now - relievedAt > pressureGraceMs)) {
        saturatedSince = now;
        spellStartLag = latestLag;
      }
      relievedAt = 0;
      // Fallen behind: further behind Twitch than when the spell began, or held back too long.
      if (!readingOn && (latestLag - spellStartLag > readOnBehindMs || now - saturatedSince > readOnAfterMs)) {
        readingOn = true;
        letGoUnlogged = true;
        wakeProducers();
      }
      return readingOn && buffered < maxBuffered;
    };

    const saturated = () => buffered >= (readingOn ? maxBuffered : highWater);
    const whenWritable = (): Promise<void> =>
      buffered <= lowWater || (readingOn && buffered < spillAt) || closed
        ? Promise.resolve()
        : new Promise((resolve) => writableWaiters.push(resolve));

    // Partitions exist for the coming months; rows from other months (history
    // replays, clock skew) get theirs created before the insert, not after it fails.
    const ensurePartitions = (rows: ReadonlyArray<ChatRow>) =>
      Effect.gen(function* () {
        let missing: number[] | undefined;
        let last = -1;
        for (const row of rows) {
          const key = monthKey(row.sentAt);
          if (key === last) continue;
          last = key;
          unmergedMonths.add(key);
          if (!knownMonths.has(key) && !missing?.includes(key)) (missing ??= []).push(key);
        }
        if (missing === undefined) return;
        if (knownMonths.size === 0) {
          for (const p of yield* listChatPartitions) knownMonths.add(monthKey(p.from.getTime()));
          missing = missing.filter((k) => !knownMonths.has(k));
        }
        for (const key of missing) {
          const month = monthOfKey(key);
          yield* ensureChatPartitionsCovering(month, month);
          knownMonths.add(key);
        }
      });

    const attempt = (rows: ReadonlyArray<ChatRow>) => ensurePartitions(rows).pipe(Effect.andThen(insertChatRows(rows, { keepRaw })));
    const insert = (rows: ReadonlyArray<ChatRow>) =>
      attempt(rows).pipe(
        // A month dropped by retention (or by hand) since it was seen: forget what is known and create it again.
        Effect.catchIf(
          (e) => /no partition of relation/i.test(`${e.message} ${String(e.reason.cause)}`),
          () => Effect.sync(() => knownMonths.clear()).pipe(Effect.andThen(attempt(rows))),
        ),
        Effect.timeout(insertTimeout),
        Effect.provideService(SqlClient, sql),
      );

    const reject = (row: ChatRow, cause: Cause.Cause<unknown>) =>
      Effect.gen(function* () {
        counters.rejected++;
        yield* Effect.logError("chat row refused by the database; kept in rejected.ndjson", { channel: row.channel, msgId: row.msgId }, cause);
        yield* Effect.tryPromise({
          try: () => appendFile(rejectedPath, `${JSON.stringify({ row, error: Cause.pretty(cause) })}\n`),
          catch: (e) => e,
        }).pipe(Effect.ignore);
      });

    // Stores rows; a batch the database refuses for its content is split until
    // the refused rows are found, so one bad row cannot hold up the rest. An
    // outage fails the whole call (nothing is rejected for it).
    const store = (rows: ReadonlyArray<ChatRow>): Effect.Effect<void, Cause.Cause<unknown>> =>
      Effect.gen(function* () {
        const result = yield* insert(rows).pipe(Effect.sandbox, Effect.result);
        if (Result.isSuccess(result)) {
          const fresh = result.success;
          counters.stored += fresh;
          counters.duplicates += rows.length - fresh;
          unmergedRows += fresh;
          if (searchMergeRows > 0 && unmergedRows >= searchMergeRows) mergeWake.openUnsafe();
          const now = Date.now();
          if (metrics !== undefined) {
            const perChannel = new Map<string, number>();
            for (const row of rows) {
              perChannel.set(row.channel, (perChannel.get(row.channel) ?? 0) + 1);
              metrics.chatIngestLatency.observe(Math.max(0, now - row.sentAt) / 1000);
            }
            for (const [channel, count] of perChannel) metrics.chatMessagesStored.inc({ channel }, count);
          }
          options.onCommit?.(rows, now);
          return;
        }
        const cause = result.failure;
        if (isUnavailable(cause)) return yield* Effect.fail(cause);
        if (rows.length === 1) return yield* reject(rows[0] as ChatRow, cause);
        const half = Math.ceil(rows.length / 2);
        yield* store(rows.slice(0, half));
        yield* store(rows.slice(half));
      });

    // The raw line is half a row's bytes; without keepRaw it is never stored,
    // so the journal (written and read back under load) goes without it.
    const toJournal = (rows: ReadonlyArray<ChatRow>) =>
      journal.append(keepRaw ? rows : rows.map((row) => (row.raw === "" ? row : { ...row, raw: "" }))).pipe(
        Effect.tap(() =>
          Effect.sync(() => {
            counters.journaled += rows.length;
            updateJournalGauge();
          }),
        ),
      );

    // One batch, in order: to the journal while it is in use (or memory is
    // past its bound), else to the database, falling back to the journal.
    // Retries until one of the two took it: a row the process received is not dropped.
    const persist = (rows: ReadonlyArray<ChatRow>) =>
      Effect.gen(function* () {
        let delay = retryMin;
        for (;;) {
          const spill = buffered > spillAt;
          const journaled = yield* modeLock.withPermits(1)(
            Effect.gen(function* () {
              if (mode === "direct" && !spill) return false;
              if (mode === "direct") yield* Effect.logWarning("chat arrives faster than the database takes it and memory is full; writing to the journal", { buffered });
              yield* toJournal(rows);
              mode = "journal";
              replayWake.openUnsafe();
              return true;
            }),
          ).pipe(Effect.result);
          if (Result.isSuccess(journaled) && journaled.success) return;
          if (Result.isFailure(journaled)) {
            yield* Effect.logError("chat journal append failed; retrying", journaled.failure);
          } else {
            const stored = yield* store(rows).pipe(Effect.result);
            if (Result.isSuccess(stored)) return;
            yield* Effect.logWarning("chat database unavailable; journaling", Cause.pretty(stored.failure));
            const saved = yield* modeLock
              .withPermits(1)(
                Effect.gen(function* () {
                  yield* toJournal(rows);
                  mode = "journal";
                  replayWake.openUnsafe();
                }),
              )
              .pipe(Effect.result);
            if (Result.isSuccess(saved)) return;
            yield* Effect.logError("chat journal append failed; retrying", saved.failure);
          }
          yield* Effect.sleep(Duration.millis(delay));
          delay = Math.min(delay * 2, retryMax);
        }
      });

    const writer = (lane: Lane) =>
      Effect.gen(function* () {
        for (;;) {
          if (lane.buffer.length === 0) {
            if (closing) return;
            lane.wake.closeUnsafe();
            if (lane.buffer.length === 0 && !closing) yield* lane.wake.await;
            continue;
          }
          if (lane.buffer.length < batchSize && !closing && urgent === 0) {
            const wait = (lane.buffer[0] as ChatRow).receivedAt + flushIntervalMs - Date.now();
            if (wait > 0) {
              lane.wake.closeUnsafe();
              if (lane.buffer.length < batchSize && urgent === 0) yield* Effect.raceFirst(lane.wake.await, Effect.sleep(Duration.millis(wait)));
              continue;
            }
          }
          if (letGoUnlogged) {
            letGoUnlogged = false;
            yield* Effect.logWarning("chat fell behind Twitch while the database was slow; reading on into memory", { buffered, upTo: maxBuffered });
          }
          let batch: ChatRow[];
          if (lane.buffer.length <= batchSize) {
            batch = lane.buffer;
            lane.buffer = [];
          } else {
            batch = lane.buffer.slice(0, batchSize);
            lane.buffer = lane.buffer.slice(batchSize);
          }
          buffered -= batch.length;
          releaseWritable();
          yield* persist(batch);
          lane.durable += batch.length;
          progressed();
        }
      });

    const replayer = Effect.gen(function* () {
      let delay = retryMin;
      for (;;) {
        yield* replayWake.await;
        // Journal order is each channel's order; a chunk split by lane keeps it, and both lanes write at once.
        const replayed = yield* journal
          .replay(
            (rows) =>
              writers === 1
                ? store(rows)
                : Effect.forEach(
                    lanes.map((lane) => rows.filter((row) => laneOf(row.channel) === lane)).filter((part) => part.length > 0),
                    store,
                    { concurrency: writers, discard: true },
                  ),
            batchSize * writers,
          )
          .pipe(Effect.result);
        updateJournalGauge();
        if (Result.isFailure(replayed)) {
          yield* Effect.sleep(Duration.millis(delay));
          delay = Math.min(delay * 2, retryMax);
          continue;
        }
        delay = retryMin;
        if (replayed.success > 0) yield* Effect.logInfo("chat journal replayed", { rows: replayed.success, left: journal.rows() });
        yield* modeLock.withPermits(1)(
          Effect.sync(() => {
            if (journal.rows() === 0) {
              mode = "direct";
              replayWake.closeUnsafe();
              drained();
            }
          }),
        );
      }
    });

    // A failed merge is retried after the next rows; the INSERTs merge in the
    // meantime if the list grows past its limit, as they would without this.
    const searchMerger = Effect.gen(function* () {
      for (;;) {
        yield* mergeWake.await;
        mergeWake.closeUnsafe();
        const months = [...unmergedMonths];
        unmergedMonths.clear();
        unmergedRows = 0;
        const merged = yield* mergeChatSearchPending(months.map((key) => chatPartitionName(monthOfKey(key)))).pipe(
          Effect.provideService(SqlClient, sql),
          Effect.result,
        );
        if (Result.isSuccess(merged)) continue;
        for (const key of months) unmergedMonths.add(key);
        if (merged.failure.reason._tag === "AuthorizationError" || /must be owner|permission denied/i.test(merged.failure.message)) {
          yield* Effect.logWarning("chat search index merges stopped: this database role does not own the chat partitions; INSERTs merge instead", merged.failure);
          return;
        }
        yield* Effect.logDebug("chat search index merge failed; retried after the next rows", merged.failure);
      }
    });

    const writerFibers = yield* Effect.forEach(lanes, (lane) => Effect.forkScoped(writer(lane)));
    yield* Effect.forkScoped(replayer);
    if (searchMergeRows > 0) yield* Effect.forkScoped(searchMerger);

    // Runs before the fibers above are interrupted (finalizers run in reverse):
    // the buffer is written out, to the database or the journal.
    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        closing = true;
        for (const lane of lanes) lane.wake.openUnsafe();
        yield* Effect.forEach(writerFibers, (fiber) => Fiber.join(fiber).pipe(Effect.ignore), { discard: true });
        closed = true;
        const waiters = writableWaiters;
        writableWaiters = [];
        for (const resolve of waiters) resolve();
        if (counters.dropped > 0) yield* Effect.logError("chat rows offered after the sink closed", { dropped: counters.dropped });
      }),
    );

    const flush = Effect.gen(function* () {
      const targets = lanes.map((lane) => lane.offered);
      if (lanes.every((lane, i) => lane.durable >= (targets[i] as number))) return;
      const done = yield* Deferred.make<void>();
      flushWaiters.push({ targets, done });
      urgent++;
      for (const lane of lanes) lane.wake.openUnsafe();
      yield* Deferred.await(done).pipe(Effect.ensuring(Effect.sync(() => urgent--)));
    });

    const drain = Effect.gen(function* () {
      yield* flush;
      for (;;) {
        const done = yield* modeLock.withPermits(1)(
          Effect.gen(function* () {
            if (mode === "direct") return undefined;
            const d = yield* Deferred.make<void>();
            drainWaiters.push(d);
            return d;
          }),
        );
        if (done === undefined) return;
        yield* Deferred.await(done);
      }
    });

    const offerAll = (rows: ReadonlyArray<ChatRow>) =>
      Effect.gen(function* () {
        let pressured = false;
        for (const row of rows) if (!offer(row)) pressured = true;
        if (pressured && !closed) yield* Effect.promise(() => whenWritable());
      });

    return {
      offer,
      offerAll,
      saturated,
      whenWritable,
      flush,
      drain,
      stats: () => ({ buffered, journalRows: journal.rows(), mode, ...counters }),
    } satisfies ChatSinkService;
  });
