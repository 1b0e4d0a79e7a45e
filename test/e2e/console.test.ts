import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Effect } from "effect";
import { chromium } from "playwright-core";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startControlHarness } from "../support/control-harness.ts";
import type { ControlHarness } from "../support/control-harness.ts";
import { makeInMemoryControlBackend, testChannelSettings } from "../support/in-memory-control-backend.ts";
import type { InMemoryControlBackend } from "../support/in-memory-control-backend.ts";

let harness: ControlHarness;
let backend: InMemoryControlBackend;
let browser: BrowserContext;
let profile: string;

beforeAll(async () => {
  backend = makeInMemoryControlBackend();
  harness = await startControlHarness({
    backend,
    configured: () =>
      Effect.succeed({
        channels: [
          { name: "filechannel", source: "file", paused: false, settings: testChannelSettings },
          { name: "envchannel", source: "env", paused: false, settings: testChannelSettings },
        ],
        defaults: testChannelSettings,
      }),
  });
  profile = await mkdtemp(join(tmpdir(), "vod-tender-chromium-"));
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  await harness?.close();
  if (profile) await rm(profile, { recursive: true, force: true });
});

const open = async (): Promise<Page> => {
  const page = await browser.newPage();
  const problems: Array<string> = [];
  page.on("pageerror", (error) => problems.push(error.message));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(message.text());
  });
  await page.goto(`${harness.url}/#token=${encodeURIComponent(harness.token)}`);
  (page as Page & { problems: Array<string> }).problems = problems;
  return page;
};
const problemsOf = (page: Page) => (page as Page & { problems: Array<string> }).problems;

