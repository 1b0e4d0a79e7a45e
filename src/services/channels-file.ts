/**
 * The channels file (`CHANNELS_FILE`): which channels to archive and how, in YAML
 * or JSON. Every error points at the line and column of the node that caused it,
 * and unknown keys are errors: a typo must not silently fall back to a default.
 *
 * ```yaml
 * defaults:
 *   chat: auto
 *   catalog: { interval: 6h, max: 0, maxAgeDays: 0 }
 * channels:
 *   - somestreamer
 *   - name: otherstreamer
 *     chat: always
 *     upload: { enabled: true, privacy: unlisted }
 * ```
 *
 * Settings merge per field: channel entry over file `defaults` over the
 * environment's defaults.
 */
import { Effect, Result, Schema, SchemaGetter } from "effect";
import { readFile } from "node:fs/promises";
import { extname } from "node:path";
import { type Document, isMap, isScalar, isSeq, LineCounter, parseDocument } from "yaml";
import type { ChannelSettings, ChannelSpec } from "./channel-settings.ts";
import { ChannelsFileError, type ChannelsFileIssue } from "./config-error.ts";
import { formatDuration, parseDuration } from "./duration.ts";
import { findJsonSyntaxError } from "./json-syntax.ts";
import { issueTexts, showValue, withInput } from "./schema-issue-text.ts";
import { isTwitchLogin, normalizeTwitchLogin, TwitchLogin } from "./twitch-login.ts";

// ---------------------------------------------------------------------------
// Schema

const opt = Schema.optionalKey;

const NonNegativeInt = Schema.Number.pipe(
  Schema.annotate({ expected: "a non-negative integer" }),
  Schema.check(Schema.makeFilter((n: number) => Number.isSafeInteger(n) && n >= 0, { expected: "a non-negative integer" })),
);
const Integer = Schema.Number.pipe(
  Schema.annotate({ expected: "an integer" }),
  Schema.check(Schema.makeFilter((n: number) => Number.isSafeInteger(n), { expected: "an integer" })),
);
const Bool = Schema.Boolean.pipe(Schema.annotate({ expected: "true or false" }));
const durationExpected = 'a positive duration such as "30m", "6h" or "1h30m"';
const DurationText = Schema.String.pipe(
  Schema.annotate({ expected: durationExpected }),
  Schema.check(Schema.makeFilter((text: string) => (parseDuration(text) ?? 0) > 0, { expected: durationExpected })),
  Schema.decodeTo(Schema.Number, {
    decode: SchemaGetter.transform((text: string) => parseDuration(text) ?? 0),
    encode: SchemaGetter.transform(formatDuration),
  }),
);

const settingsFields = {
  chat: opt(Schema.Literals(["off", "auto", "always"])),
  catalog: opt(Schema.Struct({ interval: opt(DurationText), max: opt(NonNegativeInt), maxAgeDays: opt(NonNegativeInt) })),
  download: opt(Bool),
  upload: opt(
    Schema.Struct({
      enabled: opt(Bool),
      privacy: opt(Schema.Literals(["private", "unlisted", "public"])),
      deleteAfterUpload: opt(Bool),
    }),
  ),
  retention: opt(Schema.Struct({ keepDays: opt(NonNegativeInt), keepCount: opt(NonNegativeInt), dryRun: opt(Bool) })),
  priority: opt(Integer),
};

/**
 * A partial set of channel settings as written in the channels file (and usable
 * by anything else that edits settings, e.g. the control channel). Durations
 * are written as Go duration strings (`interval: 6h`) and decode to milliseconds.
 */
export const ChannelSettingsPatch = Schema.Struct(settingsFields);

/** A decoded {@link ChannelSettingsPatch}: only the fields that were written. */
export type ChannelSettingsPatch = typeof ChannelSettingsPatch.Type;

const ChannelEntry = Schema.Union([TwitchLogin, Schema.Struct({ name: TwitchLogin, paused: opt(Bool), ...settingsFields })]).pipe(
  Schema.annotate({ expected: "a channel name, or a mapping with at least `name`" }),
);

/** The whole channels file: optional `defaults` and an optional `channels` list. */
export const ChannelsFileSchema = Schema.Struct({
  defaults: opt(ChannelSettingsPatch),
  channels: opt(Schema.Array(ChannelEntry)),
}).pipe(Schema.annotate({ expected: "a mapping with `defaults` and/or `channels`" }));

// ---------------------------------------------------------------------------
// Merging

/**
 * Applies a settings patch over resolved settings, field by field (nested
 * groups merge too: `upload: { privacy: public }` keeps `upload.enabled`).
 */
