import type { Collection, Db } from 'mongodb';
import { isDuplicateKey } from './duplicate-key';
import type { ConfigAuthor, SagaConfig } from '../common/shapes/saga-config';

/**
 * The saga types' stored configuration, versioned: every put inserts a new document `<sagaType>:<version>`, none is
 * ever updated, so the history is the collection itself. The version counter is that `_id`: of two concurrent puts
 * that read the same latest version, one inserts `n+1` and the other gets a duplicate-key error and takes `n+2`.
 * An insert with a unique `_id` is the one write that is atomic across processes on FerretDB v1 as on MongoDB
 * (no conditional update needed, docs/sagas.md "Stored configuration").
 */
export interface SagaConfigDoc {
  _id: string;
  sagaType: string;
  version: number;
  config: SagaConfig;
  createdAt: Date;
  createdBy: ConfigAuthor;
}

export const sagaConfigCollection = (db: Db): Collection<SagaConfigDoc> => db.collection<SagaConfigDoc>('sagaConfigs');

export async function ensureSagaConfigIndexes(db: Db): Promise<void> {
  // The latest version of a type, and its history newest first.
  await sagaConfigCollection(db).createIndex({ sagaType: 1, version: -1 });
}

/** The latest stored version of a saga type, or null when none was ever put. */
export function latestSagaConfig(col: Collection<SagaConfigDoc>, sagaType: string): Promise<SagaConfigDoc | null> {
  return col.findOne({ sagaType }, { sort: { version: -1 } });
}

/** Every stored version of a saga type, newest first. */
export function sagaConfigHistory(col: Collection<SagaConfigDoc>, sagaType: string): Promise<SagaConfigDoc[]> {
  return col.find({ sagaType }, { sort: { version: -1 } }).toArray();
}

/** Stores `config` (already validated) as the type's next version and returns it. */
export async function putSagaConfig(
  col: Collection<SagaConfigDoc>,
  sagaType: string,
  config: SagaConfig,
  createdBy: ConfigAuthor,
): Promise<SagaConfigDoc> {
  for (;;) {
    const version = ((await latestSagaConfig(col, sagaType))?.version ?? 0) + 1;
    const doc: SagaConfigDoc = {
      _id: `${sagaType}:${version}`,
      sagaType,
      version,
      config,
      createdAt: new Date(),
      createdBy,
    };
    try {
      await col.insertOne(doc);
      return doc;
    } catch (err) {
      if (!isDuplicateKey(err)) throw err; // a concurrent put took this version: read again, take the next
    }
  }
}
