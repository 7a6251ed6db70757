// The errors of the SQS-compatible endpoint, as Amazon SQS words them in its AWS JSON 1.0
// protocol: `{"__type":"com.amazonaws.sqs#<Code>","message":…}` with the header
// `x-amzn-query-error: <query code>;Sender|Receiver`, which SDKs read for the error's Code.
// The query codes and statuses are those of the SQS service model. docs/sqs.md lists them.

interface ErrorShape {
  status: number;
  /** The code of the older query protocol; the shape name when the model gives none. */
  queryCode?: string;
  fault: "Sender" | "Receiver";
}

const SHAPES = {
  AccessDenied: { status: 403, fault: "Sender" },
  BatchEntryIdsNotDistinct: { status: 400, queryCode: "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", fault: "Sender" },
  BatchRequestTooLong: { status: 400, queryCode: "AWS.SimpleQueueService.BatchRequestTooLong", fault: "Sender" },
  EmptyBatchRequest: { status: 400, queryCode: "AWS.SimpleQueueService.EmptyBatchRequest", fault: "Sender" },
  IncompleteSignature: { status: 403, fault: "Sender" },
  InternalFailure: { status: 500, fault: "Receiver" },
  InvalidAction: { status: 400, fault: "Sender" },
  InvalidAttributeName: { status: 400, fault: "Sender" },
  InvalidAttributeValue: { status: 400, fault: "Sender" },
  InvalidBatchEntryId: { status: 400, queryCode: "AWS.SimpleQueueService.InvalidBatchEntryId", fault: "Sender" },
  InvalidClientTokenId: { status: 403, fault: "Sender" },
  InvalidMessageContents: { status: 400, fault: "Sender" },
  InvalidParameterValue: { status: 400, fault: "Sender" },
  MessageNotInflight: { status: 400, queryCode: "AWS.SimpleQueueService.MessageNotInflight", fault: "Sender" },
  MissingAuthenticationToken: { status: 403, fault: "Sender" },
  MissingParameter: { status: 400, fault: "Sender" },
  OverLimit: { status: 403, queryCode: "OverLimit", fault: "Sender" },
  PurgeQueueInProgress: { status: 403, queryCode: "AWS.SimpleQueueService.PurgeQueueInProgress", fault: "Sender" },
  QueueDoesNotExist: { status: 400, queryCode: "AWS.SimpleQueueService.NonExistentQueue", fault: "Sender" },
  QueueNameExists: { status: 400, queryCode: "QueueAlreadyExists", fault: "Sender" },
  ReceiptHandleIsInvalid: { status: 404, queryCode: "ReceiptHandleIsInvalid", fault: "Sender" },
  RequestThrottled: { status: 403, queryCode: "RequestThrottled", fault: "Sender" },
  SerializationException: { status: 400, fault: "Sender" },
  ServiceUnavailable: { status: 503, fault: "Receiver" },
  SignatureDoesNotMatch: { status: 403, fault: "Sender" },
  TooManyEntriesInBatchRequest: {
    status: 400,
    queryCode: "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
    fault: "Sender",
  },
  UnsupportedOperation: { status: 400, queryCode: "AWS.SimpleQueueService.UnsupportedOperation", fault: "Sender" },
} as const satisfies Record<string, ErrorShape>;

export type SqsErrorCode = keyof typeof SHAPES;

/** The one error type of the SQS endpoint; protocol.ts renders it. */
export class SqsError extends Error {
  override readonly name = "SqsError";
  constructor(
    readonly code: SqsErrorCode,
    message: string,
    /** Seconds, for throttling and unavailability. */
    readonly retryAfter?: number,
  ) {
    super(message);
  }

  get status(): number {
    return SHAPES[this.code].status;
  }

  /** Sender: the request was at fault; Receiver: the service was. */
  get senderFault(): boolean {
    return SHAPES[this.code].fault === "Sender";
  }

  /** The value of the x-amzn-query-error header. */
  get queryError(): string {
    const shape: ErrorShape = SHAPES[this.code];
    return `${shape.queryCode ?? this.code};${shape.fault}`;
  }

  toBody(): { __type: string; message: string } {
    return { __type: `com.amazonaws.sqs#${this.code}`, message: this.message };
  }
}

/** SQS's wording for a parameter with a bad value. */
export function invalidParameter(name: string, value: unknown, reason: string): SqsError {
  const shown = typeof value === "string" ? value : JSON.stringify(value);
  return new SqsError("InvalidParameterValue", `Value ${shown ?? ""} for parameter ${name} is invalid. Reason: ${reason}`);
}

export function missingParameter(name: string): SqsError {
  return new SqsError("MissingParameter", `The request must contain the parameter ${name}.`);
}

export function queueDoesNotExist(): SqsError {
  return new SqsError("QueueDoesNotExist", "The specified queue does not exist.");
}
