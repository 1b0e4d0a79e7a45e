/**
 * What generated chatters say: plain lines (some non-ASCII, some with characters that
 * need escaping when quoted in a tag) and lines with Twitch global emotes, whose
 * `emotes` tag is computed here in code points as Twitch does.
 */

/** Global emotes by code, with their Twitch ids. */
export const globalEmotes: Readonly<Record<string, string>> = {
  Kappa: "25",
  Keepo: "1902",
  PogChamp: "305954156",
  LUL: "425618",
  ":)": "1",
  ":(": "2",
  "<3": "9",
  Kreygasm: "41",
  BibleThump: "86",
  ResidentSleeper: "245",
  SeemsGood: "64138",
  HeyGuys: "30259",
  "4Head": "354",
  DansGame: "33",
  NotLikeThis: "58765",
  CoolCat: "58127",
  VoHiYo: "81274",
  Jebaited: "114836",
};

/** Plain chat lines. */
export const plainLines: readonly string[] = [
  "hello chat",
  "what game is this?",
  "gg",
  "lmao",
  "first time here, loving the stream",
  "is this the same run as yesterday",
  "can you turn the music down a bit",
  "that was clean",
  "😂😂😂",
  "Привет всем",
  "こんにちは！",
  "let's gooo",
  "o7",
  "good morning from 🇩🇪",
  "semicolons; are; fine; here",
  "back\\slash \\o/",
  "what's your sensitivity?",
  "chat is moving so fast nobody will see this",
  "W",
  "no way",
  "hydrate!",
  "clip it",
  "¿qué pasó?",
  "he's so back",
  "this boss is brutal",
  "how long have you been live",
  "brb",
  "LETS GO",
  "a b  c   double spaces",
  "ok but why",
];

/** Lines with global emotes. */
export const emoteLines: readonly string[] = [
  "Kappa",
  "Kappa Keepo Kappa",
  "PogChamp that play",
  "LUL LUL LUL",
  "👉 <3 👉 <3",
  "HeyGuys chat",
  "gg SeemsGood",
  "NotLikeThis again",
  "BibleThump rip",
  "hi :) :)",
  "ResidentSleeper",
  "Kreygasm this music",
  "4Head classic",
  "DansGame what was that",
  "VoHiYo CoolCat",
  "Jebaited got us",
  "ÄÖÜ Kappa ß",
];

/** The `emotes` tag for a text: `id:start-end,start-end/id2:…` in code points, first occurrence first. */
export const emotesTag = (text: string): string => {
  const found = new Map<string, string[]>();
  const cps = Array.from(text);
  let i = 0;
  while (i < cps.length) {
    if (cps[i] === " ") {
      i++;
      continue;
    }
    let j = i;
    while (j < cps.length && cps[j] !== " ") j++;
    const word = cps.slice(i, j).join("");
    const id = globalEmotes[word];
    if (id !== undefined) {
      let list = found.get(id);
      if (list === undefined) {
        list = [];
        found.set(id, list);
      }
      list.push(`${i}-${j - 1}`);
    }
    i = j;
  }
  return [...found].map(([id, ranges]) => `${id}:${ranges.join(",")}`).join("/");
};

/** A line and its precomputed `emotes` tag. */
export interface CorpusLine {
  readonly text: string;
  readonly emotes: string;
}

/** Plain lines with their (usually empty) emote tags. */
export const plainCorpus: readonly CorpusLine[] = plainLines.map((text) => ({ text, emotes: emotesTag(text) }));
/** Emote lines with their emote tags. */
export const emoteCorpus: readonly CorpusLine[] = emoteLines.map((text) => ({ text, emotes: emotesTag(text) }));
