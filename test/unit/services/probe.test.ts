import { describe, expect, it } from "@effect/vitest";
import { Effect, Exit } from "effect";
import { verifyDuration } from "../../../src/services/probe.ts";

describe("verifyDuration", () => {
  it.effect("accepts a length within the absolute tolerance", () =>
    Effect.gen(function* () {
      yield* verifyDuration(16070, 16068.4, 5);
      yield* verifyDuration(16070, 16075, 5);
    }),
  );

  it.effect("fails beyond the tolerance with both lengths", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(verifyDuration(16070, 8035, 5));
      expect(error).toMatchObject({ _tag: "DurationMismatch", expectedSeconds: 16070, actualSeconds: 8035, toleranceSeconds: 5 });
    }),
  );

  it.effect("uses the wider of the absolute and relative bounds", () =>
    Effect.gen(function* () {
      const tolerance = { seconds: 2, fraction: 0.01 };
      expect(Exit.isSuccess(yield* Effect.exit(verifyDuration(10_000, 9_905, tolerance)))).toBe(true);
      expect(Exit.isFailure(yield* Effect.exit(verifyDuration(10_000, 9_899, tolerance)))).toBe(true);
      expect(Exit.isSuccess(yield* Effect.exit(verifyDuration(60, 58.5, tolerance)))).toBe(true);
      expect(Exit.isFailure(yield* Effect.exit(verifyDuration(60, 57.5, tolerance)))).toBe(true);
    }),
  );

  it.effect("treats an unknown length as a mismatch", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(verifyDuration(60, undefined, 5));
      expect(error.actualSeconds).toBeNull();
    }),
  );
});
