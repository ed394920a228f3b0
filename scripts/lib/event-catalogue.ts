/**
 * The event catalogue of docs/events.md, generated from the zod shapes (`common/shapes/domain-events.ts`) with
 * `z.toJSONSchema`: `npx tsx scripts/event-catalogue.ts` rewrites the generated part of the doc;
 * `test/docs/events-doc.test.ts` fails when the doc is not up to date.
 */
import * as prettier from 'prettier';
import { z } from 'zod';
import { DomainEvent } from '../../common/shapes/domain-events';

export const BEGIN = '<!-- BEGIN GENERATED CATALOGUE (npx tsx scripts/event-catalogue.ts) -->';
export const END = '<!-- END GENERATED CATALOGUE -->';

export function catalogue(): string {
  const parts: string[] = [];
  for (const option of DomainEvent.options) {
    const meta = option.meta() as { id: string; description: string };
    const { $schema: _ignored, ...schema } = z.toJSONSchema(option, { target: 'draft-2020-12', io: 'output' });
    parts.push(`### \`${meta.id}\`\n\n${meta.description}\n\n\`\`\`json\n${JSON.stringify(schema, null, 2)}\n\`\`\`\n`);
  }
  return `${BEGIN}\n\n${parts.join('\n')}\n${END}`;
}

/** The doc with its generated part replaced by the current catalogue, formatted as `npm run format` would. */
export async function withCatalogue(doc: string, file: string): Promise<string> {
  const start = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  if (start < 0 || end < 0) throw new Error('docs/events.md lacks the generated catalogue markers');
  const text = doc.slice(0, start) + catalogue() + doc.slice(end + END.length);
  const options = (await prettier.resolveConfig(file)) ?? {};
  return prettier.format(text, { ...options, filepath: file });
}
