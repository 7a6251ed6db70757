// Message attributes: checked as SQS checks them, kept in one message header, and digested as
// SQS digests them (MD5OfMessageAttributes), so that a client can compare its own digest.

import { hex } from "../shared/encoding";
import {
  SQS_MAX_ATTRIBUTE_DATA_TYPE_LENGTH as MAX_DATA_TYPE_LENGTH,
  SQS_MAX_MESSAGE_ATTRIBUTES as MAX_MESSAGE_ATTRIBUTES,
} from "../shared/limits";
import { md5 } from "../shared/md5";
import { invalidParameter } from "./errors";

export interface MessageAttributeValue {
  DataType: string;
  StringValue?: string;
  /** Base64, as the JSON protocol carries bytes. */
  BinaryValue?: string;
}

export type MessageAttributes = Record<string, MessageAttributeValue>;

/**
 * The header that holds a message's attributes, as JSON text of the MessageAttributes map.
 * A REST consumer of the topic sees it among the headers; other headers of a message (from a
 * REST producer, or a dead letter's weir-* headers) reach SQS consumers as String attributes.
 */
export const ATTRIBUTES_HEADER = "sqs-message-attributes";
/** Header names Weir's SQS layer keeps for itself: not shown as attributes. */
const RESERVED_PREFIX = "sqs-";

const NAME = /^[A-Za-z0-9_.-]{1,256}$/;
const DATA_TYPE = /^(String|Number|Binary)(\.[\x21-\x7e]+)?$/;
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
// The characters SQS allows in a body and a string value (XML 1.0's).
const INVALID_CHARACTER = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/** The first character SQS does not allow in a body or string value, or null. */
export function invalidCharacter(text: string): string | null {
  const found = INVALID_CHARACTER.exec(text);
  return found ? `#x${found[0].codePointAt(0)!.toString(16).toUpperCase()}` : null;
}

/**
 * Checks `attributes` as SQS does (at most 10; names of A-Z a-z 0-9 _ - . not starting with
 * AWS. or Amazon.; a data type String, Number or Binary with an optional .suffix; a value of
 * that type). Throws InvalidParameterValue naming `field`. Returns their size in bytes (names,
 * types and values), which counts toward the message's size as in SQS.
 */
export function checkMessageAttributes(attributes: MessageAttributes, field: string): number {
  const entries = Object.entries(attributes);
  if (entries.length > MAX_MESSAGE_ATTRIBUTES) {
    throw invalidParameter(field, `${entries.length} attributes`, `Number of message attributes [${entries.length}] exceeds the allowed maximum [${MAX_MESSAGE_ATTRIBUTES}].`);
  }
  const encoder = new TextEncoder();
  let size = 0;
  for (const [name, value] of entries) {
    const where = `${field}.${name}`;
    if (!NAME.test(name) || name.startsWith(".") || name.endsWith(".") || name.includes("..") || /^(aws|amazon)\./i.test(name)) {
      throw invalidParameter(field, name, `Message attribute name '${name}' is invalid: use 1 to 256 of A-Z a-z 0-9 _ - . (no leading, trailing or double period), not starting with AWS. or Amazon.`);
    }
    const type = value.DataType;
    if (typeof type !== "string" || type.length > MAX_DATA_TYPE_LENGTH || !DATA_TYPE.test(type)) {
      throw invalidParameter(`${where}.DataType`, type, `The message attribute '${name}' has an invalid message attribute type; use String, Number or Binary, optionally with a .suffix.`);
    }
    if (type.startsWith("Binary")) {
      if (typeof value.BinaryValue !== "string" || value.BinaryValue === "" || !BASE64.test(value.BinaryValue)) {
        throw invalidParameter(`${where}.BinaryValue`, "", `The message attribute '${name}' must contain a non-empty base64 binary value.`);
      }
      size += Math.floor((value.BinaryValue.length * 3) / 4) - (value.BinaryValue.match(/=+$/)?.[0].length ?? 0);
    } else {
      const text = value.StringValue;
      if (typeof text !== "string" || text === "") {
        throw invalidParameter(`${where}.StringValue`, "", `The message attribute '${name}' must contain a non-empty message attribute value.`);
      }
      if (type.startsWith("Number") && !NUMBER.test(text.trim())) {
        throw invalidParameter(`${where}.StringValue`, text, `The message attribute '${name}' with type 'Number' must contain a numeric value.`);
      }
      const bad = invalidCharacter(text);
      if (bad) throw invalidParameter(`${where}.StringValue`, "", `Invalid character ${bad} in the message attribute '${name}'.`);
      size += encoder.encode(text).byteLength;
    }
    size += encoder.encode(name).byteLength + encoder.encode(type).byteLength;
  }
  return size;
}

