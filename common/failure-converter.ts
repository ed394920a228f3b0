import { DefaultFailureConverter } from '@temporalio/common';

/**
 * The failure converter of every client, worker and workflow bundle (by path: `failureConverterPath`, see
 * codec/data-converter.ts): failure messages and stack traces go into the failure's encoded attributes, a payload,
 * so that the payload codec encrypts them too. Pure: it is bundled into the workflow sandbox.
 */
export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
