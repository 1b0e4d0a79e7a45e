import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest";
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect } from "effect";
import { isToolLocation, locateTool, locateTools, Tools } from "../../../src/services/tools.ts";

describe("locating yt-dlp, ffmpeg and ffprobe", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "vt-tools-"));
    await writeFile(join(dir, "not-executable"), "#!/bin/sh\necho 1\n");
    await writeFile(join(dir, "exits-badly"), "#!/bin/sh\necho broken >&2\nexit 3\n");
    await chmod(join(dir, "exits-badly"), 0o755);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it.live("finds the installed tools on PATH and reads their versions", () =>
    Effect.gen(function* () {
      const report = yield* locateTools({ searchPath: "/nonexistent:/usr/bin" });
      for (const name of ["yt-dlp", "ffmpeg", "ffprobe"] as const) {
        const entry = report[name];
        expect(isToolLocation(entry)).toBe(true);
        if (isToolLocation(entry)) {
          expect(entry.path).toBe(`/usr/bin/${name}`);
          expect(entry.version).toMatch(/^\d/);
        }
      }
    }),
  );

  it.live("uses an explicit path, and a bare name as a name to search for", () =>
    Effect.gen(function* () {
      expect((yield* locateTool("ffprobe", { explicitPath: "/usr/bin/ffprobe" })).path).toBe("/usr/bin/ffprobe");
      expect((yield* locateTool("ffmpeg", { explicitPath: "ffmpeg", searchPath: "/usr/bin" })).path).toBe("/usr/bin/ffmpeg");
    }),
  );

  it.live("says why a tool is missing", () =>
    Effect.gen(function* () {
      const onPath = yield* Effect.flip(locateTool("yt-dlp", { searchPath: dir }));
      expect(onPath).toMatchObject({ _tag: "ToolMissing", tool: "yt-dlp", searched: [join(dir, "yt-dlp")] });
      expect(onPath.reason).toContain("not found on PATH");

      const explicit = yield* Effect.flip(locateTool("ffmpeg", { explicitPath: join(dir, "not-executable") }));
      expect(explicit.reason).toContain("not an executable file");

      const broken = yield* Effect.flip(locateTool("ffprobe", { explicitPath: join(dir, "exits-badly") }));
      expect(broken.reason).toContain("exited with code 3");
      expect(broken.reason).toContain("broken");
    }),
  );

  it.live("reports every tool at once through the Tools service, missing ones included", () =>
    Effect.gen(function* () {
      const tools = yield* Tools;
      expect(isToolLocation(tools.report.ffmpeg)).toBe(true);
      expect((yield* tools.require("ffmpeg")).path).toBe("/usr/bin/ffmpeg");
      const missing = yield* Effect.flip(tools.require("yt-dlp"));
      expect(missing.tool).toBe("yt-dlp");
    }).pipe(Effect.provide(Tools.layer({ ytdlpPath: join(dir, "no-yt-dlp"), searchPath: "/usr/bin" }))),
  );
});
