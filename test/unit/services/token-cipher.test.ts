import { describe, expect, it } from "@effect/vitest";
import { randomBytes } from "node:crypto";
import { Effect } from "effect";
import { isSealedToken, makeTokenCipher } from "../../../src/services/token-cipher.ts";

const key = randomBytes(32).toString("base64");

describe("token cipher", () => {
  it.effect("opens what it sealed, with a fresh IV every time", () =>
    Effect.gen(function* () {
      const cipher = yield* makeTokenCipher(key);
      const a = yield* cipher.encrypt("ya29.a0AfH6SMB-secret-token");
      const b = yield* cipher.encrypt("ya29.a0AfH6SMB-secret-token");
      expect(a).not.toBe(b);
      expect(a.startsWith("v1:")).toBe(true);
      expect(isSealedToken(a)).toBe(true);
      expect(a).not.toContain("secret");
      expect(yield* cipher.decrypt(a)).toBe("ya29.a0AfH6SMB-secret-token");
      expect(yield* cipher.decrypt(b)).toBe("ya29.a0AfH6SMB-secret-token");
    }),
  );

  it.effect("keeps unicode and empty tokens intact", () =>
    Effect.gen(function* () {
      const cipher = yield* makeTokenCipher(key);
      for (const text of ["", "ünïcødé 🎥", "x".repeat(10_000)]) {
        expect(yield* cipher.decrypt(yield* cipher.encrypt(text))).toBe(text);
      }
    }),
  );

  it.effect("refuses to open with another key", () =>
    Effect.gen(function* () {
      const sealed = yield* (yield* makeTokenCipher(key)).encrypt("token");
      const other = yield* makeTokenCipher(randomBytes(32));
      const error = yield* Effect.flip(other.decrypt(sealed));
      expect(error._tag).toBe("TokenCipherError");
      expect(error.reason).toBe("authentication");
    }),
  );

  it.effect("detects a changed byte in the ciphertext, the tag or the IV", () =>
    Effect.gen(function* () {
      const cipher = yield* makeTokenCipher(key);
      const sealed = yield* cipher.encrypt("refresh-token-value");
      const parts = sealed.split(":");
      for (const index of [1, 2, 3]) {
        const bytes = Buffer.from(parts[index]!, "base64");
        bytes[0] = bytes[0]! ^ 0x01;
        const tampered = parts.map((p, i) => (i === index ? bytes.toString("base64") : p)).join(":");
        const error = yield* Effect.flip(cipher.decrypt(tampered));
        expect(error.reason).toBe("authentication");
      }
    }),
  );

  it.effect("binds the context: a token sealed for one row does not open for another", () =>
    Effect.gen(function* () {
      const cipher = yield* makeTokenCipher(key);
      const sealed = yield* cipher.encrypt("token", "youtube:alpha");
      expect(yield* cipher.decrypt(sealed, "youtube:alpha")).toBe("token");
      expect((yield* Effect.flip(cipher.decrypt(sealed, "youtube:beta"))).reason).toBe("authentication");
      expect((yield* Effect.flip(cipher.decrypt(sealed))).reason).toBe("authentication");
    }),
  );

  it.effect("tells malformed text and unknown versions apart", () =>
    Effect.gen(function* () {
      const cipher = yield* makeTokenCipher(key);
      expect((yield* Effect.flip(cipher.decrypt("plain-old-token"))).reason).toBe("malformed");
      expect((yield* Effect.flip(cipher.decrypt("v1:a:b"))).reason).toBe("malformed");
      expect((yield* Effect.flip(cipher.decrypt("v1:!!!:AAAA:AAAA"))).reason).toBe("malformed");
      const sealed = yield* cipher.encrypt("token");
      expect((yield* Effect.flip(cipher.decrypt(sealed.replace(/^v1:/, "v2:")))).reason).toBe("version");
      expect(isSealedToken("plain-old-token")).toBe(false);
    }),
  );

  it.effect("requires a 32-byte key", () =>
    Effect.gen(function* () {
      expect((yield* Effect.flip(makeTokenCipher(randomBytes(16).toString("base64"))))._tag).toBe("TokenCipherKeyError");
      expect((yield* Effect.flip(makeTokenCipher("not base64 at all!")))._tag).toBe("TokenCipherKeyError");
      expect((yield* Effect.flip(makeTokenCipher(new Uint8Array(31))))._tag).toBe("TokenCipherKeyError");
    }),
  );
});
