import { describe, expect, it } from "vitest";
import { startSimulator } from "../../../src/sim/simulator.ts";
import { RawIrc } from "./raw-irc.ts";

describe("startSimulator", () => {
  it("gives loopback URLs on free ports and closes them all on stop", async () => {
    const sim = await startSimulator({ chat: false, scenario: { channels: [{ login: "a" }] } });
    expect(sim.urls.helix).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/helix$/);
    expect(sim.urls.ircWs).toBe(`ws://127.0.0.1:${sim.tmi.port}/`);
    expect(sim.urls.ircTcp).toMatch(/^127\.0\.0\.1:\d+$/);
    const irc = await RawIrc.tcp(sim.urls.ircTcp);
    await sim.stop();
    await irc.untilClosed();
    await expect(fetch(sim.urls.helix)).rejects.toThrow();
    await expect(RawIrc.tcp(sim.urls.ircTcp)).rejects.toThrow();
    await sim.stop();
  });

  it("refuses a port in use and leaves nothing behind", async () => {
    const first = await startSimulator({ chat: false, scenario: { channels: [{ login: "a" }] } });
    try {
      await expect(startSimulator({ chat: false, port: first.tmi.port, scenario: { channels: [{ login: "a" }] } })).rejects.toThrow(/EADDRINUSE/);
      const tcpPort = Number(first.urls.ircTcp.split(":")[1]);
      await expect(startSimulator({ chat: false, ircTcpPort: tcpPort, scenario: { channels: [{ login: "a" }] } })).rejects.toThrow(/EADDRINUSE/);
    } finally {
      await first.stop();
    }
  });

  it("refuses an invalid scenario with every problem named", async () => {
    await expect(startSimulator({ scenario: { channels: [{ login: "A B" }, {}] } })).rejects.toThrow(
      /channels\[0\]\.login: a Twitch login[\s\S]*channels\[1\]\.login: is required/,
    );
  });
});
