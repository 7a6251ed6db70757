// A user's application code: it publishes orders to Weir and runs a worker that bills them.
import { DoNotRetry, Weir, type Consumer } from "@weir/client";

export interface Order {
  id: string;
  customer: string;
  total: number;
}

export async function placeOrders(weir: Weir, orders: Order[]): Promise<void> {
  await weir.produce(
    "orders",
    orders.map((order) => ({ id: order.id, key: order.customer, body: order })),
  );
}

/** Bills each order once; an order with a negative total can never be billed: dead-letter it. */
export function startBilling(weir: Weir, billed: Order[]): Consumer {
  return weir.consume<Order>(
    "orders",
    "billing",
    async (message) => {
      if (message.body.total < 0) throw new DoNotRetry(`negative total ${message.body.total}`);
      billed.push(message.body);
    },
    { concurrency: 4, waitSeconds: 1 },
  );
}
