/**
 * Twitch logins: the lower-case channel names used in URLs, IRC `JOIN #name` and
 * Helix `user_login=`. Everything that names a channel (environment, channels
 * file, control channel) normalises and checks it here.
 */
import { Schema, SchemaGetter } from "effect";

const loginPattern = /^[a-z0-9_]{3,25}$/;

/** What a valid login looks like, for error messages. */
export const twitchLoginExpected = "a Twitch login (3-25 characters: a-z, 0-9, _)";

/**
 * Normalises how people write a channel: trims, drops a leading `#` (IRC style)
 * and lower-cases (Twitch logins are case-insensitive, display names are not).
 */
export const normalizeTwitchLogin = (raw: string): string => raw.trim().replace(/^#/, "").toLowerCase();

/** True when `login` (already normalised) is a well-formed Twitch login. */
export const isTwitchLogin = (login: string): boolean => loginPattern.test(login);

/**
 * Schema decoding a written channel name ("#SomeStreamer") into its login
 * ("somestreamer"), failing with "expected a Twitch login …" otherwise.
 */
export const TwitchLogin = Schema.String.pipe(
  Schema.annotate({ expected: twitchLoginExpected }),
  Schema.decode({
    decode: SchemaGetter.transform(normalizeTwitchLogin),
    encode: SchemaGetter.transform((login: string) => login),
  }),
  Schema.check(Schema.makeFilter((login: string) => isTwitchLogin(login), { expected: twitchLoginExpected })),
);