/** The attributes as stored: only their type and value, in JSON text for ATTRIBUTES_HEADER. */
export function storedAttributes(attributes: MessageAttributes): string {
  const out: MessageAttributes = {};
  for (const [name, { DataType, StringValue, BinaryValue }] of Object.entries(attributes)) {
    out[name] = DataType.startsWith("Binary") ? { DataType, BinaryValue: BinaryValue! } : { DataType, StringValue: StringValue! };
  }
  return JSON.stringify(out);
}

/** A delivered message's attributes, from its headers (JSON text or null). */
export function attributesFromHeaders(headersJson: string | null): MessageAttributes {
  if (headersJson === null) return {};
  let headers: Record<string, string>;
  try {
    headers = JSON.parse(headersJson) as Record<string, string>;
  } catch {
    return {};
  }
  const attributes: MessageAttributes = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith(RESERVED_PREFIX)) attributes[name] = { DataType: "String", StringValue: value };
  }
  const stored = headers[ATTRIBUTES_HEADER];
  if (stored !== undefined) {
    try {
      Object.assign(attributes, JSON.parse(stored) as MessageAttributes);
    } catch {
      // A header of that name that a REST producer filled with something else: not attributes.
    }
  }
  return attributes;
}

/**
 * The attributes a ReceiveMessage asked for with MessageAttributeNames: `All` or `.*` for all,
 * `prefix.*` for those whose name starts with `prefix.`, or exact names.
 */
export function selectAttributes(attributes: MessageAttributes, names: readonly string[]): MessageAttributes {
  if (names.length === 0) return {};
  const all = names.some((n) => n === "All" || n === ".*");
  const out: MessageAttributes = {};
  for (const [name, value] of Object.entries(attributes)) {
    const wanted = all || names.some((n) => (n.endsWith(".*") ? name.startsWith(n.slice(0, -1)) : n === name));
    if (wanted) out[name] = value;
  }
  return out;
}

/** MD5OfMessageBody: the hex MD5 of the body's UTF-8 bytes. */
export function md5OfBody(body: string): string {
  return hex(md5(body));
}

/**
 * MD5OfMessageAttributes, as SQS computes it: over the attributes sorted by name, each as
 * its name, its data type (each a 4-byte big-endian length and UTF-8 bytes), a transport byte
 * (1 for String and Number, 2 for Binary) and its value (a 4-byte length and its bytes).
 */
export function md5OfAttributes(attributes: MessageAttributes): string {
  const encoder = new TextEncoder();
  const parts: Uint8Array[] = [];
  const withLength = (bytes: Uint8Array) => {
    const length = new Uint8Array(4);
    new DataView(length.buffer).setUint32(0, bytes.byteLength);
    parts.push(length, bytes);
  };
  for (const name of Object.keys(attributes).sort()) {
    const { DataType, StringValue, BinaryValue } = attributes[name]!;
    withLength(encoder.encode(name));
    withLength(encoder.encode(DataType));
    if (DataType.startsWith("Binary")) {
      parts.push(Uint8Array.of(2));
      withLength(Uint8Array.from(atob(BinaryValue ?? ""), (c) => c.charCodeAt(0)));
    } else {
      parts.push(Uint8Array.of(1));
      withLength(encoder.encode(StringValue ?? ""));
    }
  }
  const total = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    total.set(part, at);
    at += part.byteLength;
  }
  return hex(md5(total));
}
