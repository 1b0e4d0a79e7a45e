import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** Folder of the copied wire fixtures. */
export const wireDir = fileURLToPath(new URL("./wire/", import.meta.url));

/** One real IRC line with the label the fixture file gives it. */
export interface WireLine {
  readonly label: string;
  readonly line: string;
}

/** Every line of `irc_lines.txt` with its label (the `# label` comment above it). */
export const wireLines = (): WireLine[] => {
  const out: WireLine[] = [];
  let label = "";
  for (const raw of readFileSync(`${wireDir}irc_lines.txt`, "utf8").split("\n")) {
    if (raw.startsWith("# ")) {
      if (!raw.startsWith("# SOURCE") && !raw.startsWith("#   ")) label = raw.slice(2);
      continue;
    }
    if (raw === "" || raw.startsWith("#")) continue;
    out.push({ label, line: raw });
  }
  return out;
};

/** The line labelled exactly `label`, else the first whose label starts with it. */
export const wireLine = (label: string): string => {
  const lines = wireLines();
  const found = lines.find((l) => l.label === label) ?? lines.find((l) => l.label.startsWith(label));
  if (found === undefined) throw new Error(`no wire line labelled ${label}`);
  return found.line;
};

/** A Helix/OAuth fixture body, parsed. */
export const helixFixture = (name: string): unknown => JSON.parse(readFileSync(`${wireDir}helix/${name}`, "utf8"));
