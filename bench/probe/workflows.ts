/** The dispatch probe's workflow: three no-op activities in a row, nothing else. */
import { proxyActivities } from '@temporalio/workflow';

const { noop } = proxyActivities<{ noop(): Promise<void> }>({ startToCloseTimeout: '10s' });

export async function threeNoops(): Promise<void> {
  for (let i = 0; i < 3; i++) await noop();
}