describe("console", () => {
  it("loads, keeps the token out of the address bar, and shows the channels with their state", async () => {
    const page = await open();
    await page.locator('tr[data-channel="filechannel"] .state[data-state="running"]').first().waitFor();
    await page.locator('tr[data-channel="envchannel"]').waitFor();
    expect(new URL(page.url()).hash).toBe("");
    expect(await page.locator("#connection").getAttribute("data-state")).toBe("open");
    expect(await page.locator("#channel-count").textContent()).toBe("2 (2 running)");
    // The inspector built the actor tree from the same data.
    await page.locator("#tree", { hasText: "filechannel" }).waitFor();
    expect(await page.locator("#tree").textContent()).toMatch(/processor/);
    expect(problemsOf(page)).toEqual([]);
    await page.close();
  });

  it("adds a channel through the form and shows it running", async () => {
    const page = await open();
    await page.locator('tr[data-channel="filechannel"]').waitFor();
    await page.fill("#add-name", "NewChannel");
    await page.click("#add-channel button[type=submit]");
    await page.locator('tr[data-channel="newchannel"] .state[data-state="running"]').first().waitFor();
    expect((await Effect.runPromise(backend.channels.status("newchannel"))).source).toBe("control");
    expect(backend.auditLog.some((a) => a.action === "channels.add" && a.channel === "newchannel" && a.result === "ok")).toBe(true);
    expect(problemsOf(page)).toEqual([]);
    await page.close();
  });

  it("pauses and removes a channel, shows live progress and chat rate, and reports a refused removal", async () => {
    const page = await open();
    await page.locator('tr[data-channel="filechannel"]').waitFor();
    await page.fill("#add-name", "shortlived");
    await page.click("#add-channel button[type=submit]");
    const row = page.locator('tr[data-channel="shortlived"]');
    await row.locator(".state[data-state=running]").first().waitFor();

    await row.getByRole("button", { name: "Pause" }).click();
    await page.locator('tr[data-channel="shortlived"] td:nth-child(3) .state[data-state="paused"]').waitFor();

    backend.emit({ topic: "progress", channel: "filechannel", at: new Date().toISOString(), vodId: 12, percent: 42.5, bytes: 1_048_576, total: 2_467_000 });
    backend.emit({ topic: "chat_rate", channel: "filechannel", at: new Date().toISOString(), perMinute: 321 });
    const fileRow = page.locator('tr[data-channel="filechannel"]');
    await fileRow.locator("progress[value='42.5']").waitFor();
    await fileRow.locator("td", { hasText: /^321$/ }).waitFor();

    page.on("dialog", (dialog) => void dialog.accept());
    await row.getByRole("button", { name: "Remove" }).click();
    await page.locator('tr[data-channel="shortlived"]').waitFor({ state: "detached" });

    await fileRow.getByRole("button", { name: "Remove" }).click();
    await page.locator("#banner", { hasText: "edit" }).waitFor();
    expect(await page.locator('tr[data-channel="filechannel"]').count()).toBe(1);
    await page.close();
  });

  it("searches chat", async () => {
    backend.chatRows.push({ channel: "filechannel", vodId: 1, msgId: "m1", username: "viewer", displayName: "Viewer", message: "what a play PogChamp", at: "2024-05-01T12:00:00Z", offsetSeconds: 30 });
    const page = await open();
    await page.locator('tr[data-channel="filechannel"]').waitFor();
    await page.fill("#search-query", "pogchamp");
    await page.click("#search button[type=submit]");
    await page.locator("#search-results td", { hasText: "what a play PogChamp" }).waitFor();
    await page.close();
  });

  it("opens a search hit in its VOD's chat and pages on from there", async () => {
    backend.vodRows.push({ id: 21, channel: "filechannel", twitchVodId: "2100", title: "long stream", date: "2024-05-01T11:00:00Z", durationSeconds: 7_200, priority: 0, processed: true, downloadState: "done", progress: 100, processingError: null, youtubeUrl: null });
    for (let i = 0; i < 150; i++) {
      backend.chatRows.push({ channel: "filechannel", vodId: 21, msgId: `v${i}`, username: `chatter${i}`, displayName: `Chatter${i}`, message: i === 40 ? "that clutch was unreal" : `line ${i}`, at: "2024-05-01T11:00:00Z", offsetSeconds: 3_600 + i });
    }
    const page = await open();
    await page.locator('tr[data-channel="filechannel"]').waitFor();
    await page.fill("#search-query", "clutch");
    await page.click("#search button[type=submit]");
    const hit = page.locator("#search-results tr", { hasText: "that clutch was unreal" });
    await hit.getByRole("button", { name: "In VOD" }).click();
    // From 5 s before the hit, which stands out.
    await page.locator("#vod-chat-lines li.hit", { hasText: "Chatter40: that clutch was unreal" }).waitFor();
    expect(await page.locator("#vod-chat-title").textContent()).toBe("VOD 21 chat from 1:00:35");
    expect(await page.locator("#vod-chat-lines li").first().textContent()).toBe("1:00:35Chatter35: line 35");
    // Earlier chat, then the rest from there on.
    await page.click("#vod-chat-earlier");
    await page.locator("#vod-chat-lines li", { hasText: "Chatter0: line 0" }).waitFor();
    expect(await page.locator("#vod-chat-lines li").last().textContent()).toBe("1:00:34Chatter34: line 34");
    await page.click("#vod-chat-later");
    await page.locator("#vod-chat-lines li", { hasText: "Chatter149: line 149" }).waitFor();
    expect(await page.locator("#vod-chat-later").isDisabled()).toBe(true);
    await page.close();
  });

  it("asks for a token when the stored one is refused", async () => {
    const page = await browser.newPage();
    await page.goto(`${harness.url}/#token=wrong-token`);
    await page.locator("#login:not([hidden])").waitFor();
    expect(await page.locator("#login-error").textContent()).toMatch(/refused/);
    await page.fill("#token", harness.token);
    await page.click("#login button[type=submit]");
    await page.locator('tr[data-channel="filechannel"]').waitFor();
    await page.close();
  });
});
