/** Where a line sent into a channel came from. */
export type LineSource = "generated" | "replay" | "injected" | "client";

/** One line the simulator sent into a channel. */
export interface SentLine {
  /** Order of sending, across all channels, from 1. */
  readonly seq: number;
  readonly channel: string;
  /** The exact line, without CR LF. */
  readonly line: string;
  readonly command: string;
  /** The line's `id` tag (PRIVMSG, USERNOTICE), if it has one. */
  readonly msgId: string | null;
  /** Sim-clock time of sending, epoch ms. */
  readonly at: number;
  /** Connections it was written to (0 when nobody had joined). */
  readonly receivers: number;
  readonly source: LineSource;
}

/**
 * The record of every line sent into channels, so a test can compare what was sent with
 * what a client stored. Capped (oldest dropped first) so long runs stay bounded; off
 * entirely for benchmarks.
 */
export class SentLines {
  #seq = 0;
  #undelivered = 0;
  readonly #perChannel = new Map<string, number>();
  #lines: SentLine[] = [];
  readonly #enabled: boolean;
  readonly #limit: number;

  constructor(enabled: boolean, limit = 100_000) {
    this.#enabled = enabled;
    this.#limit = limit;
  }

  /** Lines sent so far (counting unrecorded ones). */
  get count(): number {
    return this.#seq;
  }

  /** Lines sent while nobody had joined their channel (counted in `count`, received by no one). */
  get undelivered(): number {
    return this.#undelivered;
  }

  /** Lines sent so far per channel (counting unrecorded ones), for finding where a client missed some. */
  countsByChannel(): ReadonlyMap<string, number> {
    return new Map(this.#perChannel);
  }

  add(channel: string, line: string, command: string, msgId: string | null, at: number, receivers: number, source: LineSource): void {
    const seq = ++this.#seq;
    if (receivers === 0) this.#undelivered++;
    this.#perChannel.set(channel, (this.#perChannel.get(channel) ?? 0) + 1);
    if (!this.#enabled) return;
    this.#lines.push({ seq, channel, line, command, msgId, at, receivers, source });
    if (this.#lines.length > this.#limit) this.#lines = this.#lines.slice(this.#lines.length - Math.floor(this.#limit / 2));
  }

  /** Recorded lines, of one channel or all, optionally only those after `afterSeq`. */
  list(channel?: string, afterSeq = 0): SentLine[] {
    const c = channel?.replace(/^#/, "").toLowerCase();
    return this.#lines.filter((l) => l.seq > afterSeq && (c === undefined || l.channel === c));
  }

  /** Forgets recorded lines (the sequence keeps counting). */
  clear(): void {
    this.#lines = [];
  }
}
