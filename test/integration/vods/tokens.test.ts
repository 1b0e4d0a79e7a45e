import { assert, layer } from "@effect/vitest";
import { Context, Effect, Layer, Redacted } from "effect";
import { SqlClient } from "effect/sql/SqlClient";
import { TokensRepository } from "../../../src/services/repositories/tokens.ts";
import { testDatabaseLayer } from "../../support/database.ts";

const key = (seed: number) => Redacted.make(Uint8Array.from({ length: 32 }, (_, i) => (i * 13 + seed) % 256));

/** The repository under another key, or none, over the same database. */
const storeWith = (encryptionKey: Redacted.Redacted<Uint8Array> | undefined) =>
  Effect.map(Layer.build(TokensRepository.layer(encryptionKey)), (context) => Context.get(context, TokensRepository));

layer(TokensRepository.layer(key(1)).pipe(Layer.provideMerge(testDatabaseLayer())), { excludeTestServices: true })("oauth_tokens", (it) => {
  it.effect("stores tokens sealed with AES-256-GCM and reads them back", () =>
    Effect.gen(function* () {
      const tokens = yield* TokensRepository;
      const expiry = new Date("2030-01-01T00:00:00Z");
      yield* tokens.put({ provider: "youtube", channel: "alpha", accessToken: "ya29.access", refreshToken: Redacted.make("1//refresh"), expiry, scope: "youtube.upload" });
      const read = yield* tokens.get("youtube", "alpha");
      assert.strictEqual(Redacted.value(read!.accessToken), "ya29.access");
      assert.strictEqual(Redacted.value(read!.refreshToken!), "1//refresh");
      assert.deepStrictEqual(read!.expiry, expiry);
      const sql = yield* SqlClient;
      const [row] = yield* sql<{ readonly access_token: string; readonly refresh_token: string; readonly encryption_version: number; readonly encryption_key_id: string }>`
        SELECT access_token, refresh_token, encryption_version, encryption_key_id FROM oauth_tokens WHERE provider = 'youtube' AND channel = 'alpha'`;
      assert.strictEqual(row!.encryption_version, 1);
      assert.match(row!.access_token, /^v1:/);
      assert.notInclude(row!.access_token + row!.refresh_token, "ya29");
      assert.notInclude(row!.refresh_token, "refresh");
      assert.match(row!.encryption_key_id, /^[0-9a-f]{16}$/);
    }));

  it.effect("resolves a channel's own token before the shared one; keeps the refresh token when not given", () =>
    Effect.gen(function* () {
      const tokens = yield* TokensRepository;
      yield* tokens.put({ provider: "youtube", channel: "", accessToken: "shared-access", refreshToken: "shared-refresh" });
      assert.strictEqual(Redacted.value((yield* tokens.resolve("youtube", "nobody"))!.refreshToken!), "shared-refresh");
      yield* tokens.put({ provider: "youtube", channel: "bravo", accessToken: "b1", refreshToken: "b-refresh" });
      yield* tokens.put({ provider: "youtube", channel: "bravo", accessToken: "b2" });
      const bravo = yield* tokens.resolve("youtube", "bravo");
      assert.strictEqual(Redacted.value(bravo!.accessToken), "b2");
      assert.strictEqual(Redacted.value(bravo!.refreshToken!), "b-refresh");
      const listed = yield* tokens.list;
      assert.isTrue(listed.some((t) => t.channel === "bravo" && t.hasRefreshToken && t.encryptionVersion === 1));
      assert.isTrue(yield* tokens.remove("youtube", "bravo"));
      assert.isFalse(yield* tokens.remove("youtube", "bravo"));
    }));

  it.effect("a sealed row moved to another channel does not open", () =>
    Effect.gen(function* () {
      const tokens = yield* TokensRepository;
      const sql = yield* SqlClient;
      yield* tokens.put({ provider: "twitch", channel: "victim", accessToken: "victim-token" });
      yield* sql`INSERT INTO oauth_tokens (provider, channel, access_token, encryption_version)
        SELECT provider, 'thief', access_token, encryption_version FROM oauth_tokens WHERE provider = 'twitch' AND channel = 'victim'`;
      const error = yield* Effect.flip(tokens.get("twitch", "thief"));
      assert.strictEqual(error.reason, "decrypt");
    }));

  it.effect("reads plain-text rows of the Go original; a wrong key or no key cannot open sealed rows", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient;
      yield* sql`INSERT INTO oauth_tokens (provider, channel, access_token, refresh_token, encryption_version)
        VALUES ('twitch', '', 'legacy-access', 'legacy-refresh', 0)`;
      const tokens = yield* TokensRepository;
      assert.strictEqual(Redacted.value((yield* tokens.get("twitch", ""))!.accessToken), "legacy-access");
      const other = yield* storeWith(key(2));
      const wrong = yield* Effect.flip(other.get("youtube", "alpha"));
      assert.strictEqual(wrong.reason, "decrypt");
      assert.include(wrong.message, "different ENCRYPTION_KEY");
      const plain = yield* storeWith(undefined);
      assert.strictEqual((yield* Effect.flip(plain.get("youtube", "alpha"))).reason, "no-key");
      // Without a key, new tokens are stored as plain text (version 0), as the Go original did.
      yield* plain.put({ provider: "twitch", channel: "plain", accessToken: "visible" });
      const [row] = yield* sql<{ readonly access_token: string; readonly encryption_version: number }>`
        SELECT access_token, encryption_version FROM oauth_tokens WHERE channel = 'plain'`;
      assert.deepStrictEqual(row, { access_token: "visible", encryption_version: 0 });
    }));
});
