/**
 * AES-256-GCM sealing of OAuth tokens at rest.
 *
 * Sealed form: `v1:<iv>:<tag>:<ciphertext>`, each part base64. The version
 * prefix lets a later key or algorithm coexist with rows written today. An
 * optional context string (e.g. `"youtube:channelname"`) is bound as associated
 * data, so a sealed token copied onto another row no longer opens.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { Effect, Schema } from "effect";

const VERSION = "v1";
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** The encryption key could not be used: not base64, or not 32 bytes. */
export class TokenCipherKeyError extends Schema.TaggedError<TokenCipherKeyError>()("TokenCipherKeyError", {
  message: Schema.String,
}) {}

/**
 * A sealed token did not open. `reason` tells a wrong key or tampered text
 * (`authentication`) from text that is not a sealed token at all (`malformed`)
 * or was sealed by a format this build does not know (`version`).
 */
export class TokenCipherError extends Schema.TaggedError<TokenCipherError>()("TokenCipherError", {
  reason: Schema.Literals(["malformed", "version", "authentication"]),
  message: Schema.String,
}) {}

/** Seals and opens tokens with one key. */
export interface TokenCipher {
  /** Seals `plaintext`; every call uses a fresh random IV. */
  readonly encrypt: (plaintext: string, context?: string) => Effect.Effect<string>;
  /** Opens a sealed token; fails with the same `context` it was sealed with missing. */
  readonly decrypt: (sealed: string, context?: string) => Effect.Effect<string, TokenCipherError>;
}

/** Whether a stored value is in the sealed format (as opposed to a legacy plaintext token). */
export const isSealedToken = (value: string): boolean => value.startsWith(`${VERSION}:`) && value.split(":").length === 4;

const decodeBase64 = (text: string): Buffer | undefined =>
  BASE64.test(text) && text.length % 4 === 0 ? Buffer.from(text, "base64") : undefined;

/**
 * Builds a cipher from a key given as base64 text (the `ENCRYPTION_KEY` form) or
 * raw bytes. The key must be exactly 32 bytes.
 */
export const makeTokenCipher = (key: string | Uint8Array): Effect.Effect<TokenCipher, TokenCipherKeyError> =>
  Effect.gen(function* () {
    const bytes = typeof key === "string" ? decodeBase64(key.trim()) : Buffer.from(key);
    if (bytes === undefined) {
      return yield* new TokenCipherKeyError({ message: "encryption key is not valid base64" });
    }
    if (bytes.length !== KEY_BYTES) {
      return yield* new TokenCipherKeyError({
        message: `encryption key must be ${KEY_BYTES} bytes, got ${bytes.length}`,
      });
    }
    const secret = Buffer.from(bytes);

    const encrypt = (plaintext: string, context?: string) =>
      Effect.sync(() => {
        const iv = randomBytes(IV_BYTES);
        const cipher = createCipheriv("aes-256-gcm", secret, iv);
        if (context !== undefined) cipher.setAAD(Buffer.from(context, "utf8"));
        const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
        const tag = cipher.getAuthTag();
        return [VERSION, iv.toString("base64"), tag.toString("base64"), ciphertext.toString("base64")].join(":");
      });

    const decrypt = (sealed: string, context?: string) =>
      Effect.gen(function* () {
        const parts = sealed.split(":");
        if (parts.length !== 4) {
          return yield* new TokenCipherError({ reason: "malformed", message: "sealed token must have 4 parts" });
        }
        const [version, ivText, tagText, bodyText] = parts as [string, string, string, string];
        if (version !== VERSION) {
          return yield* new TokenCipherError({ reason: "version", message: `unknown sealed token version "${version}"` });
        }
        const iv = decodeBase64(ivText);
        const tag = decodeBase64(tagText);
        const body = decodeBase64(bodyText);
        if (iv?.length !== IV_BYTES || tag?.length !== TAG_BYTES || body === undefined) {
          return yield* new TokenCipherError({ reason: "malformed", message: "sealed token parts are not valid" });
        }
        const opened = yield* Effect.try({
          try: () => {
            const decipher = createDecipheriv("aes-256-gcm", secret, iv, { authTagLength: TAG_BYTES });
            if (context !== undefined) decipher.setAAD(Buffer.from(context, "utf8"));
            decipher.setAuthTag(tag);
            return Buffer.concat([decipher.update(body), decipher.final()]).toString("utf8");
          },
          // GCM reports a wrong key and altered bytes the same way, by design.
          catch: () =>
            new TokenCipherError({ reason: "authentication", message: "wrong key or tampered token" }),
        });
        return opened;
      });

    return { encrypt, decrypt };
  });
