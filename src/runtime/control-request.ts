/**
 * Decoding one incoming `/control` frame into a typed request, or into the error
 * reply that says exactly what was wrong with it: size, JSON, envelope, command
 * name, then the command's params (each problem with its path).
 */
import { Result, Schema } from "effect";
import type { SchemaIssue } from "effect";
import { issueTexts, showValue, withInput } from "../services/schema-issue-text.ts";
import { RequestEnvelope, commands, isCommandName } from "./control-protocol.ts";
import type { CommandName, CommandParams, ControlErrorCode, RequestId } from "./control-protocol.ts";

/** A request whose params passed their command's schema. */
export type DecodedRequest = {
  [C in CommandName]: { readonly ok: true; readonly id: RequestId; readonly command: C; readonly params: CommandParams<C> };
}[CommandName];

/** A frame that cannot be served, with the reply to send. */
export interface RejectedRequest {
  readonly ok: false;
  /** The request's id when it could be read, else null. */
  readonly id: RequestId | null;
  /** The command when it could be read (for logs). */
  readonly command: string | undefined;
  readonly code: ControlErrorCode;
  readonly message: string;
}

// `reportInput` lets messages show the offending value ("expected a boolean, got \"yes\"").
const parseOptions = { onExcessProperty: "error", errors: "all", reportInput: true } as const;
const envelopeDecoder = Schema.decodeUnknownResult(RequestEnvelope);
const decodeEnvelope = (input: unknown) => envelopeDecoder(input, parseOptions);
const paramDecoders = Object.fromEntries(
  Object.entries(commands).map(([name, spec]) => {
    const decode = Schema.decodeUnknownResult(spec.params as Schema.Decoder<unknown>);
    return [name, (input: unknown) => decode(input, parseOptions)];
  }),
) as Record<CommandName, (input: unknown) => Result.Result<unknown, Schema.SchemaError>>;

/** Renders a schema issue as `path: problem` sentences, prefixed with `root`. */
export const describeIssue = (issue: SchemaIssue.Issue, root: string): string =>
  issueTexts(issue)
    .map((text) => {
      const path = [root, ...text.path.map(String)].filter((part) => part !== "").join(".");
      return `${path === "" ? "" : `${path}: `}${withInput(text, showValue)}`;
    })
    .join("; ");

const reject = (id: RequestId | null, command: string | undefined, code: ControlErrorCode, message: string): RejectedRequest => ({
  ok: false,
  id,
  command,
  code,
  message,
});

/** Pulls a usable id out of a frame whose envelope is otherwise wrong, so the error can still be matched. */
const salvageId = (value: unknown): RequestId | null => {
  if (typeof value !== "object" || value === null || !("id" in value)) return null;
  const id = (value as { id: unknown }).id;
  if (typeof id === "string" && id.length > 0 && id.length <= 128) return id;
  if (typeof id === "number" && Number.isSafeInteger(id)) return id;
  return null;
};

/**
 * The id of a frame that will not be served (rate limited), so the client can
 * still match the refusal; null when the frame is too big or not JSON.
 */
export const peekRequestId = (frame: string, byteLength: number, maxBytes: number): RequestId | null => {
  if (byteLength > maxBytes) return null;
  try {
    return salvageId(JSON.parse(frame));
  } catch {
    return null;
  }
};

/** Decodes one text frame. `maxBytes` is the protocol's frame limit (the socket's hard limit is higher). */
export const decodeRequest = (frame: string, byteLength: number, maxBytes: number): DecodedRequest | RejectedRequest => {
  if (byteLength > maxBytes) {
    return reject(null, undefined, "frame_too_large", `frame of ${byteLength} bytes is over the limit of ${maxBytes} bytes`);
  }
  let json: unknown;
  try {
    json = JSON.parse(frame);
  } catch (error) {
    return reject(null, undefined, "bad_json", `not valid JSON: ${(error as Error).message}`);
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return reject(null, undefined, "bad_request", "a request is a JSON object: {\"id\": ..., \"command\": ..., \"params\": {...}}");
  }
  const envelope = decodeEnvelope(json);
  if (Result.isFailure(envelope)) {
    const command = typeof (json as { command?: unknown }).command === "string" ? (json as { command: string }).command : undefined;
    return reject(salvageId(json), command, "bad_request", describeIssue(envelope.failure.issue, ""));
  }
  const { id, command, params } = envelope.success;
  if (!isCommandName(command)) {
    return reject(id, command, "unknown_command", `unknown command "${command}"; commands: ${Object.keys(commands).join(", ")}`);
  }
  const decoded = paramDecoders[command](params ?? {});
  if (Result.isFailure(decoded)) {
    return reject(id, command, "invalid_params", describeIssue(decoded.failure.issue, "params"));
  }
  return { ok: true, id, command, params: decoded.success } as DecodedRequest;
};
