import { describe, expect, it } from "vitest";
import { findJsonSyntaxError } from "../../../src/services/json-syntax.ts";

describe("findJsonSyntaxError", () => {
  it.each([
    '{"a": [1, -2.5e3, true, false, null, "x\\n\\u00e9"], "b": {}}',
    "[]",
    '  "just a string"  ',
    "0",
  ])("accepts valid JSON %j", (text) => {
    expect(() => JSON.parse(text)).not.toThrow();
    expect(findJsonSyntaxError(text)).toBeUndefined();
  });

  it.each([
    ['{"a": 1,}', 7, 'trailing comma before "}"'],
    ["[1, 2,]", 5, 'trailing comma before "]"'],
    ['{"a" 1}', 5, `expected ":" after the key but found '1'`],
    ["{a: 1}", 1, `expected a "key" but found 'a'`],
    ['["unterminated]', 1, "string is never closed"],
    ['["bad \\q escape"]', 6, 'bad escape "\\q" in string'],
    ["[01]", 2, `expected "," or "]" but found '1'`],
    ["[1] [2]", 4, "unexpected '[' after the end of the document"],
    ["// comment\n{}", 0, "expected a value but found '/'"],
    ["   ", 3, "the file is empty"],
    ["[1, 2", 5, `expected "," or "]" but found end of file`],
  ])("%j fails at offset %d: %s", (text, offset, message) => {
    expect(() => JSON.parse(text)).toThrow();
    expect(findJsonSyntaxError(text)).toEqual({ offset, message });
  });
});
