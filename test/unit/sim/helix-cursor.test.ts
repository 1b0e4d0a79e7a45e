import { describe, expect, it } from "vitest";
import { decodeCursor, encodeCursor } from "../../../src/sim/helix-cursor.ts";
import { helixFixture } from "../../support/wire-data.ts";

describe("Helix cursors", () => {
  it("have the shape of Twitch's own", () => {
    const real = (helixFixture("streams_live_with_cursor.json") as { pagination: { cursor: string } }).pagination.cursor;
    expect(decodeCursor(real)).toEqual({ offset: 2 });
    expect(encodeCursor({ offset: 2 })).toBe(real);
  });

  it("carry keys and reject foreign text", () => {
    expect(decodeCursor(encodeCursor({ key: "1700000000000:42" }))).toEqual({ key: "1700000000000:42" });
    expect(decodeCursor("not a cursor")).toBeUndefined();
    expect(decodeCursor(Buffer.from('{"a":{"Offset":-1}}').toString("base64"))).toBeUndefined();
  });
});
