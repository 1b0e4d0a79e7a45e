import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { InputError } from "../../../src/sim/input-reader.ts";
import { defaultChatMix, loadScenario, parseScenario } from "../../../src/sim/scenario.ts";

const issuesOf = (data: unknown): string[] => {
  try {
    parseScenario(data);
  } catch (e) {
    if (e instanceof InputError) return e.issues.map((i) => `${i.path}: ${i.message}`);
    throw e;
  }
  return [];
};

describe("parseScenario", () => {
  it("fills Twitch-like defaults around a minimal channel", () => {
    const s = parseScenario({ channels: [{ login: "alpha", vods: [{ duration: "1h2m3s" }] }] });
    expect(s.helixPointsPerMinute).toBe(800);
    expect(s.irc.joinRateLimit).toEqual({ joins: 20, windowSeconds: 10 });
    const c = s.channels[0]!;
    expect(c.displayName).toBe("alpha");
    expect(c.id).toMatch(/^\d+$/);
    expect(c.chat.mix).toEqual(defaultChatMix);
    expect(c.live).toEqual([]);
    const v = c.vods[0]!;
    expect(v.durationSeconds).toBe(3723);
    expect(v.type).toBe("archive");
    expect(v.streamId).toMatch(/^\d+$/);
    expect(v.mutedSegments).toBeNull();
  });

  it("reads live windows in their three forms", () => {
    const s = parseScenario({
      channels: [
        { login: "a", live: true },
        { login: "b", live: { title: "now", viewerCount: 5 } },
        { login: "c", live: [{ at: 30, for: "1m" }, { at: 600 }] },
      ],
    });
    expect(s.channels[0]!.live).toMatchObject([{ at: 0, for: null, archive: true }]);
    expect(s.channels[1]!.live).toMatchObject([{ at: 0, title: "now", viewerCount: 5 }]);
    expect(s.channels[2]!.live.map((w) => [w.at, w.for])).toEqual([
      [30, 60],
      [600, null],
    ]);
  });

  it("reports every mistake at once, each with its path", () => {
    const issues = issuesOf({
      channels: [
        { login: "Bad Login", id: "x1", vods: [{ duration: "soon", mutedSegments: [{ offset: 5, duration: 10 }] }] },
        { login: "ok", chat: { rate: -1, mix: { message: 1, gossip: 3 } }, colour: "red" },
        { login: "ok" },
      ],
      faults: [{ kind: "helix-error", status: 200 }, { kind: "earthquake" }],
    });
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^channels\[0\]\.login: a Twitch login/),
        expect.stringMatching(/^channels\[0\]\.id: a Twitch user id is digits only/),
        expect.stringMatching(/^channels\[0\]\.vods\[0\]\.duration: expected seconds or a Twitch duration/),
        expect.stringMatching(/^channels\[1\]\.chat\.rate: must be at least 0/),
        expect.stringMatching(/^channels\[1\]\.chat\.mix\.gossip: unknown key/),
        expect.stringMatching(/^channels\[1\]\.colour: unknown key/),
        expect.stringMatching(/^channels\[2\]\.login: login "ok" is already used at channels\[1\]\.login/),
        expect.stringMatching(/^faults\[0\]\.status: must be at least 400/),
        expect.stringMatching(/^faults\[1\]\.kind: expected one of/),
      ]),
    );
  });

  it("refuses muted segments past the end of the VOD", () => {
    expect(issuesOf({ channels: [{ login: "a", vods: [{ duration: 10, mutedSegments: [{ offset: 5, duration: 10 }] }] }] })).toEqual([
      "channels[0].vods[0].mutedSegments[0]: ends at 15s, after the VOD's end (10s)",
    ]);
  });

  it("says which file is wrong and how", async () => {
    const dir = await mkdtemp(join(tmpdir(), "scenario-"));
    await writeFile(join(dir, "bad.yaml"), "channels:\n  - login: a\n    vods: [{ duration: 5, colour: red }]\n");
    await expect(loadScenario(join(dir, "bad.yaml"))).rejects.toThrow(/Scenario .*bad\.yaml is invalid:\n {2}- channels\[0\]\.vods\[0\]\.colour: unknown key/);
    await writeFile(join(dir, "broken.yaml"), "channels: [\n");
    await expect(loadScenario(join(dir, "broken.yaml"))).rejects.toThrow(/is not valid YAML/);
  });

  it("resolves replay files next to the scenario file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "scenario-"));
    await writeFile(join(dir, "s.json"), JSON.stringify({ channels: [{ login: "a", chat: { replay: { file: "lines.txt", rate: 5 } } }] }));
    const s = await loadScenario(join(dir, "s.json"));
    expect(s.channels[0]!.chat.replay).toEqual({ file: join(dir, "lines.txt"), rate: 5, loop: false });
  });

  it("accepts the demo scenario", async () => {
    const s = await loadScenario(new URL("../../../scenarios/demo.yaml", import.meta.url).pathname);
    expect(s.channels.map((c) => c.login)).toHaveLength(3);
    expect(s.channels.every((c) => c.vods.length > 0 && c.vods.every((v) => v.durationSeconds >= 20 && v.durationSeconds <= 60))).toBe(true);
    expect(s.channels.filter((c) => c.live.some((w) => w.at === 0) && c.chat.rate > 0)).toHaveLength(1);
  });
});
