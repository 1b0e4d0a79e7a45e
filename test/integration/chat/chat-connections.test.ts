import { assert, describe, it } from "@effect/vitest";
import { Effect, Exit, Scope } from "effect";
import { afterEach } from "vitest";
import type { ChatMessage } from "../../../src/services/chat-message.ts";
import {
  ChatConnections,
  type ChatChannelListener,
  type ChatConnectionsOptions,
  type ChatLeaveReason,
} from "../../../src/services/chat-connections.ts";
import { startSimulator, type Simulator } from "../../../src/sim/simulator.ts";
import { privmsgLine } from "./chat-fixtures.ts";
import { eventually } from "./eventually.ts";

const sims: Simulator[] = [];
afterEach(async () => {
  for (const sim of sims.splice(0)) await sim.stop();
});

const simulator = async (channels: ReadonlyArray<string>, joinRateLimit: { joins: number; windowSeconds: number } | null = null) => {
  const sim = await startSimulator({
    scenario: { irc: { joinRateLimit }, channels: channels.map((login) => ({ login, chat: { rate: 0 } })) },
    chat: false,
  });
  sims.push(sim);
  return sim;
};

/** Records what one channel's listener was told. */
const recorder = () => {
  const messages: ChatMessage[] = [];
  const joined: number[] = [];
  const left: Array<{ at: number; reason: ChatLeaveReason }> = [];
  const notices: string[] = [];
  const listener: ChatChannelListener = {
    onMessage: (m) => messages.push(m),
    onJoined: (at) => joined.push(at),
    onLeft: (at, reason) => left.push({ at, reason }),
    onNotice: (id) => notices.push(id),
  };
  return { messages, joined, left, notices, listener };
};

// Channels joined by `body` are left (its scope closes) before the pool closes.
const withPool = <A, E>(sim: Simulator, body: Effect.Effect<A, E, ChatConnections | Scope.Scope>, options?: Partial<ChatConnectionsOptions>) =>
  body.pipe(
    Effect.scoped,
    Effect.provide(
      ChatConnections.layer({ url: sim.urls.ircWs, reconnect: { initialMs: 50, maxMs: 500 }, joinTimeoutMs: 2_000, ...options }),
    ),
  );

const say = (sim: Simulator, channel: string, text: string) => sim.sendRaw(channel, privmsgLine(channel, "Viewer", text, Date.now()));