export const applySettingsPatch = (base: ChannelSettings, patch: ChannelSettingsPatch | undefined): ChannelSettings => {
  if (patch === undefined) return base;
  return {
    chat: patch.chat ?? base.chat,
    catalog: {
      intervalMs: patch.catalog?.interval ?? base.catalog.intervalMs,
      max: patch.catalog?.max ?? base.catalog.max,
      maxAgeDays: patch.catalog?.maxAgeDays ?? base.catalog.maxAgeDays,
    },
    download: patch.download ?? base.download,
    upload: {
      enabled: patch.upload?.enabled ?? base.upload.enabled,
      privacy: patch.upload?.privacy ?? base.upload.privacy,
      deleteAfterUpload: patch.upload?.deleteAfterUpload ?? base.upload.deleteAfterUpload,
    },
    retention: {
      keepDays: patch.retention?.keepDays ?? base.retention.keepDays,
      keepCount: patch.retention?.keepCount ?? base.retention.keepCount,
      dryRun: patch.retention?.dryRun ?? base.retention.dryRun,
    },
    priority: patch.priority ?? base.priority,
  };
};

/** What a channels file resolves to. */
export interface ChannelsFileContents {
  /** Environment defaults with the file's `defaults` applied: what a channel gets unless it says otherwise. */
  readonly defaults: ChannelSettings;
  /** The file's channels (source "file"), in file order, settings fully resolved. */
  readonly channels: ReadonlyArray<ChannelSpec>;
}

// ---------------------------------------------------------------------------
// Parsing

type Position = { readonly line: number; readonly column: number };

const pathText = (path: ReadonlyArray<PropertyKey>): string =>
  path.map((segment, index) => (typeof segment === "number" ? `[${segment}]` : `${index === 0 ? "" : "."}${String(segment)}`)).join("");

const rangeStart = (node: unknown): number | undefined => {
  const range = (node as { range?: ReadonlyArray<number> } | null)?.range;
  return range?.[0];
};

/**
 * Finds where a path points in the document: the deepest node that exists along
 * it (a missing key points at its mapping), or the key itself for unknown keys.
 */
const locate = (doc: Document, lines: LineCounter, path: ReadonlyArray<PropertyKey>, atKey: boolean): Position => {
  let node: unknown = doc.contents;
  let offset = rangeStart(node) ?? 0;
  for (const [index, segment] of path.entries()) {
    if (isMap(node)) {
      const pair = node.items.find((item) => String(isScalar(item.key) ? item.key.value : item.key) === String(segment));
      if (pair === undefined) break;
      if (atKey && index === path.length - 1) {
        offset = rangeStart(pair.key) ?? offset;
        break;
      }
      node = pair.value;
      offset = rangeStart(pair.value) ?? rangeStart(pair.key) ?? offset;
    } else if (isSeq(node) && typeof segment === "number") {
      node = node.items[segment];
      if (node === undefined) break;
      offset = rangeStart(node) ?? offset;
    } else break;
  }
  const { line, col } = lines.linePos(offset);
  return { line, column: col };
};

