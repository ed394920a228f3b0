import type { CompensationOutcome, EffectOutcome } from '../../common/attempted';
import { BusinessFailure, participantFailure, type OutOfStockDetail } from '../../common/failures';
import type { OrderItem } from '../../common/order';
import type { Collections } from '../../store/db';
import { applyHold, releaseHold, type HoldFields } from '../../store/holds';

const stock: HoldFields = { counter: 'stock', holds: 'stockHolds', released: 'stockReleased' };

export interface PricedOrder {
  totalCents: number;
  lines: { sku: string; quantity: number; priceCents: number }[];
}

export interface ReserveInventoryInput {
  key: string;
  items: OrderItem[];
}

/** Sums quantities per sku, sorted by sku, so duplicate lines reserve once and in a stable order. */
export function mergeItems(items: OrderItem[]): OrderItem[] {
  const bySku = new Map<string, number>();
  for (const { sku, quantity } of items) bySku.set(sku, (bySku.get(sku) ?? 0) + quantity);
  return [...bySku.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([sku, quantity]) => ({ sku, quantity }));
}

export function createInventoryActivities({ products }: Pick<Collections, 'products'>) {
  const col = products as never;
  return {
    /**
     * Prices the order from the stored prices (never from the client). Reads only.
     * @throws non-retryable `UnknownProduct`
     */
    async priceOrder({ items }: { items: OrderItem[] }): Promise<PricedOrder> {
      const merged = mergeItems(items);
      const docs = await products.find({ _id: { $in: merged.map((i) => i.sku) } }).toArray();
      const prices = new Map(docs.map((d) => [d._id, d.priceCents]));
      const lines = merged.map(({ sku, quantity }) => {
        const priceCents = prices.get(sku);
        if (priceCents === undefined) {
          throw participantFailure('priceOrder', BusinessFailure.UnknownProduct, `Product ${sku} does not exist`);
        }
        return { sku, quantity, priceCents };
      });
      return { totalCents: lines.reduce((sum, l) => sum + l.priceCents * l.quantity, 0), lines };
    },

    /**
     * Takes every item's quantity off its product's stock, line by line, and reports every line that could not be
     * taken at once: `OutOfStock` names each unavailable sku in its message and as `{ skus }` in its details (after
     * the attempt, workers/interceptors/attempt-reporting.ts). Idempotent by `key`; what it took before failing is
     * put back by `releaseInventory`, which the saga pushed before this step ran.
     * @throws non-retryable `UnknownProduct`, `OutOfStock`
     */
    async reserveInventory({ key, items }: ReserveInventoryInput): Promise<EffectOutcome> {
      let result: EffectOutcome = 'already-applied';
      const unavailable: OrderItem[] = [];
      for (const { sku, quantity } of mergeItems(items)) {
        const outcome = await applyHold(col, stock, sku, key, quantity);
        if (outcome === 'not-found') {
          throw participantFailure('reserveInventory', BusinessFailure.UnknownProduct, `Product ${sku} does not exist`);
        }
        if (outcome === 'insufficient') unavailable.push({ sku, quantity });
        if (outcome === 'compensated') return 'compensated';
        if (outcome === 'applied') result = 'applied';
      }
      if (unavailable.length > 0) {
        const detail: OutOfStockDetail = { skus: unavailable.map((i) => i.sku) };
        const lines = unavailable.map(({ sku, quantity }) => `${sku} (fewer than ${quantity})`).join(', ');
        throw participantFailure(
          'reserveInventory',
          BusinessFailure.OutOfStock,
          `${unavailable.length === 1 ? 'Product' : 'Products'} out of stock: ${lines}`,
          detail,
        );
      }
      return result;
    },

    /** Compensation of `reserveInventory`: puts back what this key took. Idempotent by `key`. */
    async releaseInventory({ key, items }: ReserveInventoryInput): Promise<CompensationOutcome> {
      const outcomes: CompensationOutcome[] = [];
      for (const { sku } of mergeItems(items)) outcomes.push(await releaseHold(col, stock, sku, key));
      if (outcomes.includes('undone')) return 'undone';
      return outcomes.includes('already-undone') ? 'already-undone' : 'nothing-to-undo';
    },
  };
}
