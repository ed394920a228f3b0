/**
 * Conservation invariants of the order saga's participants: after a set of sagas has settled, credit, stock,
 * ledger (payments), shipments and vehicle capacity account exactly for the COMPLETED ones, and a COMPENSATED
 * saga left nothing behind. Used by the chaos run (`npm run chaos`) and by the tests (`test/faults/`,
 * `test/e2e/conservation.test.ts`). Plain functions over the database: no test framework.
 *
 * Assumes the participants' documents named by the sagas (customers, products) and every vehicle are used by
 * these sagas only, from the baseline on.
 */
import type { Db } from 'mongodb';
import { collections } from '../../store/db';
import { fieldKey } from '../../store/keys';
import { OrderStep, orderWorkflowId, type OrderItem } from '../../common/order';
import { SagaStatus } from '../../common/saga-state';

/** What the check needs to know of one saga. */
export interface SagaOutcome {
  orderId: string;
  customerId: string;
  items: OrderItem[];
  deliveryDate: string;
  /** Its final status (null: could not be read). */
  status: SagaStatus | null;
  /** Total in cents once priced (state.total × 100). */
  totalCents: number | null;
}

/** Counters before the sagas ran. */
export interface Baseline {
  creditCents: Record<string, number>;
  stock: Record<string, number>;
}

export interface InvariantCheck {
  name: string;
  ok: boolean;
  detail: string;
}

export interface InvariantReport {
  checks: InvariantCheck[];
  passed: number;
  failed: number;
  /** Effects a COMPLETED saga should hold but that are missing. */
  effectsLost: number;
  /** Effects present beyond one per COMPLETED saga (twice applied, or left behind by a compensated saga). */
  effectsDuplicated: number;
}

/** Reads the counters of the customers and products the sagas will use. */
export async function readBaseline(db: Db, customerIds: string[], skus: string[]): Promise<Baseline> {
  const cols = collections(db);
  const customers = await cols.customers.find({ _id: { $in: customerIds } }).toArray();
  const products = await cols.products.find({ _id: { $in: skus } }).toArray();
  return {
    creditCents: Object.fromEntries(customers.map((c) => [c._id, c.creditAvailableCents])),
    stock: Object.fromEntries(products.map((p) => [p._id, p.stock])),
  };
}

