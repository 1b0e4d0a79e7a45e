import { Effect, Exit } from "effect";
import { appendFile, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parseChatLine } from "../../../src/services/chat-message.ts";
import { makeChatJournal } from "../../../src/services/chat-journal.ts";
import type { ChatRow } from "../../../src/services/repositories/chat.ts";

const folders: string[] = [];
afterEach(async () => {
  for (const folder of folders.splice(0)) await rm(folder, { recursive: true, force: true });
});
const folder = async () => {
  const dir = await mkdtemp(join(tmpdir(), "chat-journal-"));
  folders.push(dir);
  return dir;
};

// Texts whose UTF-8 bytes are two, three and four wide, so small read blocks cut through characters.
const texts = ["plain ascii", "café crème", "漢字のテスト", "party 🎉🎉 time", "mixed é漢🎉 end"];
const row = (i: number): ChatRow => {
  const line =
    `@badges=;color=;display-name=User${i};emotes=;id=00000000-0000-4000-8000-${String(i).padStart(12, "0")};` +
    `tmi-sent-ts=${1_700_000_000_000 + i};user-id=${i} :user${i}!user${i}@user${i}.tmi.twitch.tv PRIVMSG #alpha :${texts[i % texts.length]} #${i}`;
  const message = parseChatLine(line, 1_700_000_000_500 + i);
  if (message === undefined) throw new Error(`not a chat line: ${line}`);
  return { ...message, vodId: 7, streamId: "s1", relTimestamp: i / 10 };
};
const rows = (from: number, count: number) => Array.from({ length: count }, (_, k) => row(from + k));
const segments = async (dir: string) => (await readdir(dir)).filter((name) => name.endsWith(".ndjson"));

describe("chat journal", () => {
  it("replays every row in order and in batches, across read blocks that cut characters in two, then deletes its segments", async () => {
    const dir = await folder();
    const written = [...rows(0, 23), ...rows(23, 1), ...rows(24, 40)];
    const { handed, batches, left } = await Effect.runPromise(
      Effect.gen(function* () {
        const journal = yield* makeChatJournal({ directory: dir, replayBlockBytes: 97 });
        yield* journal.append(written.slice(0, 23));
        yield* journal.append(written.slice(23, 24));
        yield* journal.append(written.slice(24));
        const batches: ChatRow[][] = [];
        const handed = yield* journal.replay((batch) => Effect.sync(() => void batches.push([...batch])), 7);
        return { handed, batches, left: journal.rows() };
      }).pipe(Effect.scoped),
    );
    expect(handed).toBe(written.length);
    expect(left).toBe(0);
    expect(batches.every((b) => b.length <= 7)).toBe(true);
    expect(batches.flat()).toEqual(written);
    expect(await segments(dir)).toEqual([]);
  });

  it("stops at a failed store and keeps the segment; the next replay hands over every row again, in order", async () => {
    const dir = await folder();
    const written = rows(0, 30);
    await Effect.runPromise(
      Effect.gen(function* () {
        const journal = yield* makeChatJournal({ directory: dir, replayBlockBytes: 256 });
        yield* journal.append(written);
        let calls = 0;
        const failed = yield* journal
          .replay((batch) => (++calls === 2 ? Effect.fail(`database away at ${batch[0]?.msgId}`) : Effect.void), 10)
          .pipe(Effect.exit);
        expect(Exit.isFailure(failed)).toBe(true);
        expect(journal.rows()).toBe(30);
        expect(yield* Effect.promise(() => segments(dir))).toHaveLength(1);
        const again: string[] = [];
        const handed = yield* journal.replay((batch) => Effect.sync(() => void again.push(...batch.map((r) => r.msgId))), 10);
        expect(handed).toBe(30);
        expect(again).toEqual(written.map((r) => r.msgId));
        expect(journal.rows()).toBe(0);
      }).pipe(Effect.scoped),
    );
  });

  it("picks up what a previous run left, skipping the torn line a crash mid-write leaves at the end", async () => {
    const dir = await folder();
    const written = rows(0, 12);
    await Effect.runPromise(
      Effect.gen(function* () {
        const journal = yield* makeChatJournal({ directory: dir });
        yield* journal.append(written);
      }).pipe(Effect.scoped),
    );
    const [segment] = await segments(dir);
    await appendFile(join(dir, segment ?? ""), '{"channel":"alpha","msgId":"torn-');
    const replayed = await Effect.runPromise(
      Effect.gen(function* () {
        const journal = yield* makeChatJournal({ directory: dir, replayBlockBytes: 300 });
        expect(journal.rows()).toBe(12);
        const ids: string[] = [];
        yield* journal.replay((batch) => Effect.sync(() => void ids.push(...batch.map((r) => r.msgId))), 5);
        return ids;
      }).pipe(Effect.scoped),
    );
    expect(replayed).toEqual(written.map((r) => r.msgId));
    expect(await segments(dir)).toEqual([]);
  });
});
