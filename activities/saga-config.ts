import type { Db } from 'mongodb';
import { noSagaConfig, type SagaConfigChoice } from '../common/saga-config';
import { latestSagaConfig, sagaConfigCollection } from '../store/saga-config';

export function createSagaConfigActivities(db: Db) {
  const col = sagaConfigCollection(db);
  return {
    /**
     * The latest stored configuration of a saga type (docs/sagas.md, "Stored configuration"), read once at a
     * saga's start as a local activity (the `config` start choice), so that the saga's history records the
     * version it runs with and every replay takes the same path. A read: no business failure, retried until
     * MongoDB answers. Nothing stored: `{ version: null, config: null }` (the definition's own settings).
     */
    async readSagaConfig({ sagaType }: { sagaType: string }): Promise<SagaConfigChoice> {
      const doc = await latestSagaConfig(col, sagaType);
      return doc ? { version: doc.version, config: doc.config } : noSagaConfig;
    },
  };
}