const key = (orderId: string, step: string) => fieldKey(`${orderWorkflowId(orderId)}:${step}`);
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** Checks every invariant; never throws for a violation (it is reported). */
export async function checkInvariants(db: Db, sagas: SagaOutcome[], baseline: Baseline): Promise<InvariantReport> {
  const cols = collections(db);
  const checks: InvariantCheck[] = [];
  const check = (name: string, ok: boolean, detail = '') => checks.push({ name, ok, detail: ok ? '' : detail });
  let effectsLost = 0;
  let effectsDuplicated = 0;

  const settled = sagas.filter((s) => s.status === SagaStatus.COMPLETED || s.status === SagaStatus.COMPENSATED);
  const completed = settled.filter((s) => s.status === SagaStatus.COMPLETED);
  check('every saga is COMPLETED or COMPENSATED', settled.length === sagas.length, describeOpen(sagas));
  check(
    'every COMPLETED saga has its total',
    completed.every((s) => s.totalCents !== null),
    'a COMPLETED saga has no total',
  );

  const customerIds = [...new Set(sagas.map((s) => s.customerId))];
  const skus = [...new Set(sagas.flatMap((s) => s.items.map((i) => i.sku)))];
  const orderIds = sagas.map((s) => s.orderId);
  const [customers, products, payments, shipments, vehicles] = await Promise.all([
    cols.customers.find({ _id: { $in: customerIds } }).toArray(),
    cols.products.find({ _id: { $in: skus } }).toArray(),
    cols.payments.find({ orderId: { $in: orderIds } }).toArray(),
    cols.shipments.find({ orderId: { $in: orderIds } }).toArray(),
    cols.vehicles.find({}).toArray(),
  ]);

  /** One effect kind: how many a saga should hold (1 if COMPLETED, 0 if COMPENSATED) against how many it does. */
  const perSaga = (effect: string, held: (s: SagaOutcome) => number) => {
    let lost = 0;
    let extra = 0;
    for (const s of settled) {
      const expected = s.status === SagaStatus.COMPLETED ? 1 : 0;
      const actual = held(s);
      lost += Math.max(0, expected - actual);
      extra += Math.max(0, actual - expected);
    }
    effectsLost += lost;
    effectsDuplicated += extra;
    check(
      `${effect}: one per completed saga, none for a compensated one`,
      lost === 0 && extra === 0,
      `${lost} lost, ${extra} extra`,
    );
  };

  const customerById = new Map(customers.map((c) => [c._id, c]));
  const productBySku = new Map(products.map((p) => [p._id, p]));
  perSaga('credit holds', (s) =>
    customerById.get(s.customerId)?.creditHolds[key(s.orderId, OrderStep.reserveCredit)] !== undefined ? 1 : 0,
  );
  perSaga('stock holds', (s) => {
    const held = s.items.map(
      (i) => productBySku.get(i.sku)?.stockHolds[key(s.orderId, OrderStep.reserveInventory)] !== undefined,
    );
    return held.every(Boolean) ? 1 : held.some(Boolean) ? 2 : 0; // a partial hold counts as wrong either way
  });
  perSaga('payments charged', (s) => payments.filter((p) => p.orderId === s.orderId && p.status === 'CHARGED').length);
  perSaga(
    'shipments created',
    (s) => shipments.filter((x) => x.orderId === s.orderId && x.status === 'CREATED').length,
  );
  perSaga(
    'vehicle bookings',
    (s) => vehicles.filter((v) => v.bookings[key(s.orderId, OrderStep.reserveVehicle)] !== undefined).length,
  );

  for (const id of customerIds) {
    const c = customerById.get(id);
    const spent = sum(completed.filter((s) => s.customerId === id).map((s) => s.totalCents ?? 0));
    const held = c ? sum(Object.values(c.creditHolds)) : NaN;
    const start = baseline.creditCents[id];
    check(
      `customer ${id}: available credit = before - completed totals = before - holds`,
      c !== undefined && c.creditAvailableCents === (start ?? NaN) - spent && held === spent,
      `available ${c?.creditAvailableCents}, before ${start}, completed totals ${spent}, holds ${held}`,
    );
  }
  for (const sku of skus) {
    const p = productBySku.get(sku);
    const sold = sum(completed.flatMap((s) => s.items.filter((i) => i.sku === sku).map((i) => i.quantity)));
    const held = p ? sum(Object.values(p.stockHolds)) : NaN;
    const start = baseline.stock[sku];
    check(
      `product ${sku}: stock = before - completed quantities = before - holds`,
      p !== undefined && p.stock === (start ?? NaN) - sold && held === sold,
      `stock ${p?.stock}, before ${start}, completed quantities ${sold}, holds ${held}`,
    );
  }
  const charged = sum(payments.filter((p) => p.status === 'CHARGED').map((p) => p.amountCents));
  const owed = sum(completed.map((s) => s.totalCents ?? 0));
  check('ledger: charged amounts = completed totals', charged === owed, `charged ${charged}, completed totals ${owed}`);

  const dates = [...new Set(sagas.map((s) => s.deliveryDate))];
  for (const date of dates) {
    const load = sum(vehicles.map((v) => v.load[date] ?? 0));
    const due = completed.filter((s) => s.deliveryDate === date).length;
    check(`vehicles on ${date}: booked load = completed deliveries`, load === due, `load ${load}, completed ${due}`);
  }
  for (const v of vehicles) {
    const byDate = new Map<string, number>();
    for (const date of Object.values(v.bookings)) byDate.set(date, (byDate.get(date) ?? 0) + 1);
    const consistent = Object.entries(v.load).every(([date, n]) => n === (byDate.get(date) ?? 0));
    const within = Object.values(v.load).every((n) => n >= 0 && n <= v.capacityPerDay);
    check(
      `vehicle ${v._id}: load = its bookings, within capacity`,
      consistent && within,
      `load ${JSON.stringify(v.load)}, bookings per date ${JSON.stringify(Object.fromEntries(byDate))}, capacity ${v.capacityPerDay}`,
    );
  }

  const failed = checks.filter((c) => !c.ok).length;
  return { checks, passed: checks.length - failed, failed, effectsLost, effectsDuplicated };
}

function describeOpen(sagas: SagaOutcome[]): string {
  const open = sagas.filter((s) => s.status !== SagaStatus.COMPLETED && s.status !== SagaStatus.COMPENSATED);
  return `${open.length} not final: ${open
    .slice(0, 5)
    .map((s) => `${s.orderId} ${s.status}`)
    .join(', ')}${open.length > 5 ? ', ...' : ''}`;
}
