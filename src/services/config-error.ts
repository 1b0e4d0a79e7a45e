/**
 * Typed configuration errors. Each one carries every problem found, not just the
 * first, and renders them one per line so an operator can fix them all in one go.
 */
import { Schema } from "effect";

/** One problem in the channels file, located at the node that caused it. */
export const ChannelsFileIssue = Schema.Struct({
  /** 1-based line, absent when the file could not be read at all. */
  line: Schema.optionalKey(Schema.Number),
  /** 1-based column. */
  column: Schema.optionalKey(Schema.Number),
  /** Where in the document, e.g. `channels[2].chat`; empty for the whole file. */
  path: Schema.String,
  message: Schema.String,
});
export type ChannelsFileIssue = typeof ChannelsFileIssue.Type;

/** Renders one channels-file problem as `file:line:column: path: message`. */
export const formatChannelsFileIssue = (file: string, issue: ChannelsFileIssue): string => {
  const position = issue.line === undefined ? "" : `:${issue.line}${issue.column === undefined ? "" : `:${issue.column}`}`;
  return `${file}${position}: ${issue.path === "" ? "" : `${issue.path}: `}${issue.message}`;
};

/**
 * The channels file could not be read, parsed or validated. `issues` holds every
 * problem with its line and column; `message` lists them one per line.
 */
export class ChannelsFileError extends Schema.TaggedError<ChannelsFileError>()("ChannelsFileError", {
  file: Schema.String,
  issues: Schema.Array(ChannelsFileIssue),
}) {
  override get message(): string {
    return this.issues.map((issue) => formatChannelsFileIssue(this.file, issue)).join("\n");
  }
}

/**
 * One configuration problem: an environment variable (`variable` set) or a
 * location in the channels file (`file` set). `text` is the full, ready-to-print
 * line, e.g. `MAX_CONCURRENT_DOWNLOADS: expected a positive integer, got "abc"`.
 */
export const ConfigIssue = Schema.Struct({
  variable: Schema.optionalKey(Schema.String),
  file: Schema.optionalKey(Schema.String),
  line: Schema.optionalKey(Schema.Number),
  column: Schema.optionalKey(Schema.Number),
  text: Schema.String,
});
export type ConfigIssue = typeof ConfigIssue.Type;

/**
 * The configuration is invalid. Holds every problem found in the environment and
 * in the channels file together; never contains a secret's value.
 */
export class ConfigError extends Schema.TaggedError<ConfigError>()("ConfigError", {
  issues: Schema.Array(ConfigIssue),
}) {
  override get message(): string {
    return this.issues.map((issue) => issue.text).join("\n");
  }
}

/** Converts a channels-file error into configuration issues (one per problem). */
export const channelsFileIssues = (error: ChannelsFileError): ReadonlyArray<ConfigIssue> =>
  error.issues.map((issue) => ({
    file: error.file,
    ...(issue.line === undefined ? {} : { line: issue.line }),
    ...(issue.column === undefined ? {} : { column: issue.column }),
    text: formatChannelsFileIssue(error.file, issue),
  }));
