import { Writable } from "node:stream";
import { Effect } from "effect";
import { describe, expect, it } from "vitest";
import { Log } from "../../../src/services/log.ts";

const capture = () => {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString().split("\n").filter(Boolean));
      done();
    },
  });
  return { lines, destination };
};

describe("Log", () => {
  it("routes Effect logs to pino JSON with annotations as fields", async () => {
    const { lines, destination } = capture();
    await Effect.runPromise(
      Effect.logInfo("catalog scanned").pipe(Effect.annotateLogs({ channel: "alpha" }), Effect.provide(Log.layer({ level: "info", format: "json", destination }))),
    );
    const entry = JSON.parse(lines[0] ?? "{}") as Record<string, unknown>;
    expect(entry).toMatchObject({ level: "info", msg: "catalog scanned", channel: "alpha", service: "vod-tender" });
  });

  it("drops entries below LOG_LEVEL", async () => {
    const { lines, destination } = capture();
    await Effect.runPromise(Effect.logDebug("noise").pipe(Effect.provide(Log.layer({ level: "info", format: "json", destination }))));
    expect(lines).toEqual([]);
  });

  it("redacts tokens and secrets wherever they appear", async () => {
    const { lines, destination } = capture();
    await Effect.runPromise(
      Effect.gen(function* () {
        const log = yield* Log;
        log.info({ token: "abc123", auth: { refresh_token: "r-secret", authorization: "Bearer xyz" } }, "tokens refreshed");
      }).pipe(Effect.provide(Log.layer({ level: "info", format: "json", destination }))),
    );
    const text = lines.join("\n");
    expect(text).not.toMatch(/abc123|r-secret|Bearer xyz/);
    expect(text).toMatch(/<redacted>/);
  });
});
