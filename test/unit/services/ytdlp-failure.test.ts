import { describe, expect, it } from "vitest";
import { classifyYtdlpFailure } from "../../../src/services/ytdlp-failure.ts";

// Lines as yt-dlp printed them (reference/wire/ytdlp_output.txt and runs of yt-dlp 2023.03.04).
describe("classifyYtdlpFailure", () => {
  it.each([
    ["ERROR: unable to download video data: HTTP Error 404: Not Found", "not-found"],
    [
      "ERROR: [generic] None: Unable to download webpage: HTTP Error 404: Not Found (caused by <HTTPError 404: 'Not Found'>); please report this issue on  https://github.com/yt-dlp/yt-dlp/issues?q= , filling out the appropriate issue template. Confirm you are on the latest version using  yt-dlp -U",
      "not-found",
    ],
    [
      "ERROR: [twitch:vod] 2356042866: Failed to download m3u8 information: HTTP Error 403: Forbidden (caused by <HTTPError 403: Forbidden>)",
      "forbidden",
    ],
    ["ERROR: [youtube] qaImFO_DgAM: Video unavailable. This content isn’t available.", "unavailable"],
    ["ERROR: This video is unavailable.", "unavailable"],
    ["ERROR: [twitch:vod] 2838897713: Video 2838897713 does not exist", "unavailable"],
    [
      "ERROR: [twitch:vod] 2356042866: You must be logged into an account that has access to this subscriber-only content. Use --cookies, --cookies-from-browser, --username and --password, --netrc-cmd, or --netrc (twitch) to provide account credentials.",
      "subscriber-only",
    ],
    ["ERROR: [twitch:vod] 2356042866: Your account does not have access to this subscriber-only content", "subscriber-only"],
    ["ERROR: [twitch:vod] 123: HTTP Error 410: Gone", "gone"],
  ])("treats %j as permanent (%s)", (line, reason) => {
    const failure = classifyYtdlpFailure(["[twitch:vod] 2356042866: Downloading m3u8 information", line]);
    expect(failure).toEqual({ reason, retryable: false, message: line });
  });

  it.each([
    [
      [
        "ERROR: [download] Got error: HTTP Error 404: Not Found. Giving up after 1 retries",
        "ERROR: fragment 6 not found, unable to continue",
      ],
      "fragment",
    ],
    [
      [
        "ERROR: [generic] None: Unable to download webpage: <urlopen error [Errno 111] Connection refused> (caused by URLError(ConnectionRefusedError(111, 'Connection refused')))",
      ],
      "network",
    ],
    [["ERROR: unable to download video data: HTTP Error 503: Service Unavailable"], "server"],
    [["ERROR: unable to download video data: HTTP Error 429: Too Many Requests"], "rate-limited"],
    [["ERROR: unable to write data: [Errno 28] No space left on device"], "disk"],
    [["ERROR: Initialization fragment found after media fragments, unable to download"], "fragment"],
    [["ERROR: something nobody has seen before"], "unknown"],
  ])("treats %j as retryable (%s)", (lines, reason) => {
    const failure = classifyYtdlpFailure(lines);
    expect(failure.reason).toBe(reason);
    expect(failure.retryable).toBe(true);
    expect(failure.message).toBe(lines.at(-1));
  });

  it("lets ERROR lines decide over earlier warnings", () => {
    const failure = classifyYtdlpFailure([
      "[download] Got error: HTTP Error 404: Not Found. Retrying fragment 6 (1/10)...",
      "WARNING: [twitch:vod] HTTP Error 403: Forbidden while fetching the storyboard",
      "ERROR: [download] Got error: Read timed out.",
    ]);
    expect(failure.reason).toBe("network");
    expect(failure.retryable).toBe(true);
  });

  it("falls back to the last line when nothing says ERROR", () => {
    expect(classifyYtdlpFailure(["Traceback (most recent call last):", "KeyError: 'formats'", ""])).toEqual({
      reason: "unknown",
      retryable: true,
      message: "KeyError: 'formats'",
    });
  });
});