describe("ChatConnections", () => {
  it.live("joins 120 channels over connections of 50 without exceeding the JOIN rate limit", () =>
    Effect.gen(function* () {
      const logins = Array.from({ length: 120 }, (_, i) => `chan${String(i).padStart(3, "0")}`);
      // Twitch's 20 JOINs per 10 s, scaled to 20 per second so the test takes seconds.
      const sim = yield* Effect.promise(() => simulator(logins, { joins: 20, windowSeconds: 1 }));
      yield* withPool(
        sim,
        Effect.gen(function* () {
          const connections = yield* ChatConnections;
          const recorders = logins.map(() => recorder());
          yield* Effect.forEach(logins, (login, i) => connections.join(login, recorders[i]!.listener), { discard: true });
          yield* eventually(() => recorders.every((r) => r.joined.length === 1), 30_000, "every channel joined");
          const snapshot = connections.snapshot();
          assert.deepStrictEqual(snapshot.connections.map((c) => c.channels.length).sort(), [20, 50, 50]);
          assert.strictEqual(sim.state().irc.droppedJoins, 0, "the server dropped no JOIN");
          assert.strictEqual(snapshot.joinsSent, 120);
          const times = snapshot.recentJoinTimes;
          for (let i = 20; i < times.length; i++) {
            assert.isAtLeast(times[i]! - times[i - 20]!, 1_000, `JOIN ${i} came within a second of JOIN ${i - 20}`);
          }
          say(sim, "chan119", "last one hears too");
          yield* eventually(() => recorders[119]!.messages.length === 1);
        }),
        { joinRateLimit: { joins: 20, windowMs: 1_000 } },
      );
    }),
  );

  it.live("leaving one channel sends only its PART; the others on the connection keep their chat", () =>
    Effect.gen(function* () {
      const sim = yield* Effect.promise(() => simulator(["alpha", "beta", "gamma"]));
      yield* withPool(
        sim,
        Effect.gen(function* () {
          const connections = yield* ChatConnections;
          const [a, b, c] = [recorder(), recorder(), recorder()];
          const scopeA = yield* Scope.make();
          yield* connections.join("alpha", a.listener).pipe(Scope.provide(scopeA));
          yield* connections.join("beta", b.listener);
          yield* eventually(() => a.joined.length === 1 && b.joined.length === 1);
          const before = sim.ircConnections();
          assert.strictEqual(before.length, 1);
          yield* Scope.close(scopeA, Exit.void);
          yield* connections.join("gamma", c.listener);
          yield* eventually(() => c.joined.length === 1);
          say(sim, "alpha", "nobody here");
          say(sim, "beta", "still here");
          say(sim, "gamma", "new here");
          yield* eventually(() => b.messages.length === 1 && c.messages.length === 1);
          const after = sim.ircConnections();
          assert.strictEqual(after.length, 1);
          assert.strictEqual(after[0]?.id, before[0]?.id, "the same connection, never reopened");
          assert.deepStrictEqual([...(after[0]?.channels ?? [])].sort(), ["beta", "gamma"]);
          assert.deepStrictEqual(a.messages, []);
          assert.deepStrictEqual(b.left, [], "beta never saw a leave");
          assert.strictEqual(b.joined.length, 1);
          assert.strictEqual(b.messages[0]?.text, "still here");
        }),
      );
    }),
  );

  it.live("honours RECONNECT and survives a dropped connection, rejoining with its channels", () =>
    Effect.gen(function* () {
      const sim = yield* Effect.promise(() => simulator(["delta", "epsilon"]));
      yield* withPool(
        sim,
        Effect.gen(function* () {
          const connections = yield* ChatConnections;
          const [d, e] = [recorder(), recorder()];
          yield* connections.join("delta", d.listener);
          yield* connections.join("epsilon", e.listener);
          yield* eventually(() => d.joined.length === 1 && e.joined.length === 1);

          sim.injectFault({ kind: "irc-reconnect", graceMs: 200 });
          yield* eventually(() => d.joined.length === 2 && e.joined.length === 2, 20_000, "rejoined after RECONNECT");
          assert.deepStrictEqual(d.left.map((l) => l.reason), ["reconnect"]);
          assert.isAtMost(d.left[0]!.at, d.joined[1]!);

          sim.injectFault({ kind: "irc-disconnect" });
          yield* eventually(() => d.joined.length === 3 && e.joined.length === 3, 20_000, "rejoined after a drop");
          assert.deepStrictEqual(e.left.map((l) => l.reason), ["reconnect", "disconnect"]);

          say(sim, "delta", "back again");
          yield* eventually(() => d.messages.some((m) => m.text === "back again"));
          assert.strictEqual(connections.snapshot().connections[0]?.reconnects, 2);
        }),
      );
    }),
  );

  it.live("reports a channel Twitch refuses (suspended) through its listener", () =>
    Effect.gen(function* () {
      const sim = yield* Effect.promise(() => simulator(["zeta"]));
      yield* withPool(
        sim,
        Effect.gen(function* () {
          const connections = yield* ChatConnections;
          const missing = recorder();
          yield* connections.join("nosuchchannel", missing.listener);
          yield* eventually(() => missing.notices.includes("msg_channel_suspended"));
          assert.deepStrictEqual(missing.joined, []);
          const busy = yield* connections.join("nosuchchannel", recorder().listener).pipe(Effect.flip);
          assert.strictEqual(busy._tag, "ChatChannelBusyError");
        }),
      );
    }),
  );
});
