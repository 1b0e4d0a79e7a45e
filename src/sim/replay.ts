import { readFile } from "node:fs/promises";
import { gunzipSync } from "node:zlib";
import { lineChannel, parseIrcLine } from "./irc-message.ts";
import type { LineSource } from "./sent-lines.ts";

/** Where replayed lines go (the chat server). */
export interface ReplaySink {
  send(channel: string, line: string, command: string, msgId: string | null, source: LineSource): number;
}

/** How to replay a file. */
export interface ReplayOptions {
  /** Channel whose readers get every line; by default each line goes to the channel it names. */
  readonly channel?: string;
  /** Lines per second; 0 sends as fast as the server can write. */
  readonly rate?: number;
  /** Start again at the end, until stopped. */
  readonly loop?: boolean;
}

/** A replay in progress. */
export interface Replay {
  /** Resolves with the number of lines sent when the file is done (or the replay stopped). */
  readonly done: Promise<ReplayResult>;
  stop(): void;
}

/** What a replay did. */
export interface ReplayResult {
  readonly sent: number;
  /** Lines that named no channel while no `channel` was given. */
  readonly skipped: number;
}

/**
 * Reads raw IRC lines as justlog stores them: one line per message, UTF-8, optionally
 * gzipped (`.gz`). Blank lines and lines starting with `#` (comments; no IRC line starts
 * so) are left out; a trailing CR is removed, nothing else is touched.
 */
export const readRawLines = async (path: string): Promise<string[]> => {
  let data = await readFile(path);
  if (data[0] === 0x1f && data[1] === 0x8b) data = gunzipSync(data);
  return data
    .toString("utf8")
    .split("\n")
    .map((l) => (l.endsWith("\r") ? l.slice(0, -1) : l))
    .filter((l) => l !== "" && !l.startsWith("#"));
};

/**
 * Sends `lines` byte for byte into the chat at `rate` lines a second. Each line is
 * recorded with its `id` tag, so what was sent can be compared with what was stored.
 */
export const startReplay = (sink: ReplaySink, lines: readonly string[], opts: ReplayOptions): Replay => {
  const target = opts.channel?.replace(/^#/, "").toLowerCase();
  const rate = opts.rate ?? 0;
  let i = 0;
  let sent = 0;
  let skipped = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let finish: (r: ReplayResult) => void = () => {};
  const done = new Promise<ReplayResult>((resolve) => (finish = resolve));

  const sendOne = (): boolean => {
    if (i >= lines.length) {
      if (opts.loop !== true || lines.length === 0) return false;
      i = 0;
    }
    const line = lines[i++]!;
    const m = parseIrcLine(line);
    const channel = target ?? (m === undefined ? undefined : lineChannel(m));
    if (channel === undefined) {
      skipped++;
      return true;
    }
    sink.send(channel, line, m?.command ?? "", m?.tags.get("id") ?? null, "replay");
    sent++;
    return true;
  };
  const end = () => {
    if (timer !== null) clearInterval(timer);
    timer = null;
    finish({ sent, skipped });
  };

  if (rate <= 0) {
    // As fast as possible, but in slices so the server keeps writing between them.
    const burst = () => {
      for (let n = 0; n < 2000; n++) {
        if (stopped || !sendOne()) return end();
      }
      setImmediate(burst);
    };
    setImmediate(burst);
  } else {
    let acc = 0;
    let last = performance.now();
    timer = setInterval(() => {
      const now = performance.now();
      acc = Math.min(acc + ((now - last) / 1000) * rate, Math.max(1, rate));
      last = now;
      while (acc >= 1) {
        acc--;
        if (stopped || !sendOne()) return end();
      }
    }, 10);
    // The first line goes out at once rather than a tick later.
    acc = 1;
  }
  return {
    done,
    stop: () => {
      stopped = true;
      if (timer !== null) end();
    },
  };
};
