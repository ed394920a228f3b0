import { orderWorkflowId, type OrderState } from '../../common/order';
import { SagaStatus } from '../../common/saga-state';
import { checkInvariants, readBaseline } from '../../scripts/lib/invariants';
import { addVehicle, orderBody, seed, unique, type Seeded } from '../support/fixtures';
import { http, startHarness, waitForSaga, type Harness } from '../support/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness('conservation');
});
afterAll(async () => h?.stop());

test('50 concurrent orders with mixed outcomes: participants account exactly for the completed ones', async () => {
  // Scarce resources so that concurrent orders really compete: credit for about half of one
  // customer's orders, stock for about half of one product's, two vehicles with 6 slots a day.
  const customers: Seeded[] = [
    await seed(h, { creditLimit: 100, price: 10, stock: 40 }),
    await seed(h, { creditLimit: 1000, price: 7.5, stock: 12 }),
    await seed(h, { creditLimit: 60, price: 3.33, stock: 1000 }),
  ];
  await addVehicle(h, 4);
  await addVehicle(h, 2);
  const dates = ['2027-03-01', '2027-03-02'];
  const bodies = Array.from({ length: 50 }, (_, i) => {
    const s = customers[i % customers.length]!;
    return orderBody(s, {
      orderId: unique(`mix${i}`),
      quantity: 1 + (i % 3),
      token: i % 11 === 5 ? 'tok_declined' : 'tok_visa',
      country: i % 13 === 7 ? 'AQ' : 'IE',
      deliveryDate: dates[i % dates.length],
    });
  });
  const baseline = await readBaseline(
    h.db,
    customers.map((c) => c.customerId),
    customers.map((c) => c.sku),
  );

  const started = await Promise.all(bodies.map((b) => http(h.baseUrl, 'POST', '/orders', b)));
  expect(started.map((r) => r.status)).toEqual(Array(50).fill(202));
  const states = await Promise.all(
    bodies.map((b) =>
      waitForSaga<OrderState>(h.client.workflow.getHandle(orderWorkflowId(b.orderId)), { timeoutMs: 180_000 }),
    ),
  );

  // Every saga is final, and the mix really is mixed.
  expect(states.every((s) => s.status === SagaStatus.COMPLETED || s.status === SagaStatus.COMPENSATED)).toBe(true);
  const completed = states.filter((s) => s.status === SagaStatus.COMPLETED);
  const failureTypes = new Set(states.map((s) => s.failure?.type).filter(Boolean));
  expect(completed.length).toBeGreaterThan(5);
  expect(completed.length).toBeLessThan(50);
  expect(failureTypes.size).toBeGreaterThanOrEqual(3);

  // Credit, stock, ledger, shipments and vehicle capacity account exactly for the completed ones
  // (the invariants shared with the chaos run: scripts/lib/invariants.ts).
  const report = await checkInvariants(
    h.db,
    bodies.map((b, i) => ({
      orderId: b.orderId,
      customerId: b.customerId,
      items: b.items,
      deliveryDate: b.deliveryDate,
      status: states[i]!.status,
      totalCents: states[i]!.total === null ? null : Math.round(states[i]!.total * 100),
    })),
    baseline,
  );
  expect(report.checks.filter((c) => !c.ok)).toEqual([]);
  expect(report.checks.length).toBeGreaterThanOrEqual(15);
  expect({ lost: report.effectsLost, duplicated: report.effectsDuplicated }).toEqual({ lost: 0, duplicated: 0 });
});
