/**
 * Turns an Effect `Schema` issue tree into flat, human sentences, one per
 * offending value, each with its path. Configuration errors are read by people
 * fixing a file at 3 a.m., so the wording is "expected a positive integer, got
 * \"abc\"" rather than a dump of the schema.
 */
import { SchemaAST, SchemaIssue } from "effect";

/** One problem, flattened out of an issue tree. */
export interface IssueText {
  /** Path from the decoded root to the offending value (or key). */
  readonly path: ReadonlyArray<PropertyKey>;
  /** What is wrong: "expected …" or a complete sentence from a custom check. */
  readonly message: string;
  /** True when `message` is an "expected …" sentence that reads well followed by ", got <value>". */
  readonly wantsInput: boolean;
  /** The offending value, when the parser reported it (`reportInput: true`). */
  readonly input: { readonly value: unknown } | undefined;
  /** The issue is an excess key (a typo, usually): position it at the key, not its value. */
  readonly unexpectedKey: boolean;
}

/**
 * Flattens an issue tree into one {@link IssueText} per problem.
 *
 * Understands the annotations the configuration schemas use: `expected`
 * ("a positive integer") on filters and base types, and `message` for complete
 * sentences. Unknown keys get a "did you mean" hint from the struct's own keys.
 */
export const issueTexts = (issue: SchemaIssue.Issue): ReadonlyArray<IssueText> => collect(issue, []);

/** Appends ", got <value>" to an "expected …" message when the value may be shown. */
export const withInput = (text: IssueText, show: (value: unknown) => string | undefined): string => {
  if (!text.wantsInput || text.input === undefined) return text.message;
  const shown = show(text.input.value);
  return shown === undefined ? text.message : `${text.message}, got ${shown}`;
};

/** Renders a value the way a config author wrote it: strings quoted, long values cut. */
export const showValue = (value: unknown): string => {
  const text = value === undefined ? "nothing" : JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
};

const inputOf = (issue: SchemaIssue.Issue): IssueText["input"] =>
  SchemaIssue.hasInput(issue) ? { value: issue.input } : undefined;

const entry = (
  path: ReadonlyArray<PropertyKey>,
  message: string,
  wantsInput: boolean,
  issue: SchemaIssue.Issue,
): IssueText => ({ path, message, wantsInput, input: inputOf(issue), unexpectedKey: false });

const annotationText = (annotations: object | undefined, key: "expected" | "message"): string | undefined => {
  const value = annotations === undefined ? undefined : (annotations as Record<string, unknown>)[key];
  return typeof value === "string" ? value : undefined;
};

const collect = (issue: SchemaIssue.Issue, path: ReadonlyArray<PropertyKey>): Array<IssueText> => {
  switch (issue._tag) {
    case "Pointer":
      return collect(issue.issue, [...path, ...issue.path]);
    case "Composite":
      return issue.issues.flatMap((inner) => collect(inner, path));
    case "Encoding":
      return collect(issue.issue, path);
    case "Filter": {
      const message = annotationText(issue.filter.annotations, "message");
      if (message !== undefined) return [entry(path, message, false, issue)];
      // A check that returned a sentence carries it on its inner InvalidValue.
      const inner = issue.issue._tag === "InvalidValue" ? annotationText(issue.issue.annotations, "message") : undefined;
      if (inner !== undefined) return [entry(path, inner, false, issue)];
      const expected = annotationText(issue.filter.annotations, "expected");
      if (expected !== undefined) return [entry(path, `expected ${expected}`, true, issue)];
      return collect(issue.issue, path);
    }
    case "AnyOf":
      // A union that got far enough into one member reports that member's problems.
      if (issue.issues.length > 0) return issue.issues.flatMap((inner) => collect(inner, path));
      return [entry(path, `expected ${describe(issue.ast)}`, true, issue)];
    case "InvalidType":
      return [entry(path, `expected ${describe(issue.ast)}`, true, issue)];
    case "InvalidValue": {
      const message = annotationText(issue.annotations, "message");
      return [entry(path, message ?? "invalid value", message === undefined, issue)];
    }
    case "MissingKey":
      return [entry(path, "this key is required", false, issue)];
    case "UnexpectedKey": {
      const key = path[path.length - 1];
      const hint = typeof key === "string" ? suggestion(key, knownKeys(issue.ast)) : undefined;
      const name = typeof key === "string" ? `"${key}"` : String(key);
      const known = knownKeys(issue.ast);
      const message = `unknown key ${name}${hint === undefined ? "" : ` (did you mean "${hint}"?)`}${
        hint === undefined && known.length > 0 ? `; allowed keys: ${known.join(", ")}` : ""
      }`;
      return [{ ...entry(path, message, false, issue), unexpectedKey: true }];
    }
    case "Forbidden":
      return [entry(path, annotationText(issue.annotations, "message") ?? "not allowed here", false, issue)];
    case "OneOf":
      return [entry(path, "matches more than one form; make it unambiguous", false, issue)];
  }
};

/** Words for what a schema node accepts, preferring its `expected` annotation. */
const describe = (ast: SchemaAST.AST): string => {
  const expected = annotationText(ast.annotations, "expected");
  if (expected !== undefined) return expected;
  if (SchemaAST.isUnion(ast)) {
    if (ast.types.every(SchemaAST.isLiteral)) {
      return `one of ${ast.types.map((member) => String((member as SchemaAST.Literal).literal)).join(", ")}`;
    }
    return ast.types.map(describe).join(" or ");
  }
  if (SchemaAST.isLiteral(ast)) return JSON.stringify(ast.literal);
  switch (ast._tag) {
    case "String":
      return "a string";
    case "Number":
      return "a number";
    case "Boolean":
      return "true or false";
    case "Objects":
      return "a mapping (key: value)";
    case "Arrays":
      return "a list";
    case "Null":
      return "null";
    default:
      return ast._tag.toLowerCase();
  }
};

const knownKeys = (ast: SchemaAST.AST): ReadonlyArray<string> =>
  SchemaAST.isObjects(ast) ? ast.propertySignatures.map((signature) => String(signature.name)) : [];

/** The closest known key by edit distance, when it is close enough to be a typo. */
const suggestion = (key: string, known: ReadonlyArray<string>): string | undefined => {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(best.length / 3)) ? best : undefined;
};

// Optimal string alignment distance: a swapped pair of letters ("chta") counts as one edit.
const editDistance = (a: string, b: string): number => {
  const d: Array<Array<number>> = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number): number => d[i]?.[j] ?? 0;
  for (let i = 1; i <= a.length; i++) {
    const row = d[i] ?? [];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      row[j] = best;
    }
  }
  return at(a.length, b.length);
};
