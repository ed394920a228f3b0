/**
 * The generated part of docs/sagas.md: every saga definition's Mermaid diagram (`workflows/definitions/describe.ts`).
 * `npm run saga -- docs` rewrites it; `test/docs/sagas-doc.test.ts` fails when it is stale (`npm run saga -- docs
 * --check`).
 */
import * as prettier from 'prettier';
import { sagaCatalogue, sagaTypes } from '../../api/sagas/catalogue';
import { toMermaid } from '../../workflows/definitions/describe';

export const BEGIN = '<!-- BEGIN GENERATED SAGA DIAGRAMS (npm run saga -- docs) -->';
export const END = '<!-- END GENERATED SAGA DIAGRAMS -->';

export function diagrams(): string {
  const parts = sagaTypes.map((type) => {
    const { definition } = sagaCatalogue[type];
    return (
      `#### \`${type}\` (workflow type \`${definition.workflowType}\`, version ${definition.version})\n\n` +
      `${definition.description}\n\n\`\`\`mermaid\n${toMermaid(definition)}\`\`\`\n`
    );
  });
  return `${BEGIN}\n\n${parts.join('\n')}\n${END}`;
}

/** The doc with its generated part replaced by the current diagrams, formatted as `npm run format` would. */
export async function withDiagrams(doc: string, file: string): Promise<string> {
  const start = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  if (start < 0 || end < 0) throw new Error(`${file} lacks the generated saga diagram markers`);
  const text = doc.slice(0, start) + diagrams() + doc.slice(end + END.length);
  const options = (await prettier.resolveConfig(file)) ?? {};
  return prettier.format(text, { ...options, filepath: file });
}