const syntaxMessage = (message: string): string =>
  message
    .replace(/ at line \d+, column \d+:[\s\S]*$/, "")
    .replace(/^Missing closing (["'])quote$/, "string is never closed (missing closing $1)")
    .trim();

const positionOf = (text: string, offset: number): Position => {
  const before = text.slice(0, offset);
  return { line: before.split("\n").length, column: offset - before.lastIndexOf("\n") };
};

// JSON gets a strict check first: YAML would accept JSON with trailing commas or comments.
const jsonSyntaxIssue = (text: string): ChannelsFileIssue | undefined => {
  const error = findJsonSyntaxError(text);
  return error === undefined ? undefined : { ...positionOf(text, error.offset), path: "", message: `invalid JSON: ${error.message}` };
};

/**
 * The YAML parser notices an unclosed quote or bracket only where the document
 * stops making sense, often lines later; point at the opener instead.
 */
const yamlSyntaxOffset = (text: string, message: string, detectedAt: number): number => {
  const quote = /Missing closing (["'])quote/.exec(message)?.[1];
  if (quote !== undefined) {
    for (let at = detectedAt - 1; at >= 0; at--) {
      if (text[at] === quote && !(quote === '"' && text[at - 1] === "\\")) return at;
    }
    return detectedAt;
  }
  const flow = /Flow (sequence|mapping)/.exec(message)?.[1];
  if (flow !== undefined) {
    const [open, close] = flow === "sequence" ? ["[", "]"] : ["{", "}"];
    let depth = 0;
    for (let at = detectedAt - 1; at >= 0; at--) {
      if (text[at] === close) depth++;
      else if (text[at] === open && depth-- === 0) return at;
    }
  }
  return detectedAt;
};

const isJson = (file: string, text: string): boolean => {
  const extension = extname(file).toLowerCase();
  if (extension === ".json") return true;
  if (extension === ".yaml" || extension === ".yml") return false;
  return /^\s*[{[]/.test(text);
};

type RawEntry = { readonly index: number; readonly name: string; readonly viaKey: boolean };

// Duplicates are found on the raw entries so they are reported alongside every other error.
const duplicateIssues = (doc: Document, lines: LineCounter, raw: unknown): Array<ChannelsFileIssue> => {
  const channels = (raw as { channels?: unknown } | null)?.channels;
  if (!Array.isArray(channels)) return [];
  const entries: Array<RawEntry> = [];
  channels.forEach((entry: unknown, index) => {
    if (typeof entry === "string") entries.push({ index, name: normalizeTwitchLogin(entry), viaKey: false });
    else if (typeof (entry as { name?: unknown } | null)?.name === "string") {
      entries.push({ index, name: normalizeTwitchLogin((entry as { name: string }).name), viaKey: true });
    }
  });
  const first = new Map<string, Position>();
  const issues: Array<ChannelsFileIssue> = [];
  for (const entry of entries) {
    if (!isTwitchLogin(entry.name)) continue;
    const path = entry.viaKey ? ["channels", entry.index, "name"] : ["channels", entry.index];
    const position = locate(doc, lines, path, false);
    const earlier = first.get(entry.name);
    if (earlier === undefined) first.set(entry.name, position);
    else {
      issues.push({
        ...position,
        path: pathText(path),
        message: `channel "${entry.name}" is listed twice (first at line ${earlier.line})`,
      });
    }
  }
  return issues;
};

/**
 * Parses and validates channels-file text (YAML, or JSON by extension or
 * content) and resolves its channels over `envDefaults`.
 *
 * Fails with every problem found, each with its line and column: syntax errors,
 * unknown keys, bad values, bad or duplicate channel names.
 */
export const parseChannelsFile = (
  file: string,
  text: string,
  envDefaults: ChannelSettings,
): Result.Result<ChannelsFileContents, ChannelsFileError> => {
  const fail = (issues: ReadonlyArray<ChannelsFileIssue>) => Result.fail(new ChannelsFileError({ file, issues }));
  if (isJson(file, text)) {
    const syntax = jsonSyntaxIssue(text);
    if (syntax !== undefined) return fail([syntax]);
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true });
  if (doc.errors.length > 0) {
    return fail(
      doc.errors.map((error) => {
        const detected = positionOf(text, error.pos[0]);
        const offset = yamlSyntaxOffset(text, error.message, error.pos[0]);
        const position = positionOf(text, offset);
        const where = position.line === detected.line ? "" : ` (noticed at line ${detected.line})`;
        return { ...position, path: "", message: `invalid YAML: ${syntaxMessage(error.message)}${where}` };
      }),
    );
  }
  // An empty document (or one holding only comments) is a file with no channels.
  const raw: unknown = doc.toJS() ?? {};
  const decoded = Schema.decodeUnknownResult(ChannelsFileSchema)(raw, {
    errors: "all",
    onExcessProperty: "error",
    reportInput: true,
  });
  const issues: Array<ChannelsFileIssue> = [];
  if (Result.isFailure(decoded)) {
    for (const text of issueTexts(decoded.failure.issue)) {
      issues.push({
        ...locate(doc, lines, text.path, text.unexpectedKey),
        path: pathText(text.path),
        message: withInput(text, showValue),
      });
    }
  }
  issues.push(...duplicateIssues(doc, lines, raw));
  if (issues.length > 0 || Result.isFailure(decoded)) {
    return fail([...issues].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0)));
  }
  const defaults = applySettingsPatch(envDefaults, decoded.success.defaults);
  const channels = (decoded.success.channels ?? []).map((entry): ChannelSpec =>
    typeof entry === "string"
      ? { name: entry, source: "file", paused: false, settings: defaults }
      : { name: entry.name, source: "file", paused: entry.paused ?? false, settings: applySettingsPatch(defaults, entry) },
  );
  return Result.succeed({ defaults, channels });
};

/**
 * Reads and validates a channels file. Use this on reload: it returns the file's
 * own defaults as well, for channels added later.
 */
export const readChannelsFile = Effect.fn("readChannelsFile")(function* (path: string, envDefaults: ChannelSettings) {
  const text = yield* Effect.tryPromise({
    try: () => readFile(path, "utf8"),
    catch: (error) =>
      new ChannelsFileError({
        file: path,
        issues: [{ path: "", message: `cannot read the file: ${(error as NodeJS.ErrnoException).code ?? String(error)}` }],
      }),
  });
  return yield* Effect.fromResult(parseChannelsFile(path, text, envDefaults));
});

/** Reads a channels file and returns just its channels (source "file"), settings resolved over `envDefaults`. */
export const loadChannelsFile = (
  path: string,
  envDefaults: ChannelSettings,
): Effect.Effect<ReadonlyArray<ChannelSpec>, ChannelsFileError> =>
  readChannelsFile(path, envDefaults).pipe(Effect.map((contents) => contents.channels));

/**
 * The channel list the runtime runs: environment channels (source "env", with
 * `defaults`) followed by the file's channels. A channel named in both is the
 * file's: its entry replaces the environment one, at the file's position.
 */
export const resolveChannels = (
  envChannels: ReadonlyArray<string>,
  file: ChannelsFileContents | undefined,
  envDefaults: ChannelSettings,
): ReadonlyArray<ChannelSpec> => {
  const defaults = file?.defaults ?? envDefaults;
  const fromFile = new Set(file?.channels.map((channel) => channel.name));
  const fromEnv = envChannels
    .filter((name) => !fromFile.has(name))
    .map((name): ChannelSpec => ({ name, source: "env", paused: false, settings: defaults }));
  return [...fromEnv, ...(file?.channels ?? [])];
};
