/**
 * Notices when the channels file changes and asks for a reload: `fs.watch` on
 * the file's *directory* (editors save by writing a new file and renaming it
 * over the old one, and Kubernetes swaps a `..data` symlink, both of which a
 * watch on the file itself misses), debounced, and only when the content
 * actually changed. `SIGHUP` asks for a reload unconditionally.
 */
import { createHash } from "node:crypto";
import { watch } from "node:fs";
import type { FSWatcher } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname } from "node:path";
import { Effect } from "effect";
import type { Scope } from "effect";

/** Why a reload was asked for. */
export type WatchTrigger = "watch" | "sighup";

export interface ChannelsFileWatcherOptions {
  readonly path: string;
  /** Quiet time after the last file event before reading the file (saves come in bursts). */
  readonly debounceMs?: number;
  /** Also reload on `SIGHUP` (the process's; tests turn it off). */
  readonly sighup?: boolean;
  /** Called once per change; must not throw. */
  readonly onChange: (trigger: WatchTrigger) => void;
}

const contentHash = async (path: string): Promise<string> => {
  try {
    return createHash("sha256").update(await readFile(path)).digest("hex");
  } catch (error) {
    // A missing or unreadable file is a state too: going there and back are changes.
    return `unreadable:${(error as NodeJS.ErrnoException).code ?? "error"}`;
  }
};

/** Starts watching; stops (watcher closed, signal handler removed) when the scope closes. */
export const watchChannelsFile = (options: ChannelsFileWatcherOptions): Effect.Effect<void, never, Scope.Scope> =>
  Effect.gen(function* () {
    const debounceMs = options.debounceMs ?? 150;
    let lastHash = yield* Effect.promise(() => contentHash(options.path));
    let timer: NodeJS.Timeout | undefined;
    let checking = false;
    let again = false;

    const check = async () => {
      if (checking) {
        again = true;
        return;
      }
      checking = true;
      try {
        do {
          again = false;
          const hash = await contentHash(options.path);
          if (hash !== lastHash) {
            lastHash = hash;
            options.onChange("watch");
          }
        } while (again);
      } finally {
        checking = false;
      }
    };

    const schedule = () => {
      if (timer !== undefined) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = undefined;
        void check();
      }, debounceMs);
    };

    // Any entry of the directory may be the file (or the symlink it resolves through).
    const directory = dirname(options.path);
    const watcher = yield* Effect.try({
      try: () => watch(directory, { persistent: false }, schedule),
      catch: (error) => error as NodeJS.ErrnoException,
    }).pipe(
      Effect.map((w) => w as FSWatcher | undefined),
      Effect.catch((error) =>
        Effect.logWarning("cannot watch the channels file's directory; reload with SIGHUP or config.reload").pipe(
          Effect.annotateLogs({ directory, error: error.message }),
          Effect.as(undefined),
        ),
      ),
    );
    watcher?.on("error", () => {
      // The directory went away; SIGHUP and config.reload still work.
    });

    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        if (timer !== undefined) clearTimeout(timer);
        watcher?.close();
      }),
    );
    if (options.sighup ?? true) {
      yield* listenForSighup(() => {
        void contentHash(options.path).then((hash) => {
          lastHash = hash;
          options.onChange("sighup");
        });
      });
    }
  });

/**
 * Calls `onSignal` on every `SIGHUP` until the scope closes. Installing a handler
 * also keeps the signal from killing the process, its default action.
 */
export const listenForSighup = (onSignal: () => void): Effect.Effect<void, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const handler = () => onSignal();
      process.on("SIGHUP", handler);
      return handler;
    }),
    (handler) => Effect.sync(() => void process.off("SIGHUP", handler)),
  ).pipe(Effect.asVoid);
