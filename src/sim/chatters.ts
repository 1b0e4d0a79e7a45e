import { escapeTagValue, userPrefix } from "./irc-message.ts";
import type { Rng } from "./rng.ts";

/** A generated chat user with the tag fragments that never change between messages. */
export interface Chatter {
  readonly login: string;
  readonly displayName: string;
  /** Escaped display name, ready for a tag value. */
  readonly displayNameTag: string;
  readonly userId: string;
  readonly color: string;
  readonly badgeInfo: string;
  readonly badges: string;
  readonly mod: "0" | "1";
  readonly subscriber: "0" | "1";
  readonly userType: "" | "mod";
  readonly months: number;
  /** `login!login@login.tmi.twitch.tv` */
  readonly prefix: string;
}

const first = ["pixel", "lazy", "night", "salty", "happy", "dank", "cozy", "turbo", "quiet", "loud", "frost", "neon", "mellow", "rapid", "tiny"];
const second = ["fox", "otter", "gamer", "wizard", "panda", "ghost", "knight", "lurker", "potato", "falcon", "noodle", "cactus", "comet", "badger"];
const colors = ["#FF0000", "#0000FF", "#008000", "#B22222", "#FF7F50", "#9ACD32", "#FF4500", "#2E8B57", "#DAA520", "#D2691E", "#5F9EA0", "#1E90FF", "#FF69B4", "#8A2BE2", "#00FF7F"];
const hangul = ["시청자", "테스트계정", "게이머"];
const kana = ["ゲーマー", "リスナー"];

/**
 * Makes `count` chatters for a channel: mostly ASCII names (display name a capitalised
 * login), a few with non-ASCII display names, some without a colour, some subscribers
 * (with `badge-info`), some moderators, VIPs and Prime users.
 */
export const makeChatters = (rng: Rng, count: number, idBase: number): Chatter[] => {
  const out: Chatter[] = [];
  const logins = new Set<string>();
  for (let i = 0; i < count; i++) {
    let login = `${rng.pick(first)}${rng.pick(second)}${rng.int(1000)}`;
    while (logins.has(login)) login = `${login}_`;
    logins.add(login);
    const r = rng.float();
    let displayName: string;
    if (r < 0.03) displayName = `${rng.pick(hangul)}${rng.int(1000)}`;
    else if (r < 0.05) displayName = `${rng.pick(kana)}${rng.int(100)}`;
    else if (r < 0.5) displayName = login[0]!.toUpperCase() + login.slice(1);
    else displayName = login;
    const isMod = rng.float() < 0.04;
    const isSub = rng.float() < 0.3;
    const months = isSub ? 1 + rng.int(60) : 0;
    const badgeList: string[] = [];
    if (isMod) badgeList.push("moderator/1");
    else if (rng.float() < 0.03) badgeList.push("vip/1");
    if (isSub) badgeList.push(`subscriber/${months >= 12 ? 12 : months >= 6 ? 6 : months >= 3 ? 3 : 0}`);
    if (rng.float() < 0.1) badgeList.push("premium/1");
    else if (rng.float() < 0.08) badgeList.push(`bits/${rng.pick(["1", "100", "1000", "5000"])}`);
    out.push({
      login,
      displayName,
      displayNameTag: escapeTagValue(displayName),
      userId: String(idBase + i),
      color: rng.float() < 0.2 ? "" : rng.pick(colors),
      badgeInfo: isSub ? `subscriber/${months}` : "",
      badges: badgeList.join(","),
      mod: isMod ? "1" : "0",
      subscriber: isSub ? "1" : "0",
      userType: isMod ? "mod" : "",
      months,
      prefix: `:${userPrefix(login)}`,
    });
  }
  return out;
};
