import { describe, expect, it } from "@effect/vitest";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect } from "effect";
import { fileChecksum } from "../../../src/services/checksum.ts";

const withTempDir = <A, E>(use: (dir: string) => Effect.Effect<A, E>) =>
  Effect.acquireUseRelease(
    Effect.promise(() => mkdtemp(join(tmpdir(), "vt-checksum-"))),
    use,
    (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true })),
  );

describe("fileChecksum", () => {
  it.effect("hashes a file larger than one read buffer, matching a one-shot digest", () =>
    withTempDir((dir) =>
      Effect.gen(function* () {
        const bytes = randomBytes(3 * 1024 * 1024 + 17);
        const path = join(dir, "video.mp4");
        yield* Effect.promise(() => writeFile(path, bytes));
        const result = yield* fileChecksum(path);
        expect(result).toEqual({ sha256: createHash("sha256").update(bytes).digest("hex"), size: bytes.length });
      }),
    ),
  );

  it.effect("hashes an empty file", () =>
    withTempDir((dir) =>
      Effect.gen(function* () {
        const path = join(dir, "empty");
        yield* Effect.promise(() => writeFile(path, ""));
        expect(yield* fileChecksum(path)).toEqual({
          sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
          size: 0,
        });
      }),
    ),
  );

  it.effect("fails with the path when the file is missing", () =>
    withTempDir((dir) =>
      Effect.gen(function* () {
        const path = join(dir, "missing.mp4");
        const error = yield* Effect.flip(fileChecksum(path));
        expect(error._tag).toBe("ChecksumError");
        expect(error.path).toBe(path);
      }),
    ),
  );
});
