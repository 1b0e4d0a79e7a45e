/**
 * Structured logging: one pino logger for the process, and an Effect `Logger`
 * that forwards `Effect.log*` to it, so fibers and plain callbacks write the same
 * JSON lines. Log annotations (`Effect.annotateLogs({ channel })`) become fields.
 */
import { Cause, Context, Layer, Logger, References } from "effect";
import type { LogLevel } from "effect";
import pino from "pino";
import type { Logger as PinoLogger, LevelWithSilent } from "pino";

/** Field paths pino blanks out wherever they appear, whatever logged them. */
export const redactedLogPaths: ReadonlyArray<string> = [
  "token",
  "*.token",
  "access_token",
  "*.access_token",
  "refresh_token",
  "*.refresh_token",
  "password",
  "*.password",
  "authorization",
  "*.authorization",
  "headers.authorization",
  "*.headers.authorization",
  "clientSecret",
  "*.clientSecret",
  "client_secret",
  "*.client_secret",
  "oauthToken",
  "*.oauthToken",
];

export interface LogOptions {
  /** pino level name: trace, debug, info, warn, error, fatal or silent. */
  readonly level: LevelWithSilent;
  /** `json` lines for machines, `text` for a person at a terminal. */
  readonly format: "json" | "text";
  /** Where lines go; standard output unless a test captures them. */
  readonly destination?: NodeJS.WritableStream;
}

/** Creates the process logger with secrets redacted. */
export const makePinoLogger = (options: LogOptions): PinoLogger => {
  const base = {
    level: options.level,
    base: { service: "vod-tender" },
    redact: { paths: [...redactedLogPaths], censor: "<redacted>" },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  if (options.format === "text") {
    return pino(base, textStream(options.destination ?? process.stdout));
  }
  return options.destination ? pino(base, options.destination) : pino(base);
};

// A small human format without pulling in pino-pretty: time, level, channel, message, rest.
const textStream = (out: NodeJS.WritableStream): NodeJS.WritableStream => {
  const stream = {
    write(chunk: string): boolean {
      try {
        const { time, level, msg, channel, service: _service, ...rest } = JSON.parse(chunk) as Record<string, unknown>;
        const extra = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : "";
        const where = typeof channel === "string" ? ` [${channel}]` : "";
        return out.write(`${String(time)} ${String(level).toUpperCase().padEnd(5)}${where} ${String(msg ?? "")}${extra}\n`);
      } catch {
        return out.write(chunk);
      }
    },
  };
  return stream as unknown as NodeJS.WritableStream;
};

/** The process logger, for code outside Effect (HTTP handlers, library callbacks). */
export class Log extends Context.Service<Log, PinoLogger>()("vod-tender/services/Log") {
  /** Provides `Log` and routes every `Effect.log*` call to it. */
  static readonly layer = (options: LogOptions) => Log.layerFrom(makePinoLogger(options));

  /** The same, around a logger the caller already made (and keeps using outside Effect). */
  static readonly layerFrom = (logger: PinoLogger) =>
    Layer.mergeAll(
      Layer.succeed(Log, logger),
      Logger.layer([effectLoggerFor(logger)]),
      Layer.succeed(References.MinimumLogLevel, effectLevelOf(logger.level as LevelWithSilent)),
    );
}

const pinoLevelOf: Record<LogLevel.LogLevel, LevelWithSilent> = {
  All: "trace",
  Trace: "trace",
  Debug: "debug",
  Info: "info",
  Warn: "warn",
  Error: "error",
  Fatal: "fatal",
  None: "silent",
};

const effectLevelOf = (level: LevelWithSilent): LogLevel.LogLevel => {
  switch (level) {
    case "trace":
      return "Trace";
    case "debug":
      return "Debug";
    case "info":
      return "Info";
    case "warn":
      return "Warn";
    case "error":
      return "Error";
    case "fatal":
      return "Fatal";
    default:
      return "None";
  }
};

/** An Effect logger writing through pino; annotations become fields. */
export const effectLoggerFor = (logger: PinoLogger) =>
  Logger.make<unknown, void>((options) => {
    const level = pinoLevelOf[options.logLevel];
    if (level === "silent") return;
    const annotations = options.fiber.getRef(References.CurrentLogAnnotations);
    const parts = Array.isArray(options.message) ? options.message : [options.message];
    const text = parts.map((part) => (typeof part === "string" ? part : safeJson(part))).join(" ");
    const fields: Record<string, unknown> = { ...annotations };
    if (options.cause.reasons.length > 0) fields["cause"] = Cause.pretty(options.cause);
    logger[level](fields, text);
  });

const safeJson = (value: unknown): string => {
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
};
