/**
 * Keeping yt-dlp's HLS resume state honest across interruptions.
 *
 * yt-dlp (hlsnative, one fragment at a time) appends each finished fragment to
 * `<file>.part`, then rewrites `<file>.ytdl` with the index of the last fragment
 * appended; the next run skips fragments up to that index and appends after the
 * `.part` bytes. Stopping it between the append and the rewrite leaves a `.ytdl`
 * one fragment behind (the next run appends that fragment twice, a visible
 * repeat in the video), and stopping it during the rewrite leaves an empty
 * `.ytdl` (the next run throws the `.part` away and starts over). Both windows
 * sit right after a fragment completes, which is exactly when a progress update
 * prompts a caller to stop.
 *
 * A {@link FragmentLedger} records, from progress updates, how long the `.part`
 * is after each fragment; after yt-dlp exits without finishing,
 * {@link repairResumeState} rewrites the `.ytdl` when the `.part` length matches
 * a known fragment boundary and the `.ytdl` disagrees or is unreadable.
 *
 * An unreadable `.ytdl` that cannot be repaired is worse than none: yt-dlp
 * (2023.03) then restarts from fragment 0 but appends to the old `.part`,
 * producing a file that starts twice. Such a `.part` is discarded instead
 * ({@link discardUnreadableResume}), before a run and after a failed one.
 */
import { readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import type { DownloadProgress } from "./ytdlp-progress.ts";

/** What yt-dlp left on disk for an unfinished download. */
export interface ResumeState {
  /** Bytes in `<file>.part`; 0 when there is none. */
  readonly partBytes: number;
  /** Last fragment appended according to `<file>.ytdl`; undefined when missing or unreadable. */
  readonly fragmentIndex: number | undefined;
  /** Whether `<file>.ytdl` exists and could be read. */
  readonly ytdl: "missing" | "unreadable" | "ok";
  /** The `.ytdl` file's `extra_state`, kept when rewriting it. */
  readonly extraState: unknown;
}

const sizeOf = (path: string): Promise<number | undefined> =>
  stat(path).then(
    (s) => s.size,
    () => undefined,
  );

/** Reads the `.part` length and the `.ytdl` fragment index of `outputPath`. */
export const readResumeState = async (outputPath: string): Promise<ResumeState> => {
  const partBytes = (await sizeOf(`${outputPath}.part`)) ?? 0;
  let fragmentIndex: number | undefined;
  let extraState: unknown = {};
  let text: string;
  try {
    text = await readFile(`${outputPath}.ytdl`, "utf8");
  } catch {
    return { partBytes, fragmentIndex, ytdl: "missing", extraState };
  }
  try {
    const parsed: unknown = JSON.parse(text);
    const downloader = (parsed as { downloader?: { current_fragment?: { index?: unknown }; extra_state?: unknown } })
      .downloader;
    const index = downloader?.current_fragment?.index;
    if (typeof index === "number" && Number.isInteger(index) && index >= 0) fragmentIndex = index;
    if (downloader?.extra_state !== undefined) extraState = downloader.extra_state;
  } catch {
    // Cut short by a kill during the rewrite.
  }
  return { partBytes, fragmentIndex, ytdl: fragmentIndex === undefined ? "unreadable" : "ok", extraState };
};

const removeResumeFiles = (outputPath: string) =>
  Promise.all([rm(`${outputPath}.part`, { force: true }), rm(`${outputPath}.ytdl`, { force: true })]);

/**
 * Removes a `.part` whose `.ytdl` exists but cannot be read (see the module
 * comment); returns whether it did. A `.part` without any `.ytdl` is left alone:
 * that is how plain HTTP downloads resume.
 */
export const discardUnreadableResume = async (outputPath: string): Promise<boolean> => {
  const state = await readResumeState(outputPath);
  if (state.partBytes === 0 || state.ytdl !== "unreadable") return false;
  await removeResumeFiles(outputPath);
  return true;
};

/**
 * `.part` length after each fragment, learned from progress updates. The
 * update that first shows fragment index `j` is sent when fragment `j`
 * finishes, before it is appended, and its byte count is the `.part` length
 * once it is.
 */
export class FragmentLedger {
  readonly #boundaries = new Map<number, number>();
  #highest: number;

  /** Starts from what was on disk when yt-dlp started. */
  constructor(start: ResumeState) {
    const index = start.partBytes === 0 ? 0 : start.fragmentIndex;
    this.#highest = index ?? -1;
    if (index !== undefined) this.#boundaries.set(index, start.partBytes);
  }

  /** Records one progress update. */
  observe(progress: DownloadProgress): void {
    const index = progress.fragmentIndex;
    if (progress.status !== "downloading" || index === undefined || index <= this.#highest) return;
    this.#highest = index;
    this.#boundaries.set(index, progress.downloadedBytes);
  }

  /** The fragment index whose boundary is exactly `partBytes`, if one is known. */
  indexAt(partBytes: number): number | undefined {
    for (const [index, bytes] of this.#boundaries) if (bytes === partBytes) return index;
    return undefined;
  }
}

/** What {@link repairResumeState} found and did. */
export type RepairOutcome = "nothing-to-resume" | "consistent" | "repaired" | "discarded" | "unknown-boundary";

/** Makes `<file>.ytdl` agree with `<file>.part` when the ledger knows where the `.part` ends. */
export const repairResumeState = async (outputPath: string, ledger: FragmentLedger): Promise<RepairOutcome> => {
  const state = await readResumeState(outputPath);
  if (state.partBytes === 0) return "nothing-to-resume";
  const index = ledger.indexAt(state.partBytes);
  if (index === undefined) {
    if (state.ytdl !== "unreadable") return "unknown-boundary";
    await removeResumeFiles(outputPath);
    return "discarded";
  }
  if (state.fragmentIndex === index) return "consistent";
  const body = JSON.stringify({ downloader: { current_fragment: { index }, extra_state: state.extraState } });
  // Write then rename, so this repair cannot leave a half-written file itself.
  const temporary = `${outputPath}.ytdl.repair`;
  await writeFile(temporary, body);
  await rename(temporary, `${outputPath}.ytdl`);
  return "repaired";
};
