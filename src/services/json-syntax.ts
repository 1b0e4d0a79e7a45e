/**
 * Locates the first syntax error in JSON text. `JSON.parse` reports a position
 * for only some of its errors (a trailing comma gets none), and a config author
 * needs the line every time.
 */

/** Where JSON text first goes wrong, and why. */
export interface JsonSyntaxError {
  /** Offset (UTF-16 index) of the offending character. */
  readonly offset: number;
  readonly message: string;
}

type Step = number | JsonSyntaxError;

const failed = (step: Step): step is JsonSyntaxError => typeof step !== "number";

const describeChar = (text: string, at: number): string =>
  at >= text.length ? "end of file" : `'${text[at]}'`;

const whitespace = (text: string, at: number): number => {
  while (at < text.length && " \t\n\r".includes(text[at] ?? "")) at++;
  return at;
};

const number = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

const string = (text: string, start: number): Step => {
  let at = start + 1;
  while (at < text.length) {
    const char = text[at] ?? "";
    if (char === '"') return at + 1;
    if (char === "\\") {
      const escape = text[at + 1] ?? "";
      if (escape === "u") {
        if (!/^[0-9a-fA-F]{4}$/.test(text.slice(at + 2, at + 6))) return { offset: at, message: "bad \\u escape in string" };
        at += 6;
      } else if ('"\\/bfnrt'.includes(escape) && escape !== "") at += 2;
      else return { offset: at, message: `bad escape "\\${escape}" in string` };
    } else if (char < " ") {
      return { offset: at, message: "line break or control character inside a string" };
    } else at++;
  }
  return { offset: start, message: "string is never closed" };
};

const container = (text: string, start: number, close: "}" | "]"): Step => {
  const isObject = close === "}";
  let at = whitespace(text, start + 1);
  if (text[at] === close) return at + 1;
  for (;;) {
    if (isObject) {
      if (text[at] !== '"') return { offset: at, message: `expected a "key" but found ${describeChar(text, at)}` };
      const key = string(text, at);
      if (failed(key)) return key;
      at = whitespace(text, key);
      if (text[at] !== ":") return { offset: at, message: `expected ":" after the key but found ${describeChar(text, at)}` };
      at = whitespace(text, at + 1);
    }
    const item = value(text, at);
    if (failed(item)) return item;
    at = whitespace(text, item);
    if (text[at] === close) return at + 1;
    if (text[at] !== ",") {
      return { offset: at, message: `expected "," or "${close}" but found ${describeChar(text, at)}` };
    }
    const comma = at;
    at = whitespace(text, at + 1);
    if (text[at] === close) return { offset: comma, message: `trailing comma before "${close}"` };
  }
};

const value = (text: string, at: number): Step => {
  const char = text[at];
  if (char === "{") return container(text, at, "}");
  if (char === "[") return container(text, at, "]");
  if (char === '"') return string(text, at);
  for (const literal of ["true", "false", "null"]) {
    if (text.startsWith(literal, at)) return at + literal.length;
  }
  number.lastIndex = at;
  if (number.exec(text) !== null) return number.lastIndex;
  return { offset: at, message: `expected a value but found ${describeChar(text, at)}` };
};

/** Returns the first syntax error in `text`, or `undefined` when it is valid JSON. */
export const findJsonSyntaxError = (text: string): JsonSyntaxError | undefined => {
  const start = whitespace(text, 0);
  if (start >= text.length) return { offset: start, message: "the file is empty" };
  const end = value(text, start);
  if (failed(end)) return end;
  const rest = whitespace(text, end);
  return rest < text.length ? { offset: rest, message: `unexpected ${describeChar(text, rest)} after the end of the document` } : undefined;
};
