/**
 * SHA-256 and size of a file, read as a stream so multi-gigabyte VODs never sit
 * in memory. Interrupting the effect closes the file.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { Effect, Schema } from "effect";

/** Digest and size of one file. */
export interface FileChecksum {
  /** Lower-case hex SHA-256 of the file's bytes. */
  readonly sha256: string;
  readonly size: number;
}

/** The file could not be read to the end. */
export class ChecksumError extends Schema.TaggedError<ChecksumError>()("ChecksumError", {
  path: Schema.String,
  message: Schema.String,
}) {}

/** Streams `path` through SHA-256 and counts its bytes. */
export const fileChecksum = (path: string): Effect.Effect<FileChecksum, ChecksumError> =>
  Effect.callback<FileChecksum, ChecksumError>((resume) => {
    const hash = createHash("sha256");
    let size = 0;
    const stream = createReadStream(path, { highWaterMark: 1 << 20 });
    stream.on("data", (chunk) => {
      const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      size += bytes.length;
      hash.update(bytes);
    });
    stream.once("error", (error) => resume(Effect.fail(new ChecksumError({ path, message: error.message }))));
    stream.once("end", () => resume(Effect.succeed({ sha256: hash.digest("hex"), size })));
    return Effect.sync(() => stream.destroy());
  });
