import type { Env } from "../env";
import type { SubscriptionRecord, TopicRecord } from "../catalog/records";
import type { Delivery } from "../routing/receive";
import type { ReceiptResult } from "../routing/settle";
import { leaseReceipts } from "../shared/receipt";
import { iso } from "./views";

/** Serializes deliveries without parsing the stored bodies and headers: they are JSON already. */
export async function deliveriesJson(
  env: Env,
  topic: TopicRecord,
  subscription: SubscriptionRecord,
  deliveries: Delivery[],
  acked: ReceiptResult[] | null,
): Promise<string> {
  // One signature per lease (a partition's lease call), shared by the receipts of its messages.
  const signers = new Map<string, Promise<(offset: number) => string>>();
  const signer = (partition: number, nonce: string) => {
    const lease = `${partition}.${nonce}`;
    let sign = signers.get(lease);
    if (!sign) {
      sign = leaseReceipts(env, { topicUid: topic.uid, subscriptionUid: subscription.uid, partition, nonce });
      signers.set(lease, sign);
    }
    return sign;
  };
  const receipts = await Promise.all(
    deliveries.map(async ({ partition, message: m }) => (await signer(partition, m.nonce))(m.offset)),
  );
  const items = deliveries.map(({ partition, message: m }, i) => {
    const receipt = receipts[i]!;
    return (
      `{"id":${JSON.stringify(m.id)},"key":${JSON.stringify(m.key)},"headers":${m.headers ?? "{}"},` +
      `"body":${m.body},"priority":${m.priority},"partition":${m.originPartition ?? partition},` +
      `"offset":${m.originOffset ?? m.offset},` +
      `"produced_at":"${iso(m.producedAt)}","attempt":${m.attempt},"receipt":"${receipt}"}`
    );
  });
  const ackedJson = acked ? `,"acked":${JSON.stringify(acked)}` : "";
  return `{"messages":[${items.join(",")}]${ackedJson}}`;
}

